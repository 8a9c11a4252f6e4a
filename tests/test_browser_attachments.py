"""In Chromium at 1280 and 360 px: attaching files on the compose page, seeing their
names and sizes, a refused send keeping them, removing one, and sending the rest intact
with their Chinese names; no console errors or CSP violations.

Screenshots go to ``$PORTAL_SHOTS/attachments/`` (never committed)."""

import os

import pytest
from playwright.sync_api import expect

from portal.extensions import db
from portal.senders.models import Sender
from tests.attachment_helpers import PDF, XLSX, assert_both_names, attachments_of
from tests.browser_kit import REFUSED_FORM, shots, signed_in
from tests.outbox_helpers import AUTH

pytestmark = pytest.mark.browser

SHOTS = shots("attachments")


@pytest.mark.parametrize("width", [1280, 360])
def test_attach_remove_and_send(app, browser, portal_server, world, smtpd_factory,
                                make_smtp_sender, width):
    server = smtpd_factory("plain", auth=AUTH)
    sender = make_smtp_sender(server, name="Red relay", team_id=world["red"],
                              mode="immediate", is_default=True)
    with app.app_context():
        db.session.get(Sender, sender).max_message_bytes = 1024 * 1024
        db.session.commit()
    context, page, errors = signed_in(browser, portal_server, width, "red_agent", REFUSED_FORM)
    page.goto(portal_server.url + "/compose")
    page.evaluate("window.__noReload = true")
    page.get_by_label("To", exact=True).fill("lead@example.org")
    page.get_by_label("Subject").fill("Monthly figures")
    page.get_by_label("Message (HTML)").fill("<p>Attached.</p>")
    sheet, pdf, big = os.urandom(3000), os.urandom(40_000), os.urandom(900_000)
    files = page.get_by_label("Attachments")
    files.set_input_files([{"name": XLSX, "mimeType": "application/octet-stream",
                            "buffer": sheet},
                           {"name": "big.bin", "mimeType": "application/octet-stream",
                            "buffer": big}])
    files.set_input_files([{"name": PDF, "mimeType": "application/pdf", "buffer": pdf}])
    listed = page.locator("#attachment-list li")
    expect(listed).to_have_count(3)  # choosing again adds to the list
    expect(listed.nth(0)).to_contain_text(XLSX)
    expect(listed.nth(0)).to_contain_text("2.9 KB")
    expect(listed.nth(1)).to_contain_text("878.9 KB")

    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.locator("#attachments-error")).to_contain_text("1 MB")
    expect(listed).to_have_count(3)  # kept after the refusal
    assert server.messages == []
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"refused-{width}.png"), full_page=True)

    page.get_by_role("button", name="Remove: big.bin").click()
    expect(listed).to_have_count(2)
    expect(page.locator("#attachment-list")).not_to_contain_text("big.bin")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.locator("#compose-result .check-panel")).to_contain_text(
        "Sent to lead@example.org")
    expect(page.locator("#attachment-list li")).to_have_count(0)
    (received,) = server.messages
    found = attachments_of(received)
    assert sorted(found) == sorted([XLSX, PDF])
    assert found[XLSX].get_content() == sheet and found[PDF].get_content() == pdf
    assert_both_names(received.content, [XLSX, PDF])
    page.screenshot(path=str(SHOTS / f"sent-{width}.png"), full_page=True)
    assert page.evaluate("window.__noReload") is True
    assert errors == [] and page.evaluate("window.__csp") == []
    context.close()
