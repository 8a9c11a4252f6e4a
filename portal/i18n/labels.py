"""Names of stored states as people read them, in their language.

The stored values ("queued", "sent", …) never change; only what is shown does. The
words follow the glossary (排队中 / 佇列中, 已发送 / 已傳送, …).
"""

from flask_babel import gettext

from portal.i18n.marks import N_

STATUS = {
    "queued": N_("queued"),
    "sending": N_("sending"),
    "retrying": N_("retrying"),
    "sent": N_("sent"),
    "partial": N_("partly sent"),
    "failed": N_("failed"),
    "unknown": N_("unknown"),
    "scheduled": N_("scheduled"),
    "cancelled": N_("cancelled"),
}


def status_label(status: str | None) -> str:
    """A message status as shown in pills, tables and exports."""
    if not status:
        return ""
    return gettext(STATUS[status]) if status in STATUS else status
