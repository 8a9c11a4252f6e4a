"""Sign in and sign out."""

from flask import Blueprint, current_app, flash, redirect, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from portal.auth import sessions
from portal.auth.forms import LoginForm
from portal.auth.service import authenticate, safe_next
from portal.extensions import db, limiter
from portal.htmx import render

bp = Blueprint("auth", __name__)


def _login_key() -> str:
    """Throttle per client address and username, so one attacker cannot lock out everyone."""
    username = (request.form.get("username") or "").strip().lower()[:64]
    return f"{request.remote_addr}|{username}"


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], key_func=_login_key,
               methods=["POST"], deduct_when=lambda response: response.status_code != 303)
def login():
    """Failed attempts count against the throttle; successful ones do not."""
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    if form.validate_on_submit():
        user, error = authenticate(form.username.data, form.password.data)
        if user is not None:
            session.clear()  # nothing from before sign-in carries over
            sessions.start(user)
            db.session.commit()
            login_user(user, remember=form.remember.data)
            flash(f"Signed in as {user.display_name}.", "success")
            target = safe_next(form.next.data) or url_for("home.index")
            return redirect(target, code=303)
        form.password.errors.append(error)
    status = 422 if request.method == "POST" else 200
    return render("auth/login.html", form=form, status=status)


@bp.post("/logout")
@login_required
def logout():
    """Ends this session for good: a copy of its cookies no longer signs anyone in."""
    sessions.end(current_user)
    db.session.commit()
    logout_user()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"), code=303)


@bp.post("/logout/everywhere")
@login_required
def logout_everywhere():
    """Ends every session of the signed-in user, on every browser and device."""
    sessions.end_all(current_user)
    db.session.commit()
    logout_user()
    flash("You are signed out on every browser and device.", "info")
    return redirect(url_for("auth.login"), code=303)
