"""Sending-records speed at a million rows, as a user hits the page.

Fills a SQLite database with 1,000,000 messages over 365 days, 50 senders,
20 templates and 100,000 distinct recipients (bulk insert), then times the
first page of the records view through the Flask test client for each filter,
and the CSV export of one month (time and peak memory). Prints one JSON object.

    .venv/bin/python bench/records.py [--rows 1000000] [--repeat 15]
"""

import argparse
import json
import os
import random
import resource
import secrets
import statistics
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert  # noqa: E402

from portal import create_app  # noqa: E402
from portal.auth.models import User  # noqa: E402
from portal.extensions import db  # noqa: E402
from portal.outbox.models import Message  # noqa: E402
from portal.senders.models import Sender  # noqa: E402

END = datetime.now(UTC).replace(microsecond=0)
WEEK_AGO, MONTH_AGO = END - timedelta(6), END - timedelta(29)
HALF_YEAR = END - timedelta(182)
STATUSES = ["sent"] * 90 + ["failed"] * 6 + ["retrying", "queued", "unknown", "sent"]


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
        chunk = []
        for n in range(rows):
            created = END - timedelta(seconds=rng.randrange(365 * 86400))
            to = f"user{rng.randrange(100_000)}@example.org"
            sid = rng.choice(ids)
            chunk.append(dict(
                sender_id=sid, sender_name=f"Sender {sid}", sender_address=f"s{sid}@example.com",
                sender_reason="explicit", to_addrs=[to], cc_addrs=[], bcc_addrs=[],
                recipients_search=to, subject=f"Report {n}", html_body="<p>x</p>",
                template_name=rng.choice(templates), resource=f"/reports/{n % 500}",
                mode="deferred", status=rng.choice(STATUSES), created_at=created,
                attempt_count=1, client_ip="10.0.0.1", message_id=f"<{n}@bench>"))
            if len(chunk) == 20_000:
                db.session.execute(insert(Message), chunk)
                db.session.commit()
                chunk = []
        if chunk:
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--database", default=None,
                        help="SQLite file to fill, or to reuse when it exists already")
    args = parser.parse_args()
    path = args.database or os.path.join(tempfile.mkdtemp(prefix="portal-records-"), "r.sqlite")
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}", "SECRET_KEY": "bench",
                      "ENCRYPTION_KEY": "bench", "WTF_CSRF_ENABLED": False})
    if not os.path.exists(path):
        started = time.perf_counter()
        fill(app, args.rows)
        print(f"filled {args.rows} rows in {time.perf_counter() - started:.0f} s",
              file=sys.stderr)
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = "1"
        session["_fresh"] = True
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
    report = {"rows": args.rows, "database": "sqlite",
              "targets": {"first_page_median_ms": 100, "recipient_median_ms": 250,
                          "export_peak_mb": 150}}
    report["first_page"] = {name: timed(client, url, args.repeat) for name, url in queries.items()}
    report["export_one_month_csv"] = export_month(client)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
