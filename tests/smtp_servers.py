"""Real SMTP servers (aiosmtpd) on 127.0.0.1 for the tests.

A pytest plugin (registered in ``tests/conftest.py``). ``smtpd_factory`` starts plain,
STARTTLS or implicit-TLS servers with optional AUTH and scripted replies, so delivery
code is tested against a real SMTP conversation instead of a mocked smtplib. Faults
real servers show (dropped links, a late greeting, missing extensions) are options of
``smtpd_factory`` too (see ``SmtpTestServer.start``).
"""

from __future__ import annotations

import asyncio
import email
import errno
import hmac
import secrets
import socket
import ssl
import threading
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import MISSING, SMTP, AuthResult, LoginPassword

from portal.mail.settings import SmtpSettings

HOST = "127.0.0.1"
KINDS = ("plain", "starttls", "ssl")
_ENCRYPTION = {"plain": "none", "starttls": "starttls", "ssl": "ssl"}
# Where ``drop_at`` can drop the link: at the MAIL, RCPT or DATA command (before any
# reply), in the middle of the message content (before its final dot), or after the
# final dot before the reply (the message was received: the client cannot know).
DROP_POINTS = ("mail", "rcpt", "data", "data_content", "data_end")
_TEST_OPTIONS = ("eightbitmime", "smtputf8", "cram_md5", "drop_at", "drop_times",
                 "drop_after", "greeting_delay", "handler_class", "mailbox")


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
    """One message as the server received it (``mail_options``: e.g. ``BODY=8BITMIME``)."""

    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    message: EmailMessage
    mail_options: list[str] = field(default_factory=list)


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
        received = ReceivedMessage(envelope.mail_from, list(envelope.rcpt_tos), content, parsed,
                                   list(envelope.mail_options))
        with self.server._lock:
            self.server.messages.append(received)
        if self.server.drop_here("data_end"):  # received, but the client never hears it
            await server.drop()
        return "250 2.0.0 Message accepted for delivery"

    async def auth_CRAM__MD5(self, server, args):
        """CRAM-MD5 (RFC 2195), offered only with ``cram_md5=True``."""
        self.server._log("AUTH CRAM-MD5")
        reply = self.server.replies.next("auth")
        if reply is not None:
            return AuthResult(success=False, handled=False, message=reply)
        challenge = f"<{secrets.token_hex(8)}@mx.test.local>".encode()
        response = await server.challenge_auth(challenge)
        if response is MISSING:
            return AuthResult(success=False, handled=True)
        user, _, digest = response.decode(errors="replace").rpartition(" ")
        password = self.server.auth.get(user)
        expected = hmac.new((password or "").encode(), challenge, "md5").hexdigest()
        ok = password is not None and hmac.compare_digest(digest, expected)
        return AuthResult(success=ok, handled=False,
                          auth_data=LoginPassword(user.encode(), b"") if ok else None)


class _FaultySMTP(SMTP):
    """aiosmtpd's SMTP with the test server's faults: a late greeting, dropped links."""

    def __init__(self, handler: _Handler, *, readiness_probe: bool, **kwargs) -> None:
        super().__init__(handler, **kwargs)
        self._test = handler.server
        self._greeting_delay = 0.0 if readiness_probe else self._test.greeting_delay
        for command in ("MAIL", "RCPT", "DATA"):
            self._smtp_methods[command] = self._droppable(command, self._smtp_methods[command])

    async def _handle_client(self) -> None:
        if self._greeting_delay:
            await asyncio.sleep(self._greeting_delay)
        await super()._handle_client()

    def _droppable(self, command: str, method):
        async def run(arg):
            if self._test.drop_here(command.lower()):
                return await self.drop()
            if command == "DATA" and self.envelope.rcpt_tos and self._test.drop_here(
                    "data_content"):
                await self.push("354 End data with <CR><LF>.<CR><LF>")
                await self._reader.readuntil(b"\r\n")  # the first line, then hang up
                return await self.drop()
            return await method(arg)
        return run

    async def drop(self) -> None:
        """Hang up at once without a reply (RST when data is still unread)."""
        self.transport.abort()
        await asyncio.sleep(5)  # connection_lost() cancels this task first


class _CountingController(Controller):
    """Controller that counts SMTP connections (one ``factory()`` call per connection)."""

    def __init__(self, *args, on_connection, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._on_connection = on_connection

    def factory(self) -> SMTP:
        first = self._on_connection() == 1  # aiosmtpd's own readiness probe
        return _FaultySMTP(self.handler, readiness_probe=first, **self.SMTP_kwargs)


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
        self.eightbitmime, self.smtputf8, self.cram_md5 = True, False, False
        self.drop_at: str | None = None
        self.drop_times: int | None = None
        self.drop_after: int | None = None
        self.greeting_delay = 0.0
        self._drops = self._envelope_commands = 0
        # Another handler (``tests/oauth_servers.py``: XOAUTH2) and the mailbox it
        # accepts; the users that tried XOAUTH2 are noted.
        self.handler_class = _Handler
        self.mailbox: str | None = None
        self.xoauth2_users: list[str] = []

    @property
    def sessions(self) -> int:
        """Client connections so far (the controller's own readiness probe excluded)."""
        return max(0, self._connections - 1)

    def _count(self) -> int:
        with self._lock:
            self._connections += 1
            return self._connections

    def drop_here(self, point: str) -> bool:
        """Whether to drop the link at ``point`` (see ``DROP_POINTS``); logs "DROP <point>".

        ``drop_after=N`` drops at the (N+1)-th MAIL/RCPT/DATA command the server receives
        (counted over all connections, so only once); ``drop_at`` drops at that point
        every time, or only the first ``drop_times`` times.
        """
        with self._lock:
            hit = False
            if point in ("mail", "rcpt", "data"):
                self._envelope_commands += 1
                hit = (self.drop_after is not None
                       and self._envelope_commands == self.drop_after + 1)
            if not hit and point == self.drop_at and (
                    self.drop_times is None or self._drops < self.drop_times):
                self._drops += 1
                hit = True
            if hit:
                self.commands.append(f"DROP {point}")
            return hit

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

    def _test_options(self, opts: dict) -> dict:
        """Take this plugin's own options out of ``opts`` (the rest go to aiosmtpd)."""
        for name in _TEST_OPTIONS:
            if name in opts:
                setattr(self, name, opts.pop(name))
        if self.drop_at is not None and self.drop_at not in DROP_POINTS:
            raise ValueError(f"drop_at must be one of {DROP_POINTS}")
        return opts

    def _smtp_options(self, opts: dict) -> dict:
        options: dict = {"server_hostname": "mx.test.local", "ready_timeout": 5.0,
                         # without 8BITMIME, aiosmtpd also refuses 8-bit content (500)
                         "decode_data": not self.eightbitmime,
                         "enable_SMTPUTF8": self.smtputf8}
        if not self.cram_md5:
            options["auth_exclude_mechanism"] = ["CRAM-MD5"]
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
        """Bind a free port (aiosmtpd's readiness probe fails with port 0) and serve.

        Besides aiosmtpd's own options: ``eightbitmime=False`` (8BITMIME not offered,
        8-bit content refused), ``smtputf8=True`` (SMTPUTF8 offered), ``cram_md5=True``
        (CRAM-MD5 offered besides PLAIN and LOGIN), ``greeting_delay`` (seconds before
        the 220), ``drop_at`` / ``drop_times`` / ``drop_after`` (see ``drop_here``).
        """
        options = self._smtp_options(self._test_options(opts))
        for _attempt in range(5):
            self.port = pick_free_port()
            controller = _CountingController(
                self.handler_class(self), hostname=HOST, port=self.port,
                on_connection=self._count, **options)
            try:
                controller.start()
            except OSError as exc:  # someone grabbed the port in between
                if exc.errno != errno.EADDRINUSE:
                    raise
                continue
            self._controller = controller
            if self.drop_at == "data_content":
                # A small receive buffer: a client writing a big message is reset
                # long before it could write the final dot.
                for listener in controller.server.sockets:
                    listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
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
            values["allow_plain_auth"] = self.kind == "plain"  # loopback: a trusted network
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

    ``opts`` are the faults of ``SmtpTestServer.start`` (``drop_at="data_end"``,
    ``eightbitmime=False`` ...) or go to aiosmtpd's Controller/SMTP (e.g.
    ``require_starttls=True``). All servers are stopped when the test ends.
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
