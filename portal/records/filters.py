"""Parsing the records filters from the query string, and applying them to a query.

The same ``Filters`` drive the page, the htmx fragment, the CSV export and the
chart, so all four always show the same set of messages.
"""

import base64
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import and_, func, or_

from portal.outbox.models import STATUSES, Message

MAX_TEXT = 200


class FilterError(ValueError):
    """A filter value that cannot be used; ``field`` names the input."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field, self.message = field, message


@dataclass
class Filters:
    sender: int | None = None
    recipient: str = ""
    template: str = ""
    date_from: date | None = None
    date_to: date | None = None
    result: str = ""

    @classmethod
    def from_args(cls, args) -> tuple["Filters", dict]:
        """Filters from request args plus the errors of values that had to be dropped."""
        found, errors = cls(), {}
        sender = args.get("sender", "").strip()
        if sender:
            if sender.isdigit():
                found.sender = int(sender)
            else:
                errors["sender"] = "Choose a sender from the list."
        found.recipient = args.get("recipient", "").strip()[:MAX_TEXT]
        found.template = args.get("template", "").strip()[:MAX_TEXT]
        for name in ("date_from", "date_to"):
            raw = args.get(name, "").strip()
            if raw:
                try:
                    setattr(found, name, date.fromisoformat(raw))
                except ValueError:
                    errors[name] = "Enter a date like 2026-01-31."
        if found.date_from and found.date_to and found.date_from > found.date_to:
            errors["date_to"] = "“To” must not be before “From”."
            found.date_to = None
        result = args.get("result", "").strip()
        if result in STATUSES:
            found.result = result
        elif result:
            errors["result"] = "Choose a result from the list."
        return found, errors

    def as_args(self) -> dict:
        """Only the filters in use, as strings for url_for (so URLs stay short)."""
        args = {}
        for item in fields(self):
            value = getattr(self, item.name)
            if value not in (None, ""):
                args[item.name] = value.isoformat() if isinstance(value, date) else str(value)
        return args

    @property
    def active(self) -> bool:
        return bool(self.as_args())

    def apply(self, query):
        """Add the WHERE clauses. The "to" date includes that whole day."""
        if self.sender is not None:
            query = query.where(Message.sender_id == self.sender)
        if self.recipient:
            pattern = "%" + _escape_like(self.recipient.lower()) + "%"
            query = query.where(Message.recipients_search.like(pattern, escape="\\"))
        if self.template:
            query = query.where(func.lower(Message.template_name) == self.template.lower())
        if self.date_from:
            query = query.where(Message.created_at >= _day_start(self.date_from))
        if self.date_to:
            query = query.where(Message.created_at < _day_start(self.date_to + timedelta(1)))
        if self.result:
            query = query.where(Message.status == self.result)
        return query


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _day_start(day: date) -> datetime:
    """Days are UTC days, the zone every time in the portal is stored and shown in."""
    return datetime.combine(day, time.min, tzinfo=UTC)


def encode_cursor(message: Message) -> str:
    """An opaque position after ``message`` in newest-first order."""
    raw = f"{message.created_at.isoformat()}|{message.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(token: str):
    """(created_at, id) from a cursor, or None for a missing or damaged one."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        stamp, pk = raw.split("|")
        return datetime.fromisoformat(stamp), int(pk)
    except (ValueError, UnicodeDecodeError):
        return None


def after_cursor(query, cursor):
    """Keyset pagination: rows strictly older than the cursor (stable while mail arrives)."""
    if cursor is None:
        return query
    created_at, pk = cursor
    return query.where(or_(Message.created_at < created_at,
                           and_(Message.created_at == created_at, Message.id < pk)))
