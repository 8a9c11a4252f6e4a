"""The deferred-mail worker: claim due messages, deliver them per sender, repeat.

Each sender's share of a batch is split over up to ``max_connections`` threads,
each with its own SMTP session and database session. SIGTERM/SIGINT finish the
message in hand, give the rest of the claim back and exit.
"""

import logging
import os
import socket
import threading
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import select

from portal.callbacks.deliver import deliver_due
from portal.extensions import db
from portal.health.service import beat
from portal.outbox.batch import deliver_chunk
from portal.outbox.lifecycle import claim_batch, recover_expired, release
from portal.outbox.models import Message
from portal.senders.models import Sender

log = logging.getLogger("portal.worker")
MAX_THREADS = 32


class Worker:
    def __init__(self, app, *, batch: int = 100, interval: float = 60.0,
                 lease: float | None = None):
        self.app = app
        self.batch = batch
        self.interval = interval
        self.lease = float(lease or app.config.get("WORKER_LEASE_SECONDS", 300))
        self.timeout = float(app.config["SMTP_TIMEOUT"])
        self.name = f"{socket.gethostname()}:{os.getpid()}"
        self._stop = threading.Event()

    def stop(self, *_args) -> None:
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def _jobs(self, ids: list[int]) -> list[tuple[int | None, list[int]]]:
        """(sender, message ids) per SMTP session: up to max_connections per sender."""
        rows = db.session.execute(select(Message.id, Message.sender_id)
                                  .where(Message.id.in_(ids)).order_by(Message.id)).all()
        by_sender = defaultdict(list)
        for pk, sender_id in rows:
            by_sender[sender_id].append(pk)
        limits = dict(db.session.execute(select(Sender.id, Sender.max_connections)
                                         .where(Sender.id.in_(list(by_sender)))).all())
        jobs = []
        for sender_id, pks in by_sender.items():
            parts = max(1, min(limits.get(sender_id) or 1, len(pks)))
            jobs.extend((sender_id, pks[i::parts]) for i in range(parts))
        return jobs

    def _run_job(self, claim_id: str, sender_id, pks: list[int]) -> int:
        with self.app.app_context():
            try:
                return deliver_chunk(sender_id, pks, claim_id, lease=self.lease,
                                     timeout=self.timeout, should_stop=self._stop.is_set)
            except Exception:  # keep the worker alive; the lease recovers the claim
                log.exception("delivery for sender %s failed unexpectedly", sender_id)
                db.session.rollback()
                return 0
            finally:
                db.session.remove()

    def run_once(self) -> int:
        """One cycle: recover expired claims, claim a batch, deliver it. Returns the claim size."""
        with self.app.app_context():
            released, flagged = recover_expired()
            if released or flagged:
                log.warning("expired claims: %d requeued, %d marked unknown", released, flagged)
            claim_id = f"{self.name}:{uuid.uuid4().hex[:12]}"
            ids = claim_batch(claim_id, self.batch, self.lease)
            beat(self.name, len(ids))
            if not ids:
                return 0
            jobs = self._jobs(ids)
            db.session.remove()
        with ThreadPoolExecutor(max_workers=min(len(jobs), MAX_THREADS)) as pool:
            handed = sum(pool.map(lambda job: self._run_job(claim_id, *job), jobs))
        with self.app.app_context():
            release(claim_id)
        log.info("claimed %d, handed over %d", len(ids), handed)
        return len(ids)

    def run_callbacks(self) -> int:
        """One round of delivery callbacks (see ``portal.callbacks``); returns how many
        receivers accepted theirs. Never raises: a callback problem must not stop mail."""
        with self.app.app_context():
            try:
                return deliver_due(f"{self.name}:callbacks")
            except Exception:
                log.exception("delivering callbacks failed unexpectedly")
                db.session.rollback()
                return 0
            finally:
                db.session.remove()

    def _callback_loop(self) -> None:
        wait = float(self.app.config["CALLBACK_INTERVAL"])
        while not self.stopping:
            self.run_callbacks()
            self._stop.wait(min(wait, self.interval))

    def run_forever(self) -> None:
        """Cycle until stopped; a full batch means more may be due, so go again at once.
        Callbacks go out from a thread of their own, so a slow receiver never holds mail."""
        log.info("worker %s started (interval %ss, batch %s)", self.name, self.interval,
                 self.batch)
        callbacks = threading.Thread(target=self._callback_loop, name="callbacks", daemon=True)
        callbacks.start()
        while not self.stopping:
            claimed = self.run_once()
            if claimed < self.batch:
                self._stop.wait(self.interval)
        callbacks.join(timeout=float(self.app.config["CALLBACK_TIMEOUT"]) + 1)
        log.info("worker %s stopped", self.name)
