"""Audit entries: one row per change to a sender, default, template, user, team,
membership or token, written in the same transaction as the change itself.

Rows are snapshots: labels and team names are copied, not referenced, so the
history still reads correctly after the object (or its team) is renamed or
deleted. Secret values are never stored, only that they were set or changed.
"""

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.dbtypes import UTCDateTime, utcnow
from portal.extensions import db

OBJECT_TYPES = {
    "sender": "Sender",
    "template": "Template",
    "user": "User",
    "membership": "Team membership",
    "team": "Team",
    "token": "API token",
}

# Change keys whose values are secrets: only "set", "changed" or "removed" is shown.
SECRET_KEYS = ("password", "token secret")
# Actions whose ``changes`` hold the object's last values rather than edits.
REMOVALS = ("delete", "member removed")
# Stands in for a secret's value in ``changes``; the value itself is never stored.
HIDDEN = "(hidden)"
FIELD_LABELS = {"default": "default sender", "is_system_admin": "system administrator",
                "revoked_at": "revoked", "ca_cert": "CA certificate",
                "html_body": "HTML body", "text_body": "text body"}


class AuditEntry(db.Model):
    """Who changed what, when and from where.

    ``team_id`` is the team the object belongs to (None: system level) and decides
    which team admins may see the entry. It is deliberately not a foreign key, so
    entries outlive their team. ``changes`` maps a field to ``[old, new]``.
    """

    __tablename__ = "audit_entries"
    __table_args__ = (
        Index("ix_audit_entries_created", "created_at", "id"),
        Index("ix_audit_entries_team_created", "team_id", "created_at"),
        Index("ix_audit_entries_type_created", "object_type", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True)
    actor_label: Mapped[str] = mapped_column(String(120))
    client_ip: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(40))
    object_type: Mapped[str] = mapped_column(String(20))
    object_id: Mapped[int | None] = mapped_column(Integer)
    object_label: Mapped[str] = mapped_column(String(255))
    team_id: Mapped[int | None] = mapped_column(Integer)
    team_label: Mapped[str | None] = mapped_column(String(80))
    changes: Mapped[dict] = mapped_column(JSON, default=dict)

    @property
    def object_type_label(self) -> str:
        return OBJECT_TYPES.get(self.object_type, self.object_type)

    def change_lines(self) -> list[str]:
        """The changes as short sentences, in a stable order, for the audit page."""
        removed = self.action in REMOVALS
        return [describe(key, *pair, removed=removed)
                for key, pair in sorted((self.changes or {}).items())]

    def __repr__(self) -> str:
        return f"<AuditEntry {self.id} {self.action} {self.object_type} {self.object_id}>"


def describe(key: str, old, new, removed: bool = False) -> str:
    """One change in words; secrets only say that they were set, changed or removed.

    For a deleted object the changes are its last values, shown as "was ...".
    """
    label = FIELD_LABELS.get(key, key.replace("_", " "))
    if removed:
        return f"{label} was set" if key in SECRET_KEYS else f"{label} was {_shown(old)}"
    if key in SECRET_KEYS:
        if old is None:
            return f"{label} set"
        return f"{label} removed" if new is None else f"{label} changed"
    if old is None:
        return f"{label}: {_shown(new)}"
    if new is None:
        return f"{label}: {_shown(old)} → (none)"
    return f"{label}: {_shown(old)} → {_shown(new)}"


def _shown(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)
