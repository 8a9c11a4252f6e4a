"""POST /api/v1/messages/batch: per-item checks and answers, one transaction, per-item
idempotency, the 1,000-item limit, and delivery of the queued items by the worker."""

from sqlalchemy import func, select

from portal.extensions import db
from portal.outbox.models import Message
from portal.outbox.worker import Worker
from tests.outbox_helpers import AUTH

URL = "/api/v1/messages/batch"
MAIL = {"to": "alice@example.org", "subject": "Daily figures", "html": "<p>Figures.</p>"}


def _post(client, secret, items):
    return client.post(URL, json={"messages": items},
                       headers={"Authorization": f"Bearer {secret}"})


def _count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Message))


def _deferred_default(smtpd_factory, make_smtp_sender):
    server = smtpd_factory("plain", auth=AUTH)
    make_smtp_sender(server, mode="immediate", is_default=True)  # batches queue anyway
    return server


def test_mixed_items_answered_in_order_valid_ones_queued(app, client, smtpd_factory,
                                                         make_smtp_sender, make_token):
    server = _deferred_default(smtpd_factory, make_smtp_sender)
    items = [MAIL, {**MAIL, "to": "not an address"}, "not an object",
             {**MAIL, "subjcet": "typo"}, {**MAIL, "to": "bob@example.org"},
             {**MAIL, "sender": 999}, {**MAIL, "mode": "immediate"}]
    response = _post(client, make_token(), items)
    assert response.status_code == 200, response.get_data(as_text=True)
    answers = response.json["messages"]
    assert len(answers) == len(items)
    assert answers[0]["status"] == "queued" and answers[4]["status"] == "queued"
    expected = [None, ("invalid_address", "to"), ("invalid_type", "messages"),
                ("unknown_field", "subjcet"), None, ("sender_not_found", "sender_id"),
                ("invalid_mode", "mode")]
    for answer, wanted in zip(answers, expected, strict=True):
        if wanted is None:
            assert set(answer) == {"id", "status"}
        else:
            assert (answer["error"]["code"], answer["error"]["field"]) == wanted
            assert answer["error"]["message"]
    assert _count(app) == 2
    assert Worker(app, batch=10).run_once() == 2
    assert sorted(rcpt for m in server.messages for rcpt in m.rcpt_tos) == [
        "alice@example.org", "bob@example.org"]
    with app.app_context():
        assert {m.status for m in db.session.scalars(select(Message))} == {"sent"}


def test_per_item_idempotency_like_the_header(app, client, smtpd_factory, make_smtp_sender,
                                              make_token):
    _deferred_default(smtpd_factory, make_smtp_sender)
    secret = make_token()
    first = _post(client, secret, [{**MAIL, "idempotency_key": "run-1"},
                                   {**MAIL, "idempotency_key": "run-1"},
                                   {**MAIL, "to": "x@example.org", "idempotency_key": "run-1"}])
    a, same, clash = first.json["messages"]
    assert a["status"] == "queued" and same == {"id": a["id"], "status": "queued",
                                                "replayed": True}
    assert clash["error"]["code"] == "idempotency_key_reused"
    again = _post(client, secret, [{**MAIL, "idempotency_key": "run-1"},
                                   {**MAIL, "to": "x@example.org", "idempotency_key": "run-1"},
                                   {**MAIL, "idempotency_key": "run-2"}])
    replay, other, fresh = again.json["messages"]
    assert replay == {"id": a["id"], "status": "queued", "replayed": True}
    assert other["error"]["code"] == "idempotency_key_reused"
    assert fresh["id"] != a["id"]
    # The header and the item key are one namespace per token.
    single = client.post("/api/v1/messages", json={**MAIL, "mode": "deferred"},
                         headers={"Authorization": f"Bearer {secret}",
                                  "Idempotency-Key": "run-2"})
    assert single.status_code == 409 and single.json["error"]["code"] == \
        "idempotency_key_reused"
    bad = _post(client, secret, [{**MAIL, "idempotency_key": "has space"}])
    assert bad.json["messages"][0]["error"]["field"] == "idempotency_key"
    assert _count(app) == 2


def test_thousand_items_in_one_call_and_limit(app, client, smtpd_factory, make_smtp_sender,
                                              make_token):
    _deferred_default(smtpd_factory, make_smtp_sender)
    secret = make_token()
    items = [{**MAIL, "to": f"user{i}@example.org", "idempotency_key": f"k{i}"}
             for i in range(1000)]
    response = _post(client, secret, items)
    assert response.status_code == 200
    answers = response.json["messages"]
    assert [a["status"] for a in answers] == ["queued"] * 1000
    ids = [a["id"] for a in answers]
    assert len(set(ids)) == 1000 and ids == sorted(ids)
    with app.app_context():
        rows = dict(db.session.execute(select(Message.id, Message.to_addrs)).all())
    assert all(rows[pk] == [f"user{i}@example.org"] for i, pk in enumerate(ids))
    too_many = _post(client, secret, items + [MAIL])
    assert too_many.status_code == 422
    assert too_many.json["error"]["code"] == "batch_too_large"
    assert "1000" in too_many.json["error"]["message"]
    assert _count(app) == 1000


def test_batch_shape_errors(app, client, relay, make_token):
    secret = make_token()
    headers = {"Authorization": f"Bearer {secret}"}
    for body, code in (({"messages": []}, "invalid_type"), ({"messages": {}}, "invalid_type"),
                       ({"messages": [MAIL], "extra": 1}, "unknown_field"),
                       ([MAIL], "invalid_json")):
        response = client.post(URL, json=body, headers=headers)
        assert response.json["error"]["code"] == code
        assert response.status_code in (400, 422)
    assert client.post(URL, json={"messages": [MAIL]}).status_code == 401
    assert _count(app) == 0


def test_no_default_sender_is_an_item_error(app, client, make_token):
    answers = _post(client, make_token(), [MAIL, MAIL]).json["messages"]
    assert [a["error"]["code"] for a in answers] == ["mailbox_not_configured"] * 2
    assert _count(app) == 0
