"""The records export at size: streamed in bounded chunks, byte for byte the same content
as formatting each message field by field (the CSV with a byte-order mark, words in the
reader's language, times local and UTC), and never more than the user may see."""

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select

from portal.extensions import db
from portal.i18n.labels import status_label
from portal.mail.diagnosis import describe
from portal.outbox.models import STATUSES, Message
from portal.records import service
from portal.records.export_texts import BOM
from portal.records.filters import Filters
from tests.conftest import login

DAY = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
ROWS = 4500  # more than two batches of service.EXPORT_BATCH

# Values that need care: formula starts, quotes, commas, line breaks, backslashes,
# non-ASCII and non-BMP text, and JSON text that looks like the shortcuts' patterns.
TEXTS = ["plain", "=1+1", "+cmd", "-minus", "@at", "\tTab", "\rCR", "comma, and \"quote\"",
         "line\nbreak", "back\\slash", "发件人 报告", "emoji 📬", "", '"state": "accepted"',
         ",=not a start"]
ADDRESSES = [[], ["a@example.org"], ["用户@例子.公司", "b@example.org"], ["c@x.org", "d@x.org"],
             ['"odd, name"@example.org'], ["back\\slash@example.org", "-x@example.org"]]
RESULTS = [None, [], [{"address": "a@example.org", "state": "accepted", "code": 250,
                       "text": "2.0.0 OK"}],
           [{"address": "gone@corp.example", "state": "refused", "code": 550,
             "text": "5.1.1 no such user"},
            {"address": "a@example.org", "state": "accepted", "code": 250, "text": "OK"}],
           [{"address": "state", "state": "pending", "code": None, "text": None},
            {"address": "q@example.org", "state": "unknown", "code": 0, "text": "cut off"}],
           [{"address": "d@example.org", "state": "refused", "code": 450,
             "text": '"state": "accepted" 拒绝'}],
           [{"address": "e@example.org", "state": "refused", "code": 550,
             "text": "not accepted"}]]


FILES = [None, [], [{"filename": "销售日报 2026-11.xlsx", "size": 5, "content_type": "a/b",
                     "inline": False}],
         [{"filename": "=cmd.csv", "size": 1, "content_type": "text/csv", "inline": False},
          {"filename": 'q"uote\\d.png', "size": 2, "content_type": "image/png",
           "inline": True}]]


def _pick(values, i, step=1):
    return values[(i * step) % len(values)]


def _row(i: int, **fields) -> dict:
    """Message ``i`` of the fixture: every combination of the awkward values comes up."""
    created = DAY + timedelta(seconds=i // 3)  # ties: the id decides the order
    if i % 5 == 0:
        created = created.replace(microsecond=(i * 7919) % 1_000_000 or 1)
    to, cc, bcc = _pick(ADDRESSES, i, 1) or ["z@example.org"], _pick(ADDRESSES, i, 2), \
        _pick(ADDRESSES, i, 3)
    row = dict(
        sender_name=_pick(TEXTS, i, 1) or "Relay", sender_address=f"relay{i % 3}@example.com",
        sender_reason="explicit", to_addrs=to, cc_addrs=cc, bcc_addrs=bcc,
        recipients_search=" ".join(to + cc + bcc).lower(), subject=_pick(TEXTS, i, 2),
        html_body="<p>x</p>", mode="deferred", status=_pick(STATUSES, i), created_at=created,
        sent_at=None if i % 4 else created + timedelta(microseconds=250_000 * (i % 3)),
        reply_code=_pick([None, 0, 250, 550], i), reply_text=_pick([None, *TEXTS], i, 3),
        template_name=_pick([None, *TEXTS], i, 5), resource=_pick([None, *TEXTS], i, 7),
        client_ip=_pick([None, "10.0.0.1", "2001:db8::1"], i),
        triggered_by=_pick([None, *TEXTS], i, 11), attempt_count=i % 6,
        message_id=_pick([None, f"<{i}@bench>", "-id"], i),
        diagnosis=_pick([None, *TEXTS], i, 13), recipient_results=_pick(RESULTS, i),
        attachments=_pick(FILES, i, 17))
    row.update(fields)
    return row


def _insert(app, rows: list[dict]) -> None:
    with app.app_context():
        db.session.execute(insert(Message), rows)
        db.session.commit()


def _local(value) -> str:
    """A stored time as the local-time columns write it (the tests' zone is UTC)."""
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else ""


def _not_accepted(m) -> str:
    return "; ".join(f"{e['address']} ({e['state']}: {e['code'] or ''} {e['text'] or ''})"
                     .replace(": )", ")").replace("  ", " ")
                     for e in m.recipient_results or () if e["state"] != "accepted")


# The export written the plain way: one message object at a time, field by field.
# (CSV header, status, JSON key, value.)
REFERENCE_COLUMNS = [
    ("ID", None, "id", lambda m: m.id),
    ("Send time (UTC)", None, "created_local", lambda m: _local(m.created_at)),
    ("Send time (UTC, ISO 8601)", None, "created_at",
     lambda m: m.created_at.isoformat() if m.created_at else ""),
    ("Delivered (UTC)", None, "sent_local", lambda m: _local(m.sent_at)),
    ("Delivered (UTC, ISO 8601)", None, "sent_at",
     lambda m: m.sent_at.isoformat() if m.sent_at else ""),
    ("Send result", "label", "status", lambda m: m.status),
    ("Reply code", None, "reply_code", lambda m: m.reply_code or ""),
    ("Server's reply", None, "reply_text", lambda m: m.reply_text or ""),
    ("Sender", None, "sender_name", lambda m: m.sender_name),
    ("Sender address", None, "sender_address", lambda m: m.sender_address),
    ("To", None, "to", lambda m: ", ".join(m.to_addrs or [])),
    ("Cc", None, "cc", lambda m: ", ".join(m.cc_addrs or [])),
    ("Bcc", None, "bcc", lambda m: ", ".join(m.bcc_addrs or [])),
    ("Subject", None, "subject", lambda m: m.subject),
    ("Template", None, "template", lambda m: m.template_name or ""),
    ("About", None, "resource", lambda m: m.resource or ""),
    ("IP address", None, "client_ip", lambda m: m.client_ip or ""),
    ("Triggered by", None, "triggered_by", lambda m: m.triggered_by or ""),
    ("Attempts", None, "attempts", lambda m: m.attempt_count),
    ("Message-ID", None, "message_id", lambda m: m.message_id or ""),
    ("Diagnosis", None, "diagnosis", lambda m: describe(m.diagnosis) or ""),
    ("Not accepted", None, "not_accepted", _not_accepted),
    ("Attachments", None, "attachments",
     lambda m: "; ".join(a["filename"] for a in m.attachments or ())),
]
JSON_ORDER = ["id", "created_at", "sent_at", "status", "reply_code", "reply_text",
              "sender_name", "sender_address", "to", "cc", "bcc", "subject", "template",
              "resource", "client_ip", "triggered_by", "attempts", "message_id", "diagnosis",
              "not_accepted", "attachments", "created_local", "sent_local"]


def _reference(app) -> tuple[str, str]:
    """CSV and JSONL of every message, newest first, written the plain way."""
    def safe(value):
        starts = ("=", "+", "-", "@", "\t", "\r")
        return "'" + value if isinstance(value, str) and value.startswith(starts) else value

    with app.test_request_context():
        messages = db.session.scalars(
            select(Message).order_by(Message.created_at.desc(), Message.id.desc())).all()
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow([header for header, *_ in REFERENCE_COLUMNS])
        for m in messages:
            writer.writerow([safe(status_label(get(m)) if kind else get(m))
                             for _, kind, _, get in REFERENCE_COLUMNS])
        lines = ""
        for m in messages:
            values = {key: get(m) for _, _, key, get in REFERENCE_COLUMNS}
            values = {key: values[key] for key in JSON_ORDER} | {"timezone": "UTC"}
            lines += json.dumps(values, ensure_ascii=False) + "\n"
        return BOM + buffer.getvalue(), lines


@pytest.fixture
def root(client, world):
    login(client, "root")
    return client


def _chunks(client, url: str) -> list[str]:
    response = client.get(url, buffered=False)
    assert response.status_code == 200
    assert response.is_streamed and "Content-Length" not in response.headers
    chunks = [chunk.decode() for chunk in response.response]
    response.close()
    return chunks


def test_large_export_is_the_same_as_field_by_field(app, root):
    _insert(app, [_row(i) for i in range(ROWS)])
    expected_csv, expected_jsonl = _reference(app)
    assert expected_csv.count("'=") and expected_csv.count("'-") and "'\t" in expected_csv
    assert "".join(_chunks(root, "/records/export.csv")) == expected_csv
    assert "".join(_chunks(root, "/records/export.jsonl")) == expected_jsonl
    assert len(expected_jsonl.splitlines()) == ROWS


BENIGN = dict(sender_name="Relay", subject="ok", reply_text=None, template_name=None,
              resource=None, triggered_by=None, message_id=None, diagnosis=None,
              to_addrs=["a@example.org"], cc_addrs=[], bcc_addrs=[], recipient_results=None,
              attachments=None)


def test_each_formula_start_alone_is_neutralised(app, root, monkeypatch):
    """One risky value per message and one message per batch: each is caught by itself."""
    monkeypatch.setattr(service, "EXPORT_BATCH", 1)
    starts = ["=x", "+x", "-x", "@x", "\tx", "\rx", "=a,b", '-"q"', "@a\nb"]
    fields = ["subject", "sender_name", "reply_text", "template_name", "resource",
              "triggered_by", "message_id", "diagnosis"]
    rows = [_row(i, **{**BENIGN, field: value})
            for i, (field, value) in enumerate((f, v) for f in fields for v in starts)]
    rows += [_row(len(rows), **{**BENIGN, "to_addrs": ["-a@example.org"]}),
             _row(len(rows) + 1, **{**BENIGN, "recipient_results": [
                 {"address": "=b@example.org", "state": "refused", "code": 550, "text": "x"}]}),
             _row(len(rows) + 2, **{**BENIGN, "attachments": [FILES[3][0]]})]
    _insert(app, rows)
    expected_csv, _ = _reference(app)
    assert expected_csv.count(",'") + expected_csv.count(',"\'') == len(rows)
    assert "".join(_chunks(root, "/records/export.csv")) == expected_csv


def test_one_message_exactly(app, root):
    _insert(app, [_row(0, created_at=DAY, sent_at=DAY + timedelta(seconds=1, microseconds=5),
                       subject="=SUM(A1)", sender_name="Relay", reply_code=250,
                       reply_text="2.0.0 Ok", to_addrs=["a@example.org", "b@example.org"],
                       cc_addrs=[], bcc_addrs=["c@example.org"], template_name=None,
                       resource="/r/1", client_ip="10.0.0.1", triggered_by="ETL",
                       attempt_count=1, message_id="<1@x>", diagnosis=None, status="partial",
                       recipient_results=[{"address": "b@example.org", "state": "refused",
                                           "code": 550, "text": "no"}],
                       attachments=[{"filename": "營運報表(第3季).pdf", "size": 9,
                                     "content_type": "application/pdf", "inline": False},
                                    {"filename": "b.xlsx", "size": 1, "content_type": "x/y",
                                     "inline": False}])])
    body = root.get("/records/export.csv").get_data(as_text=True)
    assert body.startswith(
        "\ufeffID,Send time (UTC),\"Send time (UTC, ISO 8601)\",Delivered (UTC),")
    assert body.splitlines()[1] == (
        "1,2026-03-10 12:00:00,2026-03-10T12:00:00+00:00,2026-03-10 12:00:01,"
        "2026-03-10T12:00:01.000005+00:00,partly sent,250,2.0.0 Ok,"
        "Relay,relay0@example.com,\"a@example.org, b@example.org\",,c@example.org,'=SUM(A1),,"
        "/r/1,10.0.0.1,ETL,1,<1@x>,,b@example.org (refused: 550 no),"
        "營運報表(第3季).pdf; b.xlsx")
    line = root.get("/records/export.jsonl").get_data(as_text=True)
    assert line == (
        '{"id": 1, "created_at": "2026-03-10T12:00:00+00:00", "sent_at": '
        '"2026-03-10T12:00:01.000005+00:00", "status": "partial", "reply_code": 250, '
        '"reply_text": "2.0.0 Ok", "sender_name": "Relay", "sender_address": '
        '"relay0@example.com", "to": "a@example.org, b@example.org", "cc": "", '
        '"bcc": "c@example.org", "subject": "=SUM(A1)", "template": "", "resource": "/r/1", '
        '"client_ip": "10.0.0.1", "triggered_by": "ETL", "attempts": 1, "message_id": '
        '"<1@x>", "diagnosis": "", "not_accepted": "b@example.org (refused: 550 no)", '
        '"attachments": "營運報表(第3季).pdf; b.xlsx", "created_local": "2026-03-10 12:00:00", '
        '"sent_local": "2026-03-10 12:00:01", '
        '"timezone": "UTC"}\n')


def test_streamed_in_bounded_chunks_of_whole_lines(app, root, monkeypatch):
    monkeypatch.setattr(service, "EXPORT_BATCH", 1000)
    _insert(app, [_row(i, subject="ok", reply_text=None, diagnosis=None)
                  for i in range(ROWS)])
    chunks = _chunks(root, "/records/export.csv")
    assert len(chunks) == 1 + 5  # the header, then one chunk per batch of 1000 rows
    assert chunks[0].startswith("\ufeffID,Send time (UTC),") and chunks[0].count("\n") == 1
    for chunk in chunks[1:]:
        assert chunk.endswith("\r\n")
        assert len(list(csv.reader(io.StringIO(chunk)))) <= 1000
    chunks = _chunks(root, "/records/export.jsonl")
    assert [chunk.count("\n") for chunk in chunks] == [1000, 1000, 1000, 1000, 500]


def test_rows_come_in_bounded_batches(app, world):
    _insert(app, [_row(i) for i in range(1234)])
    with app.test_request_context():
        from portal.auth.models import User

        user = db.session.get(User, world["root"])
        query = service.export_query(user, Filters())
        sizes = [len(batch) for batch in service.stream_rows(query, chunk=500)]
    assert sizes == [500, 500, 234]


def test_other_teams_rows_never_appear(app, client, world, monkeypatch):
    monkeypatch.setattr(service, "EXPORT_BATCH", 700)
    red, blue = world["red"], world["blue"]
    rows = [_row(i, team_id=red if i % 2 else blue,
                 user_id=world["red_agent"] if i % 4 == 1 else world["blue_agent"])
            for i in range(3000)]
    _insert(app, rows)
    with app.app_context():
        team_of = dict(db.session.execute(select(Message.id, Message.team_id)).all())
        user_of = dict(db.session.execute(select(Message.id, Message.user_id)).all())
    for user, allowed in (("red_admin", lambda pk: team_of[pk] == red),
                          ("red_agent", lambda pk: user_of[pk] == world["red_agent"]),
                          ("blue_admin", lambda pk: team_of[pk] == blue)):
        login(client, user)
        expected = {pk for pk in team_of if allowed(pk)}
        exported = [int(r["ID"]) for r in csv.DictReader(io.StringIO(
            "".join(_chunks(client, "/records/export.csv")).removeprefix(BOM)))]
        assert len(exported) == len(set(exported)) and set(exported) == expected, user
        lines = "".join(_chunks(client, "/records/export.jsonl")).splitlines()
        assert {json.loads(line)["id"] for line in lines} == expected, user
        client.post("/logout")


def test_filters_pick_exactly_the_matching_rows(app, root):
    _insert(app, [_row(i, created_at=DAY + timedelta(hours=i % 48, seconds=i))
                  for i in range(3000)])
    with app.app_context():
        failed = {pk: created.date() for pk, created in db.session.execute(
            select(Message.id, Message.created_at).where(Message.status == "failed"))}
    expected = {pk for pk, day in failed.items() if day == DAY.date()}
    assert expected and len(expected) < len(failed)  # the date range drops some
    lines = "".join(_chunks(root, "/records/export.jsonl?result=failed&date_from=2026-03-10"
                                  "&date_to=2026-03-10")).splitlines()
    assert {json.loads(line)["id"] for line in lines} == expected
