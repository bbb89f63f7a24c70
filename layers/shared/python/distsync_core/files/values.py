"""Numbers, dates and times as EDI and CSV files write them."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from decimal import Decimal, InvalidOperation

# ASCII digits only: \d and str.isdigit() also take other scripts' digits ('٣') and '²', which int() reads or
# refuses; and bounded, since int() refuses more than 4,300 digits and no field of ours needs 19.
_DECIMAL = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$", re.ASCII)
_INTEGER = re.compile(r"^[+-]?\d+$", re.ASCII)
MAX_DIGITS = 18
MAX_NUMBER_LENGTH = 40  # a decimal's characters: sign, digits, decimal mark


def is_digits(text: str, max_digits: int = MAX_DIGITS) -> bool:
    """Only ASCII digits, 1 to ``max_digits`` of them: what ``int()`` may then read."""
    return 0 < len(text) <= max_digits and text.isascii() and text.isdigit()

# X12 DTM04 time codes: fixed offsets for standard/daylight codes, zones for the "T" (local) ones.
_X12_FIXED = {
    "UT": 0,
    "GM": 0,
    "ES": -5,
    "ED": -4,
    "CS": -6,
    "CD": -5,
    "MS": -7,
    "MD": -6,
    "PS": -8,
    "PD": -7,
}
_X12_ZONES = {
    "ET": "America/New_York",
    "CT": "America/Chicago",
    "MT": "America/Denver",
    "PT": "America/Los_Angeles",
}


def parse_decimal(text: str, decimal_mark: str = ".") -> Decimal | None:
    """A decimal as X12 (R) or EDIFACT (n) write it: optional sign, optional decimal mark; else None."""
    text = text.strip()
    if decimal_mark != ".":
        if "." in text:
            return None
        text = text.replace(decimal_mark, ".")
    if len(text) > MAX_NUMBER_LENGTH or not _DECIMAL.match(text):
        return None
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern already rules these out
        return None


def is_integer(text: str) -> bool:
    return bool(_INTEGER.match(text.strip()))


def parse_date(text: str) -> date | None:
    """CCYYMMDD, or YYMMDD (as in the ISA segment and older versions: 00-49 -> 20xx)."""
    text = text.strip()
    if not is_digits(text) or len(text) not in (6, 8):
        return None
    if len(text) == 6:
        year = int(text[:2])
        text = f"{2000 + year if year < 50 else 1900 + year}{text[2:]}"
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        return None


def parse_time(text: str) -> time | None:
    """HHMM, HHMMSS or HHMMSSd.. (decimal seconds are cut to microseconds)."""
    text = text.strip()
    if not is_digits(text) or len(text) < 4 or len(text) == 5 or len(text) > 8:
        return None
    hours, minutes = int(text[:2]), int(text[2:4])
    seconds = int(text[4:6]) if len(text) >= 6 else 0
    fraction = text[6:]
    micro = int(fraction.ljust(6, "0")[:6]) if fraction else 0
    try:
        return time(hours, minutes, seconds, micro)
    except ValueError:
        return None


def x12_zone(code: str, default: tzinfo) -> tzinfo | None:
    """The zone of an X12 time code (DTM04); the partner's zone when there is none or it is "LT"."""
    code = code.strip()
    if not code or code == "LT":
        return default
    if code in _X12_FIXED:
        return timezone(timedelta(hours=_X12_FIXED[code])) if _X12_FIXED[code] else UTC
    if code in _X12_ZONES:
        from zoneinfo import ZoneInfo

        return ZoneInfo(_X12_ZONES[code])
    return None


def combine(day: date, at: time | None, zone: tzinfo) -> datetime:
    return datetime.combine(day, at or time(0), tzinfo=zone)


# EDIFACT 2379 date/time formats read here.
_EDIFACT_FORMATS = {"101": 6, "102": 8, "201": 10, "203": 12, "204": 14, "205": 17}


def edifact_datetime(value: str, fmt: str, zone: tzinfo) -> datetime | None:
    """A DTM value in format 101 (YYMMDD), 102 (CCYYMMDD), 201 (YYMMDDHHMM), 203 (CCYYMMDDHHMM),
    204 (CCYYMMDDHHMMSS) or 205 (CCYYMMDDHHMMZHHMM, with its own offset); None when it is not one."""
    fmt = fmt or "102"
    length = _EDIFACT_FORMATS.get(fmt)
    if length is None or len(value) != length:
        return None
    if fmt == "205":
        return _with_offset(value, zone)
    digits_date = value[:6] if fmt in ("101", "201") else value[:8]
    day = parse_date(digits_date)
    clock = parse_time(value[len(digits_date) :]) if len(value) > len(digits_date) else time(0)
    if day is None or clock is None:
        return None
    return combine(day, clock, zone)


def _with_offset(value: str, zone: tzinfo) -> datetime | None:
    base = edifact_datetime(value[:12], "203", zone)
    sign, hours, minutes = value[12], value[13:15], value[15:17]
    if base is None or sign not in "+-" or not is_digits(hours + minutes):
        return None
    offset = timedelta(hours=int(hours), minutes=int(minutes)) * (1 if sign == "+" else -1)
    return base.replace(tzinfo=timezone(offset))


def unsupported_format_reason(fmt: str) -> str:
    return f"date/time format {fmt!r} is not read (read: {', '.join(sorted(_EDIFACT_FORMATS))})"
