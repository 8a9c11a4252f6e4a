"""Recipient substring search that stays fast at a million messages.

SQLite: an FTS5 table with the trigram tokenizer mirrors ``recipients_search``
(kept in step by triggers) and answers ``LIKE '%…%'`` from its index.
PostgreSQL: a pg_trgm GIN index does the same for the column itself, when the
extension can be created. Without either, the search still works by scanning.
"""

import logging

from sqlalchemy import column, event, text

from portal.listing import contains
from portal.outbox.models import Message

log = logging.getLogger(__name__)
SQLITE_DDL = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS recipients_fts USING fts5(recipients_search, "
    "content='messages', content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER IF NOT EXISTS recipients_fts_insert AFTER INSERT ON messages BEGIN "
    "INSERT INTO recipients_fts(rowid, recipients_search) "
    "VALUES (new.id, new.recipients_search); END",
    "CREATE TRIGGER IF NOT EXISTS recipients_fts_delete AFTER DELETE ON messages BEGIN "
    "INSERT INTO recipients_fts(recipients_fts, rowid, recipients_search) "
    "VALUES ('delete', old.id, old.recipients_search); END",
    "CREATE TRIGGER IF NOT EXISTS recipients_fts_update AFTER UPDATE OF recipients_search "
    "ON messages BEGIN "
    "INSERT INTO recipients_fts(recipients_fts, rowid, recipients_search) "
    "VALUES ('delete', old.id, old.recipients_search); "
    "INSERT INTO recipients_fts(rowid, recipients_search) "
    "VALUES (new.id, new.recipients_search); END",
    "INSERT INTO recipients_fts(recipients_fts) VALUES ('rebuild')",
]
SQLITE_DROP = ["DROP TRIGGER IF EXISTS recipients_fts_update",
               "DROP TRIGGER IF EXISTS recipients_fts_delete",
               "DROP TRIGGER IF EXISTS recipients_fts_insert",
               "DROP TABLE IF EXISTS recipients_fts"]
PG_INDEX = ("CREATE INDEX IF NOT EXISTS ix_messages_recipients_trgm ON messages "
            "USING gin (recipients_search gin_trgm_ops)")
# Above this many trigram matches (5000), scanning newest-first finds a page sooner.
DENSE = 5000
MATCHES = "SELECT rowid FROM recipients_fts WHERE recipients_search LIKE :pattern"
COUNT_MATCHES = ("SELECT count(*) FROM (SELECT rowid FROM recipients_fts "
                 "WHERE recipients_search LIKE :pattern LIMIT 5001)")


def is_search_object(name: str | None) -> bool:
    """Tables and indexes of the search index, which migrations must not try to diff."""
    return bool(name) and (name.startswith("recipients_fts")
                           or name == "ix_messages_recipients_trgm")


def install(connection) -> None:
    """Create the search index for this database (idempotent; used by migration and tests)."""
    if connection.dialect.name == "sqlite":
        for statement in SQLITE_DDL:
            connection.exec_driver_sql(statement)
    elif connection.dialect.name == "postgresql":
        savepoint = connection.begin_nested()
        try:
            connection.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            connection.exec_driver_sql(PG_INDEX)
            savepoint.commit()
        except Exception as error:  # no privilege or no contrib package: search still works
            savepoint.rollback()
            log.warning("recipient search index not created (%s); searching by scan", error)


def uninstall(connection) -> None:
    if connection.dialect.name == "sqlite":
        for statement in SQLITE_DROP:
            connection.exec_driver_sql(statement)
    elif connection.dialect.name == "postgresql":
        connection.exec_driver_sql("DROP INDEX IF EXISTS ix_messages_recipients_trgm")


event.listen(Message.__table__, "after_create", lambda target, connection, **kw: install(
    connection))
event.listen(Message.__table__, "before_drop", lambda target, connection, **kw: uninstall(
    connection))


def recipient_clause(session, term: str):
    """WHERE clause for "recipients contain ``term``" (already lower-case).

    On SQLite a selective term (few matches) is looked up in the trigram index;
    a term matching thousands of messages is cheaper to find by scanning newest
    first, which stops after one page.
    """
    plain = contains(Message.recipients_search, term)
    usable = len(term) >= 3 and not any(ch in term for ch in "%_\\")
    if session.get_bind().dialect.name != "sqlite" or not usable:
        return plain
    # Two-argument LIKE (no ESCAPE) is what FTS5 can answer from the trigram index.
    count = session.execute(text(COUNT_MATCHES),
                            {"pattern": "%" + term + "%"}).scalar()
    if count > DENSE:
        return plain
    rowids = text(MATCHES).bindparams(pattern="%" + term + "%").columns(column("rowid"))
    return Message.id.in_(rowids)
