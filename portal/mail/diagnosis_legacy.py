"""Reading diagnoses stored as English prose (before they were codes) back into parts.

The regexes are built from the English texts in ``diagnosis_texts``: a stored text is
split into the parts it was joined from (a recipient count, error diagnoses, an in-doubt
warning, a pause). Where a quoted reply sits, it becomes the part's ``reply``. Text that
does not read as a sequence of known parts is kept whole as a ``legacy`` part, so
nothing is lost: it renders exactly as it was.
"""

from __future__ import annotations

import re
from functools import lru_cache

from portal.mail import diagnosis_texts as texts
from portal.mail.diagnosis import legacy_part, parts_of
from portal.mail.diagnosis_render import bare

_REPLY = "(?P<reply>.+?)"
_END = r"(?= |$)"
_RETRY = (r"(?:(?:Gave up after (?P<attempts>\d+) attempts?|(?P<gave_up>Gave up)): it is not "
          r"sent again unless retried by hand\.|(?P<retried>It will be retried automatically\.)"
          r"|(?P<again>This is usually temporary: try again in a few minutes\.)) ")
_STEP_OF_TEMPORARY = {texts.TEMPORARY_AT["connect"]: "connect",
                      texts.TEMPORARY_AT["auth"]: "auth"}
_PAUSE_STEP = {"set up a secure connection": "tls", "log in": "auth", "connect": "connect"}


def _literal(template: str, with_reply: bool) -> str:
    if not with_reply:
        return re.escape(bare(template))
    return re.escape(template).replace(re.escape("%(reply)s"), _REPLY)


@lru_cache(maxsize=1)
def _error_patterns() -> list[tuple[re.Pattern, str, str | None]]:
    """(regex, reason, step) for every cause and advice a delivery error could read."""
    causes = [(reason, cause, None, advice) for reason, (cause, advice) in texts.TEXTS.items()]
    causes += [("temporary", cause, step, texts.TEXTS["temporary"][1])
               for cause, step in _STEP_OF_TEMPORARY.items()]
    rcpt = re.escape(" " + texts.NOT_ABOUT_RECIPIENT)
    refused = r"(?: Recipients not accepted: (?P<refused>.+?)\.)?"
    found = []
    for reason, cause, step, advice in causes:
        for with_reply in (True, False):
            pattern = (_literal(cause, with_reply) + f"(?P<rcpt>{rcpt})?" + refused + " "
                       + f"(?:{_RETRY})?" + re.escape(advice) + _END)
            found.append((re.compile(pattern, re.S), reason, step))
    return found


def _refused(listed: str) -> tuple[list, int] | None:
    """ "a@x (550), b@y (451) and 2 more" -> ([["a@x", 550], ["b@y", 451]], 2)."""
    match = re.fullmatch(r"(.+?)(?: and (\d+) more)?", listed, re.S)
    items = []
    for item in match.group(1).split(", "):
        one = re.fullmatch(r"(.+) \((\d+|None)\)", item, re.S)
        if not one:
            return None
        items.append([one.group(1), None if one.group(2) == "None" else int(one.group(2))])
    return items, int(match.group(2) or 0)


def _reply_fields(reply: str) -> dict:
    """The quoted reply, its three-digit code apart ("no details": an empty reply)."""
    if reply == texts.NO_DETAILS:
        return {"reply": ""}
    coded = re.fullmatch(r"([2-5]\d\d) (.+)", reply, re.S)
    if coded:
        return {"reply": coded.group(2), "reply_code": int(coded.group(1))}
    return {"reply": reply}


def _error_part(match: re.Match, reason: str, step: str | None) -> dict | None:
    part: dict = {"code": reason}
    if step or match.group("rcpt"):
        part["step"] = step or "rcpt"
    if match.groupdict().get("reply") is not None:
        part.update(_reply_fields(match.group("reply")))
    if match.group("refused"):
        refused = _refused(match.group("refused"))
        if refused is None:
            return None
        part["refused"] = refused[0]
        if refused[1]:
            part["more"] = refused[1]
    if match.group("attempts") or match.group("gave_up"):
        part.update(transient=True, final=True)
        if match.group("attempts"):
            part["attempts"] = int(match.group("attempts"))
    elif match.group("retried"):
        part.update(transient=True, retrying=True)
    elif match.group("again"):
        part["transient"] = True
    return part


def _fixed_part(text: str, pos: int) -> tuple[dict, int] | None:
    """A part with a fixed wording at ``pos``: in doubt or a recipient count."""
    for step, cause in texts.IN_DOUBT.items():
        whole = f"{cause} {texts.IN_DOUBT_ADVICE}"
        if text.startswith(whole, pos) and re.match(_END, text[pos + len(whole):]):
            part = {"code": "in_doubt", "step": step} if step else {"code": "in_doubt"}
            return part, pos + len(whole)
    counted = re.compile(r"(\d+) of (\d+) recipients accepted\." + _END).match(text, pos)
    if counted:
        return ({"code": "recipients_accepted", "accepted": int(counted.group(1)),
                 "total": int(counted.group(2))}, counted.end())
    return None


def _next_part(text: str, pos: int) -> tuple[dict, int] | None:
    fixed = _fixed_part(text, pos)
    if fixed:
        return fixed
    for pattern, reason, step in _error_patterns():
        match = pattern.match(text, pos)
        if match:
            part = _error_part(match, reason, step)
            return (part, match.end()) if part else None
    return None


def _paused(text: str) -> dict | None:
    match = re.fullmatch(r"Waiting: the sender could not (set up a secure connection|log in"
                         r"|connect) \((.+)\)\.", text, re.S)
    if not match:
        return None
    return {"code": "sender_paused", "step": _PAUSE_STEP[match.group(1)],
            "reply": match.group(2)}


def parse(text: str) -> list[dict]:
    """The parts an English diagnosis was written from, or one legacy part."""
    paused = _paused(text)
    if paused:
        return [paused]
    parts, pos = [], 0
    while pos < len(text):
        found = _next_part(text, pos)
        if found is None:
            return [legacy_part(text)]
        part, pos = found
        parts.append(part)
        if text[pos:pos + 1] == " ":
            pos += 1
    return parts or [legacy_part(text)]


def is_stored_parts(text: str | None) -> bool:
    """True when ``text`` already is a diagnosis stored as parts (JSON), not prose."""
    if not text or not text.startswith("[{"):
        return False
    parts = parts_of(text)
    return not (len(parts) == 1 and parts[0]["code"] == "legacy"
                and parts[0].get("text") == text)
