"""Time zones: times are stored in UTC and shown, filtered and grouped by day in the
reader's zone (their profile's, else ``PORTAL_DEFAULT_TIMEZONE``)."""

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import pytz
from flask_babel import get_timezone

# Offered first in the profile's list: where the portal's users mostly are.
COMMON = ("Asia/Shanghai", "Asia/Hong_Kong", "Asia/Taipei", "Asia/Macau", "Asia/Singapore",
          "Asia/Kuala_Lumpur", "Asia/Tokyo", "Europe/London", "America/New_York", "UTC")


def valid_zone(name: str | None) -> str | None:
    """``name`` if it is an IANA time zone both zone databases know (Flask-Babel formats
    with pytz, the portal converts with zoneinfo), else None: "localtime", "right/UTC"
    and the like exist on disk but are not zones to show times in."""
    if not name or name not in pytz.all_timezones_set:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return name


@lru_cache(maxsize=1)
def all_zones() -> tuple[str, ...]:
    """Every IANA zone name, the common ones first."""
    rest = sorted(z for z in available_timezones() if z not in COMMON and "/" in z
                  and not z.startswith(("Etc/", "SystemV/", "posix/", "right/"))
                  and valid_zone(z))
    return COMMON + tuple(rest)


def current_zone() -> ZoneInfo:
    """The reader's zone (``PORTAL_DEFAULT_TIMEZONE`` outside a request)."""
    tz = get_timezone()
    return ZoneInfo(tz.zone) if tz is not None else ZoneInfo("UTC")


def to_local(value: datetime) -> datetime:
    """A stored time in the reader's zone."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(current_zone())


def day_start(day: date) -> datetime:
    """The UTC instant a local day begins in the reader's zone."""
    return datetime.combine(day, time.min, tzinfo=current_zone()).astimezone(UTC)


def day_end(day: date) -> datetime:
    """The UTC instant after a local day ends: a "to" day includes the whole day."""
    return day_start(day + timedelta(days=1))


def local_today() -> date:
    """Today in the reader's zone."""
    return datetime.now(current_zone()).date()


def from_local(value: datetime) -> datetime:
    """A wall-clock time typed by the reader (no zone) as an aware UTC instant."""
    return value.replace(tzinfo=current_zone()).astimezone(UTC)


def zone_label() -> str:
    """The reader's zone as a person can check it: its name and today's UTC offset
    ("Asia/Shanghai, UTC+08:00")."""
    zone = current_zone()
    if zone.key in ("UTC", "Etc/UTC"):
        return "UTC"
    offset = datetime.now(zone).strftime("%z") or "+0000"
    return f"{zone.key}, UTC{offset[:3]}:{offset[3:]}"
