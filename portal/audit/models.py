"""Audit entries: one row per change to a sender, default, template, user, team,
membership or token, written in the same transaction as the change itself.

Rows are snapshots: labels and team names are copied, not referenced, so the
history still reads correctly after the object (or its team) is renamed or
deleted. Secret values are never stored, only that they were set or changed.
"""

from datetime import datetime

from flask_babel import gettext
from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.dbtypes import UTCDateTime, utcnow
from portal.extensions import db
from portal.i18n.marks import N_

OBJECT_TYPES = {
    "sender": N_("Sender"),
    "template": N_("Template"),
    "user": N_("User"),
    "membership": N_("Team membership"),
    "team": N_("Team"),
    "token": N_("API token"),
    "message": N_("Message"),
}
# The stored actions (English verbs, kept as they are) as people read them.
ACTIONS = {
    "create": N_("create"), "update": N_("update"), "delete": N_("delete"),
    "member added": N_("member added"), "member removed": N_("member removed"),
    "role changed": N_("role changed"), "default set": N_("default set"),
    "default cleared": N_("default cleared"), "password changed": N_("password changed"),
    "revoke": N_("revoke"), "rename": N_("rename"), "cancel": N_("cancel"),
}

# Change keys whose values are secrets: only "set", "changed" or "removed" is shown.
SECRET_KEYS = ("password", "token secret", "client secret", "refresh token",
               "signing secret")
# Actions whose ``changes`` hold the object's last values rather than edits.
REMOVALS = ("delete", "member removed")
# Stands in for a secret's value in ``changes``; the value itself is never stored.
HIDDEN = "(hidden)"
# What a change's key is shown as; other keys show with spaces for underscores.
FIELD_LABELS = {
    "default": N_("default sender"), "is_system_admin": N_("system administrator"),
    "revoked_at": N_("revoked at"), "ca_cert": N_("CA certificate"),
    "html_body": N_("HTML body"), "text_body": N_("text body"), "name": N_("name"),
    "host": N_("mail server"), "port": N_("port"), "encryption": N_("encryption"),
    "address": N_("sender address"), "username": N_("username"), "password": N_("password"),
    "display_name": N_("displayed name"), "mode": N_("send mode"), "enabled": N_("enabled"),
    "allow_plain_auth": N_("allow unencrypted login"),
    "rate_per_minute": N_("messages per minute"), "max_connections": N_("connections"),
    "last_check_ok": N_("last check passed"), "last_check_at": N_("last checked"),
    "last_check_reason": N_("last check result"), "last_check_reply": N_("last check reply"),
    "team": N_("team"), "subject": N_("subject"), "email": N_("email"),
    "active": N_("active"), "locale": N_("language"), "timezone": N_("time zone"),
    "role": N_("role"), "token secret": N_("token secret"), "prefix": N_("prefix"),
    "auth_method": N_("authentication"), "oauth_provider": N_("OAuth2 provider"),
    "oauth_flow": N_("OAuth2 sign-in"), "oauth_tenant": N_("tenant"),
    "oauth_client_id": N_("client id"), "client secret": N_("client secret"),
    "oauth_token_url": N_("token URL"), "oauth_authorize_url": N_("authorization URL"),
    "oauth_scope": N_("scope"), "refresh token": N_("connected account's sign-in"),
    "oauth_account": N_("connected account"), "oauth_connected_at": N_("connected at"),
    "signing secret": N_("signing secret"), "callback_url": N_("callback URL"),
    "status": N_("status"),
}
# Stored values shown as words: roles, send modes, encryption, the system scope.
VALUE_LABELS = {
    "role": {"admin": N_("team admin"), "agent": N_("agent")},
    "mode": {"immediate": N_("immediate"), "deferred": N_("deferred (queued)")},
    "team": {"System": N_("system level")},
    "encryption": {"ssl": N_("SSL encryption"), "starttls": N_("TLS (STARTTLS) encryption"),
                   "none": N_("No encryption")},
}


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
        label = OBJECT_TYPES.get(self.object_type)
        return gettext(label) if label else self.object_type

    @property
    def action_label(self) -> str:
        """The action in the reader's language (the stored verb is English)."""
        return gettext(ACTIONS[self.action]) if self.action in ACTIONS else self.action

    def change_lines(self) -> list[str]:
        """The changes as short sentences, in a stable order, for the audit page."""
        removed = self.action in REMOVALS
        return [describe(key, *pair, removed=removed)
                for key, pair in sorted((self.changes or {}).items())]

    def __repr__(self) -> str:
        return f"<AuditEntry {self.id} {self.action} {self.object_type} {self.object_id}>"


def describe(key: str, old, new, removed: bool = False) -> str:
    """One change in words, in the reader's language; secrets only say that they were
    set, changed or removed. For a deleted object the changes are its last values,
    shown as "was ..."."""
    label = gettext(FIELD_LABELS[key]) if key in FIELD_LABELS else key.replace("_", " ")
    if removed:
        if key in SECRET_KEYS:
            return gettext("%(field)s was set", field=label)
        return gettext("%(field)s was %(value)s", field=label, value=_shown(key, old))
    if key in SECRET_KEYS:
        if old is None:
            return gettext("%(field)s set", field=label)
        if new is None:
            return gettext("%(field)s removed", field=label)
        return gettext("%(field)s changed", field=label)
    if old is None:
        return gettext("%(field)s: %(value)s", field=label, value=_shown(key, new))
    if new is None:
        return gettext("%(field)s: %(old)s → (none)", field=label, old=_shown(key, old))
    return gettext("%(field)s: %(old)s → %(new)s", field=label, old=_shown(key, old),
                   new=_shown(key, new))


def _shown(key: str, value) -> str:
    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    words = VALUE_LABELS.get(key, {})
    if isinstance(value, str) and value in words:
        return gettext(words[value])
    return str(value)
