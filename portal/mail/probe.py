"""The step-by-step probe behind "Test connection" and "Send test mail".

Each protocol step (connect, tls, ehlo, auth, mail_from, rcpt, data) is recorded with
the server's answer, so the UI can show where it failed and why.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage

from portal.mail.errors import DeliveryError
from portal.mail.settings import SmtpSettings
from portal.mail.smtp import SendResult, Step, open_session


@dataclass
class ProbeReport:
    """Outcome of ``probe``: the steps that ran, the error (if any), the Message-ID sent
    and, for "Send test mail", the server's verdict (``result``)."""

    steps: list[Step] = field(default_factory=list)
    error: DeliveryError | None = None
    message_id: str | None = None
    result: SendResult | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def probe(
    settings: SmtpSettings,
    envelope_from: str,
    recipient: str,
    message: EmailMessage | None = None,
    on_step: Callable[[Step], None] | None = None,
) -> ProbeReport:
    """Run "Test connection" (no message: RSET before DATA) or "Send test mail".

    Never raises DeliveryError: the failure is returned in ``report.error`` and the
    failed step is the last entry of ``report.steps``.
    """
    report = ProbeReport()

    def record(step: Step) -> None:
        report.steps.append(step)
        if on_step is not None:
            on_step(step)

    try:
        with open_session(settings, record) as session:
            if message is None:
                session.verify_envelope(envelope_from, [recipient])
            else:
                report.result = session.send(message, envelope_from, [recipient])
                report.message_id = message["Message-ID"]
    except DeliveryError as err:
        report.error = err
    return report
