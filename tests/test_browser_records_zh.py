"""In Chromium, in Chinese and in Shanghai time: a user with the time zone Asia/Shanghai
sees a message stored at 23:30 UTC at 07:30 the next day, and the compose, records,
message and audit pages read in 简体中文 and 繁體中文 at 1280 and 360 px without
scrolling sideways.

Screenshots go to ``$PORTAL_SHOTS/i18n-records/`` (default: the temporary folder's
``portal-shots``; never committed) to be looked at.
"""

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import insert

from portal.audit.models import AuditEntry
from portal.auth.models import User
from portal.extensions import db
from portal.mail.diagnosis import accepted_part, store
from portal.outbox.models import Attempt, Message
from portal.senders.models import Sender
from tests.browser_kit import WIDTHS, shots, signed_in

pytestmark = pytest.mark.browser

SHOTS = shots("i18n-records")
LATE = datetime(2026, 3, 10, 23, 30, tzinfo=UTC)  # 2026-03-11 07:30 in Shanghai
# What each locale calls the pages (glossary words).
WORDS = {
    "zh_Hans_CN": {"compose": "写邮件", "records": "发送记录", "audit": "审计日志",
                   "time": "发送时间（UTC+8）", "partial": "部分发送"},
    "zh_Hant_TW": {"compose": "撰寫郵件", "records": "傳送記錄", "audit": "稽核記錄",
                   "time": "傳送時間（UTC+8）", "partial": "部分傳送"},
}


@pytest.fixture
def shanghai(app, world):
    """root reads in Asia/Shanghai; a sender to compose with, a partly sent message stored
    at 23:30 UTC with one attempt, and an audit entry of the same moment."""
    with app.app_context():
        db.session.get(User, world["root"]).timezone = "Asia/Shanghai"
        db.session.add(Sender(name="Relay", host="127.0.0.1", port=25, encryption="none",
                              address="relay@example.com", display_name="Relay",
                              mode="deferred", enabled=True, max_connections=1))
        diagnosis = store([accepted_part(1, 2)])
        message = Message(sender_name="Relay", sender_address="relay@example.com",
                          sender_reason="explicit", subject="月度销售报表",
                          html_body="<p>报表已生成。</p>", mode="deferred", status="partial",
                          attempt_count=1, created_at=LATE, last_attempt_at=LATE,
                          sent_at=LATE + timedelta(seconds=2), reply_code=250,
                          reply_text="2.0.0 Ok", diagnosis=diagnosis,
                          template_name="Monthly report", resource="/reports/sales/monthly")
        message.set_recipients(["alice@example.org", "gone@example.org"])
        db.session.add(message)
        db.session.flush()
        db.session.add(Attempt(message_pk=message.id, number=1, started_at=LATE,
                               finished_at=LATE + timedelta(seconds=2), outcome="partial",
                               step="rcpt", reply_code=550, reply_text="5.1.1 User unknown",
                               diagnosis=diagnosis))
        db.session.execute(insert(AuditEntry), [dict(
            created_at=LATE, actor_label="root", client_ip="10.0.0.1", action="create",
            object_type="team", object_label="夜班", changes={"name": [None, "夜班"]})])
        db.session.commit()
        return message.id


def _locale(app, user_id: int, locale: str) -> None:
    with app.app_context():
        db.session.get(User, user_id).locale = locale
        db.session.commit()


def _fits(page, width: int, name: str) -> None:
    """No sideways scrolling, then a screenshot."""
    assert page.evaluate("document.documentElement.scrollWidth") <= width, name
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)


def test_shanghai_time_on_the_records_page(app, browser, portal_server, world, shanghai):
    """The time zone alone (English pages): passes without the Chinese catalogs."""
    context, page, errors = signed_in(browser, portal_server, 1280, "root")
    page.goto(portal_server.url + "/records")
    link = page.locator(f'a[href$="/messages/{shanghai}"]')
    expect(link).to_have_attribute("title", "2026-03-11 07:30:00 UTC+8")
    expect(link).to_contain_text("07:30")
    expect(page.locator("table.records thead")).to_contain_text("(UTC+8)")
    page.goto(f"{portal_server.url}/messages/{shanghai}")
    expect(page.locator("dl.facts")).to_contain_text("2026-03-11 07:30:00 UTC+8")
    page.goto(portal_server.url + "/audit")
    expect(page.locator("table.audit tbody")).to_contain_text("07:30")
    assert errors == [] and page.evaluate("window.__csp") == []
    context.close()


@pytest.mark.parametrize("locale", ["zh_Hans_CN", "zh_Hant_TW"])
def test_pages_in_chinese_fit_and_show_local_times(app, browser, portal_server, world,
                                                    shanghai, locale):
    """Needs the merged Chinese catalogs (portal/translations)."""
    _locale(app, world["root"], locale)
    words = WORDS[locale]
    for width in WIDTHS:
        context, page, errors = signed_in(browser, portal_server, width, "root")
        page.goto(portal_server.url + "/compose")
        expect(page.locator("h1")).to_have_text(words["compose"])
        _fits(page, width, f"{locale}-compose")

        page.goto(portal_server.url + "/records")
        expect(page.locator("h1")).to_have_text(words["records"])
        expect(page.locator("table.records thead")).to_contain_text(words["time"])
        row = page.locator("table.records tbody tr").first
        expect(row).to_contain_text("07:30")
        expect(row).to_contain_text(words["partial"])
        _fits(page, width, f"{locale}-records")

        page.goto(f"{portal_server.url}/messages/{shanghai}")
        expect(page.locator("dl.facts")).to_contain_text("2026-03-11 07:30:00 UTC+8")
        expect(page.locator("dl.facts")).to_contain_text(words["partial"])
        _fits(page, width, f"{locale}-message")

        page.goto(portal_server.url + "/audit")
        expect(page.locator("h1")).to_have_text(words["audit"])
        expect(page.locator("table.audit tbody")).to_contain_text("07:30")
        _fits(page, width, f"{locale}-audit")
        assert errors == [] and page.evaluate("window.__csp") == [], (locale, width)
        context.close()
