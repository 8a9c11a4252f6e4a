"""In Chromium: add a sender from a preset, send a test mail, make it default, delete it."""

import pytest
from playwright.sync_api import expect

from tests.conftest import PASSWORD
from tests.sender_helpers import AUTH
from tests.test_browser_foundation import sign_in

pytestmark = pytest.mark.browser


def test_sender_lifecycle(page, portal_server, world, smtpd_factory):
    server = smtpd_factory("starttls", auth=AUTH)
    sign_in(page, portal_server, "root", PASSWORD)
    expect(page.get_by_text("Mailbox not configured")).to_be_visible()
    page.get_by_role("link", name="Senders", exact=True).click()
    page.get_by_role("link", name="Add sender").click()

    page.get_by_label("Preset").select_option(label="Outlook / Microsoft 365")
    expect(page.get_by_text("SMTP AUTH must be enabled")).to_be_visible()
    expect(page.get_by_label("Mail server (SMTP)")).to_have_value("smtp.office365.com")
    expect(page.get_by_label("Port")).to_have_value("587")
    expect(page.get_by_label("Encryption", exact=True)).to_have_value("starttls")

    page.get_by_label("Name", exact=True).fill("Local relay")
    page.get_by_label("Mail server (SMTP)").fill(server.host)
    page.get_by_label("Port").fill(str(server.port))
    page.get_by_label("Sender address").fill("robot@example.com")
    page.get_by_label("Displayed name").fill("Reporting")
    page.get_by_label("Password / authorization code").fill(AUTH["robot@example.com"])
    page.get_by_text("CA certificate for a private mail server").click()
    page.get_by_label("CA certificate (PEM)").fill(server.ca_pem)
    page.get_by_label("Test recipient").fill("me@example.org")

    page.evaluate("window.__noReload = true")
    page.get_by_role("button", name="Send test mail").click()
    expect(page.get_by_text("Test mail sent to me@example.org")).to_be_visible()
    assert page.evaluate("window.__noReload") is True
    assert len(server.messages) == 1

    page.get_by_role("button", name="Save sender").click()
    expect(page.get_by_text("Sender “Local relay” saved.")).to_be_visible()
    page.get_by_label("System default sender").select_option(
        label="Local relay <robot@example.com>")
    page.locator("form.default-form").first.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Default sender saved.")).to_be_visible()
    page.reload()
    expect(page.get_by_text("Mailbox not configured")).to_have_count(0)

    page.get_by_role("link", name="Delete Local relay").click()
    expect(page.get_by_text("This is the default sender of its scope")).to_be_visible()
    page.get_by_role("button", name="Delete sender").click()
    expect(page.get_by_text("Sender “Local relay” deleted.")).to_be_visible()
    expect(page.get_by_text("Mailbox not configured")).to_be_visible()
