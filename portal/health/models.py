"""One heartbeat row per worker process, so monitors and admins can tell it is alive."""

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.dbtypes import UTCDateTime, utcnow
from portal.extensions import db


class WorkerHeartbeat(db.Model):
    """The last cycle of one worker process (``host:pid``), rewritten every cycle."""

    __tablename__ = "worker_heartbeats"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    last_claimed: Mapped[int] = mapped_column(Integer, default=0)

    def __repr__(self) -> str:
        return f"<WorkerHeartbeat {self.name} {self.last_seen:%Y-%m-%d %H:%M:%S}>"
