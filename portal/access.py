"""Access rules shared by every feature: who may open what."""

from functools import wraps

from flask import abort
from flask_login import current_user, login_required


def system_admin_required(view):
    """Only system admins; others get 403, anonymous users the login page."""

    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if not current_user.is_system_admin:
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def admin_required(view):
    """System admins and admins of at least one team."""

    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if not current_user.is_any_admin:
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def visible_team_ids(user) -> set[int] | None:
    """Team ids whose data the user may see; None means all (system admin)."""
    return None if user.is_system_admin else user.team_ids()


def administered_team_ids(user) -> set[int] | None:
    """Team ids the user may change; None means all (system admin)."""
    return None if user.is_system_admin else user.admin_team_ids()
