"""A sender's last check: kept on the sender, and carried by the form from a check to Save.

The sender list shows when a sender was last checked and how it went, and Save asks
for confirmation when that check failed. A check run on the sender form travels to
Save as a signed token (it may test settings that are not saved yet); the token names
the settings it tested, so a check of other settings never counts.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeSerializer

from portal.dbtypes import utcnow
from portal.i18n.marks import N_
from portal.senders import oauth
from portal.senders.models import Sender
from portal.senders.service import EDITABLE

# Short words for the list ("Failed: login refused"); the panel gives the full diagnosis.
REASON_LABELS = {
    "cert_untrusted": N_("certificate not trusted"),
    "tls_mismatch": N_("port and encryption do not match"),
    "starttls_unsupported": N_("STARTTLS not offered"),
    "tls_required": N_("encryption required"),
    "unreachable": N_("server unreachable"),
    "auth_required": N_("login required"),
    "auth_failed": N_("login refused"),
    "auth_unsupported": N_("login not possible"),
    "basic_auth_disabled": N_("password login disabled"),
    "send_as_denied": N_("may not send as this address"),
    "from_must_match_login": N_("address must equal the login"),
    "sender_rejected": N_("sender address refused"),
    "envelope_mismatch": N_("sender addresses differ"),
    "relay_denied": N_("relaying refused"),
    "client_rejected": N_("portal's host refused"),
    "recipient_rejected": N_("test recipient refused"),
    "content_rejected": N_("content refused"),
    "spam_suspected": N_("judged as spam"),
    "message_too_large": N_("message too large"),
    "too_many_recipients": N_("too many recipients"),
    "daily_quota": N_("daily quota used up"),
    "rate_quota": N_("sending quota used up"),
    "too_many_connections": N_("too many connections"),
    "temporary": N_("temporary refusal"),
    "not_smtp": N_("not a mail server"),
    "plain_auth_refused": N_("login without encryption not allowed"),
    "token_tenant_unknown": N_("tenant unknown"),
    "token_client_unknown": N_("client id unknown"),
    "token_secret_invalid": N_("client secret refused"),
    "token_secret_expired": N_("client secret expired"),
    "token_consent_missing": N_("consent missing"),
    "token_scope_invalid": N_("scope refused"),
    "token_reconnect": N_("reconnect the account"),
    "token_not_connected": N_("no account connected"),
    "token_unreachable": N_("token endpoint unreachable"),
    "token_bad_reply": N_("token endpoint answer unreadable"),
    "token_refused": N_("no token issued"),
}
_SALT = "sender-check"
_CONNECTION = ("host", "port", "encryption", "address", "username", "ca_cert",
               "allow_plain_auth", "auth_method", "oauth_provider", "oauth_flow",
               "oauth_tenant", "oauth_client_id", "oauth_token_url", "oauth_scope")


@dataclass(frozen=True)
class Outcome:
    """How one check went: ``reason`` is the failure's code (None when it worked)."""

    ok: bool
    at: datetime
    reason: str | None = None
    reply: str | None = None

    @property
    def reason_label(self) -> str:
        """A failure in a few words, e.g. "login refused" ("" when the check passed)."""
        if self.ok:
            return ""
        return _(REASON_LABELS.get(self.reason or "", N_("the check did not pass")))

    @property
    def summary(self) -> str:
        """ "OK" or "Failed: login refused"."""
        return _("OK") if self.ok else _("Failed: %(reason)s", reason=self.reason_label)


def from_report(report) -> Outcome:
    """The outcome of a finished probe (``ProbeReport``)."""
    error = report.error
    if error is None:
        return Outcome(True, utcnow())
    reply = " ".join(f"{error.code or ''} {error.text}".split())[:300] or None
    return Outcome(False, utcnow(), error.reason, reply)


def last(sender: Sender | None) -> Outcome | None:
    """The stored sender's last check, or None when it was never checked."""
    if sender is None or sender.last_check_ok is None or sender.last_check_at is None:
        return None
    return Outcome(sender.last_check_ok, sender.last_check_at, sender.last_check_reason,
                   sender.last_check_reply)


def record(sender: Sender, outcome: Outcome | None) -> None:
    """Store ``outcome`` as the sender's last check (None: never tested)."""
    sender.last_check_ok = outcome.ok if outcome else None
    sender.last_check_at = outcome.at if outcome else None
    sender.last_check_reason = outcome.reason if outcome else None
    sender.last_check_reply = outcome.reply if outcome else None


def fingerprint(values: dict) -> str:
    """A digest of the settings a check depends on (the password aside: it is never put
    in a page, not even hashed)."""
    wanted = {name: values.get(name) for name in _CONNECTION}
    wanted.update(oauth.comparable(values))
    wanted["host"] = str(wanted["host"] or "").strip().lower()
    wanted["port"] = str(wanted["port"] or "")
    wanted["username"] = str(wanted["username"] or "").strip() or wanted["address"]
    wanted["ca_cert"] = "\n".join(line.strip() for line in
                                  str(wanted["ca_cert"] or "").strip().splitlines())
    wanted["allow_plain_auth"] = bool(wanted["allow_plain_auth"])
    return hashlib.sha256(json.dumps(wanted, sort_keys=True).encode()).hexdigest()[:32]


def stored_values(sender: Sender) -> dict:
    """A stored sender's settings in the form's shape."""
    return {name: getattr(sender, name) for name in (*EDITABLE, "address")}


def tests_stored(values: dict, sender: Sender | None) -> bool:
    """True when a check of ``values`` is a check of ``sender`` as stored: same settings,
    and the stored password (none typed)."""
    return (sender is not None and not values.get("password")
            and not values.get("oauth_client_secret")
            and fingerprint(values) == fingerprint(stored_values(sender)))


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key, salt=_SALT)


def token(outcome: Outcome, values: dict) -> str:
    """The signed outcome the form sends along with Save."""
    return _serializer().dumps({"ok": outcome.ok, "at": outcome.at.isoformat(),
                                "reason": outcome.reason, "reply": outcome.reply,
                                "settings": fingerprint(values)})


def read_token(raw: str | None, values: dict) -> Outcome | None:
    """The check the form carries, if genuine and made with these very settings."""
    if not raw:
        return None
    try:
        data = _serializer().loads(raw)
        if data["settings"] != fingerprint(values):
            return None
        return Outcome(bool(data["ok"]), datetime.fromisoformat(data["at"]),
                       data.get("reason"), data.get("reply"))
    except (BadSignature, KeyError, TypeError, ValueError):
        return None


def failed_check(sender: Sender | None, carried: Outcome | None) -> Outcome | None:
    """The failed check that makes Save ask first: the one run on this form, else the
    stored sender's last one. A passing check on the form settles it."""
    if carried is not None:
        return None if carried.ok else carried
    stored = last(sender)
    return stored if stored is not None and not stored.ok else None


def after_save(sender: Sender, carried: Outcome | None, before: str | None,
               values: dict) -> None:
    """Keep the last check true to the saved settings: the form's check when it carries
    one; "never tested" when the settings or the password changed without a check."""
    if carried is not None:
        record(sender, carried)
    elif before is not None and (before != fingerprint(values) or values.get("password")
                                 or values.get("oauth_client_secret")):
        record(sender, None)
