"""Freeze windows: when ERP parameter writes must wait (the ERP's MRP run, a period close).

Plain logic, no AWS: a window is a schedule (EventBridge ``cron(...)`` in UTC, or a one-time ``at(...)``), a
duration and a scope (ERP connection names and/or location globs; either left out means all). Manual windows
(``distsync freeze add``) are the same with a fixed start and end. The EventBridge cron subset is evaluated
here (minutes hours day-of-month month day-of-week year; ``*``, ``?``, lists, ranges, steps, names) rather
than with a library: the layer stays small, and ``L``, ``W`` and ``#`` are refused with a reason."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fnmatch import fnmatchcase
from typing import Any

MAX_DURATION_MINUTES = 7 * 24 * 60  # a freeze longer than a week is an outage, not a window
NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_MONTHS = {m: i + 1 for i, m in enumerate("JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split())}
_DAYS = {d: i + 1 for i, d in enumerate("SUN MON TUE WED THU FRI SAT".split())}  # EventBridge: 1 = Sunday
_FIELDS: tuple[tuple[str, int, int, dict[str, int]], ...] = (("minutes", 0, 59, {}), ("hours", 0, 23, {}), ("day-of-month", 1, 31, {}), ("month", 1, 12, _MONTHS),
           ("day-of-week", 1, 7, _DAYS), ("year", 1970, 2199, {}))
_MINUTE = timedelta(minutes=1)


class WindowError(ValueError):
    """A freeze window that cannot be evaluated; the message says which and why."""


Field = tuple[str, int, int, dict[str, int]]  # name, lowest, highest, names of values


def _number(token: str, field: Field) -> int:
    name, low, high, names = field
    token = token.upper()
    if token in names:
        return names[token]
    if not token.isdigit():
        raise WindowError(f"{name} field: {token!r} is not a number{' or name' if names else ''} "
                          "(L, W and # are not supported in freeze windows)")
    value = int(token)
    if not low <= value <= high:
        raise WindowError(f"{name} field: {value} is outside {low}..{high}")
    return value


def _part(part: str, field: Field) -> range:
    """One comma-separated part: ``*``, ``a``, ``a-b``, each with an optional ``/step``."""
    name, low, high, _ = field
    base, _, step_text = part.partition("/")
    if step_text and (not step_text.isdigit() or int(step_text) == 0):
        raise WindowError(f"{name} field: step {step_text!r} must be a positive number")
    step = int(step_text or 1)
    if base == "*":
        return range(low, high + 1, step)
    if "-" in base:
        a, _, b = base.partition("-")
        first, last = _number(a, field), _number(b, field)
        if first > last:
            raise WindowError(f"{name} field: range {base!r} runs backwards")
        return range(first, last + 1, step)
    first = _number(base, field)
    return range(first, (high if step_text else first) + 1, step)


def _values(text: str, field: Field) -> frozenset[int] | None:
    """The values a cron field allows; None for ``*``/``?`` (any)."""
    if text in ("*", "?"):
        return None
    return frozenset(v for part in text.split(",") for v in _part(part, field))


@dataclass(frozen=True)
class Cron:
    minutes: frozenset[int] | None
    hours: frozenset[int] | None
    days: frozenset[int] | None
    months: frozenset[int] | None
    weekdays: frozenset[int] | None  # 1 = Sunday
    years: frozenset[int] | None

    @classmethod
    def parse(cls, inner: str) -> Cron:
        parts = inner.split()
        if len(parts) != 6:
            raise WindowError(f"cron({inner}) needs 6 fields (minutes hours day-of-month month day-of-week year), "
                              f"got {len(parts)}")
        if (parts[2] == "?") == (parts[4] == "?"):
            raise WindowError(f"cron({inner}): exactly one of day-of-month and day-of-week must be '?'")
        return cls(*(_values(p, f) for p, f in zip(parts, _FIELDS, strict=True)))

    def _day(self, t: datetime) -> bool:
        weekday = t.isoweekday() % 7 + 1  # Monday 1 -> 2, Sunday 7 -> 1
        return all(allowed is None or value in allowed for allowed, value in (
            (self.years, t.year), (self.months, t.month), (self.days, t.day), (self.weekdays, weekday)))

    def latest_at_or_before(self, t: datetime, earliest: datetime) -> datetime | None:
        """The latest firing minute in [earliest, t]; days and hours that cannot fire are skipped whole."""
        t = t.replace(second=0, microsecond=0)
        while t >= earliest:
            if not self._day(t):
                t = t.replace(hour=0, minute=0) - _MINUTE
            elif self.hours is not None and t.hour not in self.hours:
                t = t.replace(minute=0) - _MINUTE
            elif self.minutes is not None and t.minute not in self.minutes:
                t -= _MINUTE
            else:
                return t
        return None

    def next_after(self, t: datetime, horizon: timedelta = timedelta(days=400)) -> datetime | None:
        """The first firing minute strictly after ``t``, within ``horizon``."""
        t = t.replace(second=0, microsecond=0) + _MINUTE
        limit = t + horizon
        while t <= limit:
            if not self._day(t):
                t = t.replace(hour=0, minute=0) + timedelta(days=1)
            elif self.hours is not None and t.hour not in self.hours:
                t = t.replace(minute=0) + timedelta(hours=1)
            elif self.minutes is not None and t.minute not in self.minutes:
                t += _MINUTE
            else:
                return t
        return None


@dataclass(frozen=True)
class Scope:
    connections: tuple[str, ...] | None = None  # None: every connection
    locations: tuple[str, ...] | None = None  # globs (fnmatch, case-sensitive); None: every location

    def covers(self, connection: str, location: str) -> bool:
        return (self.connections is None or connection in self.connections) and \
            (self.locations is None or any(fnmatchcase(location, g) for g in self.locations))

    def describe(self) -> str:
        parts = [f"connections {','.join(self.connections)}" if self.connections else "",
                 f"locations {','.join(self.locations)}" if self.locations else ""]
        return "; ".join(p for p in parts if p) or "everything"

    def as_json(self) -> dict[str, list[str]]:
        out = {}
        if self.connections is not None:
            out["connections"] = list(self.connections)
        if self.locations is not None:
            out["locations"] = list(self.locations)
        return out


@dataclass(frozen=True)
class Window:
    name: str
    duration: timedelta
    scope: Scope
    schedule: str  # cron(...), at(...) or "manual"
    cron: Cron | None = None
    start: datetime | None = None  # at(...) and manual windows

    def occurrence(self, t: datetime) -> tuple[datetime, datetime] | None:
        """(start, end) of the occurrence that covers ``t`` (start <= t < end), the latest if several do."""
        if self.cron is not None:
            start = self.cron.latest_at_or_before(t, t - self.duration + timedelta(microseconds=1))
        else:
            start = self.start if self.start is not None and self.start <= t else None
        if start is None or not t < start + self.duration:
            return None
        return start, start + self.duration

    def next_start(self, t: datetime) -> datetime | None:
        if self.cron is not None:
            return self.cron.next_after(t)
        return self.start if self.start is not None and self.start > t else None


def _strings(value: Any, what: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = [v for v in value.split(",") if v.strip()]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
        raise WindowError(f"{what} must be a non-empty list of names (leave it out for all)")
    return tuple(v.strip() for v in value)


def parse_scope(value: Any, what: str = "scope") -> Scope:
    if value is None:
        return Scope()
    if not isinstance(value, Mapping) or set(value) - {"connections", "locations"}:
        raise WindowError(f"{what} must be an object with 'connections' and/or 'locations', got {value!r}")
    return Scope(_strings(value.get("connections"), f"{what}.connections"),
                 _strings(value.get("locations"), f"{what}.locations"))


def _duration(minutes: Any, what: str) -> timedelta:
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not 1 <= minutes <= MAX_DURATION_MINUTES:
        raise WindowError(f"{what}: durationMinutes must be a whole number in 1..{MAX_DURATION_MINUTES}, got {minutes!r}")
    return timedelta(minutes=minutes)


def _name(value: Any) -> str:
    if not isinstance(value, str) or not NAME.match(value):
        raise WindowError(f"a freeze window's name must match {NAME.pattern}, got {value!r}")
    return value


def parse_window(spec: Mapping[str, Any]) -> Window:
    """One window of context ``freezeWindows``; raises :class:`WindowError` saying what is wrong."""
    if not isinstance(spec, Mapping):
        raise WindowError(f"a freeze window must be an object, got {spec!r}")
    name = _name(spec.get("name"))
    unknown = set(spec) - {"name", "schedule", "durationMinutes", "scope"}
    if unknown:
        raise WindowError(f"freeze window {name}: unknown keys {sorted(unknown)}")
    duration = _duration(spec.get("durationMinutes"), f"freeze window {name}")
    scope = parse_scope(spec.get("scope"), f"freeze window {name}: scope")
    schedule = spec.get("schedule")
    try:
        if isinstance(schedule, str) and schedule.startswith("cron(") and schedule.endswith(")"):
            return Window(name, duration, scope, schedule, cron=Cron.parse(schedule[5:-1]))
        if isinstance(schedule, str) and schedule.startswith("at(") and schedule.endswith(")"):
            try:
                start = datetime.strptime(schedule[3:-1], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
            except ValueError as exc:
                raise WindowError(f"at(...) must be at(yyyy-mm-ddThh:mm:ss) in UTC: {exc}") from exc
            return Window(name, duration, scope, schedule, start=start)
    except WindowError as exc:
        raise WindowError(f"freeze window {name}: {exc}") from exc
    raise WindowError(f"freeze window {name}: schedule must be cron(...) or at(yyyy-mm-ddThh:mm:ss) (UTC), "
                      f"got {schedule!r}")


def parse_windows(specs: Any) -> list[Window]:
    if not isinstance(specs, list):
        raise WindowError(f"freezeWindows must be a list of windows, got {specs!r}")
    windows = [parse_window(s) for s in specs]
    names = [w.name for w in windows]
    if len(set(names)) != len(names):
        raise WindowError(f"freezeWindows: names must be unique, got {names}")
    return windows


def manual(name: str, start: datetime, end: datetime, scope: Scope) -> Window:
    """An ad-hoc window (``distsync freeze add``), from ``start`` to ``end``."""
    return Window(_name(name), end - start, scope, "manual", start=start)


@dataclass(frozen=True)
class Freeze:
    """What holds a write now: the windows covering it and when the last of them (chained) ends."""

    windows: tuple[str, ...]
    until: datetime

    def describe(self) -> str:
        return f"freeze window {', '.join(self.windows)} until {self.until.isoformat()}"


def freeze_for(windows: Iterable[Window], connection: str, location: str, t: datetime) -> Freeze | None:
    """The freeze covering a write to ``location`` through ``connection`` at ``t``, or None. Overlapping and
    back-to-back windows chain: the write waits until no window of its scope covers it."""
    relevant = [w for w in windows if w.scope.covers(connection, location)]
    names: list[str] = []
    at, until = t, None
    for _ in range(100):  # each step moves ``at`` forward by a whole occurrence; 100 is far past any real chain
        covering = [(w.name, o[1]) for w in relevant if (o := w.occurrence(at)) is not None]
        if not covering:
            break
        names += [n for n, _ in covering if n not in names]
        at = until = max(end for _, end in covering)
    return Freeze(tuple(names), until) if until is not None else None


def describe(window: Window, t: datetime) -> dict[str, Any]:
    """A window as ``distsync freeze list`` shows it: active now (until when) or its next start."""
    occurrence = window.occurrence(t)
    nxt = window.next_start(t)
    return {
        "name": window.name,
        "schedule": window.schedule,
        "durationMinutes": round(window.duration.total_seconds() / 60, 1),
        "scope": window.scope.as_json(),
        "active": occurrence is not None,
        "activeUntil": occurrence[1].isoformat() if occurrence else None,
        "nextStart": nxt.isoformat() if nxt else None,
    }


def covering_names(windows: Sequence[Window], t: datetime) -> list[str]:
    return [w.name for w in windows if w.occurrence(t) is not None]
