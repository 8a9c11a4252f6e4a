"""Which language a page is in: the locale selector through real requests (the user's
choice, the sign-in page's switcher, Accept-Language, PORTAL_DEFAULT_LOCALE), the
switcher's own route, and ``portal.i18n.locales``.

The language is read from ``<html lang>``, which does not depend on the catalogs. The
tests marked "needs the merged catalogs" also read Chinese words off the page; they pass
once the helpers' partial catalogs are merged into ``portal/translations``.
"""

import re

import pytest
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

from portal.extensions import db
from portal.i18n import SESSION_KEY
from portal.i18n.locales import (
    HTML_LANG,
    LOCALES,
    from_accept_language,
    locale_for_tag,
    valid_locale,
)
from tests.conftest import login

SIMPLIFIED = ["zh-CN", "zh-SG", "zh-Hans", "zh", "zh-Hans-CN", "zh_CN", "zh-Hans-HK"]
TRADITIONAL = ["zh-TW", "zh-HK", "zh-MO", "zh-Hant", "zh-Hant-HK", "zh-Hant-TW"]
ENGLISH = ["en-US", "en", "fr", "de;q=0.9", "fr-FR, de;q=0.5", "*"]


def html_lang(response) -> str:
    match = re.search(r'<html lang="([^"]+)">', response.get_data(as_text=True))
    assert match, "page has no <html lang>"
    return match.group(1)


def sign_in_page(client, accept: str | None = None):
    headers = {"Accept-Language": accept} if accept is not None else {}
    response = client.get("/login", headers=headers)
    assert response.status_code == 200
    return response


# --- Accept-Language, through the sign-in page ---------------------------------------

@pytest.mark.parametrize("accept", SIMPLIFIED)
def test_simplified_chinese_browsers_get_simplified(client, accept):
    assert html_lang(sign_in_page(client, accept)) == "zh-Hans"


@pytest.mark.parametrize("accept", TRADITIONAL)
def test_traditional_chinese_browsers_get_traditional(client, accept):
    assert html_lang(sign_in_page(client, accept)) == "zh-Hant"


@pytest.mark.parametrize("accept", ENGLISH)
def test_other_browsers_get_english(client, accept):
    assert html_lang(sign_in_page(client, accept)) == "en"


def test_no_accept_language_gets_the_default(client):
    assert html_lang(sign_in_page(client)) == "en"


@pytest.mark.parametrize(("accept", "lang"), [
    ("fr, zh-TW;q=0.8", "zh-Hant"),
    ("fr, zh-TW;q=0.8, zh-CN;q=0.9", "zh-Hans"),
    ("zh-CN;q=0.5, en;q=0.9", "en"),
    ("de, en;q=0.2, zh-HK;q=0.1", "en"),
    ("zh-TW;q=0, zh-CN;q=0.3", "zh-Hans"),
])
def test_quality_order_is_respected(client, accept, lang):
    assert html_lang(sign_in_page(client, accept)) == lang


@pytest.mark.parametrize(("accept", "lang"), [(None, "zh-Hans"), ("fr", "zh-Hans"),
                                              ("de;q=0.9", "zh-Hans"), ("en-US", "en"),
                                              ("zh-TW", "zh-Hant")])
def test_the_configured_default_is_used_when_nothing_matches(app_config, accept, lang):
    """PORTAL_DEFAULT_LOCALE=zh_Hans_CN (Defaults.DEFAULT_LOCALE): only when the browser
    names none of the portal's languages."""
    from portal import create_app

    app_config["DEFAULT_LOCALE"] = "zh_Hans_CN"
    application = create_app(app_config)
    assert html_lang(sign_in_page(application.test_client(), accept)) == lang


def test_an_unknown_default_locale_is_refused_at_start(app_config):
    from portal import create_app

    app_config["DEFAULT_LOCALE"] = "klingon"
    with pytest.raises(ValueError, match="PORTAL_DEFAULT_LOCALE"):
        create_app(app_config)


# --- the user's own choice ------------------------------------------------------------

def _set_locale(app, user_id, locale):
    from portal.auth.models import User

    with app.app_context():
        db.session.get(User, user_id).locale = locale
        db.session.commit()


def test_the_users_choice_beats_accept_language(app, client, world):
    _set_locale(app, world["root"], "zh_Hant_TW")
    login(client, "root")
    page = client.get("/", headers={"Accept-Language": "zh-CN, en;q=0.5"})
    assert html_lang(page) == "zh-Hant"


def test_without_a_choice_a_signed_in_user_follows_the_browser(client, world):
    login(client, "root")
    assert html_lang(client.get("/", headers={"Accept-Language": "zh-CN"})) == "zh-Hans"
    assert html_lang(client.get("/", headers={"Accept-Language": "en-GB"})) == "en"


def test_an_unknown_stored_locale_falls_back_to_the_browser(app, client, world):
    _set_locale(app, world["root"], "xx_YY")
    login(client, "root")
    assert html_lang(client.get("/", headers={"Accept-Language": "zh-TW"})) == "zh-Hant"


# --- the sign-in page's switcher ------------------------------------------------------

def test_the_sign_in_page_offers_every_language_in_its_own_script(client):
    body = sign_in_page(client, "en").get_data(as_text=True)
    assert "简体中文" in body and "繁體中文" in body and "English" in body
    assert 'href="/language/zh_Hans_CN?next=/login"' in body
    assert 'href="/language/zh_Hant_TW?next=/login"' in body
    assert 'href="/language/en' not in body  # the current one is not a link


def test_the_switcher_sets_the_language_and_returns(client):
    response = client.get("/language/zh_Hant_TW?next=/login")
    assert response.status_code == 303
    assert response.headers["Location"] == "/login"
    with client.session_transaction() as session:
        assert session[SESSION_KEY] == "zh_Hant_TW"
    # The switcher's choice beats the browser's Accept-Language.
    assert html_lang(sign_in_page(client, "zh-CN")) == "zh-Hant"
    client.get("/language/en?next=/login")
    assert html_lang(sign_in_page(client, "zh-CN")) == "en"


def test_the_switcher_keeps_the_next_of_the_sign_in_page(client):
    body = client.get("/login?next=/records").get_data(as_text=True)
    assert "/language/zh_Hans_CN?next=/login?next%3D/records" in body or \
        "/language/zh_Hans_CN?next=/login%3Fnext%3D/records" in body
    response = client.get("/language/zh_Hans_CN", query_string={"next": "/login?next=/records"})
    assert response.headers["Location"] == "/login?next=/records"


@pytest.mark.parametrize("code", ["fr", "zh", "zh-CN", "ZH_HANS_CN", "en_US", "..", "x" * 80])
def test_an_invalid_code_is_refused(client, code):
    response = client.get(f"/language/{code}?next=/login")
    assert response.status_code == 404
    with client.session_transaction() as session:
        assert SESSION_KEY not in session


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x",
                                    "/\\evil.example", "javascript:alert(1)", "", "login"])
def test_only_local_next_paths_are_followed(client, target):
    response = client.get("/language/zh_Hans_CN", query_string={"next": target})
    assert response.status_code == 303
    assert response.headers["Location"] == "/login"


def test_the_switchers_choice_survives_sign_in_but_the_users_own_wins(app, client, world):
    client.get("/language/zh_Hant_TW?next=/login")
    login(client, "red_agent")
    assert html_lang(client.get("/", headers={"Accept-Language": "en"})) == "zh-Hant"
    client.post("/logout")
    _set_locale(app, world["root"], "zh_Hans_CN")
    client.get("/language/en?next=/login")
    login(client, "root")
    assert html_lang(client.get("/", headers={"Accept-Language": "en"})) == "zh-Hans"


# --- Chinese words on the pages (needs the merged catalogs) ---------------------------

def test_sign_in_page_in_chinese(client):
    """Needs the merged catalogs."""
    simplified = sign_in_page(client, "zh-CN").get_data(as_text=True)
    assert "<h1>登录</h1>" in simplified and "用户名" in simplified
    traditional = sign_in_page(client, "zh-TW").get_data(as_text=True)
    assert "<h1>登入</h1>" in traditional and "使用者名稱" in traditional


def test_dashboard_and_nav_in_chinese(client, world):
    """Needs the merged catalogs."""
    login(client, "root")
    simplified = client.get("/", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    for word in ("发送记录", "发件人", "写邮件", "团队", "退出登录", "个人设置"):
        assert word in simplified, word
    traditional = client.get("/", headers={"Accept-Language": "zh-TW"}).get_data(as_text=True)
    for word in ("傳送記錄", "發件人", "撰寫郵件", "團隊", "登出", "個人設定"):
        assert word in traditional, word


def test_error_pages_in_chinese(client, world):
    """Needs the merged catalogs; the API's error code stays English."""
    login(client, "red_agent")
    missing = client.get("/nowhere", headers={"Accept-Language": "zh-CN"})
    assert missing.status_code == 404 and "不存在" in missing.get_data(as_text=True)
    forbidden = client.get("/users", headers={"Accept-Language": "zh-TW"})
    assert forbidden.status_code == 403 and "權限" in forbidden.get_data(as_text=True)


def test_api_error_codes_stay_english(client):
    response = client.get("/api/v1/nowhere", headers={"Accept-Language": "zh-CN"})
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


# --- portal.i18n.locales --------------------------------------------------------------

@pytest.mark.parametrize(("tag", "locale"), [
    ("zh-CN", "zh_Hans_CN"), ("zh-SG", "zh_Hans_CN"), ("zh-MY", "zh_Hans_CN"),
    ("zh-Hans", "zh_Hans_CN"), ("zh", "zh_Hans_CN"), ("ZH-cn", "zh_Hans_CN"),
    ("zh_CN", "zh_Hans_CN"),
    ("zh-TW", "zh_Hant_TW"), ("zh-HK", "zh_Hant_TW"), ("zh-MO", "zh_Hant_TW"),
    ("zh-Hant", "zh_Hant_TW"), ("zh-Hant-HK", "zh_Hant_TW"), ("zh_TW", "zh_Hant_TW"),
    ("en", "en"), ("en-US", "en"), ("EN-gb", "en"),
    ("fr", None), ("de-DE", None), ("ja", None), ("*", None), ("", None),
])
def test_locale_for_tag(tag, locale):
    assert locale_for_tag(tag) == locale


def _accept(header: str) -> LanguageAccept:
    return parse_accept_header(header, LanguageAccept)


@pytest.mark.parametrize(("header", "locale"), [
    ("fr, zh-TW;q=0.8", "zh_Hant_TW"), ("fr;q=0.9, zh-HK;q=0.95", "zh_Hant_TW"),
    ("de, fr", None), ("", None), ("*", None), ("zh-CN;q=0", None),
    ("ja, zh-Hant;q=0.5, en;q=0.4", "zh_Hant_TW"), ("en;q=0.1, zh-SG;q=0.2", "zh_Hans_CN"),
])
def test_from_accept_language(header, locale):
    assert from_accept_language(_accept(header)) == locale


def test_valid_locale():
    for code in LOCALES:
        assert valid_locale(code) == code
        assert HTML_LANG[code]
    for bad in (None, "", "zh", "zh_CN", "fr", "EN"):
        assert valid_locale(bad) is None
