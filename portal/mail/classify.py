"""Which category an SMTP reply falls into: by its text and enhanced status code, then step.

Real servers say more than their three-digit code. Postfix delays the refusals of
``smtpd_*_restrictions`` until RCPT TO, so a refused *sender*, a denied *relay* or a
refused *client* all arrive at the ``rcpt`` step; Microsoft 365 and the Chinese
providers (QQ, 163) put the real reason in the enhanced status code (RFC 3463, e.g.
``5.7.60``) or in a tag such as ``MI:STC``. This module reads those first and falls
back to the step only when the reply says nothing more specific. It only classifies:
the reply text itself is never changed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

STEPS = ("token", "connect", "tls", "ehlo", "auth", "mail_from", "rcpt", "data")
REASONS = (
    "cert_untrusted",
    "tls_mismatch",
    "starttls_unsupported",
    "unreachable",
    "auth_failed",
    "auth_unsupported",
    "sender_rejected",
    "recipient_rejected",
    "content_rejected",
    "temporary",
    "protocol",
    # from the reply text / enhanced status code, whatever the step
    "auth_required",
    "tls_required",
    "basic_auth_disabled",
    "send_as_denied",
    "from_must_match_login",
    "relay_denied",
    "client_rejected",
    "envelope_mismatch",
    "spam_suspected",
    "message_too_large",
    "too_many_recipients",
    "daily_quota",
    "rate_quota",
    "too_many_connections",
)
TRANSIENT, PERMANENT = "transient", "permanent"
# Reasons that mean "later may work" whatever the reply code (RFC 5321 4.5.3.1.10 asks
# clients to treat even a 552 "too many recipients" as temporary).
# A provider's quota (daily or short-term) resets by itself, so its reply is transient
# too: the sender pauses until then instead of failing the mail (outbox.quota).
TRANSIENT_REASONS = frozenset(
    {"temporary", "unreachable", "too_many_recipients", "rate_quota", "daily_quota",
     "too_many_connections"})

# Reason for a 5xx reply that matched no rule, by the step that received it.
_STEP_REASON = {
    "tls": "starttls_unsupported",
    "auth": "auth_failed",
    "mail_from": "sender_rejected",
    "rcpt": "recipient_rejected",
    "data": "content_rejected",
}
# 5xx replies to AUTH that mean "login is not possible here", not "wrong password".
_AUTH_UNSUPPORTED_CODES = (502, 503, 504, 538)
_ENHANCED = re.compile(r"^\s*([245])\.(\d{1,3})\.(\d{1,3})(?![\d.])")


@dataclass(frozen=True)
class _Rule:
    """One recognisable reply: its words, enhanced codes (``subject.detail``) or reply
    codes. ``any_class=False`` limits the rule to 5xx: a 4xx with the same words is
    usually greylisting or a DNS hiccup, better told as ``temporary``."""

    reason: str
    words: str = ""
    enhanced: tuple[str, ...] = ()
    codes: tuple[int, ...] = ()
    any_class: bool = True

    def matches(self, code: int, status: str | None, text: str) -> bool:
        if not self.any_class and not 500 <= code < 600:
            return False
        return (code in self.codes or (status is not None and status in self.enhanced)
                or bool(self.words and re.search(self.words, text, re.IGNORECASE)))


# First match wins, so the specific (provider tags, Microsoft codes) come before the
# general (a bare "Sender address rejected").
_RULES = (
    _Rule("basic_auth_disabled", r"SmtpClientAuthentication is disabled|"
          r"basic auth\w* is (disabled|not supported)|security defaults", ("7.30",)),
    _Rule("send_as_denied", r"SendAsDenied|not have permissions? to send as", ("7.60",)),
    _Rule("from_must_match_login", r"must (be (the )?same as|equal( to)?) (the )?"
          r"(authori[sz]\w*|authenticat\w*|login) (user|account)"),
    _Rule("envelope_mismatch", r"\bDT:SUM\b|envelope sender is not the same as the sender"),
    # Exchange Online: "SubmissionQuotaExceeded" / "Submission quota exceeded" and
    # "5.1.90 ... daily limit for message recipients" are its 10,000 recipients a day.
    _Rule("daily_quota", r"\bMI:STC\b|quota exceeded for today|daily (user )?sending "
          r"(limit|quota)|Submission ?Quota ?Exceeded|daily limit for (message )?recipients"),
    # Exchange Online's 30 messages a minute: "message rate limit", "ThrottlingPolicy".
    _Rule("rate_quota", r"\bMI:SFQ\b|minute sending quota|\brate[- ]limit|ThrottlingPolicy|"
          r"submission rate .{0,40}exceeded"),
    _Rule("too_many_connections", r"\bHL:ICC\b|too many (concurrent |simultaneous |"
          r"parallel )?connections|thread limit exceeded"),
    _Rule("too_many_recipients", r"too many recipients", ("5.3",)),
    _Rule("message_too_large", r"(message|mail) (size )?(exceeds|is too (big|large))|"
          r"message too (big|large)", ("3.4", "2.3")),
    _Rule("tls_required", r"STARTTLS command first|must issue a STARTTLS|"
          r"encryption required|TLS (is )?required", ("7.11",)),
    _Rule("auth_required", r"authentication (is )?required|not authenticated|"
          r"must authenticate|authenticate first|not logged in", ("7.57",), (530,)),
    _Rule("relay_denied", r"relay(ing)? (access )?(denied|not (permitted|allowed))|"
          r"unable to relay|not (permitted|allowed) to relay|we do not relay", ("7.54",)),
    _Rule("client_rejected", r"client host .{0,80}?(rejected|blocked)|"
          r"helo command rejected|banned sending IP|not accepted from this IP"),
    _Rule("sender_rejected", r"sender address rejected", ("1.7", "1.8"), any_class=False),
    _Rule("spam_suspected", r"\bDT:SPM\b|\bspam\b"),
    _Rule("recipient_rejected", r"recipient address rejected|user unknown|no such user",
          ("1.1", "1.2", "1.3", "1.6", "1.10", "2.1"), any_class=False),
)


def enhanced_status(text: str) -> str | None:
    """The RFC 3463 enhanced status code at the start of a reply (``"5.7.1"``), if any."""
    found = _ENHANCED.match(text or "")
    return ".".join(found.groups()) if found else None


def _by_step(step: str, code: int) -> str:
    """The reason when nothing in the reply is more specific than its code."""
    if 400 <= code < 500:
        return "temporary"
    if step == "auth" and code in _AUTH_UNSUPPORTED_CODES:
        return "auth_unsupported"
    return _STEP_REASON.get(step, "protocol")


def classify_reply(step: str, code: int, text: str) -> tuple[str, str]:
    """``(reason, kind)`` for one SMTP reply received at ``step``.

    The reply text and its enhanced status code are read first (see ``_RULES``), the
    step only decides when they say nothing specific. ``kind`` follows the reply class
    (4xx transient, anything else permanent) except for reasons that always pass with
    time (``TRANSIENT_REASONS``). ``text`` is the server's text without the code.
    """
    status = enhanced_status(text)
    subject_detail = status.split(".", 1)[1] if status else None
    rule = next((r for r in _RULES if r.matches(code, subject_detail, text)), None)
    reason = rule.reason if rule else _by_step(step, code)
    transient = reason in TRANSIENT_REASONS or 400 <= code < 500
    return reason, TRANSIENT if transient else PERMANENT


def reason_for(step: str, code: int, text: str) -> str:
    """The reason code alone, e.g. for showing one refused recipient's reply:
    ``reason_for("rcpt", 554, "5.7.1 <x@y>: Relay access denied") == "relay_denied"``."""
    return classify_reply(step, code, text)[0]
