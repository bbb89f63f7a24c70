"""CSV files: item-location master data and demand forecasts.

The header line says which kind a file is (names are matched without case, spaces, "_" or "-"; the
separator is whichever of , ; tab | the header line uses):

* item-location master data -> ``ItemLocationUpserted``, one per line:
  ``itemId, locationId, unitOfMeasure, safetyStock, reorderPoint, supplierId, leadTimeDays[, recordVersion]``
* forecasts -> ``DemandForecastPublished``, one per item-location (and forecast id), its weeks as buckets:
  ``itemId (item), locationId (location), weekStart (week), quantity (qty)[, unitOfMeasure (uom)][, forecastId]``.
  Without a forecastId column the forecast id is derived from the file's checksum (the same file gives
  the same id); without a unit the partner's default unit is used.

A header with a missing, unknown or repeated column rejects the file. Otherwise each line is checked on
its own (field count, numbers, dates, the contract's rules for one line) and a bad line is reported with
its line number while the good lines are still turned into events; a forecast week given twice for the
same item-location rejects the later line.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date

from ..contracts import ForecastBucket, latest_version
from .events import Ref, as_float, build_event
from .model import Budget, Code, FileError, ParsedFile, Transaction
from .values import MAX_DIGITS, parse_decimal

_ALIASES = {
    "item": "itemid",
    "sku": "itemid",
    "location": "locationid",
    "week": "weekstart",
    "qty": "quantity",
    "uom": "unitofmeasure",
    "unit": "unitofmeasure",
}
_ITEM_LOCATION = {
    "itemid": "itemId",
    "locationid": "locationId",
    "unitofmeasure": "unitOfMeasure",
    "safetystock": "safetyStock",
    "reorderpoint": "reorderPoint",
    "supplierid": "supplierId",
    "leadtimedays": "leadTimeDays",
    "recordversion": "recordVersion",
}
_FORECAST = {
    "itemid": "itemId",
    "locationid": "locationId",
    "weekstart": "weekStart",
    "quantity": "quantity",
    "unitofmeasure": "unitOfMeasure",
    "forecastid": "forecastId",
}
_OPTIONAL = {"recordVersion", "unitOfMeasure", "forecastId"}
_KINDS = {
    "item-location": (_ITEM_LOCATION, "ItemLocationUpserted"),
    "forecast": (_FORECAST, "DemandForecastPublished"),
}


@dataclass
class _Row:
    line: int
    values: dict[str, str]  # contract field name -> raw text
    columns: dict[str, str]  # contract field name -> the column name in the file

    def ref(self, name: str | None = None) -> Ref:
        return Ref(line=self.line, element=self.columns.get(name, name) if name else None)


@dataclass
class _Forecast:
    rows: list[_Row] = field(default_factory=list)
    buckets: dict[date, tuple[float, _Row]] = field(default_factory=dict)


def parse_csv(raw: bytes, parsed: ParsedFile) -> None:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        parsed.add(FileError(Code.UNREADABLE, f"byte {exc.start} is not UTF-8", line=line))
        return
    first_line = text.lstrip("\r\n").split("\n", 1)[0]
    delimiter = max(",;\t|", key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    parsed.budget.unit = "row"
    header, header_line, rows = _read(reader, parsed.budget)
    if header is None:
        parsed.add(FileError(Code.INVALID_HEADER, "the file has no header line", line=1))
        return
    kind, columns, problem = _header(header)
    parsed.kind = kind
    if problem:
        parsed.add(FileError(Code.INVALID_HEADER, problem, line=header_line))
        _reject_all(parsed, kind or "csv", rows, f"the header is invalid: {problem}")
        return
    assert kind is not None  # a header without a problem names its kind
    _, event_type = _KINDS[kind]
    contract = latest_version(event_type)
    if parsed.partner.source not in contract.producers:
        reason = (
            f"partner {parsed.partner.partner_id!r} stands for source {parsed.partner.source!r}, which may not "
            f"produce {event_type} (producers: {', '.join(sorted(contract.producers))})"
        )
        parsed.add(FileError(Code.SOURCE_NOT_ALLOWED, reason, line=header_line))
        _reject_all(parsed, kind, rows, reason)
        return
    good = [
        r
        for r in (_row(parsed, kind, columns, header, line, values) for line, values in rows)
        if r is not None
    ]
    if kind == "item-location":
        _item_locations(parsed, good)
    else:
        _forecasts(parsed, good)
    parsed.transactions.sort(key=lambda t: t.first_line or 0)
    for i, tx in enumerate(parsed.transactions, start=1):
        tx.index = i
        tx.errors[:] = [_reindex(e, i) for e in tx.errors]
        tx.warnings[:] = [_reindex(w, i) for w in tx.warnings]


def _reindex(error: FileError, index: int) -> FileError:
    from dataclasses import replace

    return replace(error, transaction_index=index)


def _read(reader, budget: Budget) -> tuple[list[str] | None, int, list[tuple[int, list[str]]]]:
    header: list[str] | None = None
    header_line = 0
    rows: list[tuple[int, list[str]]] = []
    for values in reader:
        line = reader.line_num - sum(v.count("\n") for v in values)
        if not any(v.strip() for v in values):
            continue
        if header is None:
            header, header_line = values, line
        else:
            rows.append((line, values))
            if len(rows) > budget.max_records:  # rejected before more of it is held in memory
                budget.check_records(len(rows), line=line)
    return header, header_line, rows


def _normal(name: str) -> str:
    key = re.sub(r"[^a-z0-9]", "", name.lower())
    return _ALIASES.get(key, key)


def _header(header: list[str]) -> tuple[str | None, dict[str, str], str | None]:
    keys = [_normal(h) for h in header]
    kind = (
        "forecast"
        if "weekstart" in keys
        else "item-location"
        if {"safetystock", "reorderpoint"} & set(keys)
        else None
    )
    if kind is None:
        return (
            None,
            {},
            "neither item-location master data (safetyStock, reorderPoint, ...) nor a forecast (weekStart, quantity, ...)",
        )
    known, _ = _KINDS[kind]
    repeated = sorted({h for h, k in zip(header, keys, strict=True) if keys.count(k) > 1})
    unknown = [h for h, k in zip(header, keys, strict=True) if k not in known]
    missing = [name for key, name in known.items() if key not in keys and name not in _OPTIONAL]
    problems = []
    if missing:
        problems.append(f"missing column(s) {', '.join(missing)}")
    if unknown:
        problems.append(f"unknown column(s) {', '.join(unknown)}")
    if repeated:
        problems.append(f"repeated column(s) {', '.join(repeated)}")
    columns = {known[k]: h for h, k in zip(header, keys, strict=True) if k in known}
    return kind, columns, "; ".join(problems) or None


def _reject_all(parsed: ParsedFile, kind: str, rows, reason: str) -> None:
    if not rows:
        return
    tx = Transaction(
        budget=parsed.budget,
        index=1, kind=kind, first_line=rows[0][0], last_line=rows[-1][0], lines=tuple(n for n, _ in rows)
    )
    tx.add(
        FileError(
            Code.INVALID_HEADER if "header" in reason else Code.SOURCE_NOT_ALLOWED, reason, line=rows[0][0]
        )
    )
    parsed.transactions.append(tx)


def _row(
    parsed: ParsedFile, kind: str, columns: dict[str, str], header: list[str], line: int, values: list[str]
) -> _Row | None:
    if len(values) != len(header):
        _line_error(
            parsed,
            kind,
            line,
            FileError(
                Code.WRONG_FIELD_COUNT, f"{len(values)} fields, the header has {len(header)}", line=line
            ),
        )
        return None
    by_column = dict(zip(header, values, strict=True))
    return _Row(line, {name: by_column[column].strip() for name, column in columns.items()}, columns)


def _line_error(parsed: ParsedFile, kind: str, line: int, *errors: FileError) -> None:
    tx = Transaction(
        budget=parsed.budget,
        index=len(parsed.transactions) + 1, kind=kind, first_line=line, last_line=line, lines=(line,)
    )
    for error in errors:
        tx.add(error)
    parsed.transactions.append(tx)


# ---------------------------------------------------------------------------------------------------
# Item-location master data
# ---------------------------------------------------------------------------------------------------
def _item_locations(parsed: ParsedFile, rows: list[_Row]) -> None:
    seen: dict[tuple[str, str], int] = {}
    for row in rows:
        data, errors = _item_location_data(row)
        key = (row.values["itemId"], row.values["locationId"])
        if key in seen:
            errors.append(
                row.ref("itemId").error(
                    Code.DUPLICATE_ROW, f"{key[0]}@{key[1]} is already on line {seen[key]}"
                )
            )
        if errors:
            _line_error(parsed, "item-location", row.line, *errors)
            continue
        seen[key] = row.line
        event, errors = build_event(
            "ItemLocationUpserted",
            data,
            parsed.partner,
            refs={k: row.ref(k) for k in data},
            default=row.ref(),
        )
        tx = Transaction(
            budget=parsed.budget,
            index=len(parsed.transactions) + 1,
            kind="item-location",
            first_line=row.line,
            last_line=row.line,
            lines=(row.line,),
        )
        for error in errors:
            tx.add(error)
        if event is not None:
            tx.events.append(event)
        parsed.transactions.append(tx)


def _item_location_data(row: _Row) -> tuple[dict, list[FileError]]:
    errors: list[FileError] = []
    data: dict = {}
    for name, text in row.values.items():
        if not text:
            if name not in _OPTIONAL:
                errors.append(row.ref(name).error(Code.ELEMENT_MISSING, f"{row.columns[name]} is empty"))
            continue
        if name in ("safetyStock", "reorderPoint"):
            data[name] = _number(row, name, errors)
        elif name in ("leadTimeDays", "recordVersion"):
            data[name] = _whole(row, name, errors)
        else:
            data[name] = text
    return data, errors


def _number(row: _Row, name: str, errors: list[FileError]):
    value = parse_decimal(row.values[name])
    if value is None:
        errors.append(
            row.ref(name).error(
                Code.INVALID_NUMBER,
                f"{row.columns[name]} {row.values[name]!r} is not a number",
                value=row.values[name],
            )
        )
    return as_float(value)


def _whole(row: _Row, name: str, errors: list[FileError]):
    text = row.values[name]
    if len(text) > MAX_DIGITS + 1 or not re.fullmatch(r"[+-]?\d+", text, re.ASCII):
        errors.append(
            row.ref(name).error(
                Code.INVALID_NUMBER, f"{row.columns[name]} {text!r} is not a whole number", value=text
            )
        )
        return None
    return int(text)


# ---------------------------------------------------------------------------------------------------
# Forecasts
# ---------------------------------------------------------------------------------------------------
def _forecasts(parsed: ParsedFile, rows: list[_Row]) -> None:
    default_id = f"FC-{parsed.checksum[:12]}"
    groups: dict[tuple[str, str, str], _Forecast] = {}
    for row in rows:
        bucket, errors = _bucket(row)
        forecast_id = row.values.get("forecastId") or default_id
        key = (forecast_id, row.values["itemId"], row.values["locationId"])
        group = groups.setdefault(key, _Forecast())
        if not errors:
            errors = _fits(parsed, row, group, bucket, forecast_id)
        if errors or bucket is None:  # (no bucket comes with its errors)
            _line_error(parsed, "forecast", row.line, *errors)
            continue
        group.rows.append(row)
        group.buckets[bucket[0]] = (bucket[1], row)
    for (forecast_id, item, location), group in groups.items():
        if group.rows:
            _forecast_event(parsed, forecast_id, item, location, group)


def _bucket(row: _Row) -> tuple[tuple[date, float] | None, list[FileError]]:
    errors: list[FileError] = []
    for name in ("itemId", "locationId", "weekStart", "quantity"):
        if not row.values[name]:
            errors.append(row.ref(name).error(Code.ELEMENT_MISSING, f"{row.columns[name]} is empty"))
    if errors:
        return None, errors
    week = _week(row.values["weekStart"])
    if week is None:
        errors.append(
            row.ref("weekStart").error(
                Code.INVALID_DATE,
                f"{row.columns['weekStart']} {row.values['weekStart']!r} is not a date (YYYY-MM-DD)",
                value=row.values["weekStart"],
            )
        )
    quantity = _number(row, "quantity", errors)
    if errors or week is None:  # (no week comes with its error)
        return None, errors
    try:
        ForecastBucket.model_validate({"weekStart": week, "quantity": quantity})
    except ValueError as exc:
        return None, [
            row.ref("quantity").error(
                Code.CONTRACT_VIOLATION,
                f"DemandForecastPublished bucket: {_first_message(exc)}",
                value=row.values["quantity"],
            )
        ]
    return (week, quantity), []


def _week(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _first_message(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors(include_url=False)[0]
        return f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
    return str(exc)


def _fits(parsed: ParsedFile, row: _Row, group: _Forecast, bucket, forecast_id: str) -> list[FileError]:
    """The line against its item-location: one quantity per week, one unit, and the contract for one week."""
    week = bucket[0]
    if week in group.buckets:
        earlier = group.buckets[week][1].line
        return [
            row.ref("weekStart").error(
                Code.DUPLICATE_ROW,
                f"week {week} of {row.values['itemId']}@{row.values['locationId']} is already on line {earlier}",
                value=row.values["weekStart"],
            )
        ]
    unit = row.values.get("unitOfMeasure") or parsed.partner.default_unit_of_measure
    if group.rows:
        first_unit = group.rows[0].values.get("unitOfMeasure") or parsed.partner.default_unit_of_measure
        if unit != first_unit:
            return [
                row.ref("unitOfMeasure").error(
                    Code.CONTRACT_VIOLATION,
                    f"unit {unit!r} differs from {first_unit!r} on line {group.rows[0].line}",
                    value=unit,
                )
            ]
        return []
    data = _forecast_data(
        forecast_id,
        row.values["itemId"],
        row.values["locationId"],
        unit,
        [{"weekStart": week, "quantity": bucket[1]}],
    )
    _, errors = build_event(
        "DemandForecastPublished", data, parsed.partner, refs={k: row.ref(k) for k in data}, default=row.ref()
    )
    return errors


def _forecast_data(forecast_id: str, item: str, location: str, unit: str, buckets: list[dict]) -> dict:
    return {
        "itemId": item,
        "locationId": location,
        "forecastId": forecast_id,
        "unitOfMeasure": unit,
        "buckets": buckets,
    }


def _forecast_event(parsed: ParsedFile, forecast_id: str, item: str, location: str, group: _Forecast) -> None:
    weeks = sorted(group.buckets)
    unit = group.rows[0].values.get("unitOfMeasure") or parsed.partner.default_unit_of_measure
    buckets = [{"weekStart": w, "quantity": group.buckets[w][0]} for w in weeks]
    refs = {f"buckets.{i}": group.buckets[w][1].ref("weekStart") for i, w in enumerate(weeks)}
    data = _forecast_data(forecast_id, item, location, unit, buckets)
    event, errors = build_event(
        "DemandForecastPublished", data, parsed.partner, refs=refs, default=group.rows[0].ref()
    )
    lines = tuple(sorted(r.line for r in group.rows))
    tx = Transaction(
        budget=parsed.budget,
        index=len(parsed.transactions) + 1,
        kind="forecast",
        first_line=lines[0],
        last_line=lines[-1],
        lines=lines,
    )
    tx.details["itemLocation"] = f"{item}@{location}"
    for error in errors:
        tx.add(error)
    if event is not None:
        tx.events.append(event)
    parsed.transactions.append(tx)
