"""In Chromium at 1280 and 360 px: the header is one line and the same for every role,
no main page scrolls sideways, no page logs a console error or breaks the CSP, and
back/forward on the records page puts the filters back into their boxes."""

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from portal.extensions import db
from portal.outbox.models import Message
from portal.senders.models import Sender
from portal.tokens.models import ApiToken
from tests.browser_kit import WIDTHS, signed_in

pytestmark = pytest.mark.browser

# Every page walked is also saved as a picture here, to be looked at (not committed).
SHOTS = Path(os.environ.get("PORTAL_SCREENSHOTS",
                            Path(__file__).resolve().parent.parent / "screenshots"))
ADMIN_PAGES = ["/", "/compose", "/records", "/messages/1", "/messages/5",
               "/messages/5/cancel", "/audit", "/senders", "/senders/new", "/senders/1",
               "/templates", "/templates/new", "/tokens", "/tokens/new", "/tokens/1/callback",
               "/teams", "/users"]
AGENT_PAGES = ["/", "/compose", "/records", "/messages/1"]
# Records the CSP violations a page meets (they are not always console errors).


@pytest.fixture
def lived_in(app, world):
    """Senders with long names and a few messages, so tables have real content."""
    with app.app_context():
        db.session.add(Sender(name="Finance reports sender with a long name",
                              host="smtp.example.com", port=587, encryption="starttls",
                              address="finance-reports-department@example.com",
                              display_name="Reports", mode="deferred", team_id=world["red"]))
        now = datetime.now(UTC)
        for i, status in enumerate(("sent", "partial", "failed", "queued", "scheduled")):
            message = Message(sender_name="Finance reports sender with a long name",
                              sender_address="finance-reports-department@example.com",
                              sender_reason="team default", subject="Weekly inventory summary for "
                              "the Shanghai and Shenzhen warehouses " * 2, mode="deferred",
                              status=status, attempt_count=1, team_id=world["red"],
                              user_id=world["red_agent"], reply_code=250,
                              resource=f"/reports/inventory/{i}", client_ip="10.20.30.40",
                              template_name="Weekly inventory", created_at=now - timedelta(i),
                              next_attempt_at=now + timedelta(days=1)
                              if status == "scheduled" else None)
            message.set_recipients(["cfo.office.long.address@subsidiary.example.com",
                                    "finance.team@example.com"])
            db.session.add(message)
        token = ApiToken(name="Inventory scheduler", team_id=world["red"], token_hash="0" * 64,
                         prefix="mbp_abcd", callback_url="https://reports.example.local/"
                         "mailbox/callbacks/inventory-department-long-path",
                         callback_last_at=now, callback_last_status=500)
        db.session.add(token)
        db.session.commit()
    return world


def _signed_in(browser, server, username, width):
    return signed_in(browser, server, width, username)


def _walk(page, server, paths, name: str) -> dict:
    """{path: (header height, page width, CSP violations)} for each page, each saved as
    ``screenshots/NAME_PATH.png``."""
    seen = {}
    SHOTS.mkdir(exist_ok=True)
    for path in paths:
        page.goto(server.url + path)
        page.wait_for_load_state("load")
        slug = path.strip("/").replace("/", "-") or "home"
        page.screenshot(path=SHOTS / f"{name}_{slug}.png", full_page=True)
        seen[path] = (page.evaluate("document.querySelector('header').offsetHeight"),
                      page.evaluate("document.documentElement.scrollWidth"),
                      page.evaluate("window.__csp"))
    return seen


def _judge(seen: dict, errors: list, username: str, width: int, heights: set,
           problems: list) -> None:
    """Collect the header heights of the walked pages, and every page wider than the
    window, every CSP violation and every console error as a problem."""
    for path, (header, page_width, csp) in seen.items():
        heights.add(header)
        if page_width > width:
            problems.append(f"{username} {path}: {page_width} px wide")
        problems.extend(f"{username} {path}: CSP {v}" for v in csp)
    problems.extend(f"{username}: console {text}" for text in errors)


@pytest.mark.parametrize("width", WIDTHS)
def test_pages_fit_and_stay_clean_for_every_role(browser, portal_server, lived_in, width):
    heights, problems = set(), []
    team_page = f"/teams/{lived_in['red']}"
    for username, paths in (("root", [*ADMIN_PAGES, team_page, "/directory"]),
                            ("red_admin", [*ADMIN_PAGES[:-1], team_page]),
                            ("red_agent", AGENT_PAGES)):
        context, page, errors = _signed_in(browser, portal_server, username, width)
        _judge(_walk(page, portal_server, paths, f"{width}_{username}"), errors, username,
               width, heights, problems)
        context.close()
    assert problems == []
    assert len(heights) == 1, heights        # the same header for every role and page
    assert heights.pop() <= 64               # one line: brand, navigation, user menu


def test_records_table_fits_without_sideways_scrolling(browser, portal_server, lived_in):
    context, page, _errors = _signed_in(browser, portal_server, "root", 1280)
    page.goto(portal_server.url + "/records")
    wrap = page.locator("#records .table-wrap")
    assert wrap.evaluate("w => w.scrollWidth <= w.clientWidth")
    first = page.locator("table.records tbody tr").first
    # The compact time keeps the full time on hover; a long subject keeps its full text.
    assert first.locator("td").first.locator("a").get_attribute("title").endswith("UTC")
    assert first.locator("td").nth(0).evaluate("td => td.offsetHeight") < 80
    context.close()


def test_narrow_screens_get_a_menu(browser, portal_server, lived_in):
    context, page, _errors = _signed_in(browser, portal_server, "root", 360)
    expect(page.get_by_role("link", name="Audit")).to_be_hidden()
    page.get_by_text("Menu", exact=True).click()
    page.get_by_role("link", name="Audit").click()
    expect(page).to_have_url(portal_server.url + "/audit")
    context.close()


def test_back_and_forward_restore_the_filter_boxes(browser, portal_server, lived_in):
    context, page, errors = _signed_in(browser, portal_server, "root", 1280)
    page.goto(portal_server.url + "/records")
    page.get_by_label("Recipient contains").fill("cfo")
    expect(page).to_have_url(f"{portal_server.url}/records?recipient=cfo")
    page.get_by_label("Result").select_option("failed")
    expect(page).to_have_url(f"{portal_server.url}/records?recipient=cfo&result=failed")
    expect(page.locator("table.records tbody tr")).to_have_count(1)

    page.go_back()
    expect(page).to_have_url(f"{portal_server.url}/records?recipient=cfo")
    expect(page.get_by_label("Result")).to_have_value("")
    expect(page.get_by_label("Recipient contains")).to_have_value("cfo")
    expect(page.locator("table.records tbody tr")).to_have_count(5)
    page.go_back()
    expect(page.get_by_label("Recipient contains")).to_have_value("")
    page.go_forward()
    expect(page).to_have_url(f"{portal_server.url}/records?recipient=cfo")
    page.go_forward()
    expect(page).to_have_url(f"{portal_server.url}/records?recipient=cfo&result=failed")
    expect(page.get_by_label("Result")).to_have_value("failed")
    expect(page.get_by_label("Recipient contains")).to_have_value("cfo")
    expect(page.locator("table.records tbody tr")).to_have_count(1)
    assert errors == [] and page.evaluate("window.__csp") == []
    context.close()


@pytest.mark.parametrize("locale, lang, word", [("zh_Hans_CN", "zh-Hans", "发件人"),
                                                ("zh_Hant_TW", "zh-Hant", "發件人")])
@pytest.mark.parametrize("width", WIDTHS)
def test_chinese_pages_fit_and_stay_clean(browser, app, portal_server, lived_in, width,
                                          locale, lang, word):
    """The same walk in each Chinese locale: longer or denser text must not break the
    one-line header or push a page sideways."""
    from portal.auth.models import User

    with app.app_context():
        for user in db.session.scalars(db.select(User)):
            user.locale = locale
        db.session.commit()
    heights, problems = set(), []
    team_page = f"/teams/{lived_in['red']}"
    for username, paths in (("root", [*ADMIN_PAGES, team_page, "/directory"]),
                            ("red_agent", AGENT_PAGES)):
        context, page, errors = _signed_in(browser, portal_server, username, width)
        seen = _walk(page, portal_server, paths, f"{locale}_{width}_{username}")
        assert page.evaluate("document.documentElement.lang") == lang
        expect(page.locator("header")).to_contain_text(word if username == "root" else "")
        _judge(seen, errors, username, width, heights, problems)
        context.close()
    assert problems == []
    assert len(heights) == 1 and heights.pop() <= 64, heights
