"""Sender rules: who manages which sender, saving, deleting and the defaults."""

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update

from portal.crypto import decrypt, encrypt
from portal.errors import ServiceError
from portal.extensions import db
from portal.mail import SmtpSettings
from portal.senders import allowlist, oauth
from portal.senders.models import Sender
from portal.teams.models import Team
from portal.teams.service import administered_teams

EDITABLE = ("name", "team_id", "host", "port", "encryption", "address", "username",
            "display_name", "mode", "enabled", "ca_cert", "rate_per_minute", "max_connections",
            "allow_plain_auth", "daily_recipient_quota", "max_recipients_per_message",
            "fallback_sender_id", "max_message_bytes", *oauth.OAUTH_FIELDS)
MOVED_AWAY_MESSAGE = _l("Enter the password again: the stored one is only sent to the "
                        "server, port, encryption, username and CA certificate it was saved "
                        "with.")


class NotConfigured(Exception):
    """No usable default sender for a scope: mail that names no sender cannot go out."""

    code = "mailbox_not_configured"


def _ordered(query):
    return query.order_by(Sender.team_id.is_not(None), func.lower(Sender.name), Sender.id)


def managed_senders(user) -> list[Sender]:
    """Senders the user may change: all for system admins, their teams' for team admins."""
    return list(db.session.scalars(_ordered(select(Sender).where(Sender.managed_by(user)))))


def usable_senders(user) -> list[Sender]:
    """Enabled senders the user may send from: system-level ones and their teams'."""
    query = select(Sender).where(Sender.enabled.is_(True), Sender.visible_to(user))
    return list(db.session.scalars(_ordered(query)))


def save_sender(actor, sender: Sender | None, values: dict) -> Sender:
    """Create (sender None) or update. A blank password keeps the stored one."""
    if not actor.can_admin_team(values.get("team_id")):
        raise ServiceError(_("You cannot manage senders of that scope."), "team_id")
    refused = allowlist.refusal(actor, values.get("host"), values.get("port"))
    if refused:
        raise ServiceError(refused, "host")
    if not values.get("password") and moved_away(values, sender):
        raise ServiceError(str(MOVED_AWAY_MESSAGE), "password")
    check_fallback(actor, sender, values.get("fallback_sender_id"), values.get("team_id"))
    oauth.check_secret(values, sender)
    oauth_moved = oauth.moved(values, sender)
    if sender is None:
        sender = Sender()
        db.session.add(sender)
    moved = sender.id is not None and sender.team_id != values.get("team_id")
    for name in EDITABLE:
        if name not in oauth.OAUTH_FIELDS:  # written by ``oauth.apply``
            setattr(sender, name, values.get(name))
    sender.username = (values.get("username") or "").strip() or None
    sender.ca_cert = (values.get("ca_cert") or "").strip() or None
    if values.get("password"):
        sender.password_encrypted = encrypt(values["password"])
    oauth.apply(sender, values, oauth_moved)
    if moved or not sender.enabled:
        sender.is_default = False
    if moved:
        _drop_foreign_fallbacks(sender)
    db.session.flush()
    return sender


def fallback_fits(fallback: Sender, team_id: int | None) -> bool:
    """A sender of ``team_id`` may fall back only to a system-level sender or one of its
    own team (mail of one team never goes out through another team's account)."""
    return fallback.team_id is None or fallback.team_id == team_id


def _drop_foreign_fallbacks(sender: Sender) -> None:
    """A sender moved to another team stops being the fallback of senders outside it."""
    if sender.team_id is None:
        return
    db.session.execute(update(Sender).where(
        Sender.fallback_sender_id == sender.id,
        Sender.team_id.is_(None) | (Sender.team_id != sender.team_id))
        .values(fallback_sender_id=None).execution_options(synchronize_session=False))


def check_fallback(actor, sender: Sender | None, fallback_id: int | None,
                   team_id: int | None) -> None:
    """A fallback is an enabled sender the admin may use in the scope of ``team_id`` (the
    sender's team), never the sender itself, and never one that leads back to it
    (A → B → A would hand mail to and fro)."""
    if fallback_id is None:
        return
    if sender is not None and fallback_id == sender.id:
        raise ServiceError(_("A sender cannot be its own fallback."), "fallback_sender_id")
    usable = {candidate.id: candidate for candidate in usable_senders(actor)
              if fallback_fits(candidate, team_id)}
    current, seen = usable.get(fallback_id), set()
    if current is None:
        raise ServiceError(_("Choose an enabled sender you may use as the fallback sender."),
                           "fallback_sender_id")
    while sender is not None and current is not None and current.id not in seen:
        if current.fallback_sender_id == sender.id:
            raise ServiceError(_(
                "“%(name)s” already falls back to this sender, so this would be a loop. Choose "
                "another fallback sender, or first clear the fallback of “%(name)s”.",
                name=current.name), "fallback_sender_id")
        seen.add(current.id)
        current = db.session.get(Sender, current.fallback_sender_id or 0)


def delete_sender(actor, sender: Sender) -> None:
    """Records keep their copy of the sender's name and address; a default leaves its scope."""
    if not actor.can_admin_team(sender.team_id):
        raise ServiceError(_("You cannot manage this sender."))
    db.session.delete(sender)
    db.session.flush()


def current_default(team_id: int | None) -> Sender | None:
    query = select(Sender).where(Sender.is_default.is_(True), Sender.enabled.is_(True))
    query = query.where(Sender.team_id.is_(None) if team_id is None else Sender.team_id == team_id)
    return db.session.scalar(query)


def set_default(actor, team_id: int | None, sender_id: int | None) -> Sender | None:
    """Make ``sender_id`` the default of a scope (None clears it)."""
    if not actor.can_admin_team(team_id):
        raise PermissionError(_("You cannot choose the default sender of that scope."))
    sender = None
    if sender_id is not None:
        sender = db.session.get(Sender, sender_id)
        if sender is None or sender.team_id != team_id:
            raise ServiceError(_("Choose a sender of this scope."), "sender_id")
        if not sender.enabled:
            raise ServiceError(_("A disabled sender cannot be the default. Enable it first."),
                               "sender_id")
    previous = current_default(team_id)
    if previous is not None and previous is not sender:
        previous.is_default = False
        db.session.flush()
    if sender is not None:
        sender.is_default = True
    db.session.flush()
    return sender


def resolve_default(team_id: int | None) -> tuple[Sender, str]:
    """Sender for mail that names none: team default, then system default, else an error."""
    if team_id is not None:
        sender = current_default(team_id)
        if sender is not None:
            return sender, "team default"
    sender = current_default(None)
    if sender is not None:
        return sender, "system default"
    raise NotConfigured(_("No default sender is configured for this team or the system. "
                          "An administrator must choose one on the Senders page."))


def default_scopes(user) -> list[tuple[Team | None, Sender | None, list[Sender]]]:
    """Each scope the user administers: (team or None for system, its default, candidates)."""
    teams = [None] if user.is_system_admin else []
    teams += administered_teams(user)
    enabled = [s for s in managed_senders(user) if s.enabled]
    scopes = []
    for team in teams:
        team_id = team.id if team is not None else None
        candidates = [s for s in enabled if s.team_id == team_id]
        default = next((s for s in candidates if s.is_default), None)
        scopes.append((team, default, candidates))
    return scopes


def _destination(host, port, encryption, username, ca_cert) -> tuple:
    pem = "\n".join(line.strip() for line in str(ca_cert or "").strip().splitlines())
    return (str(host or "").strip().lower(), int(port or 0), encryption,
            str(username or "").strip(), pem)


def moved_away(values: dict, stored: Sender | None) -> bool:
    """True when the form changes where or how a stored password would go: host, port,
    encryption, username, CA certificate or the plain-login permission. Each could hand
    the secret to someone else (another host, or a listener on a port without TLS), so
    the password must be typed again. Switching plain login off, or pasting the same CA
    certificate with other line ends, changes nothing that matters."""
    if stored is None or not stored.password_encrypted or values.get("auth_method") == "oauth2":
        return False
    if values.get("allow_plain_auth") and not stored.allow_plain_auth:
        return True
    username = (values.get("username") or "").strip() or values.get("address")
    wanted = _destination(values.get("host"), values.get("port"), values.get("encryption"),
                          username, values.get("ca_cert"))
    return wanted != _destination(stored.host, stored.port, stored.encryption,
                                  stored.username or stored.address, stored.ca_cert)


def smtp_settings(values: dict, stored: Sender | None, timeout: float) -> SmtpSettings:
    """Settings from form values; a blank password falls back to the stored one.

    Login happens only when a password is known, or always with OAuth2 (XOAUTH2 with
    a token from ``oauth.token_source``); the username defaults to the address.
    """
    username = (values.get("username") or "").strip() or values.get("address")
    source = None
    if values.get("auth_method") == "oauth2":
        source = oauth.token_source(values, stored, username)
    password = None if source is not None else values.get("password") or None
    if not password and source is None and stored is not None and stored.password_encrypted:
        password = decrypt(stored.password_encrypted)
    return SmtpSettings(host=values["host"].strip(), port=int(values["port"]),
                        encryption=values["encryption"],
                        username=username if password or source else None,
                        password=password, oauth=source,
                        ca_cert=(values.get("ca_cert") or "").strip() or None, timeout=timeout,
                        allow_plain_auth=bool(values.get("allow_plain_auth")))


def sender_settings(sender: Sender, timeout: float) -> SmtpSettings:
    """Settings of a stored sender, for delivery."""
    return smtp_settings({name: getattr(sender, name) for name in EDITABLE}, sender, timeout)
