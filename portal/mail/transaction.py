"""One mail transaction on an open session: MAIL FROM, RCPT TO each recipient, DATA.

``Transaction`` is the half of ``SmtpSession`` that moves a message; it relies on the
session's ``_smtp`` (an smtplib connection) and its ``_call`` / ``_expect`` / ``_failed``
helpers, which turn every failure into a classified ``DeliveryError``.

Recipients are judged one by one: the server's answer to each RCPT TO is kept, the
message goes to those it accepted, and the caller learns both (``SendResult``). The
DATA phase is written out by hand (smtplib's ``data()`` does it in one call) so that
a broken link can be told apart: before the final dot was fully written nothing can
have been delivered (safe to retry); after it, with no reply, the server may have
accepted the message (``DeliveryError.in_doubt``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import EmailMessage

from portal.mail.compose import flatten_message
from portal.mail.diagnosis_texts import SESSION_CLOSED
from portal.mail.errors import (
    PERMANENT,
    TRANSIENT,
    DeliveryError,
    from_reply,
    refused_error,
    reply_text,
)
from portal.mail.mime8bit import is_8bit, needs_smtputf8, to_7bit

_ACCEPTED = (250, 251)
_LEADING_DOT = re.compile(rb"(?m)^\.")


@dataclass
class SendResult:
    """What the server did with one message.

    ``code`` / ``text``: the reply to the end of DATA (text verbatim); ``accepted``: the
    recipients accepted at RCPT TO (250/251), who were handed the message; ``refused``:
    every other recipient -> ``(code, verbatim text)`` of its RCPT refusal, 4xx and 5xx
    alike (recipients not tried after a 421 carry that 421).
    """

    code: int
    text: str
    accepted: list[str]
    refused: dict[str, tuple[int, str]]


def dot_stuffed(payload: bytes) -> list[bytes]:
    """The DATA content as smtplib writes it, in pieces sent one after the other: the
    message with leading dots doubled (the same object when there are none, so a large
    message is not copied), a final CRLF when missing, then ``.``."""
    data = _LEADING_DOT.sub(b"..", payload)
    return [data, b".\r\n"] if data.endswith(b"\r\n") else [data, b"\r\n.\r\n"]


class Transaction:
    """MAIL/RCPT/DATA for ``SmtpSession`` (see the module docstring)."""

    def _require_open(self, recipients: list[str]) -> None:
        if not recipients:
            raise ValueError("at least one recipient is required")
        if not self.is_open:
            raise DeliveryError("mail_from", "protocol", SESSION_CLOSED, kind=TRANSIENT)

    def _missing(self, extension: str, why: str) -> DeliveryError:
        return self._failed(DeliveryError(
            "mail_from", "protocol", f"{why}, which needs the {extension} extension, and the "
            f"server does not offer {extension}", kind=PERMANENT))

    def _prepare(self, msg: EmailMessage | bytes, addresses: list[str]):
        """The bytes to send and the MAIL FROM parameters they need (RFC 6152, 6531).

        8-bit content goes with ``BODY=8BITMIME``; to a server without 8BITMIME it is
        converted to 7-bit first. Non-ASCII addresses or headers need ``SMTPUTF8``.
        """
        payload = msg if isinstance(msg, bytes) else flatten_message(msg)
        has_8bitmime = self._smtp.has_extn("8bitmime")
        if needs_smtputf8(payload, addresses):
            if not self._smtp.has_extn("smtputf8"):
                raise self._missing("SMTPUTF8", "the message has non-ASCII addresses or headers")
            body = ["BODY=8BITMIME"] if is_8bit(payload) and has_8bitmime else []
            return payload, ["SMTPUTF8", *body]
        if not is_8bit(payload):
            return payload, []
        if has_8bitmime:
            return payload, ["BODY=8BITMIME"]
        payload = to_7bit(payload)
        if is_8bit(payload):
            raise self._missing("8BITMIME", "the message has 8-bit data outside its body text")
        return payload, []

    def _rcpt(self, recipient: str, refused: dict) -> tuple[int, bytes]:
        try:
            return self._call("rcpt", self._smtp.rcpt, recipient)
        except DeliveryError as err:  # a dropped link: keep the refusals seen so far
            err.recipients = {**refused, **err.recipients}
            raise

    def _envelope(self, envelope_from: str, recipients: list[str], options: list[str],
                  strict: bool = False):
        """MAIL FROM, then RCPT TO each recipient; returns ``(accepted, refused)``.

        Raises when no recipient (``strict``: not every one) was accepted, as
        ``refused_error`` with the session reset, or when a 421 closed the connection
        (recipients not yet tried then count as refused with that 421).
        """
        reply = self._call("mail_from", self._smtp.mail, envelope_from, options)
        self._expect("mail_from", reply, 250)
        accepted, refused, last = [], {}, None
        for index, recipient in enumerate(recipients):
            code, text = self._rcpt(recipient, refused)
            if code in _ACCEPTED:
                accepted.append(recipient)
                last = (code, text)
                continue
            refused[recipient] = (code, reply_text(text))
            if code == 421:  # the server is closing the connection
                for untried in recipients[index + 1:]:
                    refused.setdefault(untried, refused[recipient])
                err = from_reply("rcpt", code, text) if accepted else refused_error(refused)
                err.recipients = dict(refused)
                raise self._failed(err, close=True)
        if not accepted or (strict and refused):
            raise self._failed(refused_error(refused))
        self._emit("rcpt", True, *last)
        return accepted, refused

    def verify_envelope(self, envelope_from: str, recipients: list[str]) -> None:
        """MAIL FROM + RCPT TO, then RSET: proves the server would take the mail, sends none.

        Raises if any recipient is refused.
        """
        self._require_open(recipients)
        addresses = [envelope_from, *recipients]
        options = []
        if needs_smtputf8(b"", addresses):
            if not self._smtp.has_extn("smtputf8"):
                raise self._missing("SMTPUTF8", "the addresses are not ASCII")
            options = ["SMTPUTF8"]
        self._envelope(envelope_from, recipients, options, strict=True)
        self.reset()

    def send(self, msg: EmailMessage | bytes, envelope_from: str,
             recipients: list[str]) -> SendResult:
        """Deliver one message to the recipients the server accepts. Bcc is never sent.

        ``msg`` may be bytes already made by ``flatten_message`` (the outbox stores them
        once, so every attempt sends the very same message). Refused recipients are
        returned in ``SendResult.refused``; only when none was accepted does it raise
        (``refused_error``, with ``.recipients``). Any failure after RCPT raises a
        ``DeliveryError`` whose ``.recipients`` holds the RCPT refusals gathered so far.
        After an envelope refusal the session is reset and stays usable; after a 421 or
        a dropped link it is closed (``is_open`` is False).
        """
        self._require_open(recipients)
        payload, options = self._prepare(msg, [envelope_from, *recipients])
        accepted, refused = self._envelope(envelope_from, recipients, options)
        try:
            code, text = self._data(payload)
        except DeliveryError as err:
            err.recipients = {**refused, **err.recipients}
            raise
        return SendResult(code, text, accepted, refused)

    def _data_command(self) -> tuple[int, bytes]:
        self._smtp.putcmd("data")
        return self._smtp.getreply()

    def _data(self, payload: bytes) -> tuple[int, str]:
        """DATA, the content and the final dot, then the server's verdict."""
        reply = self._call("data", self._data_command)
        self._expect("data", reply, 354, emit=False)
        try:
            for piece in dot_stuffed(payload):
                self._smtp.send(piece)
        except OSError as exc:  # smtplib closed the socket: is_open is now False
            raise self._failed(DeliveryError(
                "data", "protocol", f"the connection broke before the end of the message was "
                f"sent ({exc}); the server cannot have accepted it", kind=TRANSIENT)) from exc
        try:
            reply = self._smtp.getreply()
        except OSError as exc:  # closed by smtplib too
            raise self._failed(DeliveryError(
                "data", "protocol", f"no reply after the whole message was sent ({exc}); "
                "the server may have accepted it", kind=TRANSIENT, in_doubt=True)) from exc
        return self._expect("data", reply, 250)
