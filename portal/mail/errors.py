"""The single exception type of the delivery core, and how SMTP replies map onto it."""

from __future__ import annotations

import smtplib
import ssl
from typing import TYPE_CHECKING

from portal.mail.classify import (
    PERMANENT,
    REASONS,
    STEPS,
    TRANSIENT,
    TRANSIENT_REASONS,
    classify_reply,
    enhanced_status,
    reason_for,
)

if TYPE_CHECKING:
    from portal.mail.settings import SmtpSettings

__all__ = [  # the classification names are re-exported so callers need one import
    "PERMANENT", "REASONS", "STEPS", "TRANSIENT", "TRANSIENT_REASONS", "DeliveryError",
    "classify", "classify_reply", "connect_error", "enhanced_status", "from_reply",
    "reason_for", "refused_error", "reply_text",
]
_MAX_STR = 200


class DeliveryError(Exception):
    """A failed delivery step, classified so callers can decide to retry or give up.

    ``step`` is the protocol step that failed, ``code`` the server's reply code (None
    when there was no reply, e.g. a refused connection), ``text`` the server's reply or
    the OS error text, ``reason`` a machine category for the diagnosis, and ``kind``
    ``"transient"`` (retry later) or ``"permanent"`` (retrying cannot help).
    ``recipients`` maps every recipient refused at RCPT TO to ``(code, text)`` (the
    reason then describes the reported refusal, which need not be a recipient problem).
    ``in_doubt`` is set when the link broke after the whole message (final dot
    included) was written but before the server's reply arrived: the server may have
    accepted it. The password is never part of any of these.
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
        in_doubt: bool = False,
    ) -> None:
        if kind is None:
            kind = TRANSIENT if reason in TRANSIENT_REASONS else PERMANENT
        self.step = step
        self.reason = reason
        self.text = text
        self.code = code
        self.kind = kind
        self.recipients = dict(recipients or {})
        self.in_doubt = in_doubt
        super().__init__(step, reason, code, text)

    @property
    def transient(self) -> bool:
        """True when the same delivery may succeed later (4xx, timeouts, dropped links)."""
        return self.kind == TRANSIENT

    @property
    def maybe_delivered(self) -> bool:
        """True when the link broke after the final dot without a reply: the server may
        have accepted the message, so it must not be resent automatically."""
        return self.in_doubt

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
    """An unexpected SMTP reply as a DeliveryError; the text is kept as the server sent it.

    The reason comes from the reply's words and enhanced status code first, then from
    the step (see ``portal.mail.classify.classify_reply``).
    """
    decoded = reply_text(text)
    reason, kind = classify_reply(step, code, decoded)
    return DeliveryError(step, reason, decoded, code=code, kind=kind)


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
    """One error for the recipients refused at RCPT TO (address -> ``(code, text)``).

    The refusal reported is the first permanent one (a 5xx outranks a 4xx: retrying
    cannot help it), else the first. Its code and text go into the error unchanged, its
    reason is what its reply means at the ``rcpt`` step, so a delayed "Relay access
    denied" or "Sender address rejected" is not told as a bad recipient. The error is
    transient only if every refusal is. ``recipients`` keeps all refusals.
    """
    if not refused:
        raise ValueError("refused_error needs at least one refused recipient")
    kinds = {address: classify_reply("rcpt", code, text)[1]
             for address, (code, text) in refused.items()}
    chosen = next((a for a, kind in kinds.items() if kind == PERMANENT), next(iter(refused)))
    code, text = refused[chosen]
    err = from_reply("rcpt", code, text)
    err.kind = PERMANENT if PERMANENT in kinds.values() else TRANSIENT
    err.recipients = dict(refused)
    return err
