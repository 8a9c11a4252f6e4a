"""Compose page: pick a sender, recipients, a template or free text; preview; send.

The form and its result live in one fragment (``#compose-area``) that every send
replaces: an error re-renders it with the errors, a success renders a fresh form
(keeping the sender) with the result right under the Send button.
"""

from flask import Blueprint, abort, current_app, request
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from sqlalchemy import func, select

from portal.bounds import parse_id, parse_ids
from portal.extensions import db
from portal.htmx import render
from portal.i18n import zones
from portal.outbox.actors import Actor
from portal.outbox.attachments import check_copies, from_upload, megabytes
from portal.outbox.forms import (
    ComposeForm,
    preselected_sender,
    required_blanks,
    split_addresses,
    template_variables,
)
from portal.outbox.lifecycle import PENDING
from portal.outbox.models import Message
from portal.outbox.service import Submission, SubmitError, clean_addresses, submit
from portal.records.service import visible_messages_query
from portal.security import form_values, nul_refusal
from portal.senders.service import usable_senders
from portal.templates_.preview import Preview
from portal.templates_.render import RenderedMail, TemplateRenderError, render_template_parts
from portal.templates_.service import visible_templates

bp = Blueprint("outbox", __name__)
FIELD_FOR = {"html": "html_body", "template": "template_id", "text": "text_body",
             "variables": "template_id"}
MAX_INDIVIDUAL = 500


def _form(fresh: bool = False) -> ComposeForm:
    """The compose form bound to the request, or a fresh empty one."""
    form = ComposeForm(formdata=None) if fresh else ComposeForm()
    form.set_choices(usable_senders(current_user), visible_templates(current_user))
    return form


def _chosen_template(form: ComposeForm):
    chosen = parse_id(form.template_id.data or request.values.get("template_id"))
    if chosen is None:
        return None
    return next((t for t in visible_templates(current_user) if t.id == chosen), None)


def _area(form: ComposeForm, template=None, status=200, **context):
    """The compose page, or only its form-and-result fragment for htmx."""
    context.setdefault("values", form.variables(request.values))
    return render("outbox/compose.html", "outbox/_compose_form.html", status=status,
                  form=form, template=template, variables=template_variables(template),
                  has_senders=True, default_limit_mb=megabytes(
                      current_app.config["MAX_MESSAGE_BYTES"]),
                  zone_label=zones.zone_label(), **context)


@bp.get("/compose")
@login_required
def compose():
    senders = usable_senders(current_user)
    if not senders:
        return render("outbox/compose.html", has_senders=False)
    form = _form(fresh=True)
    chosen = preselected_sender(current_user, senders)
    form.sender_id.data = str(chosen) if chosen else ""
    return _area(form)


@bp.route("/compose/variables", methods=["GET", "POST"])
@login_required
def template_variables_part():
    """The message part for the chosen template: its variables and the locked subject and
    bodies, or the editable free-text fields (with what was typed) for no template."""
    form = _form()
    template = _chosen_template(form)
    return render("outbox/_variables.html", form=form, template=template,
                  variables=template_variables(template),
                  values=form.variables(request.values))


@bp.post("/compose/preview")
@login_required
def compose_preview():
    form = _form()
    template = _chosen_template(form)
    try:
        result = _template_preview(form, template) if template is not None else Preview(
            rendered=RenderedMail((form.subject.data or "").strip(), form.html_body.data or "",
                                  form.text_body.data or None))
    except TemplateRenderError as error:
        result = Preview(error=error.message)
    return render("templates_/_preview.html", preview=result)


def _template_preview(form: ComposeForm, template) -> Preview:
    """The template filled with the values typed; blanks it needs are named, and shown
    in the preview as ``{name}`` so nothing reads like a finished mail."""
    values, missing = required_blanks(template, form.variables(request.form))
    warning = None
    if missing:
        values.update({name: f"{{{name}}}" for name in missing})
        warning = ngettext("Fill in %(names)s: the template needs it. Sending is refused "
                           "until then.", "Fill in %(names)s: the template needs them. Sending "
                           "is refused until then.", len(missing), names=", ".join(missing))
    rendered = render_template_parts(template.subject, template.html_body,
                                     template.text_body, values)
    return Preview(rendered=rendered, error=warning)


def _uploads() -> list:
    """The files chosen on the page (an empty file input sends one part without a name)."""
    return [from_upload(part) for part in request.files.getlist("attachments")
            if part.filename]


def _submission(form: ComposeForm, template, to: list[str], values: dict,
                files: list) -> Submission:
    """What the form asks to send; with a template, its subject and bodies are ignored."""
    own = template is None
    return Submission(to=to, cc=split_addresses(form.cc.data), bcc=split_addresses(form.bcc.data),
                      subject=form.subject.data if own else None,
                      html=form.html_body.data if own else None,
                      text=(form.text_body.data or None) if own else None,
                      template=template.id if template else None,
                      variables=values, sender_id=int(form.sender_id.data),
                      resource=form.resource.data or None, attachments=files,
                      send_at=form.send_at_utc())


def _error_field(form: ComposeForm, error: SubmitError, template):
    """The form field a refusal belongs under: template problems go under Template."""
    if template is not None and error.code.startswith("template"):
        return form.template_id
    if (error.field or "").startswith("attachments"):
        return form.attachments
    return getattr(form, FIELD_FOR.get(error.field, error.field or ""), None) or form.to


@bp.post("/compose")
@login_required
def send():
    refused = nul_refusal(*form_values())  # a large upload's fields skip the app-wide check
    if refused is not None:
        return refused
    form = _form()
    template = _chosen_template(form)
    valid = form.validate_on_submit()
    values, missing = required_blanks(template, form.variables(request.form)) \
        if template else ({}, [])
    if not valid or missing:
        return _area(form, template, 422, missing={
            name: _("Enter a value; the template needs it.") for name in missing})
    sender = next(s for s in usable_senders(current_user) if s.id == int(form.sender_id.data))
    actor = Actor.for_user(current_user, team_id=_team_context(sender, template))
    to, files = split_addresses(form.to.data), _uploads()
    try:
        if form.individually.data:
            ids = _send_individually(form, template, actor, to, (values, files))
            return _sent(form, progress=_progress_context(ids))
        message = submit(actor, _submission(form, template, to, values, files),
                         request.remote_addr)
    except SubmitError as error:
        db.session.rollback()
        target = _error_field(form, error, template)
        target.errors = [*target.errors, error.message]
        return _area(form, template, 422)
    return _sent(form, message=message)


def _sent(form: ComposeForm, **result):
    """A fresh form keeping the sender, with the result under the Send button, so a
    second click cannot send the same mail twice by accident."""
    fresh = _form(fresh=True)
    fresh.sender_id.data = form.sender_id.data
    return _area(fresh, values={}, **result)


def _team_context(sender, template) -> int | None:
    """The team the mail is sent for, so that team's admins see it in the records:
    the sender's team, else the template's, else the user's only team."""
    if sender.team_id is not None:
        return sender.team_id
    if template is not None and template.team_id is not None:
        return template.team_id
    teams = current_user.team_ids()
    return next(iter(teams)) if len(teams) == 1 else None


def _send_individually(form: ComposeForm, template, actor: Actor, to: list[str],
                       content: tuple) -> list[int]:
    """One queued message per To address; the page then polls the progress."""
    if form.cc.data or form.bcc.data:
        raise SubmitError("individual_copies", _("Cc and Bcc cannot be used when sending "
                                                 "individually: every recipient would get "
                                                 "every copy."), "cc")
    if len(to) > MAX_INDIVIDUAL:
        raise SubmitError("too_many_recipients",
                          _("Send individually to at most %(num)d addresses.",
                            num=MAX_INDIVIDUAL), "to")
    check_copies(content[1], len(to))
    clean_addresses("to", to)
    ids = []
    for address in to:
        sub = _submission(form, template, [address], *content)
        sub.mode = "deferred"
        ids.append(submit(actor, sub, request.remote_addr).id)
    return ids


def _progress_context(ids: list[int]) -> dict:
    counts = dict(db.session.execute(
        visible_messages_query(current_user, select(Message.status, func.count()))
        .where(Message.id.in_(ids)).group_by(Message.status)).all())
    if not counts:
        abort(404)
    done = sum(v for k, v in counts.items() if k not in PENDING)
    return {"ids": ids, "counts": counts, "done": done, "total": sum(counts.values()),
            "finished": done == sum(counts.values())}


@bp.get("/compose/progress")
@login_required
def progress():
    ids = parse_ids(request.args.get("ids", ""), MAX_INDIVIDUAL)
    if not ids:
        abort(404)
    return render("outbox/_progress.html", progress=_progress_context(ids), polled=True)


@bp.get("/compose/result/<int:message_pk>")
@login_required
def result(message_pk: int):
    """One message's result panel; the page polls it until the state is final."""
    message = db.session.scalar(visible_messages_query(
        current_user, select(Message)).where(Message.id == message_pk))
    if message is None:
        abort(404)
    return render("outbox/_result.html", message=message, polled=True)
