"""Sent, partly sent and failed mail per local day (the reader's zone) as an inline SVG,
drawn on the server."""

from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import gettext

from portal.i18n.formatting import number

WIDTH, HEIGHT, PAD = 720, 180, 24
MAX_DAYS = 366


@dataclass
class Chart:
    first: date
    last: date
    days: list  # (day, counts, x, width, heights): counts and heights keyed by KINDS
    peak: int
    totals: dict

    @property
    def summary(self) -> str:
        """The text alternative: what the bars show, in words, in the reader's language."""
        return gettext("From %(first)s to %(last)s: %(sent)s sent, %(partial)s partly sent "
                       "and %(failed)s failed.", first=self.first.isoformat(),
                       last=self.last.isoformat(), sent=number(self.totals["sent"]),
                       partial=number(self.totals["partial"]),
                       failed=number(self.totals["failed"]))


# Bar segments from the bottom up; "failed" includes mail in doubt (unknown).
KINDS = ("sent", "partial", "failed")


def chart_range(date_from: date | None, date_to: date | None, today: date) -> tuple[date, date]:
    """The filter's dates, else the last 30 days up to ``today`` (the reader's local day);
    never more than a year of bars."""
    last = date_to or (today if not date_from else min(today, date_from + timedelta(29)))
    first = date_from or last - timedelta(29)
    if (last - first).days >= MAX_DAYS:
        first = last - timedelta(MAX_DAYS - 1)
    return first, last


def build_chart(counts: dict, first: date, last: date) -> Chart:
    """Lay out one stacked bar per day, scaled to the busiest day."""
    total_days = (last - first).days + 1
    peak = max((sum(c.values()) for c in counts.values()), default=0)
    slot = (WIDTH - 2 * PAD) / total_days
    scale = (HEIGHT - 2 * PAD) / peak if peak else 0
    days, totals = [], dict.fromkeys(KINDS, 0)
    for offset in range(total_days):
        day = first + timedelta(offset)
        bucket = {kind: counts.get(day, {}).get(kind, 0) for kind in KINDS}
        heights, base = {}, 0.0
        for kind in KINDS:
            height = round(bucket[kind] * scale, 2)
            heights[kind] = (height, round(base, 2))
            base += height
            totals[kind] += bucket[kind]
        days.append((day, bucket, round(PAD + offset * slot, 2), round(max(slot * 0.8, 1), 2),
                     heights))
    return Chart(first, last, days, peak, totals)
