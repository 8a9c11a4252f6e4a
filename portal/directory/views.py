"""The directory page (settings and "Test") and the team page's group links.

Thin: parse, call ``links`` / ``checks``, render. System admins only.
"""

from flask import Blueprint, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.access import get_or_404, system_admin_required
from portal.directory import (
    checks,
    hooks,  # noqa: F401  (the directory banner)
    links,
    recheck,
)
from portal.directory.forms import DirectoryTestForm, GroupLinkForm
from portal.directory.models import TeamGroupLink
from portal.directory.settings import public_view
from portal.directory.signin import settings
from portal.errors import ServiceError
from portal.extensions import db
from portal.htmx import render
from portal.teams.models import Team

bp = Blueprint("directory", __name__)
bp.before_app_request(recheck.before_request)


def _page(form=None, report=None, status=200):
    cfg = settings()
    return render("directory/index.html", "directory/_test_result.html", status=status,
                  cfg=cfg, rows=public_view(cfg), form=form or DirectoryTestForm(formdata=None),
                  report=report)


@bp.get("/directory")
@system_admin_required
def index():
    return _page()


@bp.post("/directory/test")
@system_admin_required
def test():
    """Run the step-by-step check; the password typed is used once and never kept."""
    form = DirectoryTestForm()
    if not form.validate_on_submit():
        return _page(form, status=422)
    if not settings().enabled:
        flash(_("The directory is not configured: set PORTAL_LDAP_URL first."), "error")
        return _page(form, status=422)
    report = checks.run(settings(), form.username.data, form.password.data or "")
    return _page(form, report)


def _team(team_id: int) -> Team:
    return get_or_404(Team, team_id, Team.visible_to(current_user))


@bp.post("/teams/<int:team_id>/group-links")
@system_admin_required
def add_link(team_id: int):
    team = _team(team_id)
    form = GroupLinkForm()
    if form.validate_on_submit():
        try:
            link = links.add_link(current_user, team, form.group_dn.data, form.role.data)
            db.session.commit()
            flash(_("Members of %(group)s are now “%(role)s” in this team.",
                    group=link.group_dn, role=_role(link.role)), "success")
        except ServiceError as error:
            db.session.rollback()
            flash(error.message, "error")
    else:
        flash(" ".join(str(e) for errors in form.errors.values() for e in errors), "error")
    return redirect(url_for("teams.show", team_id=team.id), code=303)


def _link(team_id: int, link_id: int) -> TeamGroupLink:
    return get_or_404(TeamGroupLink, link_id, TeamGroupLink.team_id == _team(team_id).id)


@bp.get("/teams/<int:team_id>/group-links/<int:link_id>/delete")
@system_admin_required
def confirm_remove_link(team_id: int, link_id: int):
    """Removing a link asks first: it changes who may work in the team."""
    link = _link(team_id, link_id)
    return render("directory/remove_link.html", link=link, team=link.team)


@bp.post("/teams/<int:team_id>/group-links/<int:link_id>/delete")
@system_admin_required
def remove_link(team_id: int, link_id: int):
    link = _link(team_id, link_id)
    group = link.group_dn
    try:
        links.remove_link(current_user, link)
        db.session.commit()
        flash(_("The group %(group)s is no longer linked to this team.", group=group),
              "success")
    except ServiceError as error:
        db.session.rollback()
        flash(error.message, "error")
    return redirect(url_for("teams.show", team_id=team_id), code=303)


def _role(role: str) -> str:
    return _("Team admin") if role == "admin" else _("Agent")
