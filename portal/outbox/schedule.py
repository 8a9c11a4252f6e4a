"""Sending later: which ``send_at`` times are accepted, from the API and the compose page.

A time must carry its offset (an ISO 8601 time without one could mean any zone), may
lie at most ``SCHEDULE_HORIZON_DAYS`` ahead, and may lie in the past by no more than
``SCHEDULE_PAST_TOLERANCE_SECONDS`` (a caller's clock running a little behind: sent at
once); an older time is refused rather than sending mail its caller thinks is late.
"""

from datetime import UTC, datetime, timedelta

from flask import current_app
from flask_babel import format_datetime
from flask_babel import gettext as _

from portal.dbtypes import utcnow


class ScheduleError(ValueError):
    """A ``send_at`` that cannot be used; ``code`` is stable for the API."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def parse_iso(value: str) -> datetime:
    """An ISO 8601 time with its offset ("2026-12-01T09:30:00+08:00" or "...Z")."""
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError as error:
        raise ScheduleError("invalid_send_at", _(
            "“%(field)s” must be an ISO 8601 time such as %(example)s.", field="send_at",
            example="2026-12-01T09:30:00+08:00")) from error
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ScheduleError("send_at_without_offset", _(
            "“%(field)s” needs a UTC offset (such as +08:00 or Z): without one the time "
            "could mean any time zone.", field="send_at"))
    return parsed.astimezone(UTC)


def window_error(send_at: datetime) -> ScheduleError | None:
    """Why ``send_at`` (aware) is outside the accepted window, or None."""
    now = utcnow()
    past = timedelta(seconds=float(current_app.config["SCHEDULE_PAST_TOLERANCE_SECONDS"]))
    days = int(current_app.config["SCHEDULE_HORIZON_DAYS"])
    if send_at < now - past:
        return ScheduleError("send_at_past", _(
            "The time to send (%(time)s) has already passed.", time=format_datetime(send_at)))
    if send_at > now + timedelta(days=days):
        return ScheduleError("send_at_too_far", _(
            "Mail can be scheduled at most %(days)d days ahead.", days=days))
    return None


def due_time(send_at: datetime | None) -> datetime | None:
    """The time to hold the message until, or None to send as soon as possible (no time
    given, or one already reached). Raises ``ScheduleError`` outside the window."""
    if send_at is None:
        return None
    error = window_error(send_at)
    if error is not None:
        raise error
    return send_at if send_at > utcnow() else None
