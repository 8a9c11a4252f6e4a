"""Attachments in the sending records: the paperclip, the message page's list, the
exports' names, and retention deleting the files with their message."""

import base64

from sqlalchemy import func, select

from portal.extensions import db
from portal.outbox.models import Message
from portal.records.retention import purge
from tests.attachment_helpers import PDF, XLSX
from tests.conftest import login


def _send(client, secret, subject, files):
    body = {"to": "alice@example.org", "subject": subject, "html": "<p>x</p>",
            "attachments": [{"filename": name, "content": base64.b64encode(data).decode()}
                            for name, data in files]}
    response = client.post("/api/v1/messages", json=body,
                           headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json["id"]


def test_records_show_paperclip_detail_and_export_names(app, client, relay, make_token, world):
    secret = make_token()
    with_files = _send(client, secret, "With files", [(XLSX, b"x" * 3000), (PDF, b"y" * 10)])
    _send(client, secret, "Plain", [])
    login(client, "root")
    listing = client.get("/records").get_data(as_text=True)
    rows = listing.split("<tr>")
    with_row = next(row for row in rows if "With files" in row)
    plain_row = next(row for row in rows if "Plain" in row)
    assert 'class="paperclip"' in with_row and "2 attachments" in with_row
    assert XLSX in with_row  # the names in the paperclip's title
    assert "paperclip" not in plain_row
    detail = client.get(f"/messages/{with_files}").get_data(as_text=True)
    assert "Attachments (2)" in detail and XLSX in detail and PDF in detail
    assert "2.9 KB" in detail and "10 B" in detail
    csv = client.get("/records/export.csv").get_data(as_text=True)
    assert f"{XLSX}; {PDF}" in csv
    lines = client.get("/records/export.jsonl").get_data(as_text=True).splitlines()
    assert any(f'"attachments": "{XLSX}; {PDF}"' in line for line in lines)
    assert any('"attachments": ""' in line for line in lines)


def test_retention_removes_the_files_with_the_message(app, client, relay, make_token):
    _send(client, make_token(), "Old", [(XLSX, b"z" * 5000)])
    with app.app_context():
        assert db.session.scalar(select(func.count()).where(
            Message.raw_message.is_not(None), Message.attachments.is_not(None))) == 1
        assert purge(0) == 1
        assert db.session.scalar(select(func.count()).select_from(Message)) == 0
