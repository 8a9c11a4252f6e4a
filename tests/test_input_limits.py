"""Hostile input refused cleanly: deep JSON, Unicode line separators, file modes."""

import os
import stat

import pytest
from sqlalchemy import func, select

from portal import create_app
from portal.extensions import db
from portal.senders.models import Sender
from tests.conftest import HX, login
from tests.sender_helpers import sender_form

DEEP = "[" * 50000 + "]" * 50000


@pytest.mark.parametrize("url", ["/api/v1/messages", "/login", "/healthz", "/no-such-page"])
def test_deeply_nested_json_is_a_400_everywhere(client, url):
    response = client.post(url, data=DEEP, content_type="application/json")
    assert response.status_code == 400
    assert "nests deeper than 64 levels" in response.get_data(as_text=True)


def test_moderately_nested_json_still_parses(client):
    body = '{"to": "a@example.org", "variables": ' + "[" * 60 + "]" * 60 + "}"
    response = client.post("/api/v1/messages", data=body, content_type="application/json")
    assert response.status_code == 401  # got past parsing to the token check


def test_deep_preview_variables_are_a_field_error(client, world):
    login(client, "root")
    response = client.post("/templates/preview", headers=HX, data={
        "subject": "Hi", "html_body": "<p>{{ x }}</p>", "text_body": "",
        "preview_variables": '{"x": ' + "[" * 5000 + "]" * 5000 + "}"})
    assert response.status_code == 200
    assert "nests deeper than 64 levels" in response.get_data(as_text=True)


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\x85"])
def test_unicode_line_separators_in_a_displayed_name_are_a_field_error(app, client, world,
                                                                       separator):
    login(client, "root")
    response = client.post("/senders/new", headers=HX,
                           data=sender_form(display_name=f"Ops{separator}Team"))
    assert response.status_code == 422
    assert "Displayed name must be one line" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Sender)) == 0


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_instance_files_are_private(tmp_path, monkeypatch):
    folder = tmp_path / "instance"
    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(folder))
    monkeypatch.setenv("DATABASE_URL", "")
    monkeypatch.delenv("PORTAL_SECRET_KEY", raising=False)
    monkeypatch.delenv("PORTAL_SESSION_KEY", raising=False)
    os.umask(0o022)
    app = create_app()
    with app.app_context():
        db.create_all()
        db.session.execute(Sender.__table__.select())
    assert _mode(folder) == 0o700
    for name in ("portal.sqlite", "portal.sqlite-wal", "session.key", "encryption.key"):
        assert _mode(folder / name) == 0o600, name


def test_unpaired_surrogates_in_api_json_are_a_400(app, client, relay, make_token):
    secret = make_token()
    for headers in ({}, {"Idempotency-Key": "once"}):
        response = client.post("/api/v1/messages", data='{"to": "a@example.org", '
                               '"subject": "x\\ud800", "html": "<p>x</p>"}',
                               content_type="application/json",
                               headers={"Authorization": f"Bearer {secret}", **headers})
        assert response.status_code == 400
        assert response.get_json()["error"]["code"] == "invalid_json"
        assert "surrogate" in response.get_json()["error"]["message"]
    assert relay.messages == []
