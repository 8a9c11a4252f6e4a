"""Sending records: filters, keyset pagination, scoping, escaping, export, retry, retention."""

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.outbox.models import Attempt, Message
from tests.conftest import HX, login

DAY = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def make_message(app):
    def make(**fields):
        values = dict(sender_name="Relay", sender_address="relay@example.com",
                      sender_reason="explicit", subject="Hello", html_body="<p>x</p>",
                      mode="deferred", status="sent", created_at=DAY, attempt_count=1)
        to, cc, bcc = (fields.pop(k, d) for k, d in
                       (("to", ["alice@example.org"]), ("cc", []), ("bcc", [])))
        values.update(fields)
        with app.app_context():
            message = Message(**values)
            message.set_recipients(to, cc, bcc)
            db.session.add(message)
            db.session.commit()
            return message.id
    return make


def _ids(client, query="", headers=HX):
    body = client.get(f"/records{query}", headers=headers).get_data(as_text=True)
    return sorted(int(part.split('"')[0]) for part in body.split('href="/messages/')[1:])


def _csv(response) -> list[dict]:
    """The rows of a CSV export (it starts with a byte-order mark, for Excel)."""
    return list(csv.DictReader(io.StringIO(response.get_data().decode("utf-8-sig"))))


@pytest.fixture
def root(client, world):
    login(client, "root")
    return client


def test_each_filter_alone_and_combined(root, make_message, world):
    a = make_message(sender_id=None, template_name="Weekly", to=["Alice@Example.org"])
    b = make_message(status="failed", template_name="Daily", to=["dan@example.net"],
                     cc=["bob@corp.example"], created_at=DAY + timedelta(days=1))
    c = make_message(template_name="weekly", to=["eve@example.net"], bcc=["carol@corp.example"],
                     created_at=DAY - timedelta(days=1, hours=11, minutes=59))
    assert _ids(root) == sorted([a, b, c])
    assert _ids(root, "?recipient=alice") == [a]
    assert _ids(root, "?recipient=BOB") == [b]            # matches cc, any case
    assert _ids(root, "?recipient=carol") == [c]          # matches bcc
    assert _ids(root, "?recipient=corp.example") == sorted([b, c])
    assert _ids(root, "?template=WEEKLY") == sorted([a, c])
    assert _ids(root, "?result=failed") == [b]
    assert _ids(root, "?date_from=2026-03-10&date_to=2026-03-10") == [a]
    assert _ids(root, "?date_to=2026-03-09") == [c]       # "to" includes that whole day
    assert _ids(root, "?date_from=2026-03-11") == [b]
    assert _ids(root, "?template=weekly&date_from=2026-03-10&recipient=example.org") == [a]


def test_sender_filter(root, make_message, smtpd_factory, make_smtp_sender):
    sid = make_smtp_sender(smtpd_factory("plain"))
    mine = make_message(sender_id=sid)
    make_message()
    assert _ids(root, f"?sender={sid}") == [mine]


def test_like_wildcards_are_literal(root, make_message):
    odd = make_message(to=["a_b%c@example.org"])
    make_message(to=["axbyc@example.org"])
    assert _ids(root, "?recipient=a_b%25c") == [odd]
    assert _ids(root, "?recipient=_b") == [odd]


def test_bad_filter_values_are_explained(root, make_message):
    make_message()
    body = root.get("/records?date_from=yesterday&result=lost&sender=x").get_data(as_text=True)
    assert "Enter a date like 2026-01-31." in body and "Choose a result" in body
    body = root.get("/records?date_from=2026-03-10&date_to=2026-03-01").get_data(as_text=True)
    assert "must not be before" in body


def test_fragment_for_htmx_and_page_otherwise(root, make_message):
    make_message()
    fragment = root.get("/records?recipient=alice", headers=HX)
    assert "<html" not in fragment.get_data(as_text=True)
    assert "HX-Request" in fragment.headers["Vary"]
    page = root.get("/records?recipient=alice").get_data(as_text=True)
    assert "<html" in page and 'value="alice"' in page


def test_keyset_pagination_stable_while_mail_arrives(app, root, make_message):
    app.config["PAGE_SIZE"] = 50
    first_ids = [make_message(created_at=DAY + timedelta(minutes=i)) for i in range(120)]
    seen, cursor_url = [], "/records"
    while cursor_url:
        body = root.get(cursor_url, headers=HX).get_data(as_text=True)
        seen += [int(p.split('"')[0]) for p in body.split('href="/messages/')[1:]]
        make_message(created_at=DAY + timedelta(days=5))  # newer mail between pages
        older = body.split('href="/records?after=')
        cursor_url = "/records?after=" + older[1].split('"')[0] if len(older) > 1 else None
    assert seen == sorted(first_ids, reverse=True)[: len(seen)]
    assert sorted(seen) == sorted(first_ids)  # nothing repeated or skipped


def test_count_is_capped(app, root, make_message, monkeypatch):
    from portal.records import service

    monkeypatch.setattr(service, "COUNT_CAP", 3)
    for _ in range(5):
        make_message()
    assert "More than 3 messages" in root.get("/records").get_data(as_text=True)


class TestScoping:
    @pytest.fixture
    def messages(self, app, world, make_message):
        return {
            "red_agent": make_message(team_id=world["red"], user_id=world["red_agent"]),
            "red_other": make_message(team_id=world["red"], user_id=world["red_admin"]),
            "blue": make_message(team_id=world["blue"], user_id=world["blue_agent"]),
            "system": make_message(team_id=None, user_id=world["root"]),
        }

    @pytest.mark.parametrize("user, visible", [
        ("root", {"red_agent", "red_other", "blue", "system"}),
        ("red_admin", {"red_agent", "red_other"}),
        ("red_agent", {"red_agent"}),
        ("blue_agent", {"blue"}),
    ])
    def test_list_detail_and_export(self, client, world, messages, user, visible):
        login(client, user)
        assert _ids(client) == sorted(messages[k] for k in visible)
        for key, pk in messages.items():
            status = client.get(f"/messages/{pk}").status_code
            assert status == (200 if key in visible else 404), (user, key)
        rows = _csv(client.get("/records/export.csv"))
        assert sorted(int(r["ID"]) for r in rows) == sorted(messages[k] for k in visible)


def test_xss_is_escaped_everywhere(root, make_message):
    payload = "<script>alert(1)</script>"
    make_message(subject=payload, sender_name=payload, template_name=payload, resource=payload,
                 to=["x@example.org"], triggered_by=payload)
    for headers in ({}, HX):
        body = root.get("/records", headers=headers).get_data(as_text=True)
        assert payload not in body and "&lt;script&gt;" in body
    pk = _ids(root)[0]
    assert payload not in root.get(f"/messages/{pk}").get_data(as_text=True)


def test_csv_export_is_the_filtered_set_and_neutralised(root, make_message):
    make_message(subject="=HYPERLINK(\"http://evil\")", to=["alice@example.org"],
                 resource="+cmd", template_name="@risky")
    make_message(subject="other", to=["bob@example.org"])
    response = root.get("/records/export.csv?recipient=alice")
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = _csv(response)
    assert len(rows) == 1
    assert rows[0]["Subject"].startswith("'=") and rows[0]["About"] == "'+cmd"
    assert rows[0]["Template"] == "'@risky"
    lines = root.get("/records/export.jsonl?recipient=bob").get_data(as_text=True).splitlines()
    assert [json.loads(line)["subject"] for line in lines] == ["other"]


def test_chart_counts_sent_partial_and_failed(root, make_message):
    make_message(status="sent")
    make_message(status="partial")
    make_message(status="failed")
    make_message(status="unknown")
    body = root.get("/records?date_from=2026-03-01&date_to=2026-03-31").get_data(as_text=True)
    assert "From 2026-03-01 to 2026-03-31: 1 sent, 1 partly sent and 2 failed." in body
    assert "2026-03-10: 1 sent, 1 partly sent, 2 failed" in body and "<svg" in body


class TestRetry:
    def test_failed_is_requeued(self, app, root, make_message):
        pk = make_message(status="failed")
        assert root.post(f"/messages/{pk}/retry", data={"confirm": "yes"}).status_code == 303
        with app.app_context():
            assert db.session.get(Message, pk).status == "queued"

    def test_unknown_asks_first(self, app, root, make_message):
        pk = make_message(status="unknown")
        body = root.post(f"/messages/{pk}/retry").get_data(as_text=True)
        assert "may deliver it twice" in body
        with app.app_context():
            assert db.session.get(Message, pk).status == "unknown"
        root.post(f"/messages/{pk}/retry", data={"confirm": "yes"})
        with app.app_context():
            assert db.session.get(Message, pk).status == "queued"

    def test_agents_and_sent_mail_cannot_be_retried(self, client, world, make_message):
        failed = make_message(status="failed", team_id=world["red"], user_id=world["red_agent"])
        sent = make_message(status="sent", team_id=world["red"])
        login(client, "red_agent")
        assert client.post(f"/messages/{failed}/retry").status_code == 403
        client.post("/logout")
        login(client, "red_admin")
        response = client.post(f"/messages/{sent}/retry", follow_redirects=True)
        assert "is sent: there is nothing to retry" in response.get_data(as_text=True)
        with client.application.app_context():
            assert db.session.get(Message, sent).status == "sent"
        assert client.post(f"/messages/{failed}/retry", data={"confirm": "yes"}).status_code \
            == 303


def test_purge_keeps_recent_and_pending(app, make_message):
    old = DAY - timedelta(days=400)
    make_message(created_at=datetime.now(UTC) - timedelta(days=400), status="sent")
    keep_pending = make_message(created_at=datetime.now(UTC) - timedelta(days=400),
                                status="queued")
    recent = make_message(created_at=datetime.now(UTC))
    with app.app_context():
        first = db.session.scalar(select(Message.id))
        db.session.add(Attempt(message_pk=first, number=1, started_at=old, outcome="sent"))
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["purge-records", "--older-than", "365"])
    assert "Deleted 1 sending record(s)" in result.output
    with app.app_context():
        assert sorted(db.session.scalars(select(Message.id))) == [keep_pending, recent]
        assert db.session.scalar(select(func.count()).select_from(Attempt)) == 0


def test_dense_and_selective_recipient_terms_agree(root, make_message, monkeypatch):
    from portal.records import search

    ids = [make_message(to=[f"user{i}@example.org"]) for i in range(6)]
    selective = _ids(root, "?recipient=example.org")
    monkeypatch.setattr(search, "DENSE", 2)  # now the term counts as dense: plain scan
    assert _ids(root, "?recipient=example.org") == selective == sorted(ids)
    assert _ids(root, "?recipient=user3") == [ids[3]]


def test_body_served_sandboxed_with_its_own_policy(client, world, make_message):
    pk = make_message(html_body='<p style="color:red">Hi</p><script>alert(1)</script>',
                      team_id=world["red"], user_id=world["red_agent"])
    login(client, "red_agent")
    page = client.get(f"/messages/{pk}").get_data(as_text=True)
    assert f'<iframe sandbox="" src="/messages/{pk}/body"' in page
    response = client.get(f"/messages/{pk}/body")
    policy = response.headers["Content-Security-Policy"]
    assert policy.startswith("sandbox;") and "script-src" not in policy
    assert "default-src 'none'" in policy and response.headers["X-Frame-Options"] == "SAMEORIGIN"
    client.post("/logout")
    login(client, "blue_agent")
    assert client.get(f"/messages/{pk}/body").status_code == 404


def test_recipient_index_consulted_once_per_page(app, root, make_message):
    from sqlalchemy import event

    from tests.conftest import backend

    if backend() != "sqlite":
        pytest.skip("the trigram look-up is SQLite's")
    make_message(to=["alice@example.org"])
    statements = []
    with app.app_context():
        engine = db.engine
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        root.get("/records?recipient=alice", headers=HX)
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    look_ups = [s for s in statements
                if s.startswith("SELECT count(*) FROM (SELECT rowid FROM recipients_fts")]
    assert len(look_ups) == 1


def test_template_filter_matches_any_part_of_the_name(root, make_message):
    weekly = make_message(template_name="Weekly sales report")
    make_message(template_name="Daily")
    make_message(template_name="Salesx50")
    assert _ids(root, "?template=SALES REP") == [weekly]
    assert _ids(root, "?template=s_5") == []              # "_" is not a wildcard
    assert len(_ids(root, "?template=sales")) == 2
