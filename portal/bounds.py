"""Limits every number and date taken from a request must respect, so out-of-range input
gets a clear answer instead of an overflow deep in the database driver."""

from datetime import date

from werkzeug.routing import IntegerConverter

MAX_ID = 2**31 - 1  # the largest value of an integer column on PostgreSQL
FIRST_DAY, LAST_DAY = date(1970, 1, 1), date(9999, 11, 30)  # room for ±30-day ranges


def parse_id(value) -> int | None:
    """A positive database id from text, or None for anything else (signs, ², 10**30)."""
    text = str(value or "").strip()
    if not (text.isascii() and text.isdigit()):
        return None
    number = int(text)
    return number if 1 <= number <= MAX_ID else None


def parse_ids(text: str, limit: int) -> list[int]:
    """Comma-separated ids, keeping the valid ones (at most ``limit``)."""
    found = (parse_id(part) for part in (text or "").split(","))
    return [number for number in found if number is not None][:limit]


def id_in_range(number) -> bool:
    return isinstance(number, int) and not isinstance(number, bool) and 1 <= number <= MAX_ID


def day_in_range(day: date) -> bool:
    return FIRST_DAY <= day <= LAST_DAY


class IdConverter(IntegerConverter):
    """``<int:…>`` in routes: ids beyond the column's range are simply not found (404)."""

    def __init__(self, map, *args, **kwargs):  # noqa: A002 (werkzeug's name)
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)
