"""In Chromium, in Chinese: a browser set to zh-CN signs in and reads Simplified Chinese;
switching the profile to 繁體中文 turns the portal Traditional; the sign-in page's
switcher; and the pages of the shell, dashboard, users, teams and profile at 1280 and
360 px in both Chinese locales, saved to ``shots("i18n")``, with no sideways scrolling,
no console error and no CSP violation.

Needs the merged catalogs (portal/translations) for the Chinese words.
"""

import pytest
from playwright.sync_api import expect

from portal.extensions import db
from portal.outbox.models import Message
from tests.browser_kit import WATCH_CSP, WIDTHS, shots
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

LOCALES = {"zh-CN": "zh-Hans", "zh-TW": "zh-Hant"}


@pytest.fixture
def lived_in(app, world):
    """A few messages, so the dashboard has figures and recent mail."""
    with app.app_context():
        for status in ("sent", "failed", "queued", "partial"):
            message = Message(sender_name="财务报表发件人", sender_address="reports@example.com",
                              sender_reason="default", subject="每周库存汇总（上海、深圳仓库）",
                              mode="deferred", status=status, attempt_count=1,
                              team_id=world["red"], user_id=world["red_agent"])
            message.set_recipients(["cfo.office@subsidiary.example.com"])
            db.session.add(message)
        db.session.commit()
    return world


def _context(browser, locale: str, width: int = 1280):
    """A browser whose language is ``locale`` (Chromium sends it as Accept-Language)."""
    context = browser.new_context(locale=locale, viewport={"width": width, "height": 800})
    context.add_init_script(WATCH_CSP)
    page = context.new_page()
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return context, page, errors


def _sign_in(page, server, username: str):
    """Through the real sign-in page, by field id (the labels are in Chinese)."""
    page.goto(server.url + "/login")
    page.locator("#username").fill(username)
    page.locator("#password").fill(PASSWORD)
    page.locator("form button[type=submit]").click()
    page.wait_for_url(server.url + "/")


def _nav(page, width: int):
    """The navigation as the reader sees it (in the "Menu" drop-down on small screens)."""
    if width < 800:
        page.locator("details.nav-narrow summary").click()
        return page.locator("details.nav-narrow")
    return page.locator("ul.nav-wide")


def test_a_chinese_browser_reads_simplified_then_switches_to_traditional(
        browser, portal_server, lived_in):
    context, page, errors = _context(browser, "zh-CN")
    page.goto(portal_server.url + "/login")
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    expect(page.get_by_role("heading", name="登录")).to_be_visible()
    _sign_in(page, portal_server, "root")
    expect(page.get_by_text("已登录为 Root。")).to_be_visible()
    nav = page.locator("ul.nav-wide")
    for word in ("概览", "写邮件", "发送记录", "发件人", "模板", "团队", "用户", "审计日志"):
        expect(nav.get_by_role("link", name=word, exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name="需要处理")).to_be_visible()

    page.locator("details.user-menu summary").click()
    page.get_by_role("link", name="个人设置").click()
    expect(page.get_by_role("heading", name="个人设置", exact=True)).to_be_visible()
    page.locator("#locale").select_option("zh_Hant_TW")
    page.locator("#timezone").select_option("Asia/Taipei")
    page.locator("#profile button[type=submit]").click()
    expect(page.get_by_text("個人設定已儲存。")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hant")
    expect(page.get_by_text("UTC+8").first).to_be_visible()
    page.goto(portal_server.url + "/")
    nav = page.locator("ul.nav-wide")
    for word in ("總覽", "撰寫郵件", "傳送記錄", "發件人", "範本", "團隊", "使用者", "稽核記錄"):
        expect(nav.get_by_role("link", name=word, exact=True)).to_be_visible()
    assert errors == []
    assert page.evaluate("window.__csp") == []
    context.close()


def test_the_sign_in_switcher_changes_the_language(browser, portal_server, world):
    context, page, _errors = _context(browser, "en-US")
    page.goto(portal_server.url + "/login")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.get_by_role("link", name="繁體中文").click()
    expect(page).to_have_url(portal_server.url + "/login")
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hant")
    expect(page.get_by_role("heading", name="登入")).to_be_visible()
    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    context.close()


def _pages(world) -> list[str]:
    return ["/login", "/", "/profile", "/users", "/users/new", f"/users/{world['red_agent']}",
            "/teams", f"/teams/{world['red']}", "/no-such-page"]


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("locale", list(LOCALES))
def test_pages_in_chinese_fit_and_are_saved(browser, portal_server, lived_in, locale, width):
    folder = shots("i18n")
    folder.mkdir(parents=True, exist_ok=True)
    context, page, errors = _context(browser, locale, width)
    problems = []
    for path in _pages(lived_in):
        if path == "/":
            _sign_in(page, portal_server, "root")
        else:
            page.goto(portal_server.url + path)
        page.wait_for_load_state("load")
        if page.locator("html").get_attribute("lang") != LOCALES[locale]:
            problems.append(f"{path}: not in {locale}")
        slug = path.strip("/").replace("/", "-") or "home"
        page.screenshot(path=folder / f"{locale}_{width}_{slug}.png", full_page=True)
        scroll = page.evaluate("document.documentElement.scrollWidth")
        if scroll > width:
            problems.append(f"{path}: {scroll} px wide at {width}")
        problems.extend(f"{path}: CSP {v}" for v in page.evaluate("window.__csp"))
    nav = _nav(page, width)
    expect(nav.get_by_role("link", name="发送记录" if locale == "zh-CN" else "傳送記錄",
                           exact=True)).to_be_visible()
    problems.extend(f"console: {text}" for text in errors if "404" not in text)
    assert problems == []
    context.close()
