"""Real SMTP servers (aiosmtpd) on 127.0.0.1 for the tests.

A pytest plugin (registered in ``tests/conftest.py``). ``smtpd_factory`` starts plain,
STARTTLS or implicit-TLS servers with optional AUTH and scripted replies, so delivery
code is tested against a real SMTP conversation instead of a mocked smtplib.
"""

from __future__ import annotations

import email
import errno
import socket
import ssl
import threading
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

from portal.mail.settings import SmtpSettings

HOST = "127.0.0.1"
KINDS = ("plain", "starttls", "ssl")
_ENCRYPTION = {"plain": "none", "starttls": "starttls", "ssl": "ssl"}


def ca_pem(ca: trustme.CA) -> str:
    """The CA certificate as PEM text, the form a sender's ``ca_cert`` field holds."""
    return ca.cert_pem.bytes().decode()


def pick_free_port() -> int:
    """A TCP port on 127.0.0.1 with nothing listening (the OS just handed it out)."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


@dataclass
class ReceivedMessage:
    """One message as the server received it."""

    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    message: EmailMessage


class _Replies:
    """Scripted answers per command: a fixed reply, a sequence, or per-address replies.

    ``"550 ..."`` answers every time; ``["451 ...", "451 ..."]`` answers the first two
    commands and then behaves normally; for ``rcpt`` a dict maps addresses to replies.
    """

    def __init__(self, script: dict | None) -> None:
        self._script = {key: list(v) if isinstance(v, list) else v
                        for key, v in (script or {}).items()}
        self._lock = threading.Lock()

    def next(self, command: str, address: str | None = None) -> str | None:
        with self._lock:
            planned = self._script.get(command)
            if isinstance(planned, dict):
                return planned.get(address)
            if isinstance(planned, list):
                return planned.pop(0) if planned else None
            return planned


class _Handler:
    """aiosmtpd handler: records envelopes and commands, answers scripted replies."""

    def __init__(self, server: SmtpTestServer) -> None:
        self.server = server

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self.server._log("EHLO")
        reply = self.server.replies.next("ehlo")
        if reply is not None:
            return [reply]
        session.host_name = hostname
        return responses

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        self.server._log(f"MAIL {address}")
        reply = self.server.replies.next("mail")
        if reply is not None:
            return reply
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        self.server._log(f"RCPT {address}")
        reply = self.server.replies.next("rcpt", address)
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_RSET(self, server, session, envelope):
        self.server._log("RSET")
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.server._log("DATA")
        reply = self.server.replies.next("data")
        if reply is not None:
            return reply
        content = envelope.original_content or envelope.content
        parsed = email.message_from_bytes(content, policy=policy.default)
        received = ReceivedMessage(envelope.mail_from, list(envelope.rcpt_tos), content, parsed)
        with self.server._lock:
            self.server.messages.append(received)
        return "250 2.0.0 Message accepted for delivery"


class _CountingController(Controller):
    """Controller that counts SMTP connections (one ``factory()`` call per connection)."""

    def __init__(self, *args, on_connection, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._on_connection = on_connection

    def factory(self) -> SMTP:
        self._on_connection()
        return super().factory()


class SmtpTestServer:
    """A running aiosmtpd server and what it has seen (thread-safe recording)."""

    def __init__(self, kind: str, auth: dict[str, str] | None, reply: dict | None,
                 ca: trustme.CA, server_ctx: ssl.SSLContext) -> None:
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}")
        self.kind, self.auth, self.host = kind, dict(auth or {}), HOST
        self.ca_pem = ca_pem(ca)
        self.replies = _Replies(reply)
        self.messages: list[ReceivedMessage] = []
        self.commands: list[str] = []
        self._connections = 0
        self._lock = threading.Lock()
        self._server_ctx = server_ctx
        self.port = 0
        self._controller: Controller | None = None

    @property
    def sessions(self) -> int:
        """Client connections so far (the controller's own readiness probe excluded)."""
        return max(0, self._connections - 1)

    def _count(self) -> None:
        with self._lock:
            self._connections += 1

    def _log(self, command: str) -> None:
        with self._lock:
            self.commands.append(command)

    def _authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        self._log(f"AUTH {mechanism}")
        reply = self.replies.next("auth")
        if reply is not None:
            return AuthResult(success=False, handled=False, message=reply)
        ok = (isinstance(auth_data, LoginPassword)
              and self.auth.get(auth_data.login.decode()) == auth_data.password.decode())
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    def _smtp_options(self, opts: dict) -> dict:
        options: dict = {"server_hostname": "mx.test.local", "ready_timeout": 5.0}
        if self.auth:
            # Plain: AUTH without TLS on purpose. SSL: aiosmtpd does not count implicit
            # TLS as TLS, so it would hide AUTH. Without ``auth``, AUTH is not offered.
            options["authenticator"] = self._authenticate
            options["auth_require_tls"] = self.kind == "starttls"
        if self.kind == "starttls":
            options["tls_context"] = self._server_ctx
        elif self.kind == "ssl":
            options["ssl_context"] = self._server_ctx
        options.update(opts)
        return options

    def start(self, **opts) -> SmtpTestServer:
        """Bind a free port (aiosmtpd's readiness probe fails with port 0) and serve."""
        options = self._smtp_options(opts)
        for _attempt in range(5):
            self.port = pick_free_port()
            controller = _CountingController(
                _Handler(self), hostname=HOST, port=self.port,
                on_connection=self._count, **options)
            try:
                controller.start()
            except OSError as exc:  # someone grabbed the port in between
                if exc.errno != errno.EADDRINUSE:
                    raise
                continue
            self._controller = controller
            return self
        raise RuntimeError("no free port for the SMTP test server")

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def settings(self, **overrides) -> SmtpSettings:
        """SmtpSettings pointing at this server: its encryption, CA, first user, 3 s."""
        values: dict = {"host": self.host, "port": self.port,
                        "encryption": _ENCRYPTION[self.kind], "timeout": 3.0}
        if self.kind != "plain":
            values["ca_cert"] = self.ca_pem
        if self.auth:
            values["username"], values["password"] = next(iter(self.auth.items()))
        values.update(overrides)
        return SmtpSettings(**values)


@pytest.fixture(scope="session")
def smtp_ca() -> trustme.CA:
    """A throwaway certificate authority for the test servers."""
    return trustme.CA()


@pytest.fixture(scope="session")
def smtp_server_context(smtp_ca: trustme.CA) -> ssl.SSLContext:
    """Server-side TLS context with a certificate for 127.0.0.1 and localhost."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    smtp_ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return context


@pytest.fixture
def smtpd_factory(smtp_ca, smtp_server_context):
    """Start SMTP servers on demand: ``start(kind, auth=None, reply=None, **opts)``.

    ``opts`` go to aiosmtpd's Controller/SMTP (e.g. ``require_starttls=True``).
    All servers are stopped when the test ends.
    """
    servers: list[SmtpTestServer] = []

    def start(kind: str = "plain", auth: dict[str, str] | None = None,
              reply: dict | None = None, **opts) -> SmtpTestServer:
        server = SmtpTestServer(kind, auth, reply, smtp_ca, smtp_server_context)
        servers.append(server)
        return server.start(**opts)

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def free_port() -> int:
    """A port on 127.0.0.1 where nothing listens: connections are refused at once."""
    return pick_free_port()
