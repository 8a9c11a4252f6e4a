"""The local OAuth2 provider and an SMTP server that accepts only its tokens (XOAUTH2).

A pytest plugin (registered in ``tests/conftest.py``). ``oauth_provider`` starts the
provider of ``tests/oauth_provider.py``; ``xoauth2_smtpd`` starts aiosmtpd servers that
accept ``AUTH XOAUTH2`` only with a token the provider says is currently valid,
answering a bad one like Microsoft and Google do (a 334 with a base64 JSON error, then
a 535).
"""

import base64
import json

import pytest
from aiosmtpd.smtp import MISSING, AuthResult, LoginPassword

from portal.mail.oauth import forget
from tests.oauth_provider import ACCOUNT, CLIENT_ID, CLIENT_SECRET, TENANT, OAuthProvider
from tests.oauth_trap import running_trap
from tests.smtp_servers import SmtpTestServer, _Handler

__all__ = ["ACCOUNT", "CLIENT_ID", "CLIENT_SECRET", "TENANT", "OAuthProvider"]


class _XOAuth2Handler(_Handler):
    """The SMTP test handler plus XOAUTH2, checked against the provider's tokens."""

    provider: OAuthProvider

    async def auth_XOAUTH2(self, server, args):  # noqa: N802  (aiosmtpd's naming)
        self.server._log("AUTH XOAUTH2")
        reply = self.server.replies.next("auth")
        if reply is not None:
            return AuthResult(success=False, handled=False, message=reply)
        try:
            fields = base64.b64decode(args[1]).decode().split("\x01")
            user = fields[0].removeprefix("user=")
            token = fields[1].removeprefix("auth=Bearer ")
        except (IndexError, ValueError):
            return AuthResult(success=False, handled=False, message="501 5.5.2 Bad XOAUTH2")
        self.server.xoauth2_users.append(user)
        if user == self.server.mailbox and self.provider.valid(token):
            return AuthResult(success=True, handled=False,
                              auth_data=LoginPassword(user.encode(), b""))
        error = json.dumps({"status": "401", "schemes": "bearer", "scope": "smtp"}).encode()
        if await server.challenge_auth(error) is MISSING:
            return AuthResult(success=False, handled=True)
        return AuthResult(success=False, handled=False,
                          message="535 5.7.3 Authentication unsuccessful")


@pytest.fixture
def empty_token_cache():
    """The process-wide token cache, empty before and after the test."""
    forget()
    yield
    forget()


@pytest.fixture
def trap():
    """A stranger's token endpoint that records what it receives (``tests.oauth_trap``)."""
    yield from running_trap()


@pytest.fixture
def oauth_provider():
    """The local OAuth2 provider (tokens valid for an hour unless ``lifetime`` is set)."""
    provider = OAuthProvider().start()
    yield provider
    provider.stop()


@pytest.fixture
def xoauth2_smtpd(smtpd_factory, oauth_provider):
    """``start(kind="starttls", mailbox=ACCOUNT)``: an SMTP server offering only
    ``AUTH XOAUTH2`` for ``mailbox`` with a token ``oauth_provider`` issued."""

    def start(kind: str = "starttls", mailbox: str = ACCOUNT, **opts) -> SmtpTestServer:
        handler = type("Handler", (_XOAuth2Handler,), {"provider": oauth_provider})
        opts.setdefault("auth_exclude_mechanism", ["CRAM-MD5", "LOGIN", "PLAIN"])
        opts.setdefault("auth_require_tls", kind == "starttls")
        return smtpd_factory(kind, handler_class=handler, mailbox=mailbox, **opts)

    return start
