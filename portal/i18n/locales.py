"""The languages the portal speaks and how a browser's ``Accept-Language`` maps to them.

Chinese is told apart by script, not by country: ``zh-CN``, ``zh-SG`` and ``zh-Hans``
read Simplified; ``zh-TW``, ``zh-HK``, ``zh-MO`` and ``zh-Hant`` read Traditional. A bare
``zh`` reads Simplified, the more common. Anything else reads English.
"""

LOCALES = {"en": "English", "zh_Hans_CN": "简体中文", "zh_Hant_TW": "繁體中文"}
# The value of <html lang> for each locale (BCP 47).
HTML_LANG = {"en": "en", "zh_Hans_CN": "zh-Hans", "zh_Hant_TW": "zh-Hant"}
_TRADITIONAL = {"hant", "tw", "hk", "mo"}
_SIMPLIFIED = {"hans", "cn", "sg", "my"}


def locale_for_tag(tag: str) -> str | None:
    """The portal locale for one language tag, or None if the portal does not speak it."""
    parts = tag.strip().lower().replace("_", "-").split("-")
    if parts[0] == "en":
        return "en"
    if parts[0] != "zh":
        return None
    subtags = set(parts[1:])
    if "hans" in subtags:  # the script decides before the region: zh-Hans-HK is Simplified
        return "zh_Hans_CN"
    if subtags & _TRADITIONAL:
        return "zh_Hant_TW"
    return "zh_Hans_CN"


def from_accept_language(accepted) -> str | None:
    """The best locale for a parsed ``Accept-Language`` header (werkzeug's
    ``LanguageAccept``: values in order of preference), or None when nothing fits."""
    for tag, quality in accepted:
        if quality > 0 and tag != "*":
            locale = locale_for_tag(tag)
            if locale:
                return locale
    return None


def valid_locale(value: str | None) -> str | None:
    """``value`` if it names a portal locale, else None."""
    return value if value in LOCALES else None
