"""Submitting mail: choose the sender, validate, render, record, then send or queue.

Used by the compose page and the JSON API alike. The message row is the record:
deferred mail is committed as ``queued`` and nothing more; immediate mail is
committed as ``sending`` (under a lease) before the hand-over and with its result after
it. Both transitions belong to ``portal.outbox.lifecycle``.
"""

import time
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from portal.addresses import AddressError, normalize_address
from portal.extensions import db
from portal.mail import ComposeError, build_message, flatten_message
from portal.mail.attachments import Attachment, summary
from portal.outbox import attachments as files
from portal.outbox import lifecycle, quota, sender_limits
from portal.outbox.actors import Actor
from portal.outbox.delivery import deliver_now
from portal.outbox.errors import SubmitError
from portal.outbox.models import Message
from portal.outbox.records import message_values
from portal.outbox.schedule import ScheduleError, due_time
from portal.outbox.throttle import reserve_slot
from portal.senders.models import Sender
from portal.senders.service import NotConfigured, resolve_default
from portal.teams import scope
from portal.templates_.models import MailTemplate
from portal.templates_.render import TemplateRenderError, render_template_parts
from portal.templates_.service import get_usable_template

MAX_RECIPIENTS = 100


@dataclass
class Submission:
    to: list[str]
    cc: list[str] = field(default_factory=list)
    bcc: list[str] = field(default_factory=list)
    subject: str | None = None
    html: str | None = None
    text: str | None = None
    template: str | int | None = None
    variables: dict = field(default_factory=dict)
    sender_id: int | None = None
    resource: str | None = None
    mode: str | None = None
    idempotency_key: str | None = None
    idempotency_fingerprint: str | None = None
    attachments: list[Attachment] = field(default_factory=list)
    send_at: datetime | None = None  # aware; None = as soon as possible


@dataclass
class Prepared:
    """A checked, built message not yet stored: its record's columns and what sending
    it needs."""

    values: dict
    sender: Sender
    msg: EmailMessage
    mode: str
    send_at: datetime | None


def choose_sender(actor: Actor, sender_id: int | None) -> tuple[Sender, str]:
    """The named sender if the actor may use it, else the scope's default."""
    if sender_id is None:
        try:
            return resolve_default(actor.team_id)
        except NotConfigured as error:
            raise SubmitError(NotConfigured.code, str(error), "sender_id", 409) from error
    sender = db.session.scalar(select(Sender).where(Sender.id == sender_id,
                                                    Sender.visible_to(actor)))
    if sender is None:
        raise SubmitError("sender_not_found",
                          _("There is no sender %(id)s you may use.", id=sender_id),
                          "sender_id", 404)
    if not sender.enabled:
        raise SubmitError("sender_disabled",
                          _("The sender “%(name)s” is disabled.", name=sender.name),
                          "sender_id", 422)
    return sender, "explicit"


def clean_addresses(field_name: str, values: list[str]) -> list[str]:
    """Each address checked for syntax and normalized (``portal.addresses``, as every
    entry point does). The message names the bad address but not the field: the
    compose page shows it under the field, the API returns the field beside it."""
    cleaned = []
    for value in values:
        try:
            cleaned.append(normalize_address(value))
        except AddressError as error:
            raise SubmitError("invalid_address", str(error), field_name) from error
    return cleaned


def _content(actor: Actor, sub: Submission, team_id: int | None):
    """Subject, HTML, text and template name: from a template or given directly."""
    if sub.template not in (None, ""):
        if isinstance(sub.template, int):  # picked from the user's own list by id
            template = db.session.get(MailTemplate, sub.template)
        else:  # named by an API client: the team's template wins over a system one
            template = get_usable_template(None, sub.template, team_id)
        if template is None or not scope.may_see(template.team_id, actor):
            raise SubmitError("template_not_found", _("There is no template “%(name)s” you "
                                                      "may use.", name=sub.template),
                              "template", 404)
        try:
            parts = render_template_parts(template.subject, template.html_body,
                                          template.text_body, sub.variables or {})
        except TemplateRenderError as error:
            raise SubmitError("template_error", error.message, error.field) from error
        return parts.subject, parts.html, parts.text, template.name
    if not (sub.subject or "").strip():
        raise SubmitError("missing_subject", _("Enter a subject (or choose a template)."),
                          "subject")
    if not (sub.html or sub.text):
        raise SubmitError("missing_body", _("Enter a message body (or choose a template)."),
                          "html")
    return sub.subject.strip(), sub.html or "", sub.text, None


def _immediate_slot(sender: Sender) -> bool:
    """An immediate send keeps to the sender's messages per minute like the worker: it
    waits for a slot that comes within ``IMMEDIATE_RATE_WAIT_SECONDS``, else it is queued.
    """
    if not sender.rate_per_minute:
        return True
    slot = reserve_slot(sender.id, sender.rate_per_minute,
                        float(current_app.config["IMMEDIATE_RATE_WAIT_SECONDS"]))
    if slot is None:
        return False
    time.sleep(max(0.0, slot - time.time()))
    return True


def _compose(sender: Sender, sub: Submission, to, cc, bcc, content) -> tuple:
    """The mail and its bytes, attachments included, within the sender's size limit."""
    subject, html, text = content
    files.check_files(sub.attachments)
    files.check_estimate(sub.attachments, sender)
    try:
        msg = build_message(from_address=sender.address, display_name=sender.display_name,
                            to=to, cc=cc, bcc=bcc, subject=subject, html=html, text=text,
                            attachments=sub.attachments)
    except ComposeError as error:
        code = "invalid_attachment" if error.field.startswith("attachments") \
            else "invalid_header"
        raise SubmitError(code, error.localized(), error.field) from error
    raw = flatten_message(msg)
    files.check_size(raw, sender)
    return msg, raw


def _recipients(sub: Submission) -> tuple[list[str], list[str], list[str]]:
    to = clean_addresses("to", sub.to)
    cc, bcc = clean_addresses("cc", sub.cc), clean_addresses("bcc", sub.bcc)
    if not to:
        raise SubmitError("missing_recipient", _("Enter at least one recipient."), "to")
    if len(to) + len(cc) + len(bcc) > MAX_RECIPIENTS:
        raise SubmitError("too_many_recipients",
                          _("At most %(num)d recipients per message.", num=MAX_RECIPIENTS),
                          "to")
    return to, cc, bcc


def prepare(actor: Actor, sub: Submission, client_ip: str | None,
            chooser=choose_sender) -> Prepared:
    """Check one message and build its bytes, storing nothing: every entry point (compose,
    the API, each item of a batch) goes through here, so the rules are the same.
    ``chooser`` picks the sender (a batch passes one that remembers its answers)."""
    to, cc, bcc = _recipients(sub)
    try:
        send_at = due_time(sub.send_at)
    except ScheduleError as error:
        raise SubmitError(error.code, error.message, "send_at") from error
    if send_at is not None and sub.mode == "immediate":
        raise SubmitError("send_at_immediate", _("A message sent later is queued: leave "
                                                 "“%(field)s” out or use “%(deferred)s”.",
                                                 field="mode", deferred="deferred"), "mode")
    sender, reason = chooser(actor, sub.sender_id)
    sender_limits.check_recipients(sender, len(to) + len(cc) + len(bcc))
    subject, html, text, template_name = _content(actor, sub, sender.team_id or actor.team_id)
    mode = "deferred" if send_at is not None else (sub.mode or sender.mode)
    msg, raw = _compose(sender, sub, to, cc, bcc, (subject, html, text))
    values = message_values(
        msg=msg, sender_id=sender.id, sender_name=sender.name, sender_address=sender.address,
        sender_reason=reason, team_id=sender.team_id if sender.team_id else actor.team_id,
        user_id=actor.user_id, client_ip=client_ip, to=to, cc=cc, bcc=bcc, html=html,
        text=text, template_name=template_name, resource=(sub.resource or None), mode=mode,
        raw=raw)
    if sub.attachments:
        values["attachments"] = summary(sub.attachments)
    values.update(token_id=actor.token_id, triggered_by=actor.label,
                  idempotency_key=sub.idempotency_key,
                  idempotency_fingerprint=sub.idempotency_fingerprint)
    return Prepared(values, sender, msg, mode, send_at)


def submit(actor: Actor, sub: Submission, client_ip: str | None) -> Message:
    """Accept one message: queued (or scheduled) for deferred senders, sent at once for
    immediate ones."""
    ready = prepare(actor, sub, client_ip)
    mode, booking = ready.mode, None
    if mode != "deferred":
        booking = sender_limits.book_immediate(ready.sender, _recipient_count(ready.values))
    try:
        if mode != "deferred" and not _immediate_slot(ready.sender):
            quota.give_back(booking)  # the worker books it again when it sends
            mode, booking = "deferred", None  # the sender's rate is used up
        row = {**ready.values, "mode": mode}
        if mode == "deferred":
            return _queue(row, ready.send_at)
        message = Message(**row)
        db.session.add(message)
        lifecycle.start_immediate(message)
        db.session.commit()
    except Exception:  # nothing was handed over: the booked recipients are free again
        db.session.rollback()
        quota.give_back(booking)
        raise
    deliver_now(message, ready.sender, ready.msg, current_app.config["SMTP_TIMEOUT"], booking)
    return message


def _recipient_count(values: dict) -> int:
    return len(values["to_addrs"]) + len(values["cc_addrs"]) + len(values["bcc_addrs"])


def _queue(row: dict, send_at) -> Message:
    """Store deferred mail with one Core INSERT (as a batch does) and commit; the message
    is answered from the values just written, with no unit of work and no read-back."""
    row["next_attempt_at"] = send_at
    row["id"] = lifecycle.queue_all([row])[0]
    db.session.commit()
    return Message(**row)  # transient: the stored values, not attached to the session
