"""Which audit entries a user may see: all (system admin), or the entries of the teams
they administer (team admin). Agents see none; the view refuses them with 403."""

from sqlalchemy import func, select

from portal.audit.models import AuditEntry
from portal.extensions import db
from portal.listing import after_cursor, encode_cursor
from portal.teams import scope

PAGE_SIZE = 50
COUNT_CAP = 10_000


def _visible(user, query):
    """Entries of the teams the user administers (all for system admins). Entries of
    system-level objects (users, system senders, ...) have no team: system admins only."""
    if not user.is_any_admin:
        raise PermissionError("Only administrators can read the audit trail.")
    return query.where(scope.managed(AuditEntry.team_id, user))


def audit_page(user, filters, cursor, size: int | None = None):
    """One page newest first, and the cursor of the next page (None at the end)."""
    size = size or PAGE_SIZE
    query = after_cursor(filters.apply(_visible(user, select(AuditEntry))), AuditEntry, cursor)
    query = query.order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc()).limit(size + 1)
    rows = list(db.session.scalars(query))
    next_cursor = encode_cursor(rows[size - 1]) if len(rows) > size else None
    return rows[:size], next_cursor


def capped_count(user, filters) -> tuple[int, bool]:
    """How many entries match, counting at most COUNT_CAP (True when capped)."""
    inner = filters.apply(_visible(user, select(AuditEntry.id))).limit(COUNT_CAP + 1)
    total = db.session.scalar(select(func.count()).select_from(inner.subquery()))
    return min(total, COUNT_CAP), total > COUNT_CAP
