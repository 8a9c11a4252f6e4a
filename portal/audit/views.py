"""The audit trail page: filtered, newest first, paged by cursor, filters kept in the URL."""

from flask import Blueprint, abort, request
from flask_babel import gettext
from flask_login import current_user

from portal.access import admin_required
from portal.audit import service
from portal.audit.filters import AuditFilters
from portal.audit.models import OBJECT_TYPES
from portal.htmx import render
from portal.listing import decode_cursor

bp = Blueprint("audit", __name__)


@bp.get("/audit")
@admin_required
def index():
    """System admins see every entry; team admins those of the teams they administer."""
    filters, errors = AuditFilters.from_args(request.args)
    cursor = decode_cursor(request.args.get("after", ""))
    try:
        rows, next_cursor = service.audit_page(current_user, filters, cursor)
        count, capped = service.capped_count(current_user, filters)
    except PermissionError:
        abort(403)
    return render("audit/index.html", "audit/_results.html", filters=filters, errors=errors,
                  rows=rows, next_cursor=next_cursor, paged=cursor is not None, count=count,
                  capped=capped, object_types={key: gettext(label)
                                               for key, label in OBJECT_TYPES.items()})
