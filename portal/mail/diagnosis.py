"""Plain-language cause and advice for every ``DeliveryError`` shown to a person."""

from __future__ import annotations

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
        "or ask IT for it. Certificate checks are never switched off.",
    ),
    "tls_mismatch": (
        "The port and the encryption do not match ({reply}).",
        "465 usually means SSL; 587 and 25 usually mean STARTTLS. "
        "Change the encryption or the port.",
    ),
    "starttls_unsupported": (
        "The server does not offer STARTTLS ({reply}).",
        "Choose SSL (usually port 465) or No encryption (only inside a trusted network).",
    ),
    "unreachable": (
        "The portal cannot reach the mail server ({reply}).",
        "Check the host name and the port, the firewall, and whether the portal has "
        "outside network access.",
    ),
    "auth_failed": (
        "The server refused the login ({reply}).",
        "Check the username and password. QQ, 163, Tencent Exmail and Outlook need an "
        "authorization code or app password instead of the login password.",
    ),
    "auth_unsupported": (
        "The server does not accept a login on this connection ({reply}).",
        "Choose an encryption (STARTTLS or SSL) if the server only allows login over TLS, "
        "or leave the username empty if it accepts mail without login.",
    ),
    "sender_rejected": (
        "The server will not send as this address ({reply}).",
        "For many providers the sender address must equal the login user; "
        "check the sender address and the username.",
    ),
    "recipient_rejected": (
        "The server refused the recipient address ({reply}).",
        "Check the recipient address for typos; the mailbox may not exist.",
    ),
    "content_rejected": (
        "The server refused the content, often as spam ({reply}).",
        "Change the subject or the body and try again; 163 rejects subjects that look "
        "like tests.",
    ),
    "temporary": (
        "The server refused the mail temporarily ({reply}).",
        "Deferred mail will be retried automatically; for immediate mail, try again later.",
    ),
    "protocol": (
        "The conversation with the mail server failed ({reply}).",
        "Try again; if it keeps failing, check the server settings with IT.",
    ),
}
_FALLBACK = _TEXTS["protocol"]


def _reply(err: DeliveryError) -> str:
    """The server's answer as quoted in the cause, e.g. ``550 5.1.1 No such user``."""
    text = " ".join(err.text.split()) or "no details"
    if len(text) > 200:
        text = text[:197] + "..."
    return f"{err.code} {text}" if err.code is not None else text


def diagnose(err: DeliveryError) -> Diagnosis:
    """Turn a DeliveryError into a cause and advice a non-specialist can act on."""
    cause, advice = _TEXTS.get(err.reason, _FALLBACK)
    return Diagnosis(cause=cause.format(reply=_reply(err)), advice=advice)
