"""E-mail address syntax, checked the same way at every entry point (DESIGN §3 "Addresses").

The portal sends through the organisation's own servers, so an address only has to
be well-formed (RFC 5321/5322, RFC 6531 for non-ASCII): intranet domains such as
``corp.local``, ``*.internal``, ``*.lan``, ``*.home.arpa``, single labels (``ops@mailhub``)
and ``localhost`` are valid, and nothing is looked up in DNS.

``email-validator`` does the syntax work but always refuses IANA special-use names
(``local``, ``localhost``, ``arpa`` ...) because it assumes globally deliverable mail.
Its only documented switch is to edit ``email_validator.SPECIAL_USE_DOMAIN_NAMES`` for
the whole process. Instead, a special-use suffix is swapped for a neutral placeholder of
the same length before the call and put back afterwards: every other check (and every
length limit) still applies, and the library's global list stays untouched for other
users of it, such as WTForms' ``Email`` validator.

Callers name the field once: messages here never start with a field label.
"""

from __future__ import annotations

import re
import unicodedata

import email_validator
import idna
from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext
from wtforms.validators import ValidationError

# C0 controls (tab included), DEL, C1 controls and the characters Python treats as line breaks.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_PLACEHOLDER_CHAR = "x"
MAX_DOMAIN = 253  # RFC 1035, as email-validator checks it
MAX_SHOWN = 100


class AddressError(ValueError):
    """A value that is not a usable e-mail address; the message names no field."""


def normalize_address(value: str) -> str:
    """The address in its normalized form, or ``AddressError`` with a plain reason.

    Normalized means surrounding spaces removed, the domain lower-cased (IDN domains in
    their Unicode form) and the local part NFC-normalized but never lower-cased: some
    servers treat ``Reports@`` and ``reports@`` as different mailboxes.
    """
    if not isinstance(value, str):
        raise AddressError(gettext("An address must be text."))
    if _CONTROL.search(value):
        raise AddressError(gettext("An address must be one line, without line breaks or "
                                   "control characters."))
    address = value.strip()
    if "<" in address or ">" in address:
        raise AddressError(gettext("“%(address)s” is not a valid address (enter the bare "
                                   "address, without a name or angle brackets).",
                                   address=_shown(address)))
    local, at, domain = address.rpartition("@")
    masked_domain, suffix = _mask_special_use(domain) if at else (domain, "")
    try:
        checked = validate_email(f"{local}@{masked_domain}" if suffix else address,
                                 allow_smtputf8=True, allow_domain_literal=True,
                                 strict=True,  # the RFC 5321 limit of 64 before the @
                                 check_deliverability=False, globally_deliverable=False,
                                 test_environment=False)
    except EmailNotValidError as error:
        reason = str(error).rstrip(".")
        raise AddressError(gettext("“%(address)s” is not a valid address (%(reason)s).",
                                   address=_shown(address), reason=reason)) from error
    domain = checked.domain
    if suffix:
        domain = domain[: len(domain) - len(suffix)] + suffix
    return f"{unicodedata.normalize('NFC', local)}@{domain}"


def _shown(address: str) -> str:
    """The address as quoted in a message: cut short, so pasted junk cannot flood a page."""
    return address if len(address) <= MAX_SHOWN else address[: MAX_SHOWN - 1] + "…"


def _mask_special_use(domain: str) -> tuple[str, str]:
    """``domain`` with a special-use suffix (``local``, ``home.arpa`` ...) replaced by
    placeholder labels of the same lengths, and the suffix that was replaced ("" if none).

    The match is made on the domain as email-validator itself normalizes it (UTS-46:
    case folding, full-width dots), so ``Corp.LOCAL`` is recognized too.
    """
    if len(domain) > MAX_DOMAIN:
        return domain, ""  # too long anyway; email-validator says so without remapping it
    try:
        mapped = idna.uts46_remap(domain, std3_rules=False, transitional=False)
    except (idna.IDNAError, ValueError):
        return domain, ""  # email-validator will explain what is wrong with it
    for name in email_validator.SPECIAL_USE_DOMAIN_NAMES:
        if mapped == name or mapped.endswith("." + name):
            placeholder = ".".join(_PLACEHOLDER_CHAR * len(label) for label in name.split("."))
            return mapped[: len(mapped) - len(name)] + placeholder, name
    return domain, ""


def strip_text(value):
    """WTForms filter: surrounding whitespace removed, so a blank field counts as empty."""
    return value.strip() if isinstance(value, str) else value


def address_field(form, field) -> None:
    """WTForms validator: the field holds one valid address, stored normalized.

    An empty field is left to ``DataRequired``/``Optional``. The error names no field:
    the form shows it under the field's label, and the check panel and the CLI put the
    label in front of it once.
    """
    if not field.data:
        return
    try:
        field.data = normalize_address(field.data)
    except AddressError as error:
        raise ValidationError(str(error)) from error
