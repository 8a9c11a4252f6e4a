"""In Chromium at 360 px: no page scrolls sideways (tables scroll inside their frame)."""

import pytest

from portal.extensions import db
from portal.senders.models import Sender
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser
PAGES = ["/", "/compose", "/records", "/senders", "/senders/new", "/templates", "/tokens",
         "/teams", "/users", "/audit"]


def test_pages_fit_a_small_screen(app, browser, portal_server, world):
    with app.app_context():
        db.session.add(Sender(name="A sender with a rather long name", host="smtp.example.com",
                              port=587, encryption="starttls",
                              address="reports-department@example.com",
                              display_name="Reports", mode="deferred", max_connections=1))
        db.session.commit()
    context = browser.new_context(viewport={"width": 360, "height": 740})
    page = context.new_page()
    page.goto(portal_server.url + "/login")
    page.get_by_label("Username").fill("root")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(portal_server.url + "/")
    too_wide = {}
    for path in PAGES:
        page.goto(portal_server.url + path)
        page.wait_for_load_state("load")
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > 360:
            too_wide[path] = width
    context.close()
    assert too_wide == {}
