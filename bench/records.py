"""Sending-records speed at a million rows, as a user hits the page and exports.

Fills a database (SQLite, or a throwaway PostgreSQL cluster) with 1,000,000 messages
over 365 days, 50 senders, 20 templates and 100,000 distinct recipients (bulk insert),
then times the first page of the records view through the Flask test client for each
filter, the CSV export of one month (time and peak Python memory), and the full-year
CSV and JSONL export streamed through the test client (rows/s and RSS growth while
exporting) against a reference: a raw DB-API cursor writing the same columns with the
csv module. Prints one JSON object.

    .venv/bin/python -m bench.records [--rows 1000000] [--repeat 15]
        [--backend sqlite|postgresql] [--database FILE] [--url URL] [--only pages|export]
"""

import argparse
import csv
import io
import json
import os
import random
import resource
import secrets
import statistics
import sys
import tempfile
import threading
import time
import tracemalloc
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, inspect, make_url  # noqa: E402

from portal import create_app  # noqa: E402
from portal.auth.models import User  # noqa: E402
from portal.extensions import db  # noqa: E402
from portal.outbox.models import Message  # noqa: E402
from portal.senders.models import Sender  # noqa: E402

END = datetime.now(UTC).replace(microsecond=0)
WEEK_AGO, MONTH_AGO = END - timedelta(6), END - timedelta(29)
HALF_YEAR = END - timedelta(182)
STATUSES = ["sent"] * 90 + ["failed"] * 6 + ["retrying", "queued", "unknown", "sent"]
# The columns the export writes, read straight from the table by the reference run.
REFERENCE_SQL = (
    "SELECT id, created_at, sent_at, status, reply_code, reply_text, sender_name, "
    "sender_address, to_addrs, cc_addrs, bcc_addrs, subject, template_name, resource, "
    "client_ip, triggered_by, attempt_count, message_id, diagnosis, recipient_results "
    "FROM messages ORDER BY created_at DESC, id DESC")


def _message(rng, n: int, ids: list, templates: list) -> dict:
    """One message row; failed ones have a refused recipient, so the export has a summary
    to write, and every subject needs CSV quoting."""
    created = END - timedelta(seconds=rng.randrange(365 * 86400))
    to = f"user{rng.randrange(100_000)}@example.org"
    sid = rng.choice(ids)
    status = rng.choice(STATUSES)
    results = [{"address": to, "state": "refused" if status == "failed" else "accepted",
                "code": 550 if status == "failed" else 250, "text": "5.1.1 no such user"}]
    return dict(
        sender_id=sid, sender_name=f"Sender {sid}", sender_address=f"s{sid}@example.com",
        sender_reason="explicit", to_addrs=[to], cc_addrs=[], bcc_addrs=[],
        recipients_search=to, subject=f"Report {n}, \"daily\"", html_body="<p>x</p>",
        template_name=rng.choice(templates), resource=f"/reports/{n % 500}",
        mode="deferred", status=status, created_at=created,
        sent_at=created + timedelta(seconds=2) if status == "sent" else None,
        attempt_count=1, client_ip="10.0.0.1", message_id=f"<{n}@bench>",
        reply_code=250 if status == "sent" else None, recipient_results=results)


def fill(app, rows: int, seed: int = 7) -> None:
    """Senders, an admin, and ``rows`` messages inserted in chunks (not timed)."""
    rng = random.Random(seed)
    with app.app_context():
        db.create_all()
        admin = User(username="bench", display_name="Bench", is_system_admin=True)
        admin.set_password(secrets.token_hex(8))
        db.session.add(admin)
        senders = [Sender(name=f"Sender {i}", host="127.0.0.1", port=25, encryption="none",
                          address=f"sender{i}@example.com", display_name=f"S{i}",
                          mode="deferred", max_connections=1) for i in range(50)]
        db.session.add_all(senders)
        db.session.commit()
        ids = [s.id for s in senders]
        templates = [f"Template {i}" for i in range(20)]
        for start in range(0, rows, 20_000):
            chunk = [_message(rng, n, ids, templates)
                     for n in range(start, min(rows, start + 20_000))]
            db.session.execute(insert(Message), chunk)
            db.session.commit()
        db.session.execute(db.text("ANALYZE"))
        db.session.commit()


def timed(client, url: str, repeat: int) -> dict:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(url, headers={"HX-Request": "true"})
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    samples.sort()
    return {"median_ms": round(statistics.median(samples), 1),
            "p95_ms": round(samples[max(0, int(len(samples) * 0.95) - 1)], 1)}


def export_month(client) -> dict:
    tracemalloc.start()
    started = time.perf_counter()
    response = client.get(f"/records/export.csv?date_from={MONTH_AGO:%Y-%m-%d}"
                          f"&date_to={END:%Y-%m-%d}")
    lines = sum(chunk.count(b"\n") for chunk in response.response)
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"rows": lines - 1, "seconds": round(elapsed, 2),
            "peak_python_memory_mb": round(peak / 2**20, 1),
            "process_peak_rss_mb": round(
                resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


def _rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


@contextmanager
def measured(figures: dict, rows: list):
    """Adds wall and CPU seconds (this process only: not a PostgreSQL server's), rows/s
    for the count left in ``rows[0]``, and the resident set's growth, sampled every 10 ms
    in a thread (tracemalloc would slow the export several times over)."""
    start_rss, stop, peak = _rss_mb(), threading.Event(), [0.0]

    def sample():
        while not stop.wait(0.01):
            peak[0] = max(peak[0], _rss_mb())

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    wall, cpu = time.perf_counter(), time.process_time()
    try:
        yield
    finally:
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        stop.set()
        thread.join()
        peak[0] = max(peak[0], _rss_mb())
    figures.update(rows=rows[0], seconds=round(wall, 2), rows_per_s=round(rows[0] / wall),
                   cpu_seconds=round(cpu, 2), rows_per_cpu_s=round(rows[0] / cpu),
                   rss_start_mb=round(start_rss, 1), rss_growth_mb=round(peak[0] - start_rss, 1))


def export_full(client, fmt: str) -> dict:
    """The whole year through the view, consumed chunk by chunk as a client would."""
    figures, rows = {}, [0]
    with measured(figures, rows):
        response = client.get(f"/records/export.{fmt}", buffered=False)
        lines = size = chunks = 0
        for chunk in response.response:
            lines, size, chunks = lines + chunk.count(b"\n"), size + len(chunk), chunks + 1
        response.close()
        rows[0] = lines - (fmt == "csv")
    return {**figures, "mb": round(size / 2**20, 1), "chunks": chunks}


def reference(engine, write: bool) -> dict:
    """The floor: a raw DB-API cursor (server-side on PostgreSQL) fetching the same columns
    in batches of 5,000 and, with ``write``, writing them unformatted with csv.writer into
    a flushed StringIO."""
    raw, figures, rows = engine.raw_connection(), {}, [0]
    try:
        with measured(figures, rows):
            cursor = (raw.driver_connection.cursor(name="bench_reference")
                      if engine.dialect.name == "postgresql" else raw.driver_connection.cursor())
            cursor.execute(REFERENCE_SQL)
            buffer = io.StringIO()
            writer = csv.writer(buffer)
            while batch := cursor.fetchmany(5000):
                rows[0] += len(batch)
                if write:
                    writer.writerows(batch)
                    buffer.seek(0)
                    buffer.truncate()
            cursor.close()
    finally:
        raw.rollback()
        raw.close()
    return figures


def export_report(app, client) -> dict:
    """Full-range CSV and JSONL through the real code path, and the reference runs."""
    with app.app_context():
        report = {"reference_fetch_only": reference(db.engine, write=False),
                  "reference_raw_cursor_csv": reference(db.engine, write=True)}
    for fmt in ("csv", "jsonl"):
        figures = export_full(client, fmt)
        for name in ("rows_per_s", "rows_per_cpu_s"):
            figures[f"{name}_ratio_to_reference"] = round(
                figures[name] / report["reference_raw_cursor_csv"][name], 3)
        report[f"export_full_{fmt}"] = figures
    return report


def pages_report(client, repeat: int) -> dict:
    queries = {
        "no_filter": "/records",
        "sender": "/records?sender=7",
        "template": "/records?template=Template+3",
        "date_range_week": f"/records?date_from={WEEK_AGO:%Y-%m-%d}&date_to={END:%Y-%m-%d}",
        "result_failed": "/records?result=failed",
        "recipient_substring": "/records?recipient=user4242",
        "all_combined": f"/records?sender=7&template=Template+3&date_from={HALF_YEAR:%Y-%m-%d}"
                        f"&date_to={END:%Y-%m-%d}&result=sent&recipient=user4",
    }
    return {"first_page": {name: timed(client, url, repeat) for name, url in queries.items()},
            "export_one_month_csv": export_month(client)}


def sign_in(app):
    """A test client signed in as the bench's system admin (with a server-side session)."""
    from portal.auth import sessions

    with app.app_context():
        admin = db.session.scalar(db.select(User).where(User.username == "bench"))
        sessions.start(admin)
        db.session.commit()
        user_id = admin.get_id()
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = user_id
        session["_fresh"] = True
    return client


@contextmanager
def database(args):
    """A SQLAlchemy URL: ``--url`` as given, a database in a throwaway PostgreSQL cluster,
    or a SQLite file (kept when ``--database`` names it)."""
    if args.backend == "sqlite" or args.url:
        yield args.url or "sqlite:///" + (args.database or os.path.join(
            tempfile.mkdtemp(prefix="portal-records-"), "r.sqlite"))
        return
    from tests.pg_cluster import Cluster, pg_bin_dir

    cluster = Cluster(pg_bin_dir()).start()
    try:
        yield cluster.create_database("bench_records")
    finally:
        cluster.stop()


def filled(app, rows: int) -> None:
    """Fills the database unless it holds messages already (a reused file or --url)."""
    with app.app_context():
        if inspect(db.engine).has_table("messages") and db.session.execute(
                db.text("SELECT 1 FROM messages LIMIT 1")).first():
            return
    started = time.perf_counter()
    fill(app, rows)
    print(f"filled {rows} rows in {time.perf_counter() - started:.0f} s", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000,
                        help="messages to seed (e.g. 100000 for a quick run)")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--database", help="SQLite file to fill, or to reuse when it exists")
    parser.add_argument("--url", help="any database URL to fill, or to reuse when filled")
    parser.add_argument("--only", choices=("pages", "export"), default=None)
    args = parser.parse_args()
    with database(args) as url:
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench",
                          "ENCRYPTION_KEY": "bench", "WTF_CSRF_ENABLED": False})
        filled(app, args.rows)
        client = sign_in(app)
        report = {"rows": args.rows, "database": make_url(url).get_backend_name(),
                  "targets": {"first_page_median_ms": 100, "recipient_median_ms": 250,
                              "export_peak_mb": 150, "export_rows_per_s": 100_000}}
        if args.only != "export":
            report.update(pages_report(client, args.repeat))
        if args.only != "pages":
            report.update(export_report(app, client))
        with app.app_context():
            db.engine.dispose()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
