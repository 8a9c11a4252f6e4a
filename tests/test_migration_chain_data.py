"""Every step of the senders/messages migrations, up and down, on a database holding mail.

SQLite rebuilds ``senders`` and ``messages`` for some of these steps; with foreign keys
enforced, dropping the old table would clear messages' senders and delete usage rows,
attempts and callbacks. Each step is checked against the rows as they were before it,
on SQLite and PostgreSQL.
"""

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import column, inspect, select, text
from sqlalchemy import table as sql_table

from portal import create_app
from portal.extensions import db
from tests.conftest import _base_config, backend

START = "e1f3a5c7d9b2"
CHAIN = ["b2c4d6e8f0a2", "c3d5e7f9a1b3", "a1b3c5d7e9f1", "d4e6f8a0b2c4"]
WATCHED = {
    "teams": ("id", "name"),
    "senders": ("id", "name", "team_id", "fallback_sender_id", "daily_recipient_quota"),
    "messages": ("id", "sender_id", "team_id", "status", "subject", "recipients_search"),
    "attempts": ("id", "message_pk", "number", "outcome", "reply_code"),
    "api_tokens": ("id", "name", "team_id"),
    "sender_usage": ("id", "sender_id", "at", "recipients"),
    "callbacks": ("id", "message_pk", "token_id", "state"),
}
SENDER = ("INSERT INTO senders (id, name, team_id, host, port, encryption, address, "
          "display_name, mode, enabled, is_default, max_connections, created_at, updated_at) "
          "VALUES (:id, :name, :team, '127.0.0.1', 25, 'none', 'relay@example.com', 'Relay', "
          "'deferred', :yes, :no, 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)")
MESSAGE = ("INSERT INTO messages (id, team_id, sender_id, sender_name, sender_address, "
           "sender_reason, subject, html_body, mode, status, attempt_count, to_addrs, "
           "cc_addrs, bcc_addrs, recipients_search, created_at) VALUES (:id, :team, :sender, "
           "'Relay', 'relay@example.com', 'explicit', :subject, '<p>x</p>', 'deferred', "
           ":status, 1, :to, '[]', '[]', :search, CURRENT_TIMESTAMP)")
ATTEMPT = ("INSERT INTO attempts (id, message_pk, number, started_at, outcome, reply_code) "
           "VALUES (:id, :message, :number, CURRENT_TIMESTAMP, :outcome, :code)")
CALLBACK = ("INSERT INTO callbacks (id, message_pk, token_id, status, body, state, "
            "created_at, next_attempt_at, attempts) VALUES (:id, :message, 1, 'sent', '{}', "
            "'pending', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 0)")


@pytest.fixture
def chain_app(request, tmp_path):
    if backend() == "postgresql":
        url = request.getfixturevalue("pg_cluster").create_database("portal_migration_chain")
    else:
        url = f"sqlite:///{tmp_path / 'chain.sqlite'}"
    app = create_app(_base_config(url))
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def _run(*statements) -> None:
    for sql, rows in statements:
        for row in rows:
            db.session.execute(text(sql), row)
    db.session.commit()
    db.session.remove()  # a reading session's lock would hold up the migration


def _rows() -> dict[str, tuple[set[str], list[dict]]]:
    """Per table: the watched columns that exist now, and the rows in id order."""
    schema = inspect(db.engine)
    found = {}
    for table, watched in WATCHED.items():
        if not schema.has_table(table):
            continue
        present = {c["name"] for c in schema.get_columns(table)}
        columns = [c for c in watched if c in present]
        query = select(*map(column, columns)).select_from(sql_table(table)).order_by("id")
        found[table] = (set(columns), [dict(r._mapping) for r in db.session.execute(query)])
    if db.engine.dialect.name == "sqlite":  # the recipient search index follows messages
        found["search"] = ({"rowid"}, [{"rowid": pk} for pk in db.session.scalars(text(
            "SELECT rowid FROM recipients_fts WHERE recipients_search LIKE '%corp.local%' "
            "ORDER BY rowid"))])
    db.session.remove()
    return found


def _same(before: dict, after: dict, gone: set[str]) -> None:
    """Every table of ``before`` is in ``after`` (but ``gone``) with the same rows, compared
    on the columns both have."""
    assert set(before) - set(after) == gone
    for table in set(before) & set(after):
        shared = before[table][0] & after[table][0]
        assert [{c: row[c] for c in shared} for row in after[table][1]] == [
            {c: row[c] for c in shared} for row in before[table][1]], table


def _seed() -> None:
    people = '["alice@corp.local", "bob@corp.local"]'
    _run(
        ("INSERT INTO teams (id, name, created_at) VALUES (:id, :name, CURRENT_TIMESTAMP)",
         [{"id": 1, "name": "Sales"}]),
        (SENDER, [{"id": 1, "name": "Team relay", "team": 1, "yes": True, "no": False},
                  {"id": 2, "name": "System relay", "team": None, "yes": True, "no": False}]),
        (MESSAGE, [{"id": n, "team": 1, "sender": sender, "subject": f"mail {n}",
                    "status": status, "to": people, "search": people}
                   for n, sender, status in ((1, 1, "sent"), (2, 2, "failed"),
                                             (3, 1, "queued"), (4, None, "sent"))]),
        (ATTEMPT, [{"id": 1, "message": 1, "number": 1, "outcome": "sent", "code": 250},
                   {"id": 2, "message": 2, "number": 1, "outcome": "retry", "code": 451},
                   {"id": 3, "message": 2, "number": 2, "outcome": "failed", "code": 550}]),
        ("INSERT INTO api_tokens (id, name, team_id, token_hash, prefix, created_at) "
         "VALUES (1, 'CRM', 1, :hash, 'mp_abc', CURRENT_TIMESTAMP)", [{"hash": "f" * 64}]),
    )


def _add_rows_of(revision: str) -> None:
    """Rows in what each revision adds, so that the later steps must keep them too."""
    if revision == "b2c4d6e8f0a2":
        _run(("INSERT INTO sender_usage (id, sender_id, at, recipients) "
              "VALUES (:id, :sender, :at, :n)",
              [{"id": 1, "sender": 1, "at": 1000.5, "n": 2},
               {"id": 2, "sender": 2, "at": 1001.5, "n": 3}]),
             ("UPDATE senders SET fallback_sender_id = 2, daily_recipient_quota = 500 "
              "WHERE id = 1", [{}]))
    elif revision == "d4e6f8a0b2c4":
        _run((CALLBACK, [{"id": 1, "message": 1}, {"id": 2, "message": 2}]))


def test_every_step_up_and_down_keeps_the_rows(chain_app):
    upgrade(revision=START)
    _seed()
    before = _rows()
    for revision in CHAIN:
        upgrade(revision=revision)
        after = _rows()
        _same(before, after, gone=set())
        _add_rows_of(revision)
        before = _rows()
    assert len(before["callbacks"][1]) == 2 and len(before["sender_usage"][1]) == 2
    assert len(before["attempts"][1]) == 3 and len(before["messages"][1]) == 4

    dropped = {"d4e6f8a0b2c4": {"callbacks"}, "b2c4d6e8f0a2": {"sender_usage"}}
    for revision, target in zip(reversed(CHAIN), [*reversed(CHAIN[:-1]), START], strict=True):
        downgrade(revision=target)
        after = _rows()
        _same(before, after, gone=dropped.get(revision, set()))
        before = after
    messages = dict(db.session.execute(text("SELECT id, sender_id FROM messages")).all())
    assert messages == {1: 1, 2: 2, 3: 1, 4: None}
    assert db.session.scalar(text("SELECT count(*) FROM attempts")) == 3
