"""SMTP sessions with verified TLS and classified failures.

One ``SmtpSession`` wraps one smtplib connection and can deliver many messages; every
failure leaves as a ``DeliveryError``. Each protocol step can be reported to an
``on_step`` callback (see ``portal.mail.probe``).
"""

from __future__ import annotations

import contextlib
import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage

from portal.mail.compose import flatten_message
from portal.mail.errors import (
    PERMANENT,
    TRANSIENT,
    DeliveryError,
    classify,
    connect_error,
    from_reply,
    refused_error,
    reply_text,
)
from portal.mail.settings import SmtpSettings

_ENVELOPE_STEPS = ("mail_from", "rcpt", "data")


@dataclass
class Step:
    """One line of the probe panel: a protocol step and the server's answer to it."""

    name: str
    ok: bool
    code: int | None
    text: str


class _SMTP(smtplib.SMTP):
    """smtplib.SMTP that notes when TCP is up, to tell "no greeting" from "unreachable"."""

    tcp_up = False

    def connect(self, host="localhost", port=0, source_address=None):
        # smtplib only sets _host (the name TLS verifies) when given to the constructor.
        self._host = host
        return super().connect(host, port, source_address)

    def _get_socket(self, host, port, timeout):
        sock = super()._get_socket(host, port, timeout)
        self.tcp_up = True
        return sock


class _SMTPS(smtplib.SMTP_SSL, _SMTP):
    """Implicit TLS: SMTP_SSL wraps the socket that ``_SMTP`` opened and marked."""


def _tls_text(sock) -> str:
    cipher = sock.cipher()[0] if sock.cipher() else "?"
    return f"{sock.version()} ({cipher}), certificate verified"


class SmtpSession:
    """One SMTP connection (connect, TLS, EHLO, login) reused for many messages.

    ``on_step`` receives a ``Step`` after each protocol step, successful or not.
    Use as a context manager, or call ``close()``; ``close`` never raises.
    """

    def __init__(self, settings: SmtpSettings, on_step: Callable[[Step], None] | None = None):
        self.settings = settings
        self._on_step = on_step
        self._smtp: _SMTP | None = None

    def __enter__(self) -> SmtpSession:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    @property
    def is_open(self) -> bool:
        """False once the server dropped the connection (421, timeout, reset)."""
        return self._smtp is not None and self._smtp.sock is not None

    def _emit(self, name: str, ok: bool, code: int | None, text) -> None:
        if self._on_step is not None:
            self._on_step(Step(name, ok, code, reply_text(text)))

    def _failed(self, err: DeliveryError) -> DeliveryError:
        """Record a failed step and leave the session usable (RSET) or closed."""
        self._emit(err.step, False, err.code, err.text)
        if err.code == 421 or not self.is_open or (err.code is None and err.transient):
            self.close()
        elif err.step in _ENVELOPE_STEPS:
            self.reset()
        return err

    def _call(self, step: str, func, *args):
        """Run one smtplib call; any network or protocol failure becomes a DeliveryError."""
        try:
            return func(*args)
        except (OSError, UnicodeError) as exc:
            raise self._failed(classify(step, exc)) from exc

    def _expect(self, step: str, reply: tuple[int, bytes], *ok_codes: int, emit=True):
        code, text = reply
        if code not in ok_codes:
            raise self._failed(from_reply(step, code, text))
        if emit:
            self._emit(step, True, code, text)
        return code, reply_text(text)

    def open(self) -> SmtpSession:
        """Connect, secure, greet and log in; on failure close and raise DeliveryError."""
        if self.is_open:
            return self
        s = self.settings
        try:
            context = self._tls_context() if s.encryption != "none" else None
            self._connect(context)
            self._ehlo(emit=s.encryption != "starttls")
            if s.encryption == "starttls":
                self._starttls(context)
            if s.username:
                self._login()
        except DeliveryError:
            self.close()
            raise
        return self

    def _tls_context(self) -> ssl.SSLContext:
        try:
            return self.settings.tls_context()
        except (ssl.SSLError, ValueError) as exc:
            text = f"the CA certificate cannot be read: {exc}"
            raise self._failed(DeliveryError("tls", "cert_untrusted", text)) from exc

    def _connect(self, context: ssl.SSLContext | None) -> None:
        s = self.settings
        if s.encryption == "ssl":
            smtp = _SMTPS(timeout=s.timeout, context=context)
        else:
            smtp = _SMTP(timeout=s.timeout)
        self._smtp = smtp
        try:
            reply = smtp.connect(s.host, s.port)
        except (OSError, UnicodeError) as exc:
            err = connect_error(exc, smtp.tcp_up, s)
            if err.step == "tls":  # TCP was fine, show that before the TLS failure
                self._emit("connect", True, None, f"connected to {s.host}:{s.port}")
            raise self._failed(err) from exc
        self._expect("connect", reply, 220)
        if s.encryption == "ssl":
            self._emit("tls", True, None, _tls_text(smtp.sock))

    def _ehlo(self, emit: bool = True) -> None:
        smtp = self._smtp
        code, text = self._call("ehlo", smtp.ehlo)
        if not 200 <= code < 300:
            code, text = self._call("ehlo", smtp.helo)
        self._expect("ehlo", (code, text), 250, emit=False)
        if emit:
            features = (" ".join([k.upper(), *v.split()]) for k, v in smtp.esmtp_features.items())
            first = (reply_text(text).splitlines() or [""])[0]
            self._emit("ehlo", True, code, f"{first} [{', '.join(features)}]")

    def _starttls(self, context: ssl.SSLContext) -> None:
        if not self._smtp.has_extn("starttls"):
            text = "the server does not offer STARTTLS"
            raise self._failed(DeliveryError("tls", "starttls_unsupported", text, kind=PERMANENT))
        code, text = self._call("tls", lambda: self._smtp.starttls(context=context))
        self._emit("tls", True, code, f"{reply_text(text)}; {_tls_text(self._smtp.sock)}")
        self._ehlo()

    def _login(self) -> None:
        if not self._smtp.has_extn("auth"):
            raise self._failed(DeliveryError(
                "auth", "auth_unsupported", "the server offers no AUTH on this connection"))
        s = self.settings
        code, text = self._call("auth", self._smtp.login, s.username, s.password or "")
        self._emit("auth", True, code, text)

    def _mail_options(self, addresses: list[str]) -> list[str]:
        if all(address.isascii() for address in addresses):
            return []
        if not self._smtp.has_extn("smtputf8"):
            raise self._failed(DeliveryError(
                "mail_from", "protocol", "non-ASCII addresses need SMTPUTF8, "
                "which the server does not offer", kind=PERMANENT))
        return ["SMTPUTF8", "BODY=8BITMIME"]

    def _require_open(self, recipients: list[str]) -> None:
        if not recipients:
            raise ValueError("at least one recipient is required")
        if not self.is_open:
            raise DeliveryError("mail_from", "protocol", "the session is closed", kind=TRANSIENT)

    def _envelope(self, envelope_from: str, recipients: list[str], options: list[str]) -> None:
        """MAIL FROM and RCPT TO; any refused recipient fails the whole envelope."""
        reply = self._call("mail_from", self._smtp.mail, envelope_from, options)
        self._expect("mail_from", reply, 250)
        refused: dict[str, tuple[int, str]] = {}
        accepted = None
        for rcpt in recipients:
            code, text = self._call("rcpt", self._smtp.rcpt, rcpt)
            if code in (250, 251):
                accepted = (code, text)
                continue
            refused[rcpt] = (code, reply_text(text))
            if code == 421:
                break
        if refused:
            raise self._failed(refused_error(refused))
        self._emit("rcpt", True, *accepted)

    def verify_envelope(self, envelope_from: str, recipients: list[str]) -> None:
        """MAIL FROM + RCPT TO, then RSET: proves the server would take the mail, sends none."""
        self._require_open(recipients)
        self._envelope(envelope_from, recipients, self._mail_options([envelope_from, *recipients]))
        self.reset()

    def send(self, msg: EmailMessage | bytes, envelope_from: str,
             recipients: list[str]) -> tuple[int, str]:
        """Deliver one message; return the DATA reply. Bcc headers are never transmitted.

        ``msg`` may be bytes already made by ``flatten_message`` (the worker stores
        them once, so every attempt sends the very same message).
        Any refused recipient fails the message (``recipient_rejected``) and the session
        is reset so it stays usable; after a 421 or a dropped link it is closed instead.
        """
        self._require_open(recipients)
        options = self._mail_options([envelope_from, *recipients])
        payload = msg if isinstance(msg, bytes) else flatten_message(msg, utf8=bool(options))
        self._envelope(envelope_from, recipients, options)
        return self._expect("data", self._call("data", self._smtp.data, payload), 250)

    def reset(self) -> None:
        """RSET: abandon the current envelope; if that fails, close (see ``is_open``)."""
        code = None
        with contextlib.suppress(OSError):
            code = self._smtp.rset()[0] if self.is_open else None
        if code != 250:
            self.close()

    def close(self) -> None:
        """QUIT politely if possible, then drop the socket. Never raises."""
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            with contextlib.suppress(OSError):  # smtplib's exceptions are OSErrors too
                if smtp.sock is not None:
                    smtp.quit()
            smtp.close()


def open_session(
    settings: SmtpSettings, on_step: Callable[[Step], None] | None = None
) -> SmtpSession:
    """Open a ready-to-send session (connect, TLS, EHLO, login) or raise DeliveryError."""
    return SmtpSession(settings, on_step).open()
