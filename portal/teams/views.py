"""Team pages: system admins create, rename and delete; team admins see their teams."""

from flask import Blueprint, abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.access import admin_required, get_or_404, system_admin_required
from portal.errors import ServiceError
from portal.extensions import db
from portal.htmx import is_htmx, render
from portal.teams import service
from portal.teams.forms import TeamForm
from portal.teams.models import Team

bp = Blueprint("teams", __name__, url_prefix="/teams")


def _team_or_404(team_id: int):
    return get_or_404(Team, team_id, Team.visible_to(current_user))


def _list(form=None, status=200):
    teams = service.visible_teams(current_user)
    return render("teams/index.html", "teams/_list.html", status=status,
                  teams=teams, form=form or TeamForm(formdata=None),
                  counts=service.holding_counts(team.id for team in teams))


def _row(team: Team, status: int = 200):
    """One team's row (after a rename, or when an inline edit is cancelled)."""
    return render("teams/_row.html", status=status, team=team,
                  counts=service.holding_counts([team.id]))


def _after_change():
    """htmx gets the refreshed list; a plain form post is redirected (post/redirect/get)."""
    return _list() if is_htmx() else redirect(url_for("teams.index"), code=303)


@bp.get("")
@admin_required
def index():
    return _list()


@bp.post("")
@system_admin_required
def create():
    form = TeamForm()
    if form.validate_on_submit():
        try:
            team = service.create_team(current_user, form.name.data)
            db.session.commit()
            flash(_("Team “%(name)s” created.", name=team.name), "success")
            return _after_change()
        except ServiceError as error:
            db.session.rollback()
            form.name.errors.append(error.message)
    return _list(form, status=422)


@bp.get("/<int:team_id>")
@admin_required
def show(team_id: int):
    team = _team_or_404(team_id)
    if not current_user.can_admin_team(team.id):
        abort(403)
    from portal.directory.forms import GroupLinkForm

    return render("teams/show.html", team=team, owns=service.holdings(team),
                  link_form=GroupLinkForm(formdata=None))


@bp.get("/<int:team_id>/row")
@admin_required
def row(team_id: int):
    """The plain row, used when an inline edit is cancelled."""
    return _row(_team_or_404(team_id))


@bp.get("/<int:team_id>/edit")
@system_admin_required
def edit(team_id: int):
    team = _team_or_404(team_id)
    return render("teams/_row_edit.html", team=team, form=TeamForm(obj=team))


@bp.post("/<int:team_id>/rename")
@system_admin_required
def rename(team_id: int):
    team = _team_or_404(team_id)
    form = TeamForm()
    if form.validate_on_submit():
        try:
            service.rename_team(current_user, team, form.name.data)
            db.session.commit()
            flash(_("Team renamed to “%(name)s”.", name=team.name), "success")
            return _row(team)
        except ServiceError as error:
            db.session.rollback()
            form.name.errors.append(error.message)
    db.session.refresh(team)
    return render("teams/_row_edit.html", status=422, team=team, form=form)


@bp.post("/<int:team_id>/delete")
@system_admin_required
def delete(team_id: int):
    team = _team_or_404(team_id)
    name = team.name
    try:
        service.delete_team(current_user, team)
        db.session.commit()
        flash(_("Team “%(name)s” deleted.", name=name), "success")
    except ServiceError as error:
        db.session.rollback()
        flash(error.message, "error")
    return _after_change()
