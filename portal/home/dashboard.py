"""The figures on the dashboard: queue, the last 24 hours, senders that need attention.

Every query goes through the scoping clauses (``Message.visible_to``,
``Sender.managed_by``), so a team admin's dashboard counts only their teams' mail and
senders and an agent's only the mail they sent.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask_babel import gettext
from sqlalchemy import func, select

from portal.dbtypes import utcnow
from portal.extensions import db
from portal.health import service as health
from portal.i18n.marks import N_
from portal.outbox.lifecycle import FINAL, PENDING
from portal.outbox.models import Message
from portal.senders.models import Sender

DAY = timedelta(hours=24)
RECENT = 8
LAST_DAY_KINDS = ("sent", "partial", "failed", "unknown")


@dataclass
class Queue:
    """Mail not yet final: how much and since when the oldest has waited."""

    waiting: int
    oldest: datetime | None


@dataclass
class SenderDay:
    """One sender's final outcomes in the last 24 hours."""

    sender_id: int | None
    name: str
    address: str
    counts: dict = field(default_factory=lambda: dict.fromkeys(LAST_DAY_KINDS, 0))

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass
class Attention:
    """A sender and, in plain words, why an admin should look at it."""

    sender: Sender | None
    kind: str  # a key of BADGES
    text: str

    @property
    def badge(self) -> tuple[str, str]:
        """(pill class, short label in the reader's language) for the list."""
        pill, label = BADGES[self.kind]
        return pill, gettext(label)


BADGES = {"failing": ("pill-failing", N_("failing")),
          "check-failed": ("pill-failing", N_("check failed")),
          "paused": ("pill-paused", N_("paused")),
          "provider-quota": ("pill-paused", N_("provider quota")),
          "quota-used": ("pill-paused", N_("quota used up")),
          "untested": ("pill-untested", N_("never tested")),
          "no-default": ("pill-failing", N_("missing"))}


def queue(user) -> Queue:
    """Messages queued, sending or waiting to retry, and the oldest one's creation time."""
    row = db.session.execute(
        select(func.count(), func.min(Message.created_at))
        .where(Message.status.in_(PENDING), Message.visible_to(user))).one()
    return Queue(row[0] or 0, row[1])


def last_day(user, now: datetime | None = None) -> tuple[dict, list[SenderDay]]:
    """Totals by final status over the last 24 hours, and the same per sender (busiest
    first). Mail still pending is counted by ``queue``, not here."""
    since = (now or utcnow()) - DAY
    rows = db.session.execute(
        select(Message.sender_id, Message.sender_name, Message.sender_address,
               Message.status, func.count())
        .where(Message.created_at >= since, Message.status.in_(FINAL), Message.visible_to(user))
        .group_by(Message.sender_id, Message.sender_name, Message.sender_address,
                  Message.status)).all()
    totals = dict.fromkeys(LAST_DAY_KINDS, 0)
    per_sender: dict = {}
    for sender_id, name, address, status, count in rows:
        entry = per_sender.setdefault(sender_id, SenderDay(sender_id, name or "", address or ""))
        entry.counts[status] += count
        totals[status] += count
    ordered = sorted(per_sender.values(), key=lambda s: (-s.total, s.name.lower()))
    return totals, ordered


def recent_messages(user, limit: int = RECENT) -> list[Message]:
    """The newest messages the user may read (for an agent: the ones they sent)."""
    return list(db.session.scalars(
        select(Message).where(Message.visible_to(user))
        .order_by(Message.created_at.desc(), Message.id.desc()).limit(limit)))


@dataclass
class Worker:
    """``state``: running (heard from recently), stalled (silent while mail waits),
    silent (not heard from lately, nothing waits) or never (no heartbeat at all)."""

    state: str
    last_seen: datetime | None


def worker(user, now: datetime | None = None) -> Worker:
    """The deferred-mail worker as the dashboard shows it."""
    now = now or utcnow()
    team_ids = None if user.is_system_admin else user.admin_team_ids()
    status = health.worker_status(team_ids, now=now)
    if status.stale:
        return Worker("stalled", status.last_seen)
    if status.last_seen is None:
        return Worker("never", None)
    recent = now - status.last_seen <= health.stale_after()
    return Worker("running" if recent else "silent", status.last_seen)
