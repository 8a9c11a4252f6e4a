"""User administration for system admins: create, edit, deactivate, passwords, teams."""

from flask import Blueprint, current_app, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user
from sqlalchemy import true

from portal.access import get_or_404, system_admin_required
from portal.auth import sessions
from portal.auth.models import User
from portal.bounds import parse_id
from portal.errors import ServiceError
from portal.extensions import db
from portal.forms import choices
from portal.htmx import redirect, render
from portal.teams.models import Team
from portal.teams.service import visible_teams
from portal.users import service
from portal.users.forms import (
    ROLE_NAMES,
    MembershipForm,
    PasswordForm,
    UserCreateForm,
    UserEditForm,
)

MAX_PAGE = 100_000
bp = Blueprint("users", __name__, url_prefix="/users")


def _user_or_404(user_id: int) -> User:
    return get_or_404(User, user_id, true())  # the pages are for system admins only


def _page_number() -> int:
    return min(parse_id(request.args.get("page")) or 1, MAX_PAGE)


@bp.get("")
@system_admin_required
def index():
    search = request.args.get("q", "").strip()[:64]
    page = _page_number()
    users, has_next = service.list_users(page, current_app.config["PAGE_SIZE"], search)
    return render("users/index.html", "users/_table.html", users=users, page=page,
                  has_next=has_next, search=search)


@bp.get("/new")
@system_admin_required
def new():
    """The empty "New user" form on a page of its own (the list's main action)."""
    return render("users/new.html", form=UserCreateForm(formdata=None))


@bp.post("")
@system_admin_required
def create():
    form = UserCreateForm()
    if form.validate_on_submit():
        try:
            user = service.create_user(
                username=form.username.data, password=form.password.data,
                display_name=form.display_name.data, email=form.email.data,
                is_system_admin=form.is_system_admin.data)
            db.session.commit()
            flash(_("User “%(name)s” created. Add them to a team below.", name=user.username),
                  "success")
            return redirect(url_for("users.edit", user_id=user.id))
        except ServiceError as error:
            db.session.rollback()
            getattr(form, error.field or "username").errors.append(error.message)
    return render("users/new.html", "users/_create_form.html", status=422, form=form)


def _edit_context(user: User, **forms) -> dict:
    form = forms.get("form") or UserEditForm(formdata=None, obj=user)
    membership_form = forms.get("membership_form") or _membership_form(user, formdata=None)
    return {"user": user, "form": form, "password_form": forms.get("password_form")
            or PasswordForm(formdata=None), "membership_form": membership_form}


def _membership_form(user: User, **kwargs) -> MembershipForm:
    form = MembershipForm(**kwargs)
    form.team_id.choices = choices((t.id, t.name) for t in visible_teams(current_user))
    return form


@bp.get("/<int:user_id>")
@system_admin_required
def edit(user_id: int):
    return render("users/edit.html", **_edit_context(_user_or_404(user_id)))


@bp.post("/<int:user_id>")
@system_admin_required
def update(user_id: int):
    user = _user_or_404(user_id)
    form = UserEditForm()
    if form.validate_on_submit():
        try:
            service.update_user(current_user, user, display_name=form.display_name.data,
                                email=form.email.data, active=form.active.data,
                                is_system_admin=form.is_system_admin.data)
            db.session.commit()
            flash(_("Changes saved."), "success")
            return render("users/_details.html", **_edit_context(user))
        except ServiceError as error:
            db.session.rollback()
            getattr(form, error.field or "display_name").errors.append(error.message)
    return render("users/_details.html", status=422, **_edit_context(user, form=form))


@bp.post("/<int:user_id>/password")
@system_admin_required
def reset_password(user_id: int):
    user = _user_or_404(user_id)
    form = PasswordForm()
    if user.from_directory:
        flash(_(service.DIRECTORY_PASSWORD), "error")
        return render("users/_password.html", status=422, **_edit_context(user))
    if form.validate_on_submit():
        service.reset_password(user, form.password.data)
        if user.id == current_user.id:  # keep the admin who reset their own signed in
            sessions.start(user)
            login_user(user)
        db.session.commit()
        flash(_("New password set for “%(name)s”.", name=user.username), "success")
        return render("users/_password.html", **_edit_context(user))
    return render("users/_password.html", status=422, **_edit_context(user, password_form=form))


@bp.post("/<int:user_id>/memberships")
@system_admin_required
def add_membership(user_id: int):
    user = _user_or_404(user_id)
    form = _membership_form(user)
    if form.validate_on_submit():
        team = db.session.get(Team, form.team_id.data)
        service.set_membership(user, team, form.role.data)
        db.session.commit()
        flash(_("%(user)s is now %(role)s in “%(team)s”.", user=user.display_name,
                role=_(ROLE_NAMES[form.role.data]), team=team.name), "success")
        return render("users/_memberships.html", **_edit_context(user))
    return render("users/_memberships.html", status=422,
                  **_edit_context(user, membership_form=form))


@bp.post("/<int:user_id>/memberships/<int:team_id>/delete")
@system_admin_required
def remove_membership(user_id: int, team_id: int):
    user = _user_or_404(user_id)
    try:
        service.remove_membership(user, team_id)
        db.session.commit()
        flash(_("Removed from the team."), "success")
    except ServiceError as error:
        db.session.rollback()
        flash(error.message, "error")
    return render("users/_memberships.html", **_edit_context(user))
