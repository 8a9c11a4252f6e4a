"""Worker heartbeats and the health summary behind ``/healthz`` and the admin banner.

The worker calls :func:`beat` once per cycle. The worker counts as *stale* when it
has not been seen for more than three ``WORKER_INTERVAL`` periods while deferred
mail (``queued`` or ``retrying``) is waiting: an idle queue needs no worker, so a
stopped worker with nothing to do is not an alarm.
"""

import logging
import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, func, or_, select, text
from sqlalchemy.exc import SQLAlchemyError

from portal.dbtypes import utcnow
from portal.extensions import db
from portal.health.models import WorkerHeartbeat
from portal.outbox.lifecycle import DUE
from portal.outbox.models import Message

log = logging.getLogger("portal.health")
STALE_INTERVALS = 3
# Rows of workers gone for this long are dropped, so restarts do not pile up rows.
RETENTION = timedelta(days=7)


@dataclass(frozen=True)
class WorkerStatus:
    """What is known about the workers: last heartbeat, waiting mail, and the verdict."""

    last_seen: datetime | None
    waiting: int | None
    stale: bool


def beat(name: str, claimed: int) -> None:
    """Record that worker ``name`` finished claiming (``claimed`` messages) just now.

    Called inside the worker's app context, it commits on its own, after the
    claim has been committed. A failing heartbeat is logged and never stops
    delivery. Only a living worker prunes old rows, so the latest heartbeat of a
    dead worker always stays visible.
    """
    try:
        now = utcnow()
        row = db.session.scalar(select(WorkerHeartbeat).where(WorkerHeartbeat.name == name))
        if row is None:
            row = WorkerHeartbeat(name=name, host=socket.gethostname()[:255], pid=os.getpid())
            db.session.add(row)
        row.last_seen, row.last_claimed = now, claimed
        db.session.execute(delete(WorkerHeartbeat).where(
            WorkerHeartbeat.last_seen < now - RETENTION, WorkerHeartbeat.name != name))
        db.session.commit()
    except SQLAlchemyError:
        db.session.rollback()
        log.exception("could not write the heartbeat of worker %s", name)


def stale_after() -> timedelta:
    """How long the worker may stay silent while mail waits: three worker intervals."""
    return timedelta(seconds=STALE_INTERVALS * float(current_app.config["WORKER_INTERVAL"]))


def last_heartbeat() -> datetime | None:
    """The most recent heartbeat of any worker (several may share the queue)."""
    return db.session.scalar(select(func.max(WorkerHeartbeat.last_seen)))


def waiting_count(team_ids: set[int] | None = None) -> int:
    """Deferred messages waiting for a worker; ``team_ids`` limits it to those teams."""
    # Mail scheduled for later is not waiting for a worker until its time has come.
    query = select(func.count()).select_from(Message).where(
        Message.status.in_(DUE), or_(Message.status != "scheduled",
                                     Message.next_attempt_at <= utcnow()))
    if team_ids is not None:
        query = query.where(Message.team_id.in_(sorted(team_ids)))
    return db.session.scalar(query) or 0


def worker_status(team_ids: set[int] | None = None, *, now: datetime | None = None,
                  always_count: bool = True) -> WorkerStatus:
    """Last heartbeat, waiting mail and whether the worker is stale.

    With ``always_count=False`` a fresh heartbeat skips counting the queue
    (``waiting`` is then None): the banner runs on every page and needs only
    the verdict.
    """
    now = now or utcnow()
    last = last_heartbeat()
    silent = last is None or now - last > stale_after()
    if not silent and not always_count:
        return WorkerStatus(last, None, False)
    waiting = waiting_count(team_ids)
    return WorkerStatus(last, waiting, silent and waiting > 0)


def health_report() -> tuple[dict, int]:
    """The ``/healthz`` body and status code; never contains a secret or an error text.

    200 when the database answers (``degraded`` if the worker is stale), 503 when
    it does not (``unreachable``) or when the portal's tables cannot be read
    (``error``, e.g. ``flask db upgrade`` was not run). Details go to the log.
    """
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        db.session.rollback()
        log.warning("health check: the database is unreachable", exc_info=True)
        return {"status": "error", "database": "unreachable", "worker": None}, 503
    try:
        status = worker_status()
    except SQLAlchemyError:
        db.session.rollback()
        log.warning("health check: the portal's tables cannot be read", exc_info=True)
        return {"status": "error", "database": "error", "worker": None}, 503
    worker = {"last_heartbeat": status.last_seen.isoformat() if status.last_seen else None,
              "stale": status.stale, "queued": status.waiting}
    body = {"status": "degraded" if status.stale else "ok", "database": "ok",
            "worker": worker}
    directory = directory_report()
    if directory is not None:  # only when LDAP sign-in is configured
        body["directory"] = directory
        if directory["status"] != "ok":
            body["status"] = "degraded"
    return body, 200


def directory_report() -> dict | None:
    """``{"status": ok | unreachable | service_bind_failed | error, "message"}`` for a
    configured directory (checked live at most once a minute), else None. The message
    names the problem and the setting to fix, never a secret."""
    from portal.directory import status as directory_status
    from portal.directory.settings import from_config

    settings = from_config(current_app.config)
    if not settings.enabled:
        return None
    state = directory_status.live(settings)
    return {"status": state, "message": directory_status.MESSAGES.get(state, "")}
