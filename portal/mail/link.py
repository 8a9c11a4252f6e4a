"""The smtplib layer under ``SmtpSession``: connections, the greeting wait, one AUTH.

Kept apart from the session logic so each piece stays small:

* ``Link`` / ``TlsLink`` are smtplib classes that note when TCP is up (to tell "no
  greeting" from "unreachable") and, for plain and STARTTLS ports, check a silent port
  for implicit TLS after a short wait instead of waiting the whole timeout.
* ``choose_mechanism`` / ``authenticate`` log in with exactly one AUTH command:
  smtplib's ``login`` falls back to the next mechanism after a 535, so a wrong password
  costs two or three failed logins (and providers count them towards a lock-out).
"""

from __future__ import annotations

import selectors
import smtplib
import socket
import ssl
import time

from portal.mail.settings import SmtpSettings

GREETING_GRACE = 3.0  # seconds of silence before asking whether the port speaks TLS
TLS_PROBE_TIMEOUT = 1.5  # the TLS handshake on the second connection
AUTH_PREFERENCE = ("CRAM-MD5", "PLAIN", "LOGIN")  # smtplib's order, strongest first


class PortSpeaksTls(Exception):
    """A plain/STARTTLS connection got no greeting, and the port answers a TLS handshake."""


class Link(smtplib.SMTP):
    """smtplib.SMTP that notes when TCP is up and checks a silent port for implicit TLS.

    ``settings`` (set by the session for plain and STARTTLS connections) enables the
    check; without it the greeting is awaited as smtplib does.
    """

    tcp_up = False
    settings: SmtpSettings | None = None

    def connect(self, host="localhost", port=0, source_address=None):
        # smtplib only sets _host (the name TLS verifies) when given to the constructor.
        self._host = host
        reply = super().connect(host, port, source_address)
        if self.sock is not None:  # the greeting wait may have shortened it
            self.sock.settimeout(self.timeout)
        return reply

    def _get_socket(self, host, port, timeout):
        sock = super()._get_socket(host, port, timeout)
        self.tcp_up = True
        if self.settings is not None:
            await_greeting(sock, self.settings)
        return sock


class TlsLink(smtplib.SMTP_SSL, Link):
    """Implicit TLS: SMTP_SSL wraps the socket that ``Link`` opened and marked."""


def tls_text(sock) -> str:
    """What the probe panel shows about a verified TLS link."""
    cipher = sock.cipher()[0] if sock.cipher() else "?"
    return f"{sock.version()} ({cipher}), certificate verified"


def _readable(sock: socket.socket, timeout: float) -> bool:
    with selectors.DefaultSelector() as selector:
        selector.register(sock, selectors.EVENT_READ)
        return bool(selector.select(timeout))


def await_greeting(sock: socket.socket, settings: SmtpSettings) -> None:
    """Wait a short while for the greeting; if none came, ask whether the port speaks TLS.

    A client on the wrong side of an implicit-TLS port (465) would otherwise wait the
    whole timeout: the server waits for a ClientHello and says nothing. Slow greeters
    (Postfix postscreen) are not affected: when the port does not speak TLS, the rest
    of the timeout is left on the socket for smtplib to read the greeting. Raises
    ``PortSpeaksTls`` (socket closed) when the port speaks TLS.
    """
    started = time.monotonic()
    grace = min(settings.timeout, GREETING_GRACE)
    if _readable(sock, grace):
        return
    left = settings.timeout - (time.monotonic() - started)
    if left > 0 and speaks_tls(sock.getpeername()[:2], settings, min(TLS_PROBE_TIMEOUT, left)):
        sock.close()
        waited = time.monotonic() - started
        raise PortSpeaksTls(
            f"{settings.host}:{settings.port}: connected, but no greeting within {grace:g} s, "
            f"and the port answered a TLS handshake after {waited:.1f} s: it expects SSL "
            "(implicit TLS), not a plain connection")
    # never 0, which would switch the socket to non-blocking mode
    sock.settimeout(max(settings.timeout - (time.monotonic() - started), 0.001))


def _probe_context(settings: SmtpSettings) -> ssl.SSLContext:
    try:
        return settings.tls_context()
    except (ssl.SSLError, ValueError):  # unreadable CA certificate: still verifying
        return ssl.create_default_context()


def speaks_tls(address: tuple, settings: SmtpSettings, timeout: float) -> bool:
    """True when a second connection to ``address`` completes a TLS handshake.

    Uses the sender's own verifying context: a certificate that fails verification
    proves TLS just as well, so verification is never switched off for this question.
    """
    deadline = time.monotonic() + timeout
    try:
        with socket.create_connection(address, timeout=timeout) as raw:
            raw.settimeout(max(deadline - time.monotonic(), 0.001))
            with _probe_context(settings).wrap_socket(raw, server_hostname=settings.host):
                return True
    except ssl.SSLCertVerificationError:
        return True
    except (OSError, ValueError):  # ssl.SSLError is an OSError: no TLS spoken here
        return False


def choose_mechanism(smtp: smtplib.SMTP) -> str | None:
    """The strongest AUTH mechanism both sides support, or None."""
    offered = smtp.esmtp_features.get("auth", "").upper().split()
    return next((mech for mech in AUTH_PREFERENCE if mech in offered), None)


def authenticate(smtp: smtplib.SMTP, mechanism: str, username: str,
                 password: str) -> tuple[int, bytes]:
    """Exactly one AUTH command with ``mechanism``; smtplib raises on failure
    (``SMTPAuthenticationError`` carries the reply), and nothing is retried."""
    smtp.user, smtp.password = username, password
    handler = getattr(smtp, "auth_" + mechanism.lower().replace("-", "_"))
    return smtp.auth(mechanism, handler)


def xoauth2(smtp: smtplib.SMTP, username: str, token: str) -> tuple[int, bytes]:
    """Exactly one ``AUTH XOAUTH2`` with the bearer token as the initial response.

    A server that refuses the token first sends a 334 with a base64 JSON error and
    waits for an empty line; the empty answer here lets it send the real 535, which
    smtplib raises as ``SMTPAuthenticationError``.
    """
    initial = f"user={username}\x01auth=Bearer {token}\x01\x01"

    def answer(challenge: bytes | None = None) -> str:
        return initial if challenge is None else ""

    return smtp.auth("XOAUTH2", answer, initial_response_ok=True)
