"""The single exception type of the delivery core, and how SMTP replies map onto it."""

from __future__ import annotations

import smtplib
import ssl
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from portal.mail.settings import SmtpSettings

STEPS = ("connect", "tls", "ehlo", "auth", "mail_from", "rcpt", "data")
REASONS = (
    "cert_untrusted",
    "tls_mismatch",
    "starttls_unsupported",
    "unreachable",
    "auth_failed",
    "auth_unsupported",
    "sender_rejected",
    "recipient_rejected",
    "content_rejected",
    "temporary",
    "protocol",
)
TRANSIENT, PERMANENT = "transient", "permanent"

# Reason for a 5xx reply, by the step that received it.
_PERMANENT_REASON = {
    "tls": "starttls_unsupported",
    "auth": "auth_failed",
    "mail_from": "sender_rejected",
    "rcpt": "recipient_rejected",
    "data": "content_rejected",
}
# 5xx replies to AUTH that mean "login is not possible here", not "wrong password".
_AUTH_UNSUPPORTED_CODES = (502, 503, 504, 538)
_MAX_STR = 200


class DeliveryError(Exception):
    """A failed delivery step, classified so callers can decide to retry or give up.

    ``step`` is the protocol step that failed, ``code`` the server's reply code (None
    when there was no reply, e.g. a refused connection), ``text`` the server's reply or
    the OS error text, ``reason`` a machine category for the diagnosis, and ``kind``
    ``"transient"`` (retry later) or ``"permanent"`` (retrying cannot help).
    ``recipients`` maps refused recipient addresses to ``(code, text)`` for
    ``recipient_rejected``. The password is never part of any of these.
    """

    def __init__(
        self,
        step: str,
        reason: str,
        text: str,
        *,
        code: int | None = None,
        kind: str | None = None,
        recipients: dict[str, tuple[int, str]] | None = None,
    ) -> None:
        if kind is None:
            kind = TRANSIENT if reason in ("temporary", "unreachable") else PERMANENT
        self.step = step
        self.reason = reason
        self.text = text
        self.code = code
        self.kind = kind
        self.recipients = dict(recipients or {})
        super().__init__(step, reason, code, text)

    @property
    def transient(self) -> bool:
        """True when the same delivery may succeed later (4xx, timeouts, dropped links)."""
        return self.kind == TRANSIENT

    @property
    def maybe_delivered(self) -> bool:
        """True when the link broke during DATA without a final reply: the server may
        have accepted the message, so it must not be resent automatically."""
        return self.step == "data" and self.code is None

    def __str__(self) -> str:
        """A one-line summary such as ``rcpt failed: 550 5.1.1 No such user``."""
        reply = " ".join(self.text.split())
        if self.code is not None:
            reply = f"{self.code} {reply}"
        if len(reply) > _MAX_STR:
            reply = reply[: _MAX_STR - 3] + "..."
        return f"{self.step} failed ({self.reason}): {reply}"

    def __repr__(self) -> str:
        return (
            f"DeliveryError(step={self.step!r}, reason={self.reason!r}, "
            f"code={self.code!r}, kind={self.kind!r}, text={self.text!r})"
        )

    def as_dict(self) -> dict:
        """Plain data for storing with a message attempt or returning from the API."""
        return {
            "step": self.step,
            "reason": self.reason,
            "code": self.code,
            "kind": self.kind,
            "text": self.text,
        }


def reply_text(raw: bytes | str | None) -> str:
    """Decode a server reply (smtplib hands out bytes) into stripped text."""
    if raw is None:
        return ""
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", errors="replace")
    return raw.strip()


def from_reply(step: str, code: int, text: bytes | str) -> DeliveryError:
    """Classify an unexpected SMTP reply: any 4xx is temporary, 5xx depends on the step."""
    decoded = reply_text(text)
    if 400 <= code < 500:
        return DeliveryError(step, "temporary", decoded, code=code, kind=TRANSIENT)
    if step == "auth" and code in _AUTH_UNSUPPORTED_CODES:
        return DeliveryError(step, "auth_unsupported", decoded, code=code, kind=PERMANENT)
    reason = _PERMANENT_REASON.get(step, "protocol")
    return DeliveryError(step, reason, decoded, code=code, kind=PERMANENT)


def _cert_error(exc: ssl.SSLCertVerificationError) -> DeliveryError:
    detail = exc.verify_message or exc.reason or str(exc)
    return DeliveryError("tls", "cert_untrusted", f"certificate verify failed: {detail}")


def classify(step: str, exc: BaseException) -> DeliveryError:
    """Map an exception raised by smtplib/ssl/socket during ``step`` to a DeliveryError."""
    if isinstance(exc, smtplib.SMTPResponseException):
        return from_reply(step, exc.smtp_code, exc.smtp_error)
    if isinstance(exc, ssl.SSLCertVerificationError):
        return _cert_error(exc)
    if isinstance(exc, ssl.SSLError):
        return DeliveryError("tls", "protocol", f"TLS handshake failed: {exc.reason or exc}")
    if isinstance(exc, UnicodeError):
        reason = "auth_failed" if step == "auth" else "protocol"
        text = "contains characters that cannot be sent over SMTP (ASCII only)"
        return DeliveryError(step, reason, text, kind=PERMANENT)
    dropped = isinstance(exc, smtplib.SMTPServerDisconnected)
    if dropped or not isinstance(exc, smtplib.SMTPException):  # timeouts, resets
        text = str(exc) or "connection closed by the server"
        return DeliveryError(step, "protocol", text, kind=TRANSIENT)
    reason = "auth_unsupported" if step == "auth" else "protocol"
    return DeliveryError(step, reason, str(exc), kind=PERMANENT)


def connect_error(exc: BaseException, tcp_up: bool, settings: SmtpSettings) -> DeliveryError:
    """Classify a failure before the greeting: unreachable, TLS trouble or a port mismatch.

    ``tcp_up`` tells a host that cannot be reached from one that accepted the TCP
    connection but then did not speak the expected protocol (SSL vs plain).
    """
    if isinstance(exc, ssl.SSLCertVerificationError):
        return _cert_error(exc)
    where, wait = f"{settings.host}:{settings.port}", f"{settings.timeout:g} s"
    if isinstance(exc, ssl.SSLError):
        text = f"TLS handshake failed ({exc.reason or exc}); the port does not seem to speak SSL"
        return DeliveryError("tls", "tls_mismatch", text)
    if not tcp_up:
        detail = f"timed out after {wait}" if isinstance(exc, TimeoutError) else (
            getattr(exc, "strerror", None) or str(exc))
        return DeliveryError("connect", "unreachable", f"{where}: {detail}")
    if isinstance(exc, TimeoutError):  # TCP up, but the TLS handshake was never answered
        text = f"{where}: no TLS handshake within {wait}; the port does not seem to speak SSL"
        return DeliveryError("tls", "tls_mismatch", text)
    if isinstance(exc.__context__, TimeoutError) and settings.encryption != "ssl":
        text = f"{where}: connected, but no greeting within {wait}; the port probably expects SSL"
        return DeliveryError("connect", "tls_mismatch", text)
    return DeliveryError("connect", "unreachable", f"{where}: {exc}", kind=TRANSIENT)


def refused_error(refused: dict[str, tuple[int, str]]) -> DeliveryError:
    """One error for all refused recipients; a 5xx outranks a 4xx (retrying cannot help)."""
    first = next(iter(refused.items()))
    address, (code, text) = next(((a, r) for a, r in refused.items() if r[0] >= 500), first)
    more = f" (and {len(refused) - 1} more)" if len(refused) > 1 else ""
    err = from_reply("rcpt", code, f"<{address}>: {text}{more}")
    err.recipients = dict(refused)
    return err
