"""The audit hook: mapper events on the audited models write an ``AuditEntry`` per change.

Why mapper events (``after_insert`` / ``after_update`` / ``after_delete``) rather
than a session ``before_flush`` hook: they also fire for rows the flush deletes
as orphans (a membership removed from ``user.memberships`` never shows up in
``session.deleted``), the new row's id is known, and they are attached to the
six audited classes only, so nothing runs for messages, attempts or anything
else. Bulk Core statements (the worker's claims and throttle, the records'
updates) bypass mapper events entirely. Entries are inserted through the
flush's own connection, so they commit or roll back with the change.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

import click
from flask import g, has_request_context, request
from sqlalchemy import event, insert, inspect, select

from portal.audit.models import HIDDEN, AuditEntry
from portal.auth.models import User
from portal.senders.models import Sender
from portal.teams.models import Membership, Team
from portal.templates_.models import MailTemplate
from portal.tokens.models import ApiToken

# Bookkeeping, not a person's change: never audited, and a flush that only
# touches these (a token's last use, a sender's throttle slot) writes no entry.
BOOKKEEPING = frozenset({"id", "created_at", "updated_at", "throttle_next_at", "last_used_at",
                         "created_by_user_id", "callback_last_at", "callback_last_status",
                         "callback_last_error"})
# Secret columns and the name their change is shown under; the value is never kept.
SECRETS = {"password_encrypted": "password", "password_hash": "password",
           "token_hash": "token secret", "oauth_client_secret_encrypted": "client secret",
           "oauth_refresh_token_encrypted": "refresh token",
           "callback_secret_encrypted": "signing secret"}
RENAMED = {"team_id": "team", "is_default": "default"}
MAX_VALUE = 300
SYSTEM_SCOPE = "System"


@dataclass(frozen=True)
class Kind:
    """How one audited model is described: its type name, label, team and skipped columns."""

    object_type: str
    label: Callable
    skip: frozenset = frozenset()


def _own_name(_conn, values: dict) -> str:
    return values.get("name") or ""


def _membership_label(conn, values: dict) -> str:
    user = _scalar(conn, User.username, User.id, values.get("user_id"))
    team = _scalar(conn, Team.name, Team.id, values.get("team_id"))
    return f"{user or '?'} in {team or '?'}"


KINDS = {
    Sender: Kind("sender", _own_name),
    MailTemplate: Kind("template", _own_name),
    User: Kind("user", lambda _conn, values: values.get("username") or ""),
    Team: Kind("team", _own_name),
    Membership: Kind("membership", _membership_label, frozenset({"user_id", "team_id"})),
    ApiToken: Kind("token", _own_name),
}


def _scalar(conn, column, key_column, key):
    """One value looked up on the flush's connection (sees rows of this transaction)."""
    if key is None:
        return None
    return conn.execute(select(column).where(key_column == key)).scalar()


def _team_name(conn, team_id) -> str:
    if team_id is None:
        return SYSTEM_SCOPE
    return _scalar(conn, Team.name, Team.id, team_id) or f"team #{team_id}"


def _shown(conn, key: str, value):
    """A column value as stored in ``changes``: JSON-safe, short, secrets hidden."""
    if key in SECRETS:
        return HIDDEN if value is not None else None
    if key == "team_id":
        return _team_name(conn, value)
    if isinstance(value, datetime | date):
        return value.isoformat(timespec="seconds") if isinstance(value, datetime) \
            else value.isoformat()
    if isinstance(value, str) and len(value) > MAX_VALUE:
        return value[:MAX_VALUE] + "…"
    return value


def _name(key: str) -> str:
    return SECRETS.get(key) or RENAMED.get(key, key)


def _columns(target) -> list[str]:
    mapper = inspect(type(target))
    skip = BOOKKEEPING | KINDS[type(target)].skip
    return [attr.key for attr in mapper.column_attrs if attr.key not in skip]


def _snapshot(conn, target, removed: bool) -> dict:
    """All set values of a new row (``[None, value]``) or a deleted one (``[value, None]``)."""
    values = inspect(target).dict
    changes = {}
    for key in _columns(target):
        shown = _shown(conn, key, values.get(key))
        if shown is not None:
            changes[_name(key)] = [shown, None] if removed else [None, shown]
    return changes


def _edits(conn, target) -> dict:
    """Columns whose value really changed, as ``[old, new]``.

    An old value that was never loaded (set on an expired attribute) is unknown;
    it is recorded as None, except for secrets, which always had a value to hide.
    """
    state = inspect(target)
    changes = {}
    for key in _columns(target):
        history = state.attrs[key].history
        if not history.added and not history.deleted:
            continue
        old = history.deleted[0] if history.deleted else None
        new = history.added[0] if history.added else None
        if history.deleted and old == new:
            continue
        old_shown = HIDDEN if key in SECRETS and not history.deleted else _shown(conn, key, old)
        changes[_name(key)] = [old_shown, _shown(conn, key, new)]
    return changes


def _action(object_type: str, event_name: str, changes: dict) -> str:
    """A specific verb where one reads better than create/update/delete."""
    keys = set(changes)
    if object_type == "membership":
        return {"insert": "member added", "delete": "member removed"}.get(event_name,
                                                                          "role changed")
    if event_name != "update":
        return "create" if event_name == "insert" else "delete"
    if object_type == "sender" and keys == {"default"}:
        return "default set" if changes["default"][1] else "default cleared"
    if object_type == "user" and keys == {"password"}:
        return "password changed"
    if object_type == "token" and changes.get("revoked_at", [None, None])[1] is not None:
        return "revoke"
    if object_type == "team" and keys == {"name"}:
        return "rename"
    return "update"


def _actor(conn) -> tuple[int | None, str, str | None]:
    """(user id, label, client IP): the signed-in user of a web request, else the CLI.

    The user is read from what Flask-Login already loaded for this request
    (``g._login_user``) and only through its identity, so nothing is loaded
    through the session while it is flushing.
    """
    if has_request_context():
        user = g.get("_login_user")
        state = inspect(user, raiseerr=False) if user is not None else None
        if state is None or not state.identity:
            return None, "anonymous", request.remote_addr
        user_id = state.identity[0]
        name = state.dict.get("username") or _scalar(conn, User.username, User.id, user_id)
        return user_id, name or f"user #{user_id}", request.remote_addr
    if click.get_current_context(silent=True) is not None:
        return None, "command line", None
    return None, "system", None


def _record(conn, target, event_name: str) -> None:
    """Write the entry for one inserted, updated or deleted audited row (if anything changed)."""
    kind = KINDS[type(target)]
    if event_name == "update":
        changes = _edits(conn, target)
        if not changes:
            return
    else:
        changes = _snapshot(conn, target, removed=event_name == "delete")
    values = inspect(target).dict
    team_id = values.get("id") if kind.object_type == "team" else values.get("team_id")
    team_label = values.get("name") if kind.object_type == "team" else (
        _team_name(conn, team_id) if team_id is not None else None)
    actor_id, actor_label, client_ip = _actor(conn)
    conn.execute(insert(AuditEntry.__table__).values(
        actor_user_id=actor_id, actor_label=actor_label[:120],
        client_ip=(client_ip or None) and client_ip[:64],
        action=_action(kind.object_type, event_name, changes),
        object_type=kind.object_type, object_id=values.get("id"),
        object_label=(kind.label(conn, values) or "")[:255], team_id=team_id,
        team_label=team_label and team_label[:80], changes=changes))


def record_action(conn, *, action: str, object_type: str, object_id: int, label: str,
                  team_id: int | None, changes: dict, actor_label: str | None = None) -> None:
    """An entry for a change no audited model's flush records (cancelling a message);
    ``actor_label`` names a caller that is not a signed-in user (an API token)."""
    actor_id, found_label, client_ip = _actor(conn)
    conn.execute(insert(AuditEntry.__table__).values(
        actor_user_id=actor_id, actor_label=(actor_label or found_label)[:120],
        client_ip=(client_ip or None) and client_ip[:64], action=action,
        object_type=object_type, object_id=object_id, object_label=(label or "")[:255],
        team_id=team_id, team_label=_team_name(conn, team_id)[:80] if team_id else None,
        changes=changes))


def _after_insert(_mapper, conn, target) -> None:
    _record(conn, target, "insert")


def _after_update(_mapper, conn, target) -> None:
    _record(conn, target, "update")


def _after_delete(_mapper, conn, target) -> None:
    _record(conn, target, "delete")


EVENTS = (("after_insert", _after_insert), ("after_update", _after_update),
          ("after_delete", _after_delete))


def install() -> None:
    """Attach the hooks to the audited models; safe to call for every app the process builds."""
    for model in KINDS:
        for name, hook in EVENTS:
            if not event.contains(model, name, hook):
                event.listen(model, name, hook)
