"""Table rebuilds on SQLite that keep the rows of the tables referring to the rebuilt one.

SQLite changes a constraint (and, before 3.35, drops a column) only by rebuilding the
table: batch mode copies it to a new table, drops the old one and renames the copy. The
portal's connections enforce foreign keys (``PRAGMA foreign_keys=ON``, which cannot be
switched off inside the migration's transaction), so dropping the old table runs every
``ON DELETE`` action that points at it: messages lose their sender (SET NULL), a sender's
usage rows and a message's attempts and callbacks are deleted (CASCADE), including rows
of tables that those deleted rows cascade into in turn.

:func:`keeping_references` copies all of that aside before the rebuild and puts it back
afterwards. On other databases the tables are altered in place and nothing is done.
"""

from contextlib import contextmanager

from alembic import op


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _tables(conn) -> list[str]:
    rows = conn.exec_driver_sql(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
    return [name for (name,) in rows]


def _columns(conn, table: str) -> list[tuple[str, int]]:
    """(name, position in the primary key or 0) of each column; empty if there is no table."""
    rows = conn.exec_driver_sql(f"PRAGMA table_info({_quote(table)})")
    return [(row[1], row[5]) for row in rows]


def _key(conn, table: str) -> list[str]:
    """The primary key's columns, or the rowid for a table without one."""
    key = sorted((pk, name) for name, pk in _columns(conn, table) if pk)
    return [name for _pk, name in key] or ["rowid"]


def _references_to(conn, parent: str) -> list[tuple[str, list[str], str]]:
    """(child table, its columns, ON DELETE action) of every foreign key to ``parent``."""
    found = []
    for child in _tables(conn):
        keys: dict[int, tuple[list[str], str]] = {}
        for row in conn.exec_driver_sql(f"PRAGMA foreign_key_list({_quote(child)})"):
            fk_id, _seq, target, column, _to, _on_update, on_delete = row[:7]
            if target.lower() == parent.lower():
                keys.setdefault(fk_id, ([], on_delete.upper()))[0].append(column)
        found.extend((child, columns, action) for columns, action in keys.values())
    return found


def _plan(conn, table: str) -> tuple[list[str], list[tuple[str, list[str]]]]:
    """The tables whose rows dropping ``table`` deletes (each after the tables it refers
    to) and the (table, columns) it sets to NULL or to their default."""
    deleted: list[str] = []
    cleared: list[tuple[str, list[str]]] = []
    queue = [table]
    while queue:
        parent = queue.pop(0)
        for child, columns, action in _references_to(conn, parent):
            if action == "CASCADE":
                if child == table:
                    raise NotImplementedError(
                        f"{table} refers to itself with ON DELETE CASCADE: a rebuild "
                        "would delete its own rows")
                if child not in deleted:
                    deleted.append(child)
                    queue.append(child)
            elif action in ("SET NULL", "SET DEFAULT"):
                cleared.append((child, columns))
    return deleted, cleared


def _keep_links(conn, name: str, child: str, columns: list[str]) -> list[str]:
    key = _key(conn, child)
    selected = ", ".join(_quote(c) for c in key + columns)
    present = " OR ".join(f"{_quote(c)} IS NOT NULL" for c in columns)
    op.execute(f"CREATE TEMP TABLE {name} AS SELECT {selected} "  # noqa: S608 (schema names)
               f"FROM {_quote(child)} WHERE {present}")
    return key


def _restore_links(conn, name: str, child: str, columns: list[str], key: list[str]) -> None:
    """Put the kept values back where the table and its columns still exist (a downgrade
    may have dropped the referring column itself)."""
    still = {column for column, _pk in _columns(conn, child)} | {"rowid"}
    if set(columns) <= still and set(key) <= still:
        assigned = ", ".join(f"{_quote(c)} = kept.{_quote(c)}" for c in columns)
        matched = " AND ".join(f"{_quote(child)}.{_quote(c)} = kept.{_quote(c)}"
                               for c in key)
        op.execute(f"UPDATE {_quote(child)} SET {assigned} "  # noqa: S608 (schema names)
                   f"FROM {name} AS kept WHERE {matched}")
    op.execute(f"DROP TABLE temp.{name}")


@contextmanager
def keeping_references(table: str):
    """Around a rebuild of ``table`` (e.g. ``batch_alter_table``): the rows that refer to
    it come through unchanged. Deleted rows are inserted again, each table after the ones
    it refers to (insert triggers run as the delete ones did); cleared references are set
    back by primary key."""
    conn = op.get_bind()
    if conn.dialect.name != "sqlite":
        yield
        return
    deleted, cleared = _plan(conn, table)
    prefix = f"kept_{table}"
    for n, child in enumerate(deleted):
        op.execute(f"CREATE TEMP TABLE {prefix}_rows_{n} AS "  # noqa: S608 (schema names)
                   f"SELECT * FROM {_quote(child)}")
    keys = [_keep_links(conn, f"{prefix}_links_{n}", child, columns)
            for n, (child, columns) in enumerate(cleared)]
    yield
    for n, child in enumerate(deleted):
        op.execute(f"INSERT OR IGNORE INTO {_quote(child)} "  # noqa: S608 (schema names)
                   f"SELECT * FROM {prefix}_rows_{n}")
        op.execute(f"DROP TABLE temp.{prefix}_rows_{n}")
    for n, (child, columns) in enumerate(cleared):
        _restore_links(conn, f"{prefix}_links_{n}", child, columns, keys[n])
