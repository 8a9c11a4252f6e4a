"""In Chromium at 1280 and 360 px: composing from a template, with the default sender
preselected, blank values refused, the result under the Send button, a reset form, a
deferred result that turns "sent" by itself, and no console errors or CSP violations.

Screenshots of each step go to ``$PORTAL_SHOTS/compose/`` (default: the temporary
folder's ``portal-shots``; never committed) to be looked at.
"""


import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from portal.extensions import db
from portal.outbox.models import Message
from portal.outbox.worker import Worker
from portal.templates_.models import MailTemplate
from tests.browser_kit import REFUSED_FORM, shots, signed_in
from tests.outbox_helpers import AUTH

pytestmark = pytest.mark.browser

SHOTS = shots("compose")


@pytest.fixture
def shipped(app, world):
    with app.app_context():
        template = MailTemplate(name="Order shipped", team_id=world["red"],
                                subject="Your order {{ order_id }} has shipped",
                                html_body="<p>Hello {{ customer }},</p><p>Order {{ order_id }} "
                                          "left our warehouse on {{ date }}.</p>")
        db.session.add(template)
        db.session.commit()


def _open(browser, server, width):
    """A signed-in agent on the compose page; returns (context, page, console errors)."""
    context, page, errors = signed_in(browser, server, width, "red_agent", REFUSED_FORM)
    page.goto(server.url + "/compose")
    expect(page.get_by_role("heading", name="Compose mail")).to_be_visible()
    page.evaluate("window.__noReload = true")
    return context, page, errors


def _shot(page, name, width):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True, caret="initial")


def _stored(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Message))


def _send_watching_the_button(page) -> list[bool]:
    """Click Send; the list gets whether the button was disabled while the request ran
    (filled once the request has gone out)."""
    seen = []

    def look(route):
        seen.append(page.locator("#compose-actions button[type=submit]").is_disabled())
        route.continue_()

    page.route("**/compose", look, times=1)
    page.get_by_role("button", name="Send", exact=True).click()
    return seen


@pytest.mark.parametrize("width", [1280, 360])
def test_compose_from_template(app, browser, portal_server, world, shipped, smtpd_factory,
                               make_smtp_sender, width):
    server = smtpd_factory("plain", auth=AUTH)
    make_smtp_sender(server, name="Red other", team_id=world["red"], mode="immediate")
    red = make_smtp_sender(server, name="Red relay", team_id=world["red"], mode="immediate",
                           is_default=True)
    context, page, errors = _open(browser, portal_server, width)
    expect(page.get_by_label("Send from")).to_have_value(str(red))
    _shot(page, "1-empty", width)

    page.get_by_label("To", exact=True).fill("lead@example.org")
    page.get_by_label("Template").select_option(label="Order shipped (Red)")
    expect(page.get_by_label("Subject")).to_be_disabled()
    expect(page.get_by_label("Subject")).to_have_value("Your order {{ order_id }} has shipped")
    expect(page.get_by_text("come from the template “Order shipped”")).to_be_visible()
    page.get_by_label("customer").fill("Ada")
    page.get_by_role("button", name="Preview").click()
    expect(page.get_by_text("Fill in date, order_id: the template needs them.")).to_be_visible()
    _shot(page, "2-template", width)

    page.get_by_role("button", name="Send", exact=True).click()
    summary = page.locator(".error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("date")
    expect(summary).to_contain_text("order_id")
    expect(page.locator("#var-date-error")).to_be_visible()
    expect(page.get_by_label("customer")).to_have_value("Ada")
    assert _stored(app) == 0 and server.messages == []
    _shot(page, "3-error", width)

    page.get_by_label("date").fill("22 Nov")
    page.get_by_label("order_id").fill("A-17")
    disabled = _send_watching_the_button(page)
    result = page.locator("#compose-result .check-panel")
    expect(result).to_contain_text("Sent to lead@example.org")
    assert disabled == [True]
    expect(result).to_be_in_viewport()
    expect(page.locator(".error-summary")).to_have_count(0)
    send_box = page.get_by_role("button", name="Send", exact=True).bounding_box()
    assert 0 <= result.bounding_box()["y"] - (send_box["y"] + send_box["height"]) < 60
    expect(page.get_by_label("To", exact=True)).to_have_value("")
    expect(page.get_by_label("Template")).to_have_value("")
    expect(page.get_by_label("Subject")).to_be_enabled()
    expect(page.get_by_label("Send from")).to_have_value(str(red))
    assert server.messages[0].message["Subject"] == "Your order A-17 has shipped"
    _shot(page, "4-result", width)

    page.get_by_role("button", name="Send", exact=True).click()  # a second click
    expect(page.locator(".error-summary")).to_be_focused()
    expect(page.locator("#compose-result .check-panel")).to_have_count(0)
    assert len(server.messages) == 1 and _stored(app) == 1
    assert page.evaluate("window.__noReload") is True
    assert errors == [] and page.evaluate("window.__csp") == []
    context.close()


@pytest.mark.parametrize("width", [1280, 360])
def test_deferred_result_turns_sent_without_reload(app, browser, portal_server, world,
                                                   smtpd_factory, make_smtp_sender, width):
    server = smtpd_factory("plain", auth=AUTH)
    make_smtp_sender(server, name="Red queue", team_id=world["red"], mode="deferred",
                     is_default=True)
    context, page, errors = _open(browser, portal_server, width)
    page.get_by_label("To", exact=True).fill("lead@example.org")
    page.get_by_label("Subject").fill("Night figures")
    page.get_by_label("Message (HTML)").fill("<p>All calls handled.</p>")
    page.get_by_role("button", name="Send", exact=True).click()
    result = page.locator("#compose-result .check-panel")
    expect(result).to_contain_text("Queued for lead@example.org")
    assert server.messages == []

    Worker(app).run_once()
    expect(result).to_contain_text("Sent to lead@example.org", timeout=15_000)  # next poll
    expect(result.locator(".pill-sent")).to_be_visible()
    expect(page.locator("#compose-result [hx-trigger]")).to_have_count(0)  # polling stopped
    assert len(server.messages) == 1
    assert page.evaluate("window.__noReload") is True
    assert errors == [] and page.evaluate("window.__csp") == []
    context.close()
