"""Sending records: the detail of one message with every attempt."""

from flask import Blueprint, abort
from flask_login import current_user, login_required

from portal.htmx import render
from portal.records.service import get_visible_message

bp = Blueprint("records", __name__)


@bp.get("/messages/<int:message_pk>")
@login_required
def detail(message_pk: int):
    message = get_visible_message(current_user, message_pk)
    if message is None:
        abort(404)
    return render("records/detail.html", message=message)
