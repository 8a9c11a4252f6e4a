"""In Chromium: live recipient filter, URL state, reload, and the filtered export."""

from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from portal.extensions import db
from portal.outbox.models import Message
from tests.conftest import PASSWORD
from tests.test_browser_foundation import sign_in

pytestmark = pytest.mark.browser


def test_live_filter_url_reload_and_export(app, page, portal_server, world):
    with app.app_context():
        for to in ("alice@example.org", "bob@example.org", "alina@example.net"):
            message = Message(sender_name="Relay", sender_address="relay@example.com",
                              sender_reason="explicit", subject=f"For {to}", mode="deferred",
                              status="sent", attempt_count=1, created_at=datetime.now(UTC))
            message.set_recipients([to])
            db.session.add(message)
        db.session.commit()
    sign_in(page, portal_server, "root", PASSWORD)
    page.get_by_role("link", name="Records", exact=True).click()
    expect(page.locator("table.records tbody tr")).to_have_count(3)
    page.evaluate("window.__noReload = true")
    page.get_by_label("Recipient contains").fill("ali")
    expect(page.locator("table.records tbody tr")).to_have_count(2)
    assert page.evaluate("window.__noReload") is True
    expect(page).to_have_url(f"{portal_server.url}/records?recipient=ali")

    page.reload()
    expect(page.get_by_label("Recipient contains")).to_have_value("ali")
    expect(page.locator("table.records tbody tr")).to_have_count(2)

    with page.expect_download() as info:
        page.get_by_role("link", name="CSV").click()
    lines = open(info.value.path(), encoding="utf-8").read().strip().splitlines()
    assert len(lines) == 3 and "bob@example.org" not in "".join(lines)
