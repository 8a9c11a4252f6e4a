"""Stored diagnosis parts as words: cause and advice in the reader's language.

Every text comes from ``diagnosis_texts`` and is translated at render time; the
parameters (the server's reply, addresses, counts) are put in by name. Chinese
sentences end in full-width punctuation and are joined without spaces.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import flask_babel

from portal.mail import diagnosis_texts as texts

_MAX_REPLY = 200


class Translator:
    """gettext/ngettext of the current locale, or English (the msgids) when ``english``."""

    def __init__(self, english: bool) -> None:
        self.english = english

    def gettext(self, msgid: str, **params) -> str:
        if self.english:
            return msgid % params if params else msgid
        return flask_babel.gettext(msgid, **params)

    def ngettext(self, singular: str, plural: str, num: int, **params) -> str:
        if self.english:
            return (singular if num == 1 else plural) % {"num": num, **params}
        return flask_babel.ngettext(singular, plural, num, **params)

    @property
    def sep(self) -> str:
        """What goes between two sentences: a space, none after Chinese punctuation."""
        if self.english:
            return " "
        locale = flask_babel.get_locale()
        return "" if locale is not None and locale.language == "zh" else " "


ENGLISH = Translator(english=True)
CURRENT = Translator(english=False)


def joined(found, translate: Translator) -> str:
    """Causes and advice of several parts as one text."""
    sentences = [text for item in found for text in (item.cause, item.advice) if text]
    return translate.sep.join(sentences)


def shown_reply(reply: str | None, code: int | None, translate: Translator) -> str:
    """The server's answer as quoted in a cause, e.g. ``550 5.1.1 No such user``."""
    text = " ".join(str(reply or "").split()) or texts.NO_DETAILS
    if code is None and text in texts.PORTAL_REPLIES | {texts.NO_DETAILS}:
        return translate.gettext(text)
    if len(text) > _MAX_REPLY:
        text = text[:_MAX_REPLY - 3] + "..."
    return f"{code} {text}" if code is not None else text


def _words(text: str) -> str:
    return " ".join(text.casefold().split()).strip(" .;:")


_WITHOUT_REPLY = re.compile(r"\s*[(（]%\(reply\)s[)）]|\s*[:：]\s*%\(reply\)s")


def bare(template: str) -> str:
    """A cause template without its quoted reply."""
    return template.replace(" (%(reply)s)", "").replace(": %(reply)s", "")


def says_the_same(template: str, reply: str) -> bool:
    """True when the reply only repeats the (English) cause: "The server does not offer
    STARTTLS (the server does not offer STARTTLS)" would say it twice. Compared without
    regard to case, spacing or end punctuation; a reply of a word or two that merely
    occurs in the cause is still quoted."""
    said, told = _words(reply), _words(bare(template))
    return bool(said and 2 * len(said) >= len(told)
                and re.search(rf"(?<!\w){re.escape(said)}(?!\w)", told))


def _cause(template: str, part: dict, translate: Translator) -> str:
    """The cause with the reply quoted in it. English leaves out a reply that says the
    same as the cause; a translated cause keeps it (it is the server's own words)."""
    if "reply" not in part:
        # The catalogs hold the template with its reply: translate that, then drop the
        # reply's slot (" (…)", "（…）", ": …" or "：…").
        return _WITHOUT_REPLY.sub("", translate.gettext(template))
    reply = shown_reply(part.get("reply"), part.get("reply_code"), translate)
    text = translate.gettext(template, reply=reply)
    if text == template % {"reply": reply} and says_the_same(template, reply):
        return bare(template)
    return text


def _refusals(part: dict, translate: Translator) -> str:
    """Which recipients were not accepted, e.g. ``... a@x (550), b@y (451).``"""
    listed = ", ".join(f"{address} ({code})" for address, code in part.get("refused") or [])
    if not listed:
        return ""
    more = int(part.get("more") or 0)
    if more:
        listed = translate.ngettext(*texts.REFUSALS_MORE, more, recipients=listed)
    return translate.gettext(texts.REFUSALS, recipients=listed)


def _retry_note(part: dict, translate: Translator) -> str:
    """How a transient failure goes on: retried, to be tried again by hand, or given up."""
    if part.get("final"):
        attempts = part.get("attempts")
        if attempts:
            return translate.ngettext(*texts.GAVE_UP_AFTER, int(attempts))
        return translate.gettext(texts.GAVE_UP)
    if part.get("retrying"):
        return translate.gettext(texts.RETRIED)
    return translate.gettext(texts.TRY_AGAIN)


def error(part: dict, translate: Translator) -> tuple[str, str]:
    """Cause and advice of a delivery error's part (``code`` is its reason)."""
    code, step = part["code"], part.get("step")
    template, advice = texts.TEXTS.get(code, texts.TEXTS[texts.FALLBACK])
    if code == "temporary":
        template = texts.TEMPORARY_AT.get(step, template)
    causes = [_cause(template, part, translate)]
    if step == "rcpt" and code not in texts.ABOUT_RECIPIENTS:
        causes.append(translate.gettext(texts.NOT_ABOUT_RECIPIENT))
    causes.append(_refusals(part, translate))
    advices = [_retry_note(part, translate) if part.get("transient") else "",
               translate.gettext(advice)]
    return (translate.sep.join(c for c in causes if c),
            translate.sep.join(a for a in advices if a))


def _until(value: str, translate: Translator) -> str:
    """A stored resume time (ISO 8601, UTC) in the reader's zone, or in UTC for English."""
    moment = datetime.fromisoformat(value)
    if translate.english:
        return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return flask_babel.format_datetime(moment, "yyyy-MM-dd HH:mm ZZZZ")


def _waiting(found: dict, translate: Translator) -> tuple[str, str]:
    """A quota wait: the portal's own window or the provider's pause."""
    until = _until(found["until"], translate)
    if found["code"] == "quota_wait":
        return (translate.gettext(texts.QUOTA_WAIT, quota=int(found["quota"]),
                                  used=int(found["used"]), until=until),
                translate.gettext(texts.QUOTA_WAIT_ADVICE))
    template = texts.PROVIDER_PAUSE.get(found.get("reason"), texts.PROVIDER_PAUSE["rate_quota"])
    return (translate.gettext(template, reply=str(found.get("reply") or ""), until=until),
            translate.gettext(texts.PROVIDER_PAUSE_ADVICE))


def _fallback(found: dict, translate: Translator) -> tuple[str, str]:
    """"Sent through B because A failed: <A's failure>", with that failure's advice."""
    cause, advice = error(found["failure"], translate)
    return (translate.gettext(texts.FALLBACK_USED, fallback=str(found["fallback"]),
                              primary=str(found["primary"]), cause=cause), advice)


def part(found: dict, translate: Translator) -> tuple[str, str]:
    """Cause and advice of any stored part."""
    code = found.get("code")
    if code == "legacy":
        return str(found.get("text") or ""), ""
    if code == "in_doubt":
        cause = texts.IN_DOUBT.get(found.get("step") or "", texts.IN_DOUBT[""])
        return translate.gettext(cause), translate.gettext(texts.IN_DOUBT_ADVICE)
    if code == "recipients_accepted":
        return translate.gettext(texts.ACCEPTED, accepted=int(found.get("accepted") or 0),
                                 total=int(found.get("total") or 0)), ""
    if code in ("quota_wait", "provider_pause"):
        return _waiting(found, translate)
    if code == "fallback_used":
        return _fallback(found, translate)
    if code == "sender_paused":
        template = texts.PAUSED.get(found.get("step") or "", texts.PAUSED[""])
        return translate.gettext(template, reply=str(found.get("reply") or "")), ""
    return error(found, translate)
