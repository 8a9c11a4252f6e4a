"""``/profile``: every signed-in user edits their own name, language, time zone and
password. Changes are audited like any other user edit (``portal.audit`` records the
``users`` row's changes). Plain form posts, answered by a redirect: the next page is
then shown in the language just chosen."""

from flask import Blueprint, current_app, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_babel import refresh
from flask_login import current_user, login_required, login_user

from portal.auth import sessions, throttle
from portal.dbtypes import utcnow
from portal.errors import error_response
from portal.extensions import db
from portal.htmx import render
from portal.i18n import SESSION_KEY
from portal.i18n.locales import valid_locale
from portal.i18n.zones import valid_zone
from portal.profile.forms import OwnPasswordForm, ProfileForm
from portal.users import service
from portal.users.service import DIRECTORY_PASSWORD

bp = Blueprint("profile", __name__, url_prefix="/profile")


def _page(form=None, password_form=None, status=200):
    form = form or ProfileForm(formdata=None, data={
        "display_name": current_user.display_name, "locale": current_user.locale or "",
        "timezone": current_user.timezone or ""})
    return render("profile/edit.html", status=status, form=form.fill_choices(),
                  password_form=password_form or OwnPasswordForm(formdata=None), now=utcnow())


@bp.get("")
@login_required
def edit():
    return _page()


@bp.post("")
@login_required
def update():
    form = ProfileForm().fill_choices()
    if not form.validate_on_submit():
        return _page(form=form, status=422)
    current_user.display_name = form.display_name.data.strip()
    current_user.locale = valid_locale(form.locale.data)
    current_user.timezone = valid_zone(form.timezone.data)
    db.session.commit()
    session.pop(SESSION_KEY, None)  # the profile's choice (or "Automatic") now decides
    refresh()  # the confirmation is already in the language just chosen
    flash(_("Your profile is saved."), "success")
    return redirect(url_for("profile.edit"), code=303)


@bp.post("/password")
@login_required
def change_password():
    """A new password ends every other session (cookies copied elsewhere too); this
    browser stays signed in with a fresh one."""
    form = OwnPasswordForm()
    if current_user.from_directory:
        flash(_(DIRECTORY_PASSWORD), "error")
        return _page(status=422)
    if throttle.blocked(request.remote_addr, current_user.username):
        return error_response(429)  # the same budget as sign-in: no password oracle
    if not form.validate_on_submit():
        return _page(password_form=form, status=422)
    if not current_user.check_password(form.current_password.data):
        throttle.record_failure(request.remote_addr, current_user.username)
        db.session.commit()
        form.current_password.errors.append(_("The current password is wrong."))
        return _page(password_form=form, status=422)
    user = current_user._get_current_object()
    service.reset_password(user, form.password.data)
    sessions.start(user)
    db.session.commit()
    # A browser that was remembered stays remembered, with a cookie for the new session.
    cookie = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")
    login_user(user, remember=bool(request.cookies.get(cookie)))
    flash(_("Your password is changed. Every other browser and device is signed out."),
          "success")
    return redirect(url_for("profile.edit"), code=303)
