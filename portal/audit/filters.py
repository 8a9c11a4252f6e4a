"""Parsing the audit filters from the query string, applying them, and keyset paging.

Mirrors the records page: the same ``from_args`` / ``as_args`` / ``apply`` shape,
inclusive dates in the reader's zone and newest-first keyset paging (``portal.listing``).
"""

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import func

from portal.audit.models import OBJECT_TYPES, AuditEntry
from portal.listing import MAX_TEXT, DateRangeFilters, contains


@dataclass
class AuditFilters(DateRangeFilters):
    object_type: str = ""
    actor: str = ""
    q: str = ""

    @classmethod
    def from_args(cls, args) -> tuple["AuditFilters", dict]:
        """Filters from request args plus the errors of values that had to be dropped."""
        found, errors = cls(), {}
        object_type = args.get("object_type", "").strip()
        if object_type in OBJECT_TYPES:
            found.object_type = object_type
        elif object_type:
            errors["object_type"] = _("Choose a kind of object from the list.")
        found.actor = args.get("actor", "").strip()[:MAX_TEXT]
        found.q = args.get("q", "").strip()[:MAX_TEXT]
        found.parse_dates(args, errors)
        return found, errors

    def apply(self, query):
        """Add the WHERE clauses; text filters are case-insensitive "contains" matches."""
        if self.object_type:
            query = query.where(AuditEntry.object_type == self.object_type)
        if self.actor:
            query = query.where(_contains(AuditEntry.actor_label, self.actor))
        if self.q:
            query = query.where(_contains(AuditEntry.object_label, self.q))
        return self.date_clauses(query, AuditEntry.created_at)


def _contains(column, text: str):
    return contains(func.lower(column), text.lower())
