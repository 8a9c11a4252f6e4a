"""In Chromium: the sender pages and a failed Test connection for Chinese-speaking admins.

A zh-CN admin (and a zh-TW one) runs Test connection against a real local aiosmtpd that
refuses the login with 535 and reads the diagnosis in their language, naming the
authorization code (授权码 / 授權碼), with the server's reply kept as it was. The list,
the new and edit forms and the check result fit 1280 and 360 px without scrolling
sideways. Screenshots go to ``$PORTAL_SHOTS/i18n-senders/``.

Needs the merged catalogs (helper h2's part files in portal/translations).
"""

import pytest
from playwright.sync_api import expect

from portal.auth.models import User
from portal.extensions import db
from portal.senders.models import Sender
from tests.browser_kit import REFUSED_FORM, WIDTHS, shots, signed_in
from tests.sender_helpers import AUTH

pytestmark = pytest.mark.browser

SHOTS = shots("i18n-senders")
WORDS = {
    "zh_Hans_CN": {"title": "发件人", "test": "测试连接", "failed": "连接失败",
                   "why": "原因：", "todo": "处理办法：", "code": "授权码",
                   "cause": "服务器拒绝了登录", "add": "添加发件人"},
    "zh_Hant_TW": {"title": "發件人", "test": "測試連線", "failed": "連線失敗",
                   "why": "原因：", "todo": "處理方式：", "code": "授權碼",
                   "cause": "伺服器拒絕了登入", "add": "新增發件人"},
}


@pytest.fixture
def chinese_admin(app, world, smtpd_factory):
    """Returns a function making root read ``locale``; a sender exists for the list."""
    relay = smtpd_factory("plain")
    with app.app_context():
        db.session.add(Sender(name="财务报表发件人（名称较长的一个）", host=relay.host,
                              port=relay.port, encryption="none",
                              address="finance-reports-department@example.com",
                              display_name="报表系统", mode="deferred", max_connections=1))
        db.session.commit()
        sender_id = db.session.scalar(db.select(Sender.id))

    def speak(locale):
        with app.app_context():
            db.session.get(User, world["root"]).locale = locale
            db.session.commit()
        return sender_id
    return speak


def _fits(page, width):
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def _shot(page, name, locale, width):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}-{locale}-{width}.png"), full_page=True,
                    caret="initial")


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("locale", sorted(WORDS))
def test_chinese_admin_reads_the_login_refusal_in_chinese(
        browser, portal_server, chinese_admin, smtpd_factory, locale, width):
    words = WORDS[locale]
    sender_id = chinese_admin(locale)
    server = smtpd_factory("plain", auth=AUTH)
    context, page, errors = signed_in(browser, portal_server, width, "root", REFUSED_FORM)

    page.goto(portal_server.url + "/senders")
    expect(page.locator("h1")).to_have_text(words["title"])
    expect(page.get_by_role("link", name=words["add"])).to_be_visible()
    _fits(page, width)
    _shot(page, "list", locale, width)

    page.goto(portal_server.url + f"/senders/{sender_id}")
    _fits(page, width)
    _shot(page, "edit", locale, width)

    page.goto(portal_server.url + "/senders/new")
    _fits(page, width)
    _shot(page, "new", locale, width)
    page.locator("#name").fill("本地中继")
    page.locator("#host").fill(server.host)
    page.locator("#port").fill(str(server.port))
    page.locator("#encryption").select_option("none")
    page.locator("#address").fill("robot@example.com")
    page.locator("#display_name").fill("报表系统")
    page.locator("#password").fill("wrong-code")
    page.locator("#allow_plain_auth").check()
    page.get_by_role("button", name=words["test"]).click()

    panel = page.locator("#check-result .check-panel")
    expect(panel).to_contain_text(words["failed"])
    expect(panel).to_contain_text(words["why"])
    expect(panel).to_contain_text(words["cause"])
    expect(panel).to_contain_text(words["todo"])
    expect(panel).to_contain_text(words["code"])
    expect(panel).to_contain_text("535")  # the server's own reply, as it said it
    expect(panel).not_to_contain_text("The server refused the login")
    _fits(page, width)
    _shot(page, "check", locale, width)
    assert server.messages == []
    assert errors == [] and page.evaluate("window.__csp") == []
    context.close()
