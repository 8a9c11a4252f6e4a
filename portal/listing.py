"""Shared pieces of the filtered, newest-first listings (sending records, audit trail,
users): inclusive date ranges in the reader's time zone, tidy URL arguments, opaque
keyset cursors and substring search."""

import base64
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime

from flask_babel import gettext as _
from sqlalchemy import and_, or_

from portal.bounds import FIRST_DAY, LAST_DAY, day_in_range, parse_id
from portal.i18n import zones

MAX_TEXT = 200


def contains(column, text: str):
    """``column LIKE '%text%'`` with the text's own ``%``, ``_`` and ``\\`` matched
    literally (a user searching for "a_b" must not also find "axb")."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.like(f"%{escaped}%", escape="\\")


def day_start(day: date) -> datetime:
    """The UTC instant ``day`` begins in the reader's time zone (times are stored in UTC,
    days are the reader's)."""
    return zones.day_start(day)


@dataclass
class DateRangeFilters:
    """Base for filter sets with an inclusive from/to date range."""

    date_from: date | None = None
    date_to: date | None = None

    def parse_dates(self, args, errors: dict) -> None:
        for name in ("date_from", "date_to"):
            raw = args.get(name, "").strip()
            if raw:
                try:
                    day = date.fromisoformat(raw)
                except ValueError:
                    errors[name] = _("Enter a date like %(example)s.", example="2026-01-31")
                    continue
                if day_in_range(day):
                    setattr(self, name, day)
                else:
                    errors[name] = _("Enter a date between %(first)s and %(last)s.",
                                     first=FIRST_DAY.isoformat(), last=LAST_DAY.isoformat())
        if self.date_from and self.date_to and self.date_from > self.date_to:
            errors["date_to"] = _("“To” must not be before “From”.")
            self.date_to = None

    def date_clauses(self, query, column):
        """The "to" date includes that whole day."""
        if self.date_from:
            query = query.where(column >= day_start(self.date_from))
        if self.date_to:
            query = query.where(column < zones.day_end(self.date_to))
        return query

    def as_args(self) -> dict:
        """Only the filters in use, as strings for url_for (so URLs stay short)."""
        args = {}
        for item in fields(self):
            if not item.init:
                continue
            value = getattr(self, item.name)
            if value not in (None, ""):
                args[item.name] = value.isoformat() if isinstance(value, date) else str(value)
        return args

    @property
    def active(self) -> bool:
        return bool(self.as_args())


def encode_cursor(row) -> str:
    """An opaque position after ``row`` (with created_at and id) in newest-first order."""
    raw = f"{row.created_at.isoformat()}|{row.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(token: str):
    """(created_at, id) from a cursor, or None for a missing, damaged or forged one."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        stamp, pk = raw.split("|")
        created_at = datetime.fromisoformat(stamp)
        if created_at.tzinfo is None:
            return None
        created_at = created_at.astimezone(UTC)
    except (ValueError, UnicodeDecodeError, OverflowError):
        return None
    number = parse_id(pk)
    return (created_at, number) if number is not None else None


def after_cursor(query, model, cursor):
    """Keyset pagination: rows strictly older than the cursor, so pages neither repeat nor
    skip rows while new ones arrive."""
    if cursor is None:
        return query
    created_at, pk = cursor
    return query.where(or_(model.created_at < created_at,
                           and_(model.created_at == created_at, model.id < pk)))
