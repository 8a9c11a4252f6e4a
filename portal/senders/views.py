"""Sender pages: the mailbox page (defaults + list), add/edit, delete, tests, presets."""

from flask import Blueprint, abort, current_app, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.access import admin_required, get_or_404
from portal.bounds import parse_id
from portal.crypto import SecretUnreadable
from portal.errors import ServiceError
from portal.extensions import db, limiter
from portal.htmx import is_htmx, redirect, render
from portal.mail import ComposeError, get_preset
from portal.outbox import quota
from portal.senders import (
    allowlist,
    checks,
    hooks,  # noqa: F401  (banner and team-deletion check)
    listing,
    service,
    testing,
)
from portal.senders.forms import SenderForm
from portal.senders.models import Sender
from portal.teams.service import administered_teams

bp = Blueprint("senders", __name__, url_prefix="/senders")
# Which form field a value refused while building the test mail came from.
COMPOSE_FIELDS = {"to": "test_recipient", "from_address": "address"}
# Test connection and Send test mail share one budget per user, on the form and the list.
check_limit = limiter.shared_limit(lambda: current_app.config["SENDER_CHECK_RATE_LIMIT"],
                                   scope="sender-check",
                                   key_func=lambda: f"sender-check:{current_user.id}")


def _sender_or_404(sender_id: int):
    return get_or_404(Sender, sender_id, Sender.managed_by(current_user))


def _form(sender=None, **kwargs) -> SenderForm:
    form = SenderForm(obj=sender, **kwargs)
    teams = administered_teams(current_user)
    form.set_team_choices(teams, allow_system=current_user.is_system_admin)
    form.set_fallback_choices(service.usable_senders(current_user), sender)
    if sender is not None and request.method == "GET":
        form.team_id.data = str(sender.team_id or "")
        form.fallback_sender_id.data = str(sender.fallback_sender_id or "")
        if request.args.get("switch") == "oauth2" and not sender.is_oauth:
            form.auth_method.data, form.oauth_provider.data = "oauth2", "microsoft"
    if request.method == "GET" and not form.test_recipient.data:
        form.test_recipient.data = current_user.email or ""  # a test mail to oneself
    return form


def _form_page(form, sender, status=200, **extra):
    """The sender form; a check already run on it stays with it across a re-render."""
    raw = request.form.get("check_token")
    carried = checks.read_token(raw, form.values()) if raw else None
    return render("senders/form.html", "senders/_form.html", status=status, form=form,
                  sender=sender, carried=carried, check_token=raw if carried else None,
                  **extra)


def _mailbox(status=200, **extra):
    senders = service.managed_senders(current_user)
    return render("senders/index.html", "senders/_mailbox.html", status=status,
                  senders=senders, states=listing.states(senders),
                  scopes=service.default_scopes(current_user),
                  system_default=service.current_default(None), **extra)


@bp.get("")
@admin_required
def index():
    return _mailbox()


@bp.route("/new", methods=["GET", "POST"])
@admin_required
def new():
    form = _form()
    if form.validate_on_submit():
        return _save(form, None)
    return _form_page(form, None, status=422 if form.errors else 200)


@bp.route("/<int:sender_id>", methods=["GET", "POST"])
@admin_required
def edit(sender_id: int):
    sender = _sender_or_404(sender_id)
    form = _form(sender)
    if form.validate_on_submit():
        return _save(form, sender)
    return _form_page(form, sender, status=422 if form.errors else 200)


def _save(form: SenderForm, sender):
    """Save, unless the last check failed and the user has not said "Save anyway"."""
    values = form.values()
    carried = checks.read_token(request.form.get("check_token"), values)
    failed = checks.failed_check(sender, carried)
    if failed is not None and request.form.get("confirm_save") != "y":
        return _confirm(form, sender, failed, failed_here=carried is not None)
    before = checks.fingerprint(checks.stored_values(sender)) if sender else None
    try:
        allowlist.check(current_user, values)  # the mail server, token and sign-in URLs
        saved = service.save_sender(current_user, sender, values)
        checks.after_save(saved, carried, before, values)
        db.session.commit()
    except ServiceError as error:
        db.session.rollback()
        getattr(form, error.field or "name").errors.append(error.message)
        return _form_page(form, sender, status=422)
    flash(_("Sender “%(name)s” saved.", name=saved.name), "success")
    return redirect(url_for("senders.index"))


def _confirm(form: SenderForm, sender, failed: checks.Outcome, failed_here: bool):
    """Ask before saving settings whose check failed: with htmx only the question is
    swapped in beside Save (the typed values, the password too, stay in the form); a
    plain form post gets the whole form back with the question in place."""
    context = {"failed": failed, "failed_here": failed_here}
    if not is_htmx():
        return _form_page(form, sender, confirm=True, **context)
    response = render("senders/_save_confirm.html", form=form, **context)
    response.headers["HX-Retarget"] = "#save-confirm"
    response.headers["HX-Reswap"] = "innerHTML"
    return response


@bp.route("/<int:sender_id>/delete", methods=["GET", "POST"])
@admin_required
def delete(sender_id: int):
    """GET asks for confirmation; POST deletes."""
    sender = _sender_or_404(sender_id)
    if request.method == "GET":
        return render("senders/delete.html", sender=sender)
    name = sender.name
    service.delete_sender(current_user, sender)
    db.session.commit()
    flash(_("Sender “%(name)s” deleted. Sending records keep its name and address.",
            name=name), "success")
    return redirect(url_for("senders.index"))


@bp.post("/defaults")
@admin_required
def set_default():
    scope = request.form.get("scope", "")
    team_id = parse_id(scope)
    if scope != "system" and team_id is None:
        abort(400)
    raw = request.form.get("sender_id", "")
    if raw and parse_id(raw) is None:
        flash(_("Choose a sender from the list."), "error")
        return _mailbox(status=422)
    try:
        service.set_default(current_user, team_id, parse_id(raw))
        db.session.commit()
        flash(_("Default sender saved.") if raw else _("Default sender cleared."), "success")
    except PermissionError:
        abort(403)
    except ServiceError as error:
        db.session.rollback()
        flash(error.message, "error")
        return _mailbox(status=422)
    return _mailbox(refresh_banners=True)  # "Mailbox not configured" may come or go


@bp.post("/check")
@admin_required
@check_limit
def check():
    """Test connection or Send test mail with the form's current values (nothing is saved)."""
    action = request.form.get("action", "connection")
    raw_id = request.form.get("sender_id", "")
    stored = _sender_or_404(parse_id(raw_id) or 0) if raw_id else None
    form = _form(stored)
    problems = {**form.connection_errors(), **testing.recipient_problems(form, action)}
    for name, refused in allowlist.problems(current_user, form.data).items():
        problems.setdefault(name, refused)
    if not problems:
        problems = testing.secret_problems(form.values(), stored)
    if problems:
        return render("senders/_check_result.html", status=422, problems=problems, form=form)
    values, timeout = form.values(), current_app.config["SMTP_TIMEOUT"]
    try:
        if action == "mail":
            result = testing.send_test_mail(values, stored, timeout, user_id=current_user.id,
                                            client_ip=request.remote_addr)
            db.session.commit()
        else:
            result = testing.check_connection(values, stored, timeout)
    except SecretUnreadable as error:
        return render("senders/_check_result.html", status=422, form=form,
                      problems={"password": [str(error)]})
    except quota.Refused as error:
        return render("senders/_check_result.html", status=429, form=form,
                      problems={"test_recipient": [str(error)]})
    except ComposeError as error:  # the mail core refused a value the form accepted
        field = COMPOSE_FIELDS.get(error.field, "display_name")
        return render("senders/_check_result.html", status=422, form=form,
                      problems={field: [testing.compose_problem(error)]})
    return _check_answer(result, values, stored, form)


def _check_answer(result: testing.CheckResult, values: dict, stored, form: SenderForm):
    """The result panel, carrying the token Save sends along; a check of the stored
    settings as they are is also remembered on the sender, for the list."""
    outcome = checks.from_report(result.report)
    if checks.tests_stored(values, stored):
        checks.record(stored, outcome)
        db.session.commit()
    return render("senders/_check_result.html", result=result, form=form,
                  check_token=checks.token(outcome, values))


@bp.post("/<int:sender_id>/test")
@admin_required
@check_limit
def test(sender_id: int):
    """The list's Test button: Test connection on the stored settings, remembered."""
    sender = _sender_or_404(sender_id)
    problem = allowlist.first_problem(current_user, checks.stored_values(sender))
    if problem is None:
        try:
            result = testing.check_connection(checks.stored_values(sender), sender,
                                              current_app.config["SMTP_TIMEOUT"])
        except SecretUnreadable as error:
            problem = str(error)
        else:
            checks.record(sender, checks.from_report(result.report))
            db.session.commit()
    return render("senders/_check_cell.html", status=422 if problem else 200,
                  state=listing.states([sender])[sender.id], problem=problem)


@bp.get("/preset")
@admin_required
def preset():
    """Fill host, port, encryption and the message size limit from a preset and show the
    provider's advice."""
    chosen = get_preset(request.args.get("preset"))
    form = _form()
    if chosen is not None:
        form.host.data, form.port.data = chosen.host, chosen.port
        form.encryption.data = chosen.encryption
        form.rate_per_minute.data = chosen.rate_per_minute
        form.daily_recipient_quota.data = chosen.daily_recipient_quota
        form.max_recipients_per_message.data = chosen.max_recipients_per_message
        form.max_message_bytes.data = chosen.max_message_mb
        form.encryption.data, form.auth_method.data = chosen.encryption, chosen.auth_method
        form.oauth_provider.data = chosen.oauth_provider or form.oauth_provider.default
        form.oauth_flow.data = chosen.oauth_flow or form.oauth_flow.default
    return render("senders/_preset.html", preset=chosen, form=form)
