"""Memory and time of a message with one large attachment, from submission to the wire.

Measures, with ``tracemalloc`` (Python allocations; the file itself is allocated before
measuring starts):

- ``submit``: checking, building the MIME message, flattening it and storing it
  (``portal.outbox.service.submit``, deferred, SQLite);
- ``send``: the worker reading it back and handing it to a local SMTP sink that runs
  in another process (so the sink's own memory is not counted);
- each as peak bytes and as a multiple of the file and of the encoded message, and the
  seconds of each in a second run without tracing (tracing slows Python down).

Prints one JSON object. Not part of the test suite (tests/test_attachments_memory.py
asserts a generous bound with the same function).

    .venv/bin/python bench/attachments.py [--megabytes 20]
"""

import argparse
import json
import os
import smtplib
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.smtp_sink import Sink  # noqa: E402
from portal import create_app  # noqa: E402
from portal.extensions import db  # noqa: E402
from portal.mail.attachments import Attachment  # noqa: E402
from portal.outbox.actors import Actor  # noqa: E402
from portal.outbox.models import Message  # noqa: E402
from portal.outbox.service import Submission, submit  # noqa: E402
from portal.outbox.worker import Worker  # noqa: E402
from portal.senders.models import Sender  # noqa: E402

FILENAME = "销售日报 2026-11.xlsx"


def _sender(app, port: int) -> int:
    with app.app_context():
        sender = Sender(name="bench", host="127.0.0.1", port=port, encryption="none",
                        address="robot@example.com", display_name="Robot", mode="deferred",
                        enabled=True, max_connections=1, max_message_bytes=100 * 1024 * 1024)
        db.session.add(sender)
        db.session.commit()
        return sender.id


def _run(action, traced: bool) -> float:
    """Peak traced bytes above what was allocated before ``action`` (traced), or its
    seconds (untraced)."""
    if not traced:
        started = time.perf_counter()
        action()
        return time.perf_counter() - started
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    action()
    return tracemalloc.get_traced_memory()[1] - base


def _submit_and_send(app, port: int, content: bytes, traced: bool) -> tuple:
    sub = Submission(to=["alice@example.org"], subject="Figures", html="<p>Attached.</p>",
                     sender_id=_sender(app, port), mode="deferred",
                     attachments=[Attachment(FILENAME, content)])
    actor = Actor(label="bench", team_ids=None)
    with app.test_request_context():
        submitted = _run(lambda: submit(actor, sub, None), traced)
        db.session.remove()
    sent = _run(lambda: Worker(app, batch=1).run_once(), traced)
    return submitted, sent


def measure(app, port: int, size: int, timed: bool = True) -> dict:
    """Submit and send a message with a ``size``-byte attachment to the sink on ``port``:
    once traced for memory, once more (``timed``) untraced for time."""
    content = os.urandom(size)
    tracemalloc.start()
    try:
        submit_peak, send_peak = _submit_and_send(app, port, content, traced=True)
    finally:
        tracemalloc.stop()
    with app.app_context():
        message = db.session.query(Message).order_by(Message.id).first()
        encoded, status = len(message.raw_message), message.status
    result = {"file_bytes": size, "message_bytes": encoded, "status": status,
              "submit_peak_bytes": submit_peak, "send_peak_bytes": send_peak,
              "submit_peak_x_file": round(submit_peak / size, 2),
              "submit_peak_x_message": round(submit_peak / encoded, 2),
              "send_peak_x_message": round(send_peak / encoded, 2)}
    if timed:
        seconds = _submit_and_send(app, port, content, traced=False)
        with app.app_context():
            raw = db.session.query(Message).order_by(Message.id).first().raw_message
        reference = _run(lambda: _smtplib(port, raw), traced=False)
        result.update(submit_seconds=round(seconds[0], 3), send_seconds=round(seconds[1], 3),
                      smtplib_send_seconds=round(reference, 3),
                      send_x_smtplib=round(seconds[1] / reference, 2))
    return result


def _smtplib(port: int, raw: bytes) -> None:
    """The reference: the same bytes sent by plain ``smtplib`` to the same sink."""
    with smtplib.SMTP("127.0.0.1", port, timeout=60) as client:
        client.sendmail("robot@example.com", ["alice@example.org"], raw)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--megabytes", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, Sink() as sink:
        app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/bench.sqlite",
                          "SECRET_KEY": "bench", "ENCRYPTION_KEY": "bench",
                          "SMTP_TIMEOUT": 60.0})
        with app.app_context():
            db.create_all()
        result = measure(app, sink.port, args.megabytes * 1024 * 1024)
        sink.wait_for(3, timeout=60)
        result["delivered"] = sink.count
    print(json.dumps(result))


if __name__ == "__main__":
    main()
