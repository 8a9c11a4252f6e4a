"""Records and audit in the reader's time zone: times shown, date filters, chart days and
the export all follow the user's zone (times are stored in UTC)."""

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert

from portal.audit.models import AuditEntry
from portal.auth.models import User
from portal.extensions import db
from portal.outbox.models import Message
from tests.conftest import HX, login

# 23:30 UTC on 10 March is 07:30 on 11 March in Shanghai (UTC+8, no daylight saving).
LATE = datetime(2026, 3, 10, 23, 30, tzinfo=UTC)


def _zone(app, username_id: int, zone: str) -> None:
    with app.app_context():
        db.session.get(User, username_id).timezone = zone
        db.session.commit()


def _message(app, created_at: datetime, subject: str = "Late", **fields) -> int:
    with app.app_context():
        message = Message(sender_name="Relay", sender_address="relay@example.com",
                          sender_reason="explicit", subject=subject, html_body="<p>x</p>",
                          mode="deferred", status="sent", attempt_count=1,
                          created_at=created_at, **fields)
        message.set_recipients(["alice@example.org"])
        db.session.add(message)
        db.session.commit()
        return message.id


def _ids(client, query: str) -> list[int]:
    body = client.get(f"/records{query}", headers=HX).get_data(as_text=True)
    return sorted(int(part.split('"')[0]) for part in body.split('href="/messages/')[1:])


@pytest.fixture
def shanghai(app, client, world):
    """root, signed in, reading in Asia/Shanghai."""
    _zone(app, world["root"], "Asia/Shanghai")
    login(client, "root")
    return client


def test_shown_in_the_readers_zone_with_the_zone_named(app, shanghai):
    pk = _message(app, LATE)
    page = shanghai.get("/records?date_from=2026-03-11").get_data(as_text=True)
    assert "Send time (UTC+8)" in page
    assert 'title="2026-03-11 07:30:00 UTC+8"' in page and "07:30" in page
    detail = shanghai.get(f"/messages/{pk}").get_data(as_text=True)
    assert "2026-03-11 07:30:00 UTC+8" in detail and "23:30" not in detail


def test_date_filter_days_are_local_days(app, shanghai):
    late = _message(app, LATE)
    assert _ids(shanghai, "?date_from=2026-03-11&date_to=2026-03-11") == [late]
    assert _ids(shanghai, "?date_from=2026-03-10&date_to=2026-03-10") == []
    # Local midnight is 16:00 UTC the day before: "from" starts there, "to" ends there.
    first = _message(app, datetime(2026, 3, 11, 16, 0, tzinfo=UTC))       # 12 Mar 00:00
    last = _message(app, datetime(2026, 3, 11, 15, 59, 59, tzinfo=UTC))   # 11 Mar 23:59:59
    early = _message(app, datetime(2026, 3, 10, 16, 0, tzinfo=UTC))       # 11 Mar 00:00
    before = _message(app, datetime(2026, 3, 10, 15, 59, 59, tzinfo=UTC))  # 10 Mar 23:59:59
    assert _ids(shanghai, "?date_to=2026-03-11") == sorted([late, last, early, before])
    assert _ids(shanghai, "?date_from=2026-03-11") == sorted([late, last, early, first])
    assert _ids(shanghai, "?date_from=2026-03-11&date_to=2026-03-11") == sorted(
        [late, last, early])


def test_chart_puts_mail_on_its_local_day(app, shanghai):
    _message(app, LATE)
    body = shanghai.get("/records?date_from=2026-03-10&date_to=2026-03-12").get_data(
        as_text=True)
    assert "2026-03-11: 1 sent, 0 partly sent, 0 failed" in body
    assert "2026-03-10: 0 sent, 0 partly sent, 0 failed" in body
    assert "From 2026-03-10 to 2026-03-12: 1 sent, 0 partly sent and 0 failed." in body


def test_chart_days_across_a_daylight_saving_change(app, client, world):
    """Europe/London moves to UTC+1 on 29 March 2026: 23:30 UTC is still the same day
    before, the next day after."""
    _zone(app, world["root"], "Europe/London")
    login(client, "root")
    _message(app, datetime(2026, 3, 27, 23, 30, tzinfo=UTC))  # 27 Mar 23:30 GMT
    _message(app, datetime(2026, 3, 30, 23, 30, tzinfo=UTC))  # 31 Mar 00:30 BST
    body = client.get("/records?date_from=2026-03-26&date_to=2026-04-01").get_data(
        as_text=True)
    assert "2026-03-27: 1 sent" in body and "2026-03-31: 1 sent" in body
    assert "2026-03-28: 0 sent" in body and "2026-03-30: 0 sent" in body
    assert _ids(client, "?date_from=2026-03-31&date_to=2026-03-31") != []


def test_default_chart_range_ends_on_the_local_today(app, client, world):
    """Kiritimati is UTC+14: its today is often the UTC tomorrow."""
    _zone(app, world["root"], "Pacific/Kiritimati")
    login(client, "root")
    _message(app, datetime.now(UTC))
    today = datetime.now(ZoneInfo("Pacific/Kiritimati")).date()
    body = client.get("/records").get_data(as_text=True)
    assert f"to {today.isoformat()}: 1 sent" in body
    assert f"{today.isoformat()}: 1 sent, 0 partly sent" in body


def _audit_entry(app, created_at: datetime, label: str) -> None:
    with app.app_context():
        db.session.execute(insert(AuditEntry), [dict(
            created_at=created_at, actor_label="root", action="create", object_type="team",
            object_label=label, changes={"name": [None, label]})])
        db.session.commit()


def test_audit_times_and_filters_are_local(app, shanghai):
    _audit_entry(app, LATE, "Night shift")
    _audit_entry(app, datetime(2026, 3, 11, 16, 0, tzinfo=UTC), "Next day")
    page = shanghai.get("/audit?date_from=2026-03-11&date_to=2026-03-11").get_data(
        as_text=True)
    assert "Night shift" in page and "Next day" not in page
    assert "Time (UTC+8)" in page and 'title="2026-03-11 07:30:00 UTC+8"' in page
    earlier = shanghai.get("/audit?date_to=2026-03-10&q=night").get_data(as_text=True)
    assert "No change matches" in earlier
    whole_day = shanghai.get("/audit?date_to=2026-03-12").get_data(as_text=True)
    assert "Night shift" in whole_day and "Next day" in whole_day


def test_export_has_bom_local_and_utc_times(app, shanghai):
    _message(app, LATE, sent_at=LATE + timedelta(seconds=2))
    _message(app, datetime(2026, 3, 9, 12, 0, tzinfo=UTC), subject="Older")
    raw = shanghai.get("/records/export.csv?date_from=2026-03-11").get_data()
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert [row["Subject"] for row in rows] == ["Late"]
    assert rows[0]["Send time (UTC+8)"] == "2026-03-11 07:30:00"
    assert rows[0]["Send time (UTC, ISO 8601)"] == "2026-03-10T23:30:00+00:00"
    assert rows[0]["Delivered (UTC+8)"] == "2026-03-11 07:30:02"
    assert rows[0]["Send result"] == "sent"
    line, = shanghai.get("/records/export.jsonl?date_from=2026-03-11").get_data(
        as_text=True).splitlines()
    record = json.loads(line)
    assert record["created_at"] == "2026-03-10T23:30:00+00:00" and record["status"] == "sent"
    assert record["created_local"] == "2026-03-11 07:30:00"
    assert record["timezone"] == "Asia/Shanghai"


def test_export_local_times_across_a_daylight_saving_change(app, client, world):
    _zone(app, world["root"], "Europe/London")
    login(client, "root")
    _message(app, datetime(2026, 1, 15, 12, 0, tzinfo=UTC), subject="Winter")
    _message(app, datetime(2026, 7, 15, 12, 0, tzinfo=UTC), subject="Summer")
    text = client.get("/records/export.csv").get_data().decode("utf-8-sig")
    rows = {row["Subject"]: row for row in csv.DictReader(io.StringIO(text))}
    # The offset differs through the year, so the header names the zone itself.
    assert rows["Winter"]["Send time (Europe/London)"] == "2026-01-15 12:00:00"
    assert rows["Summer"]["Send time (Europe/London)"] == "2026-07-15 13:00:00"
    assert rows["Summer"]["Delivered (Europe/London)"] == ""
