"""Out-of-range numbers, dates and NUL characters get a clear answer, never a 500.

Runs on both backends; several of these only ever failed on PostgreSQL (integer
columns, NUL in text) — the PostgreSQL pass of the suite covers them there.
"""

import base64

import pytest

from portal.extensions import db
from portal.senders.models import Sender
from tests.conftest import HX, login

HUGE = "99999999999999999999"
PG_OVERFLOW = "2147483648"


@pytest.fixture
def root(client, world):
    login(client, "root")
    return client


@pytest.mark.parametrize("url", [
    f"/senders/{HUGE}", f"/senders/{PG_OVERFLOW}", f"/messages/{PG_OVERFLOW}",
    f"/messages/{HUGE}/body", f"/teams/{PG_OVERFLOW}", f"/users/{PG_OVERFLOW}",
])
def test_ids_beyond_the_column_are_not_found(root, url):
    assert root.get(url).status_code == 404


@pytest.mark.parametrize("url", [
    "/compose/progress?ids=²", f"/compose/progress?ids={HUGE}", "/compose/progress?ids=-1",
])
def test_progress_with_unusable_ids_is_not_found(root, url):
    assert root.get(url, headers=HX).status_code == 404


@pytest.mark.parametrize("query, explanation", [
    ("sender=²", "Choose a sender from the list."),
    (f"sender={HUGE}", "Choose a sender from the list."),
    ("date_to=9999-12-31", "Enter a date between"),
    ("date_from=9999-12-31", "Enter a date between"),
    ("date_to=0001-01-01", "Enter a date between"),
    ("date_from=0001-01-01", "Enter a date between"),
])
def test_records_filters_out_of_range_are_explained(root, query, explanation):
    response = root.get(f"/records?{query}")
    assert response.status_code == 200
    assert explanation in response.get_data(as_text=True)
    assert root.get(f"/records/export.csv?{query}").status_code == 200
    assert root.get(f"/audit?{query}").status_code == 200


@pytest.mark.parametrize("stamp", [f"2020-01-01T00:00:00+00:00|{HUGE}",
                                   "0001-01-01T00:00:00+14:00|1", "2020-01-01T00:00:00|1"])
def test_forged_cursors_start_from_the_newest(root, stamp):
    token = base64.urlsafe_b64encode(stamp.encode()).decode().rstrip("=")
    for page in ("/records", "/audit"):
        assert root.get(f"{page}?after={token}").status_code == 200


def test_user_list_page_numbers(root):
    for page in ("²", HUGE, "-3"):
        assert root.get(f"/users?page={page}").status_code == 200


@pytest.mark.parametrize("data", [{"scope": "²"}, {"scope": HUGE},
                                  {"scope": "system", "sender_id": "²"},
                                  {"scope": "system", "sender_id": HUGE}])
def test_default_form_with_bad_ids(root, data):
    assert root.post("/senders/defaults", data=data, headers=HX).status_code in (400, 422)


@pytest.mark.parametrize("sender_id", ["²", HUGE])
def test_check_with_bad_sender_id(root, sender_id):
    response = root.post("/senders/check", headers=HX, data={
        "action": "connection", "sender_id": sender_id, "host": "127.0.0.1", "port": "25",
        "encryption": "none", "address": "a@example.com", "display_name": "A"})
    assert response.status_code == 404


@pytest.mark.parametrize("method, url, data", [
    ("post", "/login", {"username": "a\x00b", "password": "x"}),
    ("get", "/users?q=a%00", None),
    ("get", "/records?recipient=ab%00c", None),
    ("get", "/records/export.csv?recipient=ab%00c", None),
    ("get", "/audit?actor=a%00", None),
    ("post", "/compose", {"to": "a@example.org", "subject": "Hi", "html_body": "<p>\x00</p>"}),
    ("post", "/templates/new", {"name": "T", "subject": "S", "html_body": "<p>\x00</p>"}),
])
def test_nul_characters_are_refused_clearly(root, method, url, data):
    response = getattr(root, method)(url, data=data)
    assert response.status_code == 400
    assert "NUL characters" in response.get_data(as_text=True)


def test_api_refuses_nul_and_out_of_range_sender(app, client, world):
    result = app.test_cli_runner().invoke(args=["create-token", "--name", "t"])
    token = result.stdout.strip()
    headers = {"Authorization": f"Bearer {token}"}
    response = client.post("/api/v1/messages", headers=headers,
                           json={"to": "a@example.org", "subject": "x", "html": "a\x00b"})
    assert response.status_code == 400 and "NUL" in response.get_json()["error"]["message"]
    response = client.post("/api/v1/messages", headers=headers,
                           json={"to": "a@example.org", "subject": "x", "html": "y",
                                 "sender": int(PG_OVERFLOW)})
    assert response.status_code == 422 and response.get_json()["error"]["field"] == "sender"
    assert client.get(f"/api/v1/messages/{PG_OVERFLOW}", headers=headers).status_code == 404


def test_long_sender_domain_still_gets_a_storable_message_id(app, world, smtpd_factory):
    from portal.outbox.actors import Actor
    from portal.outbox.service import Submission, submit

    server = smtpd_factory("plain")
    domain = ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 57])
    with app.app_context():
        sender = Sender(name="Long", host=server.host, port=server.port, encryption="none",
                        address=f"x@{domain}", display_name="Long", mode="immediate",
                        max_connections=1)
        db.session.add(sender)
        db.session.commit()
        message = submit(Actor(label="t", team_ids=None),
                         Submission(to=["a@example.org"], subject="Hi", html="<p>x</p>",
                                    sender_id=sender.id), None)
        assert message.status == "sent" and len(message.message_id) <= 255
