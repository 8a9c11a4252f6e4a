"""The portal in the reader's language and time zone (Flask-Babel).

The locale is the signed-in user's choice, else the one picked on the sign-in page,
else the browser's ``Accept-Language``, else ``PORTAL_DEFAULT_LOCALE``. The time zone is
the user's choice, else ``PORTAL_DEFAULT_TIMEZONE``. Catalogs live in
``portal/translations`` (``make translations`` extracts and updates them).
"""

from functools import lru_cache

from babel.support import Translations
from flask import current_app, request, session
from flask_babel import Babel, get_locale
from flask_login import current_user
from wtforms.i18n import messages_path

from portal.i18n.locales import HTML_LANG, LOCALES, from_accept_language, valid_locale
from portal.i18n.zones import valid_zone

babel = Babel()
# The sign-in page's language switcher keeps its choice here until someone signs in.
SESSION_KEY = "locale"
# WTForms ships Simplified Chinese as "zh" and Traditional as "zh_TW".
_WTFORMS_CATALOG = {"zh_Hans_CN": "zh", "zh_Hant_TW": "zh_TW"}


def select_locale() -> str:
    """The locale of this request (see the module docstring for the order)."""
    user = current_user if current_user and current_user.is_authenticated else None
    chosen = valid_locale(getattr(user, "locale", None))
    if not chosen and request:
        chosen = valid_locale(session.get(SESSION_KEY)) or \
            from_accept_language(request.accept_languages)
    return chosen or current_app.config["DEFAULT_LOCALE"]


def select_timezone() -> str:
    """The time zone of this request."""
    user = current_user if current_user and current_user.is_authenticated else None
    return valid_zone(getattr(user, "timezone", None)) or current_app.config["DEFAULT_TIMEZONE"]


@lru_cache(maxsize=8)
def _wtforms_translations(locale: str):
    return Translations.load(messages_path(), [_WTFORMS_CATALOG.get(locale, "en")],
                             domain="wtforms")


def _form_messages() -> None:
    """WTForms' own messages ("This field is required.") in the request's language;
    Flask-WTF reads them from ``request.wtforms_translations``."""
    request.wtforms_translations = _wtforms_translations(str(get_locale()))


def _vary_by_language(response):
    """A page's language follows Accept-Language: caches in between must keep them apart."""
    response.vary.add("Accept-Language")
    return response


def init_app(app) -> None:
    """Install Babel, check the defaults, and give templates the locale helpers."""
    if not valid_locale(app.config["DEFAULT_LOCALE"]):
        raise ValueError(f"PORTAL_DEFAULT_LOCALE must be one of {', '.join(LOCALES)}; "
                         f"got {app.config['DEFAULT_LOCALE']!r}.")
    if not valid_zone(app.config["DEFAULT_TIMEZONE"]):
        raise ValueError("PORTAL_DEFAULT_TIMEZONE must be an IANA time zone such as "
                         f"Asia/Shanghai; got {app.config['DEFAULT_TIMEZONE']!r}.")
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone,
                   default_translation_directories="translations")
    app.before_request(_form_messages)
    app.after_request(_vary_by_language)
    from portal.i18n import formatting

    formatting.register(app)

    @app.context_processor
    def locale_globals():
        locale = str(get_locale())
        return {"current_locale": locale, "html_lang": HTML_LANG.get(locale, "en"),
                "locales": LOCALES}


def compile_catalogs(directory) -> list[str]:
    """Compile each ``messages.po`` under ``directory`` whose ``.mo`` is missing or older
    (what ``make`` does; for a bare ``pytest`` run). Returns the compiled locales.

    Each ``.mo`` is written beside its target and moved into place, so processes that
    start together (parallel test workers) never read a half-written catalog."""
    import os
    from pathlib import Path

    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    done = []
    for po in sorted(Path(directory).glob("*/LC_MESSAGES/messages.po")):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as source:
            catalog = read_po(source, locale=po.parent.parent.name)
        partial = mo.with_name(f"{mo.name}.{os.getpid()}.tmp")
        with partial.open("wb") as target:
            write_mo(target, catalog)
        os.replace(partial, mo)
        done.append(po.parent.parent.name)
    return done
