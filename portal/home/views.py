"""The dashboard: the first page after sign-in, for every role."""

from flask import Blueprint
from flask_login import current_user, login_required

from portal.home import attention, dashboard
from portal.htmx import render

bp = Blueprint("home", __name__)


@bp.get("/")
@login_required
def index():
    """Admins see the queue, the last 24 hours per sender, senders needing attention and
    the worker; everyone sees their teams and their most recent messages."""
    memberships = sorted(current_user.memberships, key=lambda m: m.team.name.lower())
    context = {"memberships": memberships, "queue": dashboard.queue(current_user),
               "recent": dashboard.recent_messages(current_user)}
    totals, per_sender = dashboard.last_day(current_user)
    context.update(totals=totals, per_sender=per_sender)
    if current_user.is_any_admin:
        context.update(attention=attention.senders_needing_attention(current_user, per_sender),
                       worker=dashboard.worker(current_user))
    return render("home/index.html", **context)
