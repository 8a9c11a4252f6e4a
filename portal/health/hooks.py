"""What health adds to shared places: the "worker not seen" banner for admins."""

from flask import url_for
from flask_babel import gettext as _
from flask_babel import ngettext

from portal.banners import Banner, provider
from portal.health import service
from portal.i18n.formatting import when


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
    hint = (_("Start it on the server with “%(command)s” (or “%(service)s”).",
              command="flask --app portal worker", service="systemctl start portal-worker")
            if user.is_system_admin else _("Ask a system administrator to start it."))
    text = _("%(problem)s %(hint)s", problem=_silence(status), hint=hint)
    return [Banner("warning", text, url_for("records.index", result="queued"),
                   _("See queued mail"))]


def _silence(status) -> str:
    """Since when the worker is silent, and how much mail waits for it."""
    if status.last_seen:
        return ngettext("The deferred-mail worker has not been seen since %(time)s while "
                        "%(num)d message waits to be sent.",
                        "The deferred-mail worker has not been seen since %(time)s while "
                        "%(num)d messages wait to be sent.", status.waiting,
                        time=when(status.last_seen))
    return ngettext("The deferred-mail worker has not been seen at all while %(num)d "
                    "message waits to be sent.",
                    "The deferred-mail worker has not been seen at all while %(num)d "
                    "messages wait to be sent.", status.waiting)
