"""Senders pointed at test SMTP servers, and quick submissions, for delivery tests."""

import pytest

from portal.crypto import encrypt
from portal.extensions import db
from portal.senders.models import Sender

AUTH = {"robot@example.com": "s3cret-auth-code"}
KIND_ENCRYPTION = {"plain": "none", "starttls": "starttls", "ssl": "ssl"}


@pytest.fixture
def make_smtp_sender(app):
    """A sender row for an SmtpTestServer; returns its id."""

    def make(server, *, name="Relay", team_id=None, mode="deferred", is_default=False,
             max_connections=1, rate_per_minute=None, password=None):
        with app.app_context():
            sender = Sender(
                name=name, team_id=team_id, host=server.host, port=server.port,
                encryption=KIND_ENCRYPTION[server.kind], address="robot@example.com",
                username="robot@example.com", display_name="Robot", mode=mode, enabled=True,
                is_default=is_default, max_connections=max_connections,
                rate_per_minute=rate_per_minute, allow_plain_auth=server.kind == "plain",
                ca_cert=server.ca_pem if server.kind != "plain" else None,
                password_encrypted=encrypt(password or AUTH["robot@example.com"])
                if server.auth else None)
            db.session.add(sender)
            db.session.commit()
            return sender.id

    return make
