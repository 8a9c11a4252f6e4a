"""Plain-language cause and advice for every ``DeliveryError`` shown to a person.

The cause quotes the server's reply (whitespace folded, long replies shortened: for
display only, the error's ``text`` stays verbatim). The advice depends on the reason
and, for transient errors, on whether the portal will try again: a message that ran
out of attempts must not promise another one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from portal.mail.errors import DeliveryError


@dataclass(frozen=True)
class Diagnosis:
    """What went wrong (``cause``) and what the user can do about it (``advice``)."""

    cause: str
    advice: str


# reason -> (cause, advice); "{reply}" is replaced by the server's answer or the OS error.
_TEXTS: dict[str, tuple[str, str]] = {
    "cert_untrusted": (
        "The server's certificate is signed by an authority this system does not trust "
        "({reply}).",
        "Paste the company's CA certificate (PEM) into the sender's CA certificate field, "
        "or ask IT for it. Certificate checks are never switched off."),
    "tls_mismatch": (
        "The port and the encryption do not match ({reply}).",
        "465 usually means SSL; 587 and 25 usually mean STARTTLS. "
        "Change the encryption or the port."),
    "starttls_unsupported": (
        "The server does not offer STARTTLS ({reply}).",
        "Choose SSL (usually port 465) if the server offers it, or ask the mail server's "
        "admin to enable STARTTLS. Without encryption the password and the mail cross the "
        "network readable."),
    "tls_required": (
        "The server accepts mail only over an encrypted connection ({reply}).",
        "Choose STARTTLS (usually port 587 or 25) or SSL (usually port 465) as the "
        "sender's encryption."),
    "unreachable": (
        "The portal cannot reach the mail server ({reply}).",
        "Check the host name and the port, the firewall, and whether the portal has "
        "outside network access."),
    "auth_required": (
        "The server accepts mail only after a login ({reply}).",
        "This server needs a login: enter the username and password (or authorization "
        "code) in the sender."),
    "auth_failed": (
        "The server refused the login ({reply}).",
        "Check the username and password. QQ, 163, Tencent Exmail and Outlook need an "
        "authorization code or app password instead of the login password."),
    "auth_unsupported": (
        "The server does not accept a login on this connection ({reply}).",
        "Choose an encryption (STARTTLS or SSL) if the server only allows login over TLS, "
        "or leave the username empty if it accepts mail without login."),
    "basic_auth_disabled": (
        "SMTP basic authentication (login with a password) is disabled for the Microsoft "
        "365 tenant or mailbox ({reply}).",
        "Switch the sender to OAuth2 (Authentication: OAuth2), or ask the Microsoft 365 "
        "admin to enable authenticated SMTP for this mailbox."),
    "send_as_denied": (
        "Microsoft 365 does not let this login send as the sender address ({reply}).",
        "Use the login's own mailbox as the sender address, or ask the Microsoft 365 "
        "admin to grant the login Send As permission for this address."),
    "from_must_match_login": (
        "The server sends mail only from the account that logged in ({reply}).",
        "Make the sender address equal the login account (the username), e.g. both "
        "reports@qq.com."),
    "sender_rejected": (
        "The server will not send as this address ({reply}).",
        "For many providers the sender address must equal the login user; "
        "check the sender address and the username."),
    "envelope_mismatch": (
        "The envelope sender is not the same as the From address in the message "
        "({reply}).",
        "Use one address for the sender address, the From header and the login account."),
    "relay_denied": (
        "The server will not relay mail from this client or login to that address "
        "({reply}).",
        "Make sure the sender logs in (username and password): most servers relay only "
        "for logged-in users. Otherwise ask the mail server's admin to allow relaying for "
        "this login or for the portal's host."),
    "client_rejected": (
        "The server refuses mail from this client, the portal's host or IP address "
        "({reply}).",
        "Ask the mail server's admin to accept the portal's host (its IP address and "
        "host name), or use a server that accepts it."),
    "recipient_rejected": (
        "The server refused the recipient address ({reply}).",
        "Check the recipient address for typos; the mailbox may not exist."),
    "content_rejected": (
        "The server refused the content, often as spam ({reply}).",
        "Change the subject or the body and try again; 163 rejects subjects that look "
        "like tests."),
    "spam_suspected": (
        "The server judged the message to be spam ({reply}).",
        "Change the subject and the body: avoid subjects that look like tests (163 rejects "
        "them), advertising wording, and mail that is only a link or an attachment."),
    "message_too_large": (
        "The message is larger than the server accepts ({reply}).",
        "Send smaller or fewer attachments, or a link to the file instead; set the "
        "sender's maximum message size to the provider's limit."),
    "too_many_recipients": (
        "The server refused more recipients in one message ({reply}).",
        "Lower the sender's recipients-per-message limit, or send to fewer recipients "
        "at once."),
    "daily_quota": (
        "The sender's daily sending quota at the provider is used up ({reply}).",
        "Send the rest after the quota resets (usually the next day) or through another "
        "sender; set the sender's daily recipient quota so the portal waits instead."),
    "rate_quota": (
        "The provider's short-term sending quota is used up: too many messages in the "
        "last minutes ({reply}).",
        "Lower the sender's messages-per-minute setting to stay under the provider's "
        "limit."),
    "too_many_connections": (
        "The server has too many connections from this client ({reply}).",
        "Lower the sender's parallel connections (1 is safest for public providers)."),
    "temporary": (
        "The server refused the mail temporarily ({reply}).",
        "If it keeps happening, ask the mail server's admin why it refuses the mail."),
    "not_smtp": (
        "The service on this host and port is not a mail server ({reply}).",
        "Check the host and the port: SMTP is usually on port 25, 465 or 587."),
    "plain_auth_refused": (
        "The portal does not send a password over an unencrypted connection ({reply}).",
        "Choose SSL or STARTTLS if the server offers it. Only for a server on a trusted "
        "network that offers neither, tick “Allow login without encryption”."),
    "unsafe_header": (
        "The message could not be built: {reply}.",
        "Correct the value it names (the sender's displayed name, the subject or an "
        "address) and send the mail again; it was not sent."),
    "protocol": (
        "The conversation with the mail server failed ({reply}).",
        "If it keeps failing, check the server settings with IT."),
}
_FALLBACK = _TEXTS["protocol"]
# A temporary refusal before any mail was offered is not a refusal of the mail.
_TEMPORARY_AT = {
    "connect": "The server is not taking connections just now ({reply}).",
    "ehlo": "The server is not taking connections just now ({reply}).",
    "auth": "The server could not check the login just now ({reply}).",
}
# Replies that arrive at RCPT TO without being about the recipient (Postfix delays the
# refusal of a sender, relay or client until then).
_ABOUT_RECIPIENTS = frozenset({"recipient_rejected", "temporary", "protocol"})
_SHOWN_REFUSALS = 3


def _reply(err: DeliveryError) -> str:
    """The server's answer as quoted in the cause, e.g. ``550 5.1.1 No such user``."""
    text = " ".join(err.text.split()) or "no details"
    if len(text) > 200:
        text = text[:197] + "..."
    return f"{err.code} {text}" if err.code is not None else text


def _words(text: str) -> str:
    return " ".join(text.casefold().split()).strip(" .;:")


def _with_reply(cause: str, reply: str) -> str:
    """The cause with the reply quoted in it, unless the cause already says the same:
    "The server does not offer STARTTLS (the server does not offer STARTTLS)" would say
    it twice. Compared without regard to case, spacing or end punctuation; a reply of a
    word or two that merely occurs in the cause is still quoted."""
    bare = cause.replace(" ({reply})", "").replace(": {reply}", "")
    said, told = _words(reply), _words(bare)
    if (said and 2 * len(said) >= len(told)
            and re.search(rf"(?<!\w){re.escape(said)}(?!\w)", told)):
        return bare
    return cause.format(reply=reply)


def _refusals(err: DeliveryError) -> str:
    """Which recipients were not accepted, e.g. ``... a@x (550), b@y (451).``"""
    if not err.recipients:
        return ""
    shown = [f"{address} ({code})" for address, (code, _text)
             in list(err.recipients.items())[:_SHOWN_REFUSALS]]
    more = len(err.recipients) - len(shown)
    listed = ", ".join(shown) + (f" and {more} more" if more else "")
    return f" Recipients not accepted: {listed}."


def _retry_note(final: bool, attempts: int | None, retrying: bool) -> str:
    """How a transient failure goes on: retried, to be tried again by hand, or given up."""
    if final:
        tried = f"after {attempts} attempt{'s' if attempts != 1 else ''}" if attempts else ""
        return f"Gave up {tried}".rstrip() + ": it is not sent again unless retried by hand."
    if retrying:
        return "It will be retried automatically."
    return "This is usually temporary: try again in a few minutes."


def diagnose(err: DeliveryError, final: bool = False, attempts: int | None = None, *,
             retrying: bool = True) -> Diagnosis:
    """Turn a DeliveryError into a cause and advice a non-specialist can act on.

    ``final`` says the message reached a final state, so a transient error is told as
    given up (``attempts`` says after how many tries). Otherwise a transient error is
    said to be retried automatically; pass ``retrying=False`` where nothing retries
    (a connection test). An error that may have delivered the message gets the
    in-doubt wording of ``diagnose_in_doubt``.
    """
    if err.maybe_delivered:
        return diagnose_in_doubt(err.step)
    cause, advice = _TEXTS.get(err.reason, _FALLBACK)
    if err.reason == "temporary":
        cause = _TEMPORARY_AT.get(err.step, cause)
    cause = _with_reply(cause, _reply(err))
    if err.step == "rcpt" and err.reason not in _ABOUT_RECIPIENTS:
        cause += " The server said so at RCPT TO, but it is not about the recipient address."
    cause += _refusals(err)
    if err.transient:
        advice = f"{_retry_note(final, attempts, retrying)} {advice}"
    return Diagnosis(cause=cause, advice=advice)


_IN_DOUBT_WHO = {
    "data": "The connection broke",
    "handover": "The worker (or the request) sending it stopped",
}


def diagnose_in_doubt(step: str | None = None) -> Diagnosis:
    """The wording for a message in state ``unknown``: it may or may not have arrived.

    ``step`` is the failed step if known: ``"data"`` (the connection broke after the
    final dot), ``"handover"`` (the worker or request died mid-way), else either.
    Nothing here suggests simply trying again: that may deliver a second copy.
    """
    who = _IN_DOUBT_WHO.get(step or "", "The connection or the worker stopped")
    cause = (f"{who} after the message was handed over, before the server confirmed it, "
             "so it may or may not have arrived.")
    advice = ("It is not resent automatically. Check with the recipients whether it "
              "arrived; a manual retry may deliver a second copy.")
    return Diagnosis(cause=cause, advice=advice)
