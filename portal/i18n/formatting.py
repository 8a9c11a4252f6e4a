"""Times and numbers for people: in the reader's zone and the locale's conventions."""

from datetime import UTC, datetime

from babel.dates import format_timedelta
from flask_babel import format_datetime, format_decimal, get_locale, gettext

from portal.i18n.labels import status_label
from portal.i18n.zones import to_local


def zone_offset(value: datetime | None = None) -> str:
    """The reader's zone as an offset from UTC at ``value``: "UTC", "UTC+8", "UTC+5:30"."""
    offset = to_local(value or datetime.now(UTC)).utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset else 0
    if minutes == 0:
        return "UTC"
    sign, minutes = ("+" if minutes > 0 else "-"), abs(minutes)
    hours, rest = divmod(minutes, 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def when(value: datetime | None) -> str:
    """A full time in the reader's zone, with the zone: "2026-11-30 23:31:05 UTC+8"."""
    if not value:
        return "—"
    return f"{format_datetime(value, 'yyyy-MM-dd HH:mm:ss')} {zone_offset(value)}"


def short_when(value: datetime | None) -> str:
    """A time for a dense table, in the reader's zone: "11-30 23:31" this year,
    "2025-11-30" before; the full time goes in the cell's title."""
    if not value:
        return "—"
    if to_local(value).year == to_local(datetime.now(UTC)).year:
        return format_datetime(value, "MM-dd HH:mm")
    return format_datetime(value, "yyyy-MM-dd")


def ago(value: datetime | None) -> str:
    """How long ago, compact and in the locale: "5m ago", "2d ago" / "5分钟前"; "just now"
    under a minute."""
    if not value:
        return gettext("never")
    delta = datetime.now(UTC) - value
    if delta.total_seconds() < 60:
        return gettext("just now")
    return format_timedelta(-delta, add_direction=True, threshold=1, format="narrow",
                            locale=get_locale())


def number(value) -> str:
    """A number with the locale's grouping: "12,345"."""
    return format_decimal(value if value is not None else 0)


def file_size(size: int | None) -> str:
    """A file size in the locale's digits: "820 B", "12.5 KB", "3.2 MB" (1 KB = 1024 B)."""
    size = size or 0
    for unit, scale in (("MB", 1024 * 1024), ("KB", 1024)):
        if size >= scale:
            return f"{format_decimal(round(size / scale, 1))} {unit}"
    return f"{format_decimal(size)} B"


FILTERS = {"status_label": status_label, "when": when, "short_when": short_when, "ago": ago,
           "number": number, "zone_offset": zone_offset, "file_size": file_size}


def register(app) -> None:
    for name, func in FILTERS.items():
        app.add_template_filter(func, name)
    app.add_template_global(zone_offset, "zone_offset")
