"""Sign in and sign out, and the sign-in page's language switcher."""

from flask import Blueprint, abort, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from portal.auth import sessions, throttle
from portal.auth.forms import LoginForm
from portal.auth.service import authenticate, safe_next
from portal.errors import error_response
from portal.extensions import db
from portal.htmx import render
from portal.i18n import SESSION_KEY
from portal.i18n.locales import HTML_LANG, valid_locale

bp = Blueprint("auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Failed attempts count against the throttle (shared by every process, see
    ``auth.throttle``); successful ones do not."""
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    elif throttle.blocked(request.remote_addr, request.form.get("username", "")):
        return error_response(429)
    if form.validate_on_submit():
        user, error, counts = authenticate(form.username.data, form.password.data)
        if user is not None:
            locale = session.get(SESSION_KEY)
            session.clear()  # nothing from before sign-in carries over…
            if valid_locale(locale):
                session[SESSION_KEY] = locale  # …but the language picked on this page
            sessions.start(user)
            db.session.commit()
            login_user(user, remember=form.remember.data)
            flash(_("Signed in as %(name)s.", name=user.display_name), "success")
            target = safe_next(form.next.data) or url_for("home.index")
            return redirect(target, code=303)
        form.password.errors.append(error)
        if counts:  # an unreachable directory is no guess at a password
            throttle.record_failure(request.remote_addr, form.username.data)
        db.session.commit()
    status = 422 if request.method == "POST" else 200
    return render("auth/login.html", form=form, status=status, html_langs=HTML_LANG)


@bp.post("/logout")
@login_required
def logout():
    """Ends this session for good: a copy of its cookies no longer signs anyone in."""
    sessions.end(current_user)
    db.session.commit()
    logout_user()
    flash(_("You are signed out."), "info")
    return redirect(url_for("auth.login"), code=303)


@bp.post("/logout/everywhere")
@login_required
def logout_everywhere():
    """Ends every session of the signed-in user, on every browser and device."""
    sessions.end_all(current_user)
    db.session.commit()
    logout_user()
    flash(_("You are signed out on every browser and device."), "info")
    return redirect(url_for("auth.login"), code=303)


@bp.get("/language/<code>")
def language(code: str):
    """The sign-in page's switcher: remember ``code`` for this browser's session and go
    back to ``next`` (a path on this site, else the sign-in page). A signed-in user's own
    choice on their profile still comes first."""
    locale = valid_locale(code)
    if locale is None:
        abort(404)
    session[SESSION_KEY] = locale
    return redirect(safe_next(request.args.get("next")) or url_for("auth.login"), code=303)
