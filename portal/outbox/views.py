"""Compose page: pick a sender, recipients, a template or free text; preview; send."""

from flask import Blueprint, abort, request
from flask_login import current_user, login_required
from sqlalchemy import func, select

from portal.bounds import parse_id, parse_ids
from portal.extensions import db
from portal.htmx import render
from portal.outbox.actors import Actor
from portal.outbox.forms import ComposeForm, split_addresses
from portal.outbox.lifecycle import PENDING
from portal.outbox.models import Message
from portal.outbox.service import Submission, SubmitError, clean_addresses, submit
from portal.records.service import visible_messages_query
from portal.senders.service import usable_senders
from portal.templates_.preview import Preview
from portal.templates_.render import (
    RenderedMail,
    TemplateRenderError,
    render_template_parts,
    variables_in,
)
from portal.templates_.service import visible_templates

bp = Blueprint("outbox", __name__)
FIELD_FOR = {"html": "html_body", "template": "template_id", "text": "text_body",
             "variables": "template_id"}
MAX_INDIVIDUAL = 500


def _form() -> ComposeForm:
    form = ComposeForm()
    form.set_choices(usable_senders(current_user), visible_templates(current_user))
    return form


def _chosen_template(form: ComposeForm):
    chosen = parse_id(form.template_id.data or request.values.get("template_id"))
    if chosen is None:
        return None
    return next((t for t in visible_templates(current_user) if t.id == chosen), None)


@bp.get("/compose")
@login_required
def compose():
    form = _form()
    senders = usable_senders(current_user)
    return render("outbox/compose.html", form=form, template=None, variables=[],
                  values={}, has_senders=bool(senders))


@bp.get("/compose/variables")
@login_required
def template_variables():
    """The inputs for the chosen template's variables."""
    template = _chosen_template(_form())
    names = variables_in(template.subject, template.html_body, template.text_body) \
        if template else []
    return render("outbox/_variables.html", template=template, variables=names, values={})


@bp.post("/compose/preview")
@login_required
def compose_preview():
    form = _form()
    template = _chosen_template(form)
    try:
        if template is not None:
            rendered = render_template_parts(template.subject, template.html_body,
                                             template.text_body, form.variables(request.form))
            result = Preview(variables=None, rendered=rendered)
        else:  # free text is sent as written, so it is shown as written
            result = Preview(variables=None, rendered=RenderedMail(
                (form.subject.data or "").strip(), form.html_body.data or "",
                form.text_body.data or None))
    except TemplateRenderError as error:
        result = Preview(error=error.message)
    return render("templates_/_preview.html", preview=result)


def _form_error(form: ComposeForm, template, status=422):
    names = variables_in(template.subject, template.html_body, template.text_body) \
        if template else []
    response = render("outbox/_compose_form.html", status=status, form=form, template=template,
                      variables=names, values=form.variables(request.form), has_senders=True)
    response.headers["HX-Retarget"] = "#compose-form"
    response.headers["HX-Reswap"] = "outerHTML"
    return response


def _submission(form: ComposeForm, template, to: list[str]) -> Submission:
    return Submission(to=to, cc=split_addresses(form.cc.data), bcc=split_addresses(form.bcc.data),
                      subject=form.subject.data, html=form.html_body.data,
                      text=form.text_body.data or None,
                      template=template.id if template else None,
                      variables=form.variables(request.form), sender_id=int(form.sender_id.data),
                      resource=form.resource.data or None)


@bp.post("/compose")
@login_required
def send():
    form = _form()
    template = _chosen_template(form)
    if not form.validate_on_submit():
        return _form_error(form, template)
    sender = next(s for s in usable_senders(current_user) if s.id == int(form.sender_id.data))
    actor = Actor.for_user(current_user, team_id=_team_context(sender, template))
    to = split_addresses(form.to.data)
    try:
        if form.individually.data:
            return _send_individually(form, template, actor, to)
        message = submit(actor, _submission(form, template, to), request.remote_addr)
    except SubmitError as error:
        db.session.rollback()
        target = getattr(form, FIELD_FOR.get(error.field, error.field or ""), None) or form.to
        target.errors = [*target.errors, error.message]
        return _form_error(form, template)
    return render("outbox/_result.html", message=message)


def _team_context(sender, template) -> int | None:
    """The team the mail is sent for, so that team's admins see it in the records:
    the sender's team, else the template's, else the user's only team."""
    if sender.team_id is not None:
        return sender.team_id
    if template is not None and template.team_id is not None:
        return template.team_id
    teams = current_user.team_ids()
    return next(iter(teams)) if len(teams) == 1 else None


def _send_individually(form: ComposeForm, template, actor: Actor, to: list[str]):
    """One queued message per To address; the page then polls the progress."""
    if form.cc.data or form.bcc.data:
        raise SubmitError("individual_copies", "Cc and Bcc cannot be used when sending "
                          "individually: every recipient would get every copy.", "cc")
    if len(to) > MAX_INDIVIDUAL:
        raise SubmitError("too_many_recipients",
                          f"Send individually to at most {MAX_INDIVIDUAL} addresses.", "to")
    clean_addresses("to", to)
    ids = []
    for address in to:
        sub = _submission(form, template, [address])
        sub.mode = "deferred"
        ids.append(submit(actor, sub, request.remote_addr).id)
    return _progress(ids)


def _progress(ids: list[int]):
    counts = dict(db.session.execute(
        visible_messages_query(current_user, select(Message.status, func.count()))
        .where(Message.id.in_(ids)).group_by(Message.status)).all())
    if not counts:
        abort(404)
    done = sum(v for k, v in counts.items() if k not in PENDING)
    return render("outbox/_progress.html", ids=ids, counts=counts, done=done,
                  total=sum(counts.values()), finished=done == sum(counts.values()))


@bp.get("/compose/progress")
@login_required
def progress():
    ids = parse_ids(request.args.get("ids", ""), MAX_INDIVIDUAL)
    if not ids:
        abort(404)
    return _progress(ids)
