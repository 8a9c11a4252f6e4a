"""Access rules shared by every feature: who may open what."""

from functools import wraps

from flask import abort
from flask_login import current_user, login_required
from sqlalchemy import select

from portal.extensions import db


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


def get_or_404(model, pk: int, clause):
    """The ``model`` row with id ``pk`` when ``clause`` (e.g. ``Sender.managed_by(user)``)
    admits it; otherwise 404, so "missing" and "not yours" look the same."""
    found = db.session.scalar(select(model).where(model.id == pk, clause))
    if found is None:
        abort(404)
    return found
