"""Smaller hardening: no caching of pages, the username rule everywhere, forwarded
protocol only from a known proxy, idempotency keys bound to their content, LIKE search."""

import runpy
from pathlib import Path

import pytest

from tests.conftest import login
from tests.test_api import MAIL, _count, post

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("path", ["/", "/senders", "/records", "/login", "/api/v1/messages/1"])
def test_pages_and_api_answers_are_not_cached(client, world, path):
    login(client, "root")
    assert client.get(path).headers["Cache-Control"] == "no-store"


def test_static_files_may_be_cached(client):
    response = client.get("/static/portal.css")
    assert "no-store" not in response.headers.get("Cache-Control", "")


@pytest.mark.parametrize("username", ["bad name", "x/../y", "名字", "a" * 65])
def test_cli_user_add_follows_the_username_rule(app, username):
    result = app.test_cli_runner().invoke(args=[
        "user", "add", "--username", username, "--password", "long-enough-1"])
    assert result.exit_code != 0
    assert "Username" in result.output


@pytest.mark.parametrize("env, trusted", [({}, []), ({"PORTAL_PROXY_COUNT": "0"}, []),
                                          ({"PORTAL_PROXY_COUNT": "1"}, "127.0.0.1"),
                                          ({"PORTAL_PROXY_COUNT": "1",
                                            "PORTAL_FORWARDED_ALLOW_IPS": "10.0.0.5"},
                                           "10.0.0.5")])
def test_gunicorn_trusts_forwarded_headers_only_behind_a_proxy(monkeypatch, env, trusted):
    for name in ("PORTAL_PROXY_COUNT", "PORTAL_FORWARDED_ALLOW_IPS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert (settings["forwarded_allow_ips"] or []) == trusted


def test_idempotency_key_with_other_content_is_409(app, client, relay, make_token):
    secret = make_token()
    key = {"Idempotency-Key": "daily-2026-11-30"}
    first = post(client, secret, MAIL, **key)
    same = post(client, secret, dict(reversed(list(MAIL.items()))), **key)  # key order only
    assert same.status_code == 200 and same.json["id"] == first.json["id"]
    other = post(client, secret, {**MAIL, "to": "mallory@example.org"}, **key)
    assert other.status_code == 409
    assert other.json["error"]["code"] == "idempotency_key_reused"
    assert _count(app) == 1 and len(relay.messages) == 1


def test_user_search_matches_wildcards_literally(client, world, make_user):
    make_user("a_b")
    make_user("axb")
    login(client, "root")
    table = client.get("/users?q=a_b").get_data(as_text=True).split("<table")[1]
    assert "a_b" in table and "axb" not in table
    assert "No user matches “%”" in client.get("/users?q=%25").get_data(as_text=True)
