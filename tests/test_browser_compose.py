"""In Chromium: an agent composes from a template and sees the inline success."""

import pytest
from playwright.sync_api import expect

from portal.extensions import db
from portal.templates_.models import MailTemplate
from tests.conftest import PASSWORD
from tests.outbox_helpers import AUTH
from tests.test_browser_foundation import sign_in

pytestmark = pytest.mark.browser


def test_agent_composes_from_template(app, page, portal_server, world, smtpd_factory,
                                      make_smtp_sender):
    server = smtpd_factory("starttls", auth=AUTH)
    make_smtp_sender(server, name="Red relay", team_id=world["red"], mode="immediate")
    with app.app_context():
        db.session.add(MailTemplate(name="Shift report", team_id=world["red"],
                                    subject="Shift {{ shift }} summary",
                                    html_body="<p>Calls handled: {{ calls }}</p>"))
        db.session.commit()

    sign_in(page, portal_server, "red_agent", PASSWORD)
    page.get_by_role("link", name="Compose").click()
    page.get_by_label("Send from").select_option(index=1)
    page.get_by_label("To", exact=True).fill("lead@example.org")
    page.get_by_label("Template").select_option(label="Shift report (Red)")
    page.get_by_label("shift").fill("night")
    page.get_by_label("calls").fill("42")
    page.get_by_role("button", name="Preview").click()
    expect(page.get_by_text("Shift night summary")).to_be_visible()
    page.evaluate("window.__noReload = true")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_text("Sent to lead@example.org")).to_be_visible()
    assert page.evaluate("window.__noReload") is True
    assert len(server.messages) == 1
    assert server.messages[0].message["Subject"] == "Shift night summary"
