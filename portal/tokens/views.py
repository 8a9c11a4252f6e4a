"""Token pages: list, create (the secret is shown once), revoke with confirmation."""

from flask import Blueprint, abort, flash, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from portal.access import admin_required, get_or_404, system_admin_required
from portal.errors import ServiceError
from portal.extensions import db
from portal.htmx import redirect, render
from portal.teams.models import Team
from portal.teams.service import administered_teams
from portal.tokens import callback, service
from portal.tokens.forms import CallbackForm, TokenForm
from portal.tokens.models import ApiToken

bp = Blueprint("tokens", __name__, url_prefix="/tokens")


def _token_or_404(token_id: int):
    return get_or_404(ApiToken, token_id, ApiToken.managed_by(current_user))


def _form() -> TokenForm:
    """The form; on GET, ``?team=ID`` (the team page's "Add a token") preselects a team."""
    form = TokenForm()
    teams = administered_teams(current_user)
    form.set_team_choices(teams, allow_system=current_user.is_system_admin)
    wanted = request.args.get("team", "")
    if request.method == "GET" and wanted in {choice.value for choice in form.team_id.choices}:
        form.team_id.data = wanted
    return form


@bp.get("")
@admin_required
def index():
    return render("tokens/index.html", "tokens/_list.html",
                  tokens=service.managed_tokens(current_user))


@bp.route("/new", methods=["GET", "POST"])
@admin_required
def new():
    """GET shows the form; a valid POST creates the token and shows its secret once."""
    form = _form()
    if form.validate_on_submit():
        try:
            token, secret = service.create_token(current_user, form.name.data,
                                                 form.team_value())
            signing = callback.set_callback(current_user, token, form.callback_url.data)
            db.session.commit()
        except ServiceError as error:
            db.session.rollback()
            getattr(form, error.field or "name").errors.append(error.message)
        else:
            return _secret_page(token=token, secret=secret, signing=signing)
    return render("tokens/new.html", "tokens/_form.html",
                  status=422 if form.errors else 200, form=form)


def _secret_page(**context):
    """The only copy of a secret: no cache, proxy or history may keep it."""
    response = render("tokens/created.html", "tokens/_created.html", **context)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/<int:token_id>/callback", methods=["GET", "POST"])
@admin_required
def edit_callback(token_id: int):
    """Set, change or remove a token's callback URL; a new signing secret is shown once."""
    token = _token_or_404(token_id)
    form = CallbackForm(obj=token) if request.method == "GET" else CallbackForm()
    if form.validate_on_submit():
        signing = callback.set_callback(current_user, token, form.callback_url.data)
        db.session.commit()
        if signing is not None:
            return _secret_page(token=token, signing=signing)
        flash(_("Callback of token “%(name)s” removed.", name=token.name), "success")
        return redirect(url_for("tokens.index"))
    return render("tokens/callback.html", "tokens/_callback_form.html",
                  status=422 if form.errors else 200, form=form, token=token)


@bp.route("/<int:token_id>/revoke", methods=["GET", "POST"])
@admin_required
def revoke(token_id: int):
    """GET asks for confirmation; POST revokes."""
    token = _token_or_404(token_id)
    if request.method == "GET":
        return render("tokens/revoke.html", token=token)
    service.revoke_token(current_user, token)
    db.session.commit()
    flash(_("Token “%(name)s” revoked. Systems using it can no longer send mail.",
            name=token.name), "success")
    return redirect(url_for("tokens.index"))


@bp.route("/teams/<int:team_id>/revoke-all", methods=["GET", "POST"])
@system_admin_required
def revoke_team(team_id: int):
    """GET asks for confirmation, listing the tokens; POST revokes them all."""
    team = db.session.get(Team, team_id) or abort(404)
    if request.method == "GET":
        return render("tokens/revoke_team.html", team=team,
                      tokens=service.active_team_tokens(team.id))
    count = service.revoke_team_tokens(current_user, team.id)
    db.session.commit()
    flash(ngettext("Revoked %(num)d token of team “%(team)s”.",
                   "Revoked %(num)d tokens of team “%(team)s”.", count, team=team.name),
          "success")
    return redirect(url_for("teams.show", team_id=team.id))
