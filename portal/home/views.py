"""The start page after sign-in."""

from flask import Blueprint
from flask_login import current_user, login_required

from portal.htmx import render

bp = Blueprint("home", __name__)


@bp.get("/")
@login_required
def index():
    memberships = sorted(current_user.memberships, key=lambda m: m.team.name.lower())
    return render("home/index.html", memberships=memberships)
