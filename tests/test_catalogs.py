"""The Chinese catalogs are complete: every message in the code and templates is
translated in both, none fuzzy, placeholders intact; and no template shows English
outside the catalogs (see tests/i18n_scan.py)."""

from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

from tests.i18n_scan import TEMPLATES, untranslated

pytestmark = pytest.mark.backend_free  # no database: runs once, in the SQLite pass

ROOT = Path(__file__).resolve().parent.parent
CATALOGS = ROOT / "portal" / "translations"
LOCALES = ("zh_Hans_CN", "zh_Hant_TW")
KEYWORDS = {**DEFAULT_KEYWORDS, "lazy_gettext": None, "_l": None, "lazy_ngettext": (1, 2)}
METHODS = [("portal/**.py", "python"), ("templates/**.html", "jinja2")]


def _source_messages() -> set[tuple[str, str | None]]:
    """Every (msgid, context) the code and the templates ask for, as `make translations`
    finds them."""
    found = set()
    for _file, _line, message, _comments, context in extract_from_dir(
            str(ROOT), METHODS, keywords=KEYWORDS, options_map={}):
        found.add((message if isinstance(message, str) else message[0], context))
    return found


@pytest.fixture(scope="module")
def source_messages():
    return _source_messages()


def _catalog(locale):
    with open(CATALOGS / locale / "LC_MESSAGES" / "messages.po", "rb") as handle:
        return read_po(handle, locale=locale)


@pytest.mark.parametrize("locale", LOCALES)
def test_every_message_is_translated(locale, source_messages):
    catalog = _catalog(locale)
    missing = sorted(str(m) for m, context in source_messages
                     if catalog.get(m, context=context) is None)
    untranslated_ = sorted(m.id if isinstance(m.id, str) else m.id[0] for m in catalog
                           if m.id and (not m.string or not all(m.string) if
                                        isinstance(m.string, tuple) else not m.string))
    fuzzy = sorted(str(m.id) for m in catalog if m.id and m.fuzzy)
    assert (missing, untranslated_, fuzzy) == ([], [], []), (
        f"{locale}: run `make translations`, then translate "
        f"{len(missing)} missing, {len(untranslated_)} empty, {len(fuzzy)} fuzzy")


@pytest.mark.parametrize("locale", LOCALES)
def test_placeholders_survive_translation(locale):
    problems = [(str(m.id), [str(e) for e in errors])
                for m, errors in _catalog(locale).check() if errors]
    assert problems == []


def test_no_template_shows_english_outside_the_catalogs():
    found = [f"{path.relative_to(ROOT)}:{line}: {text[:80]}"
             for path in sorted(TEMPLATES.rglob("*.html")) for line, text in untranslated(path)]
    assert found == [], f"{len(found)} pieces of English outside _(): " + "\n".join(found)
