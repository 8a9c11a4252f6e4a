"""Sending records: filtered list, detail with attempts, retry, export and the chart."""

from flask import Blueprint, Response, abort, flash, request, stream_with_context, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from sqlalchemy import select

from portal.access import get_or_404
from portal.auth.models import User
from portal.bounds import parse_id
from portal.dbtypes import utcnow
from portal.extensions import db
from portal.htmx import redirect, render
from portal.i18n import zones
from portal.i18n.labels import status_label
from portal.listing import decode_cursor
from portal.outbox import cancel as cancelling
from portal.outbox import lifecycle
from portal.outbox.models import STATUSES, Message
from portal.records import service
from portal.records.chart import build_chart, chart_range
from portal.records.export import csv_lines, json_lines
from portal.records.export_texts import ExportTexts
from portal.records.filters import Filters
from portal.senders.models import Sender
from portal.teams import scope
from portal.templates_.service import visible_templates

bp = Blueprint("records", __name__)


def _sender_choices():
    """Senders whose records the user may filter by."""
    return db.session.execute(select(Sender.id, Sender.name, Sender.address)
                              .where(Sender.visible_to(current_user))
                              .order_by(Sender.name)).all()


def _page_number(cursor) -> int:
    """Which page the cursor shows, carried in the URL so the pager can say where the
    reader is; the first page without a cursor, and never less than 2 with one."""
    if cursor is None:
        return 1
    page = parse_id(request.args.get("page", ""))
    return page if page and page >= 2 else 2


def _context(filters: Filters, errors: dict) -> dict:
    cursor = decode_cursor(request.args.get("after", ""))
    rows, next_cursor = service.records_page(current_user, filters, cursor)
    page = _page_number(cursor)
    count, capped = service.capped_count(current_user, filters)
    first, last = chart_range(filters.date_from, filters.date_to, zones.local_today())
    chart = build_chart(service.daily_counts(current_user, filters, first, last), first, last)
    return {"filters": filters, "errors": errors, "rows": rows, "next_cursor": next_cursor,
            "paged": cursor is not None, "page": page, "page_size": service.PAGE_SIZE,
            "count": count, "capped": capped, "chart": chart,
            "senders": _sender_choices(), "statuses": STATUSES,
            "template_names": sorted({t.name for t in visible_templates(current_user)}
                                     | {"Test mail"})}


@bp.get("/records")
@login_required
def index():
    filters, errors = Filters.from_args(request.args)
    response = render("records/index.html", "records/_results.html", **_context(filters, errors))
    # The address bar gets the tidy form of the filters (no empty fields), so shared
    # and bookmarked links stay short and readable.
    after = request.args.get("after") or None
    page = request.args.get("page") if after else None
    response.headers["HX-Push-Url"] = url_for("records.index", after=after, page=page,
                                              **filters.as_args())
    return response


@bp.get("/records/export.<any(csv, jsonl):fmt>")
@login_required
def export(fmt: str):
    """Exactly the filtered set; rows are streamed, never held in memory together."""
    filters, _errors = Filters.from_args(request.args)
    rows = service.stream_rows(service.export_query(current_user, filters))
    texts = ExportTexts.for_reader()
    # The request stays open while streaming: diagnoses are described in its language.
    lines = stream_with_context(csv_lines(rows, texts) if fmt == "csv"
                                else json_lines(rows, texts))
    mimetype = "text/csv" if fmt == "csv" else "application/x-ndjson"
    stamp = utcnow().strftime("%Y%m%d-%H%M")
    return Response(lines, content_type=f"{mimetype}; charset=utf-8",
                    headers={"Content-Disposition":
                             f'attachment; filename="sending-records-{stamp}.{fmt}"'})


def _triggered_by(message: Message) -> str | None:
    """Who sent it: the stored label (token or person), else the person's username for
    mail sent from the portal itself, such as a sender's test mail."""
    if message.triggered_by:
        return message.triggered_by
    user = db.session.get(User, message.user_id) if message.user_id else None
    return user.username if user else None


def _message_or_404(message_pk: int) -> Message:
    return get_or_404(Message, message_pk, Message.visible_to(current_user))


@bp.get("/messages/<int:message_pk>")
@login_required
def detail(message_pk: int):
    message = _message_or_404(message_pk)
    return render("records/detail.html", message=message, triggered_by=_triggered_by(message),
                  recipients=lifecycle.recipients_of(message),
                  can_retry=service.can_retry(current_user, message),
                  can_cancel=message.status in lifecycle.CANCELLABLE
                  and cancelling.may_cancel(current_user, message))


# The mail body is shown in a sandboxed frame from its own URL with its own policy:
# the mail's inline styles and embedded images render, scripts and remote loads never do.
BODY_POLICY = ("sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
               "font-src data:; frame-ancestors 'self'")


@bp.get("/messages/<int:message_pk>/body")
@login_required
def body(message_pk: int):
    message = _message_or_404(message_pk)
    return Response(message.html_body or "", content_type="text/html; charset=utf-8",
                    headers={"Content-Security-Policy": BODY_POLICY,
                             "X-Frame-Options": "SAMEORIGIN",
                             "Cache-Control": "private, no-store"})


@bp.route("/messages/<int:message_pk>/retry", methods=["GET", "POST"])
@login_required
def retry(message_pk: int):
    """Failed or partial mail is requeued for the recipients not yet reached; unknown mail
    first asks, as it may deliver twice."""
    message = _message_or_404(message_pk)
    if not scope.may_manage(message.team_id, current_user):
        abort(403)
    if not service.can_retry(current_user, message):
        flash(_("Message #%(id)s is %(status)s: there is nothing to retry.", id=message.id,
                status=status_label(message.status)), "info")
        return redirect(url_for("records.detail", message_pk=message.id))
    if request.method == "GET" or (message.status == "unknown"
                                   and request.form.get("confirm") != "yes"):
        return render("records/retry.html", message=message,
                      targets=lifecycle.retry_envelope(message))
    targets = lifecycle.retry_envelope(message)
    service.retry(current_user, message)
    db.session.commit()
    flash(ngettext("Message #%(id)s is queued again for %(num)d recipient; the worker will "
                   "send it shortly.", "Message #%(id)s is queued again for %(num)d "
                   "recipients; the worker will send it shortly.", len(targets), id=message.id),
          "success")
    return redirect(url_for("records.detail", message_pk=message.id))


@bp.route("/messages/<int:message_pk>/cancel", methods=["GET", "POST"])
@login_required
def cancel(message_pk: int):
    """GET asks for confirmation (or says plainly that it is too late: being handed over,
    or done); POST cancels mail not yet handed over (its sender or an admin of its scope)."""
    message = _message_or_404(message_pk)
    if not cancelling.may_cancel(current_user, message):
        abort(403)
    if request.method == "GET":
        too_late = None if message.status in lifecycle.CANCELLABLE else \
            str(cancelling.NotCancellable(message))
        return render("records/cancel.html", message=message, too_late=too_late)
    try:
        cancelling.cancel(message)
    except cancelling.NotCancellable as error:
        db.session.rollback()
        flash(str(error), "error")
        return redirect(url_for("records.detail", message_pk=message_pk))
    db.session.commit()
    flash(_("Message #%(id)s is cancelled: it will not be sent.", id=message_pk), "success")
    return redirect(url_for("records.detail", message_pk=message_pk))
