"""In Chromium at 1280 and 360 px: the Templates, API tokens, Teams and Users pages.

Every page fits the width (no sideways scrolling), logs no console error and breaks
no CSP rule, also after its htmx swaps: the template preview with a syntax error in
plain words, creating a token and copying it (the status region says "Copied"),
renaming a team in its row, searching users.

Screenshots go to ``$PORTAL_SHOTS/admin-pages/`` (default: the temporary folder).
"""


import pytest
from playwright.sync_api import expect

from portal.cli import SYSTEM
from portal.extensions import db
from portal.senders.models import Sender
from portal.templates_.models import MailTemplate
from portal.tokens import service as tokens
from tests.browser_kit import WIDTHS, shots, signed_in

pytestmark = pytest.mark.browser

SHOTS = shots("admin-pages")
LONG = "Quarterly revenue reconciliation for the northern region distribution centres"


def _seed(app, world) -> dict:
    """Long names on purpose: they are what pushes a page sideways."""
    with app.app_context():
        sender = Sender(name="Red mailbox", team_id=world["red"], host="127.0.0.1", port=2525,
                        encryption="none", address="reports-department@example.com",
                        display_name="Reports", mode="immediate", is_default=True,
                        max_connections=1)
        template = MailTemplate(name=LONG, team_id=world["red"], html_body="<p>{{ name }}</p>",
                                subject=LONG + " {{ quarter }} " + LONG)
        db.session.add_all([sender, template])
        token, _secret = tokens.create_token(SYSTEM, LONG, world["red"])
        db.session.commit()
        return {"template": template.id, "token": token.id}


def _pages(world, ids) -> list[str]:
    return ["/templates", "/templates/new", f"/templates/{ids['template']}",
            f"/templates/{ids['template']}/delete", "/tokens", "/tokens/new",
            f"/tokens/{ids['token']}/revoke", f"/tokens/teams/{world['red']}/revoke-all",
            "/teams", f"/teams/{world['red']}", "/users", "/users/new",
            f"/users/{world['red_admin']}"]


def _open(browser, server, width):
    """A signed-in system admin; returns (context, page, console errors)."""
    context, page, errors = signed_in(browser, server, width, "root")
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    return context, page, errors


def _check(page, width: int, name: str, problems: list) -> None:
    """Screenshot the page; note sideways scrolling and CSP violations."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
    scroll = page.evaluate("document.documentElement.scrollWidth")
    if scroll > width:
        problems.append(f"{name}: {scroll} px wide")
    problems.extend(f"{name}: CSP {v}" for v in page.evaluate("window.__csp || []"))


@pytest.mark.parametrize("width", WIDTHS)
def test_admin_pages_fit_and_stay_clean(app, browser, portal_server, world, width):
    ids = _seed(app, world)
    context, page, errors = _open(browser, portal_server, width)
    problems = []
    for path in _pages(world, ids):
        page.goto(portal_server.url + path)
        page.wait_for_load_state("load")
        _check(page, width, path.strip("/").replace("/", "_"), problems)
    context.close()
    assert problems == [] and errors == []


@pytest.mark.parametrize("width", WIDTHS)
def test_create_a_token_and_copy_it(app, browser, portal_server, world, width):
    context, page, errors = _open(browser, portal_server, width)
    page.goto(portal_server.url + "/tokens")
    page.get_by_role("button", name="New token").click()
    page.get_by_label("Name").fill("Nightly sales report")
    page.get_by_role("button", name="Create token").click()
    secret = page.locator("#token-secret")
    expect(secret).to_have_attribute("readonly", "")
    status = page.locator("#token-copy-status")
    expect(status).to_have_attribute("aria-live", "polite")
    expect(status).to_have_text("")
    page.get_by_role("button", name="Copy").click()
    expect(status).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == secret.input_value()
    problems = []
    _check(page, width, "token-created", problems)
    context.close()
    assert problems == [] and errors == []


@pytest.mark.parametrize("width", WIDTHS)
def test_htmx_swaps_on_these_pages_stay_clean(app, browser, portal_server, world, width):
    """Preview, inline rename and search swap parts of the page: still no error or
    violation, and the template editor explains a syntax error in plain words."""
    context, page, errors = _open(browser, portal_server, width)
    problems = []
    page.goto(portal_server.url + "/templates/new")
    page.get_by_label("Subject").fill("Hello")
    page.get_by_label("HTML body").fill("<p>Hi</p>\n{% if paid %}\n<p>Thanks</p>")
    expect(page.locator("#template-preview")).to_contain_text(
        "Line 2 of the HTML body: the {% if %} block opened here is not closed with "
        "{% endif %}.")
    _check(page, width, "template-syntax-error", problems)
    page.goto(portal_server.url + "/teams")
    page.get_by_role("button", name="Rename Red").click()
    expect(page.get_by_label("New name for “Red”")).to_be_focused()
    _check(page, width, "team-rename", problems)
    page.get_by_role("button", name="Cancel").click()
    expect(page.get_by_role("button", name="Rename Red")).to_be_visible()
    page.goto(portal_server.url + "/users")
    page.get_by_label("Search users").fill("blue")
    expect(page.get_by_role("link", name="red_admin")).to_have_count(0)
    expect(page.get_by_role("link", name="blue_admin")).to_be_visible()
    _check(page, width, "users-search", problems)
    context.close()
    assert problems == [] and errors == []
