"""Audit trail: who changed senders, defaults, templates, users, teams and tokens, when,
from where and what changed (never secret values)."""


def install() -> None:
    """Attach the audit hooks to the audited models (idempotent; see ``listener``)."""
    from portal.audit import listener

    listener.install()
