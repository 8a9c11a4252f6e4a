"""Senders pointed at test SMTP servers, and quick submissions, for delivery tests."""

import pytest
from sqlalchemy import update

from portal.crypto import encrypt
from portal.extensions import db
from portal.outbox.actors import Actor
from portal.outbox.service import Submission, submit
from portal.senders.models import Sender
from portal.tokens import service as tokens

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


@pytest.fixture
def make_token(app):
    """A token as the operator creates it; returns the secret."""
    from portal.cli import SYSTEM

    def make(team_id=None, name="ETL", revoked=False):
        with app.app_context():
            token, secret = tokens.create_token(SYSTEM, name, team_id)
            if revoked:
                tokens.revoke_token(SYSTEM, token)
            db.session.commit()
            return secret

    return make


@pytest.fixture
def relay(smtpd_factory, make_smtp_sender):
    """A plain SMTP server with AUTH and an immediate system default sender for it."""
    server = smtpd_factory("plain", auth=AUTH)
    server.sender_id = make_smtp_sender(server, mode="immediate", is_default=True)
    return server


def set_sender(app, sid, **values):
    """Change stored sender columns directly (quotas, fallback, a closed port ...)."""
    with app.app_context():
        db.session.execute(update(Sender).where(Sender.id == sid).values(**values))
        db.session.commit()


def queue(app, sid, to=("alice@example.org",)):
    """Submit one deferred message through sender ``sid``; returns its id."""
    with app.app_context():
        sub = Submission(to=list(to), subject="Monthly figures", html="<p>Figures.</p>",
                         sender_id=sid, mode="deferred")
        return submit(Actor(label="tester", team_ids=None), sub, None).id
