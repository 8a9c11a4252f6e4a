"""SMTP sessions with verified TLS, per-recipient results and classified failures.

One ``SmtpSession`` wraps one smtplib connection and can deliver many messages; every
failure leaves as a ``DeliveryError``. Each protocol step can be reported to an
``on_step`` callback (see ``portal.mail.probe``). The message transaction itself
(MAIL, RCPT, DATA) lives in ``portal.mail.transaction``.
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import Callable
from dataclasses import dataclass

from portal.mail.diagnosis_texts import NO_AUTH, NOT_ENCRYPTED
from portal.mail.errors import (
    PERMANENT,
    DeliveryError,
    classify,
    connect_error,
    from_reply,
    reply_text,
)
from portal.mail.link import Link, PortSpeaksTls, TlsLink, authenticate, choose_mechanism, tls_text
from portal.mail.settings import SmtpSettings
from portal.mail.transaction import SendResult, Transaction
from portal.mail.xoauth2 import OAuthLogin

__all__ = ["SendResult", "SmtpSession", "Step", "open_session"]

_ENVELOPE_STEPS = ("mail_from", "rcpt", "data")


@dataclass
class Step:
    """One line of the probe panel: a protocol step and the server's answer to it."""

    name: str
    ok: bool
    code: int | None
    text: str


class SmtpSession(OAuthLogin, Transaction):
    """One SMTP connection (connect, TLS, EHLO, login) reused for many messages.

    ``on_step`` receives a ``Step`` after each protocol step, successful or not.
    ``auth_mechanism`` is the AUTH mechanism used to log in (None without login).
    An OAuth2 sender (``settings.oauth``) gets its token first, as the "token" step.
    Use as a context manager, or call ``close()``; ``close`` never raises.
    """

    def __init__(self, settings: SmtpSettings, on_step: Callable[[Step], None] | None = None):
        self.settings = settings
        self._on_step = on_step
        self._smtp: Link | None = None
        self.auth_mechanism: str | None = None

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

    def _failed(self, err: DeliveryError, close: bool = False) -> DeliveryError:
        """Record a failed step and leave the session usable (RSET) or closed."""
        self._emit(err.step, False, err.code, err.text)
        if close or err.code == 421 or not self.is_open or (err.code is None and err.transient):
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
            if s.oauth is not None:
                self._token_step()
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
        """TCP, implicit TLS if configured, and the 220 greeting.

        Plain and STARTTLS connections that get no greeting for a few seconds check
        whether the port speaks TLS (``link.await_greeting``) and fail fast if so.
        """
        s = self.settings
        if s.encryption == "ssl":
            smtp = TlsLink(timeout=s.timeout, context=context)
        else:
            smtp = Link(timeout=s.timeout)
            smtp.settings = s
        self._smtp = smtp
        try:
            reply = smtp.connect(s.host, s.port)
        except PortSpeaksTls as exc:
            raise self._failed(DeliveryError("connect", "tls_mismatch", str(exc))) from exc
        except (OSError, UnicodeError) as exc:
            err = connect_error(exc, smtp.tcp_up, s)
            if err.step == "tls":  # TCP was fine, show that before the TLS failure
                self._emit("connect", True, None, f"connected to {s.host}:{s.port}")
            raise self._failed(err) from exc
        if not 100 <= reply[0] <= 599:  # not an SMTP reply line: never echo what it said
            smtp.close()  # and do not talk SMTP (QUIT) to it either
            raise self._failed(DeliveryError(
                "connect", "not_smtp", f"{s.host}:{s.port} answered, but not like a mail "
                "server (SMTP)", kind=PERMANENT), close=True)
        self._expect("connect", reply, 220)
        if s.encryption == "ssl":
            self._emit("tls", True, None, tls_text(smtp.sock))

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
        self._emit("tls", True, code, f"{reply_text(text)}; {tls_text(self._smtp.sock)}")
        self._ehlo()

    def _login(self) -> None:
        """One AUTH command with the strongest mechanism both sides support.

        Never a second mechanism after a refusal: each failed login counts towards the
        provider's lock-out, and the second try would fail just the same.
        """
        smtp = self._smtp
        if self.settings.encryption == "none" and not self.settings.allow_plain_auth:
            raise self._failed(DeliveryError(
                "auth", "plain_auth_refused", NOT_ENCRYPTED, kind=PERMANENT))
        if not smtp.has_extn("auth"):
            raise self._failed(DeliveryError(
                "auth", "auth_unsupported", NO_AUTH))
        if self.settings.oauth is not None:
            return self._oauth_login()
        mechanism = choose_mechanism(smtp)
        if mechanism is None:
            offered = smtp.esmtp_features.get("auth", "").strip()
            raise self._failed(DeliveryError(
                "auth", "auth_unsupported", f"the server offers AUTH {offered}, but none of "
                "CRAM-MD5, PLAIN or LOGIN"))
        s, self.auth_mechanism = self.settings, mechanism
        code, text = self._call("auth", authenticate, smtp, mechanism, s.username,
                                s.password or "")
        self._emit("auth", True, code, text)

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
