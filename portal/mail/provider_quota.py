"""How long a provider's own quota reply pauses a sender, by what the provider documents.

A quota reply is not about the message: sending the rest of the queue at once would
only collect the same refusal for every message, so the sender waits until the
provider's window resets and the mail waits with it (``portal.outbox.quota``).

- 163 / 126 / yeah.net ``554 MI:STC``: the daily quota is used up. NetEase counts per
  calendar day in China, so the sender waits until the next midnight in Asia/Shanghai.
- 163 ``451 MI:SFQ``: the 15-minute quota is used up: 15 minutes.
- Any other daily quota reply (Exchange Online ``SubmissionQuotaExceeded``, its
  recipient rate limit of a rolling 24 hours): 24 hours.
- Any other short-term reply (Exchange Online's "message rate limit" of 30 messages a
  minute, ``ThrottlingPolicy``, a generic "rate limit"): one minute.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from portal.mail.classify import reason_for
from portal.mail.errors import DeliveryError

QUOTA_REASONS = ("daily_quota", "rate_quota")
CHINA = ZoneInfo("Asia/Shanghai")
_NETEASE_DAILY = re.compile(r"\bMI:STC\b")
_NETEASE_SHORT = re.compile(r"\bMI:SFQ\b")
DAY, QUARTER_HOUR, MINUTE = timedelta(hours=24), timedelta(minutes=15), timedelta(minutes=1)


def next_midnight_in_china(now: datetime) -> datetime:
    """The next 00:00 in Asia/Shanghai after ``now`` (an aware time), as an aware time."""
    local = now.astimezone(CHINA)
    midnight = datetime(local.year, local.month, local.day, tzinfo=CHINA) + DAY
    return midnight.astimezone(now.tzinfo)


def pause_until(reason: str, text: str, now: datetime) -> datetime | None:
    """When a sender that got this reply may send again; None when it is no quota reply."""
    if reason == "daily_quota":
        return next_midnight_in_china(now) if _NETEASE_DAILY.search(text or "") else now + DAY
    if reason == "rate_quota":
        return now + (QUARTER_HOUR if _NETEASE_SHORT.search(text or "") else MINUTE)
    return None


def quota_reply(error: DeliveryError | None, refused: dict | None = None):
    """The first quota reply of an attempt as ``(reason, "code text")``: the error's own,
    or one recipient's refusal. None when the attempt met no quota."""
    if error is not None and not error.maybe_delivered and error.reason in QUOTA_REASONS:
        return error.reason, f"{error.code or ''} {error.text}".strip()
    for code, text in (refused or {}).values():
        reason = reason_for("rcpt", code, text)
        if reason in QUOTA_REASONS:
            return reason, f"{code} {text}"
    return None
