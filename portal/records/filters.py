"""Parsing the records filters from the query string, and applying them to a query.

The same ``Filters`` drive the page, the htmx fragment, the CSV export and the
chart, so all four always show the same set of messages. Days are the reader's local days.
"""

from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import func

from portal.bounds import parse_id
from portal.extensions import db
from portal.listing import MAX_TEXT, DateRangeFilters, contains
from portal.outbox.models import STATUSES, Message
from portal.records.search import recipient_clause


@dataclass
class Filters(DateRangeFilters):
    sender: int | None = None
    recipient: str = ""
    template: str = ""
    result: str = ""
    _recipient: object = field(default=None, init=False, repr=False, compare=False)

    @classmethod
    def from_args(cls, args) -> tuple["Filters", dict]:
        """Filters from request args plus the errors of values that had to be dropped."""
        found, errors = cls(), {}
        sender = args.get("sender", "").strip()
        if sender:
            found.sender = parse_id(sender)
            if found.sender is None:
                errors["sender"] = _("Choose a sender from the list.")
        found.recipient = args.get("recipient", "").strip()[:MAX_TEXT]
        found.template = args.get("template", "").strip()[:MAX_TEXT]
        found.parse_dates(args, errors)
        result = args.get("result", "").strip()
        if result in STATUSES:
            found.result = result
        elif result:
            errors["result"] = _("Choose a result from the list.")
        return found, errors

    def _recipient_clause(self):
        """Chosen once per filter set: choosing may cost an index look-up, and the page,
        its count and its chart all apply the same filters."""
        if self._recipient is None:
            self._recipient = recipient_clause(db.session, self.recipient.lower())
        return self._recipient

    def apply(self, query):
        """Add the WHERE clauses."""
        if self.sender is not None:
            query = query.where(Message.sender_id == self.sender)
        if self.recipient:
            query = query.where(self._recipient_clause())
        if self.template:
            # Any part of the name, in any case, like the recipient filter.
            query = query.where(contains(func.lower(Message.template_name),
                                         self.template.lower()))
        if self.result:
            query = query.where(Message.status == self.result)
        return self.date_clauses(query, Message.created_at)
