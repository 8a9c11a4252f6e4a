"""Stored UTC times as local days and local times in SQL, so grouping by the reader's day
(the chart) and the export's local-time columns cost no Python work per row.

PostgreSQL knows every zone: ``timezone('Asia/Shanghai', created_at)``. SQLite knows none,
so the zone's offsets are worked out here for the range in question (one offset for most
zones, a few pieces for zones with daylight saving time) and applied with a ``CASE``.
"""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import case, func

DAY_SECONDS = 86_400


def _offset(zone: ZoneInfo, stamp: int) -> timedelta:
    return datetime.fromtimestamp(stamp, zone).utcoffset() or timedelta(0)


def _change(zone: ZoneInfo, same: int, other: int, offset: timedelta) -> int:
    """The first second in (same, other] whose offset is no longer ``offset``."""
    while other - same > 1:
        middle = (same + other) // 2
        if _offset(zone, middle) == offset:
            same = middle
        else:
            other = middle
    return other


def offset_spans(zone: ZoneInfo, start: datetime, end: datetime) -> list[tuple[datetime,
                                                                            timedelta]]:
    """``(until, offset)`` pieces covering [start, end) where the zone's offset from UTC
    stays the same; the last piece's ``until`` is ``end``."""
    same, stop = int(start.timestamp()), max(int(end.timestamp()), int(start.timestamp()))
    offset, spans = _offset(zone, same), []
    while same < stop:
        probe = min(same + DAY_SECONDS, stop)
        if _offset(zone, probe) == offset:
            same = probe
            continue
        same = _change(zone, same, probe, offset)
        spans.append((datetime.fromtimestamp(same, UTC), offset))
        offset = _offset(zone, same)
    spans.append((datetime.fromtimestamp(stop, UTC), offset))
    return spans


def _modifier(offset: timedelta) -> str:
    """An offset as an SQLite date modifier: "+480 minutes"."""
    return f"{int(offset.total_seconds() // 60):+d} minutes"


def _sqlite_shift(column, spans):
    """The modifier that moves ``column`` into local time, piece by piece."""
    if len(spans) == 1:
        return _modifier(spans[0][1])
    return case(*[(column < until, _modifier(offset)) for until, offset in spans[:-1]],
                else_=_modifier(spans[-1][1]))


def local_date(dialect: str, column, zone: ZoneInfo, spans):
    """SQL for the local day of ``column`` (a date on PostgreSQL, "YYYY-MM-DD" on SQLite);
    ``spans`` (``offset_spans``) must cover the rows' times (SQLite only)."""
    if dialect == "postgresql":
        return func.date(func.timezone(zone.key, column))
    return func.date(column, _sqlite_shift(column, spans))


def local_text(dialect: str, column, zone: ZoneInfo, spans):
    """SQL for ``column`` as local "YYYY-MM-DD HH:MM:SS" text, '' when NULL."""
    if dialect == "postgresql":
        text = func.to_char(func.timezone(zone.key, column), "YYYY-MM-DD HH24:MI:SS")
    else:
        text = func.datetime(column, _sqlite_shift(column, spans))
    return func.coalesce(text, "")

