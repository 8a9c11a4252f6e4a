"""Which sending records a user may see: all (system admin), their teams' (team admin),
or the ones they sent themselves (agent)."""

from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import defer

from portal.dbtypes import utcnow
from portal.extensions import db
from portal.i18n import zones
from portal.listing import after_cursor, encode_cursor
from portal.outbox import lifecycle
from portal.outbox.lifecycle import FINAL, RETRYABLE
from portal.outbox.models import Message
from portal.records import export, localtime


def visible_messages_query(user, query):
    return query.where(Message.visible_to(user))


PAGE_SIZE = 50
COUNT_CAP = 10_000


def _listing(user, filters):
    query = select(Message).options(defer(Message.html_body), defer(Message.text_body))
    return filters.apply(visible_messages_query(user, query))


def records_page(user, filters, cursor, size: int = PAGE_SIZE):
    """One page newest first, and the cursor of the next page (None at the end)."""
    query = after_cursor(_listing(user, filters), Message, cursor)
    query = query.order_by(Message.created_at.desc(), Message.id.desc()).limit(size + 1)
    rows = list(db.session.scalars(query))
    next_cursor = encode_cursor(rows[size - 1]) if len(rows) > size else None
    return rows[:size], next_cursor


def capped_count(user, filters) -> tuple[int, bool]:
    """How many messages match, counting at most COUNT_CAP (True when capped)."""
    inner = filters.apply(visible_messages_query(user, select(Message.id))).limit(COUNT_CAP + 1)
    total = db.session.scalar(select(func.count()).select_from(inner.subquery()))
    return min(total, COUNT_CAP), total > COUNT_CAP


def export_query(user, filters):
    """The exported columns (``export.columns()``: plain values, not ORM objects) of every
    matching message the user may see, newest first."""
    zone, dialect = zones.current_zone(), db.session.get_bind().dialect.name
    spans = _stored_spans(zone) if dialect == "sqlite" else []
    query = filters.apply(visible_messages_query(user, select(
        *export.columns(dialect, zone, spans))))
    return query.order_by(Message.created_at.desc(), Message.id.desc())


def _stored_spans(zone) -> list:
    """The zone's offsets (``localtime.offset_spans``) from the first stored message to a
    day after the last one or now, whichever is later (delivery comes after creation)."""
    first, last = db.session.execute(select(func.min(Message.created_at),
                                            func.max(Message.created_at))).one()
    now = utcnow()
    first = first or now
    last = max(last or now, now) + timedelta(days=2)
    return localtime.offset_spans(zone, first - timedelta(days=1), last)


# Rows per batch, and so per chunk of the response: big enough that per-chunk costs
# vanish, small enough that a batch stays a few megabytes.
EXPORT_BATCH = 2000


def stream_rows(query, chunk: int | None = None):
    """Batches (lists) of at most ``chunk`` (default EXPORT_BATCH) plain rows, from a
    connection of its own so the stream outlives the request's session. Rows are fetched
    as they are needed (a server-side cursor on PostgreSQL): memory is the same for any
    row count."""
    chunk = chunk or EXPORT_BATCH
    engine = db.engine  # resolved now: the generator runs after the request has ended

    def batches():
        with engine.connect() as connection:
            result = connection.execution_options(stream_results=True, yield_per=chunk)\
                .execute(query)
            yield from result.partitions()

    return batches()


def daily_counts(user, filters, first: date, last: date) -> dict:
    """{day: {"sent": n, "partial": n, "failed": n}} for the chart, by the reader's local
    day (``first`` and ``last`` are local days too); unknown counts as failed."""
    zone, start, end = zones.current_zone(), zones.day_start(first), zones.day_end(last)
    dialect = db.session.get_bind().dialect.name
    day = localtime.local_date(dialect, Message.created_at, zone,
                               localtime.offset_spans(zone, start, end))
    rows = filters.apply(visible_messages_query(user, select(
        day.label("day"), Message.status.label("status")).where(
        Message.created_at >= start, Message.created_at < end,
        Message.status.in_(FINAL)))).subquery()
    query = select(rows.c.day, rows.c.status, func.count()).group_by(rows.c.day, rows.c.status)
    counts: dict = {}
    for raw_day, status, count in db.session.execute(query):
        key = raw_day if isinstance(raw_day, date) else date.fromisoformat(str(raw_day)[:10])
        bucket = counts.setdefault(key, {"sent": 0, "partial": 0, "failed": 0})
        bucket[status if status in ("sent", "partial") else "failed"] += count
    return counts


def can_retry(user, message: Message) -> bool:
    """Admins of the message's team may requeue mail that failed, is in doubt, or was
    refused for some recipients (then only those get it again)."""
    return message.status in RETRYABLE and user.can_admin_team(message.team_id)


def retry(user, message: Message) -> None:
    """Requeue a failed, partial or unknown message for the refused / in-doubt recipients."""
    if not can_retry(user, message):
        raise PermissionError("Only admins can retry failed, partial or unknown messages.")
    lifecycle.requeue(message)
