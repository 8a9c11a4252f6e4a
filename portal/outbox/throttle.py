"""``rate_per_minute`` across all workers: each send reserves the sender's next slot.

The reservation is one atomic UPDATE on the sender row, so workers on any host
share one schedule without talking to each other.
"""

import time

from sqlalchemy import update

from portal.extensions import db
from portal.senders.models import Sender


def reserve_slot(sender_id: int, rate_per_minute: int,
                 max_wait: float | None = None) -> float | None:
    """Book the sender's next slot and commit at once so others see it; returns its start
    (epoch seconds). With ``max_wait``, only a slot starting within that many seconds
    is booked, else nothing is and the answer is None."""
    interval, now = 60.0 / rate_per_minute, time.time()
    column = Sender.throttle_next_at
    statement = update(Sender).where(Sender.id == sender_id)
    if max_wait is not None:
        statement = statement.where(column.is_(None) | (column <= now + max_wait))
    statement = (statement.values(throttle_next_at=db.case(
        (column.is_(None) | (column < now), now + interval), else_=column + interval))
        .returning(Sender.throttle_next_at))
    booked_end = db.session.execute(statement).scalar_one_or_none()
    db.session.commit()
    return None if booked_end is None else booked_end - interval


def wait_for_slot(sender_id: int, rate_per_minute: int | None, should_stop) -> bool:
    """Sleep until this worker's slot; False when asked to stop meanwhile."""
    if not rate_per_minute:
        return True
    slot = reserve_slot(sender_id, rate_per_minute)
    while (delay := slot - time.time()) > 0:
        if should_stop():
            return False
        time.sleep(min(delay, 0.5))
    return True
