"""Deferred delivery throughput against raw smtplib, on the same local SMTP sink.

Queues N small messages for one sender, runs the worker with max_connections=1
and =4, and compares with raw smtplib sending the same messages over one
reused connection. Prints one JSON object. Not part of the test suite.

Two sinks are measured: one that answers at once (pure CPU: on a 2-core machine
the sink and the client share the cores, so extra connections cannot double the
rate), and one that waits a few milliseconds before accepting DATA, as a real
mail server does while it writes its queue — the case parallel connections exist for.

    .venv/bin/python bench/delivery.py [--messages 5000] [--latency-ms 5]
"""

import argparse
import json
import os
import smtplib
import sys
import tempfile
import time
import uuid
from pathlib import Path
from statistics import median

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.smtp_sink import Sink  # noqa: E402
from portal import create_app  # noqa: E402
from portal.dbtypes import utcnow  # noqa: E402
from portal.extensions import db  # noqa: E402
from portal.mail import build_message  # noqa: E402
from portal.mail.compose import flatten_message  # noqa: E402
from portal.outbox.models import Message  # noqa: E402
from portal.outbox.worker import Worker  # noqa: E402
from portal.senders.models import Sender  # noqa: E402

HTML = "<p>Daily figures are ready. Open the portal to see them.</p>"


def make_app(url: str):
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench",
                      "ENCRYPTION_KEY": "bench", "SMTP_TIMEOUT": 15.0})
    with app.app_context():
        db.drop_all()
        db.create_all()
    return app


def payloads(count: int) -> list[tuple[str, bytes]]:
    """The messages as submission stores them: (recipient, exact MIME bytes)."""
    found = []
    for i in range(count):
        msg = build_message(from_address="robot@example.com", display_name="Robot",
                            to=[f"user{i}@example.org"], subject=f"Figures {i}", html=HTML)
        found.append((f"user{i}@example.org", flatten_message(msg)))
    return found


def queue(app, port: int, messages, connections: int) -> None:
    """Bulk-insert queued messages for one fresh sender (not timed)."""
    with app.app_context():
        sender = Sender(name=f"bench-{connections}", host="127.0.0.1", port=port,
                        encryption="none", address="robot@example.com", display_name="Robot",
                        mode="deferred", enabled=True, max_connections=connections)
        db.session.add(sender)
        db.session.flush()
        now = utcnow()
        rows = [dict(sender_id=sender.id, sender_name=sender.name,
                     sender_address=sender.address, sender_reason="explicit",
                     to_addrs=[to], cc_addrs=[], bcc_addrs=[], recipients_search=to,
                     subject=f"Figures {i}", html_body=HTML, raw_message=raw,
                     mode="deferred", status="queued", created_at=now, attempt_count=0,
                     message_id=f"<{uuid.uuid4().hex}@example.com>")
                for i, (to, raw) in enumerate(messages)]
        db.session.execute(Message.__table__.insert(), rows)
        db.session.commit()


def run_worker(app, sink: Sink, messages, connections: int, batch: int) -> float:
    count = len(messages)
    queue(app, sink.port, messages, connections)
    start_count = sink.count
    worker = Worker(app, batch=batch)
    started = time.perf_counter()
    while worker.run_once():
        pass
    elapsed = time.perf_counter() - started
    assert sink.count - start_count == count, (sink.count - start_count, count)
    return count / elapsed


def run_reference(port: int, messages) -> float:
    """Raw smtplib: the same bytes over one reused connection, no bookkeeping at all."""
    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port, timeout=15) as smtp:
        for to, raw in messages:
            smtp.sendmail("robot@example.com", [to], raw)
    return len(messages) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--sink-processes", type=int, default=2)
    parser.add_argument("--latency-ms", type=float, default=5.0)
    parser.add_argument("--latency-messages", type=int, default=1000,
                        help="messages for the slow-sink runs (each takes ~latency)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (median)")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="portal-bench-")
    url = args.database_url or f"sqlite:///{os.path.join(workdir, 'bench.sqlite')}"
    app = make_app(url)
    report = {"database": url.split(":")[0], "sink_processes": args.sink_processes,
              "repeat": args.repeat, "targets": {"ratio_a_c": 0.8, "ratio_b_c": 2.0}}
    for label, latency, count in (
            ("instant_sink", 0.0, args.messages),
            (f"sink_{args.latency_ms:g}ms", args.latency_ms / 1000, args.latency_messages)):
        messages = payloads(count)
        with Sink(processes=args.sink_processes, latency=latency) as sink:
            run_reference(sink.port, messages[:100])  # warm-up: connections, caches
            run_worker(app, sink, messages[:100], 1, args.batch)
            reference = median(run_reference(sink.port, messages) for _ in range(args.repeat))
            one = median(run_worker(app, sink, messages, 1, args.batch)
                         for _ in range(args.repeat))
            four = median(run_worker(app, sink, messages, 4, args.batch)
                          for _ in range(args.repeat))
        report[label] = {"messages": count,
            "a_worker_1_connection_per_s": round(one, 1),
            "b_worker_4_connections_per_s": round(four, 1),
            "c_raw_smtplib_1_connection_per_s": round(reference, 1),
            "ratio_a_c": round(one / reference, 3), "ratio_b_c": round(four / reference, 3),
        }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
