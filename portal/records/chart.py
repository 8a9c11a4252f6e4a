"""Sent vs failed per day as an inline SVG, drawn on the server (no chart library)."""

from dataclasses import dataclass
from datetime import date, timedelta

WIDTH, HEIGHT, PAD = 720, 180, 24
MAX_DAYS = 366


@dataclass
class Chart:
    first: date
    last: date
    days: list  # (day, sent, failed, x, width, sent_height, failed_height)
    peak: int
    total_sent: int
    total_failed: int

    @property
    def summary(self) -> str:
        """The text alternative: what the bars show, in words."""
        return (f"From {self.first.isoformat()} to {self.last.isoformat()}: "
                f"{self.total_sent} sent and {self.total_failed} failed.")


def chart_range(date_from: date | None, date_to: date | None, today: date) -> tuple[date, date]:
    """The filter's dates, else the last 30 days; never more than a year of bars."""
    last = date_to or (today if not date_from else min(today, date_from + timedelta(29)))
    first = date_from or last - timedelta(29)
    if (last - first).days >= MAX_DAYS:
        first = last - timedelta(MAX_DAYS - 1)
    return first, last


def build_chart(counts: dict, first: date, last: date) -> Chart:
    """Lay out one pair of stacked bars per day, scaled to the busiest day."""
    total_days = (last - first).days + 1
    peak = max((c["sent"] + c["failed"] for c in counts.values()), default=0)
    slot = (WIDTH - 2 * PAD) / total_days
    scale = (HEIGHT - 2 * PAD) / peak if peak else 0
    days = []
    for offset in range(total_days):
        day = first + timedelta(offset)
        bucket = counts.get(day, {"sent": 0, "failed": 0})
        x = PAD + offset * slot
        days.append((day, bucket["sent"], bucket["failed"], round(x, 2),
                     round(max(slot * 0.8, 1), 2), round(bucket["sent"] * scale, 2),
                     round(bucket["failed"] * scale, 2)))
    return Chart(first, last, days, peak, sum(d[1] for d in days), sum(d[2] for d in days))
