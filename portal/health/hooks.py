"""What health adds to shared places: the "worker not seen" banner for admins."""

from flask import url_for

from portal.banners import Banner, provider
from portal.health import service


@provider
def worker_banners(user) -> list[Banner]:
    """Warn admins when deferred mail waits and no worker has been seen for three intervals.

    System admins see the whole queue and how to start the worker; team admins
    see only their teams' waiting mail and whom to ask.
    """
    if not user.is_any_admin:
        return []
    team_ids = None if user.is_system_admin else user.admin_team_ids()
    status = service.worker_status(team_ids, always_count=False)
    if not status.stale:
        return []
    since = (f"since {status.last_seen:%Y-%m-%d %H:%M} UTC" if status.last_seen
             else "at all")
    count = f"{status.waiting} message{'' if status.waiting == 1 else 's'}"
    hint = ("Start it on the server with “flask --app portal worker” (or “systemctl start "
            "portal-worker”)." if user.is_system_admin
            else "Ask a system administrator to start it.")
    text = (f"The deferred-mail worker has not been seen {since} while {count} "
            f"wait{'s' if status.waiting == 1 else ''} to be sent. {hint}")
    return [Banner("warning", text, url_for("records.index", result="queued"),
                   "See queued mail")]
