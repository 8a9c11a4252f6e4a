"""Every route that takes an id refuses another team's object, for every role.

The routes are read from the app's URL map, so a new route with an id is walked too;
one whose id names a kind of object this test does not know fails until it is added
to ``IDS`` below.
"""

import pytest
from werkzeug.routing import IntegerConverter

from portal.crypto import encrypt
from portal.directory.models import TeamGroupLink
from portal.extensions import db
from portal.outbox.models import Message
from portal.senders.models import Sender
from portal.templates_.models import MailTemplate
from portal.tokens import service as tokens
from tests.conftest import login
from tests.test_api import post


@pytest.fixture
def blue(app, world):
    """One of each kind of object, all belonging to team Blue: kind -> id."""
    from portal.cli import SYSTEM

    with app.app_context():
        sender = Sender(name="Blue relay", team_id=world["blue"], host="127.0.0.1", port=25,
                        encryption="starttls", address="blue@example.com",
                        display_name="Blue", mode="immediate", enabled=True,
                        password_encrypted=encrypt("blue-secret"))
        template = MailTemplate(name="Blue only", team_id=world["blue"], subject="x",
                                html_body="<p>x</p>")
        message = Message(team_id=world["blue"], user_id=world["blue_agent"],
                          sender_name="Blue relay", sender_address="blue@example.com",
                          sender_reason="explicit", to_addrs=["a@example.org"], cc_addrs=[],
                          bcc_addrs=[], recipients_search="a@example.org", subject="Blue",
                          html_body="<p>blue</p>", mode="immediate", status="failed",
                          attempt_count=1, message_id="<blue@example.com>")
        token, _secret = tokens.create_token(SYSTEM, "Blue ETL", world["blue"])
        link = TeamGroupLink(team_id=world["blue"], group_dn="cn=blue,ou=groups,dc=x",
                             role="agent")
        db.session.add_all([sender, template, message, link])
        db.session.commit()
        return {"sender_id": sender.id, "template_id": template.id, "token_id": token.id,
                "link_id": link.id,
                "message_pk": message.id, "message_id": message.id,
                "team_id": world["blue"], "user_id": world["blue_agent"]}


REDIRECTS = ("sender_oauth.start",)


def _id_routes(app):
    """(rule, methods) for every route with an integer id in its path."""
    found = []
    for rule in app.url_map.iter_rules():
        converters = rule._converters  # noqa: SLF001 (werkzeug keeps them only here)
        ids = [name for name, conv in converters.items() if isinstance(conv, IntegerConverter)]
        if ids and not rule.rule.startswith("/api/"):
            found.append((rule, sorted(rule.methods & {"GET", "POST"})))
    assert len(found) >= 15, "the URL map was not read"
    return found


def _url(rule, blue) -> str:
    unknown = [name for name in rule.arguments if name not in blue]
    assert not unknown, f"{rule.rule}: add the kind of object {unknown} names to this test"
    return rule.build({name: blue[name] for name in rule.arguments})[1]


@pytest.mark.parametrize("role", ["red_admin", "red_agent"])
def test_other_teams_objects_are_out_of_reach(app, client, world, blue, role):
    login(client, role)
    for rule, methods in _id_routes(app):
        url = _url(rule, blue)
        for method in methods:
            status = client.open(url, method=method, data={}).status_code
            assert status in (403, 404), f"{role} {method} {url} answered {status}"
    with app.app_context():
        assert db.session.get(Sender, blue["sender_id"]).name == "Blue relay"
        assert db.session.get(Message, blue["message_pk"]).status == "failed"


def test_the_same_routes_open_for_a_system_admin(app, client, world, blue):
    """The ids are real: a system admin reaches every one of those pages."""
    login(client, "root")
    for rule, methods in _id_routes(app):
        if "GET" in methods:
            url = _url(rule, blue)
            # Sign-in sends the browser on (to the provider, or back to the form).
            expected = 303 if rule.endpoint in REDIRECTS else 200
            assert client.get(url).status_code == expected, url


def test_a_team_token_cannot_read_another_teams_message(app, client, world, blue,
                                                        make_token):
    secret = make_token(team_id=world["red"])
    response = client.get(f"/api/v1/messages/{blue['message_id']}",
                          headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 404
    blue_secret = make_token(team_id=world["blue"])
    assert client.get(f"/api/v1/messages/{blue['message_id']}",
                      headers={"Authorization": f"Bearer {blue_secret}"}).status_code == 200
    assert post(client, secret, {"to": "a@example.org", "subject": "x", "html": "<p>x</p>",
                                 "sender": blue["sender_id"]}).status_code == 404
