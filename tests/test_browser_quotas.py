"""In Chromium at 1280 and 360 px: a preset fills the sender's quotas, the fallback is
chosen from the list, and the sender list shows the use against the quota."""

import pytest
from playwright.sync_api import expect

from portal.extensions import db
from portal.senders.models import Sender
from tests.browser_kit import WIDTHS
from tests.test_browser_senders import _clean, _open, _shot

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("width", WIDTHS)
def test_preset_quotas_and_fallback_in_the_form_and_the_list(browser, app, portal_server,
                                                             world, width):
    with app.app_context():
        db.session.add(Sender(name="Backup relay", host="127.0.0.1", port=25,
                              encryption="none", address="backup@example.com",
                              display_name="Backup", mode="deferred", max_connections=1))
        db.session.commit()
    context, page, errors = _open(browser, portal_server, width, "/senders/new")
    page.get_by_label("Preset").select_option(label="Outlook / Microsoft 365")
    expect(page.get_by_label("Messages per minute")).to_have_value("30")
    expect(page.get_by_label("Recipients per 24 hours")).to_have_value("10000")
    expect(page.get_by_label("Recipients per message")).to_have_value("500")
    page.get_by_label("Preset").select_option(label="QQ Mail")  # nothing published
    expect(page.get_by_label("Recipients per 24 hours")).to_have_value("")
    page.get_by_label("Preset").select_option(label="Outlook / Microsoft 365")
    expect(page.get_by_label("Recipients per 24 hours")).to_have_value("10000")
    page.get_by_label("Name", exact=True).fill("Office mailbox")
    page.get_by_label("Sender address").fill("reports@example.com")
    page.get_by_label("Displayed name").fill("Reports")
    page.get_by_label("Fallback sender").select_option(label="Backup relay")
    _shot(page, "quota-form", width)
    _clean(page, errors, width)
    page.get_by_role("button", name="Save sender").click()
    expect(page.get_by_text("Sender “Office mailbox” saved.")).to_be_visible()
    row = page.locator("tr", has_text="Office mailbox")
    expect(row.get_by_text("0 / 10,000 recipients in 24 h")).to_be_visible()
    expect(row.get_by_text("Fallback: Backup relay")).to_be_visible()
    _shot(page, "quota-list", width)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert errors == [] and page.evaluate("window.__csp") == []
    context.close()
