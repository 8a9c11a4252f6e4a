"""Column types that behave the same on SQLite and PostgreSQL."""

from datetime import UTC, datetime

from sqlalchemy import DateTime, Index, text
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    """Timezone-aware now in UTC; every stored time is UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Always hands back aware UTC datetimes (SQLite drops the zone; this restores it)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def partial_unique(name: str, *columns: str, where: str) -> Index:
    """A unique index over the rows matching ``where`` (SQLite and PostgreSQL alike),
    e.g. one default sender per scope or one template name per team."""
    condition = text(where)
    return Index(name, *columns, unique=True, sqlite_where=condition,
                 postgresql_where=condition)
