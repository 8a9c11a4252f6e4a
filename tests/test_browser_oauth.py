"""In Chromium: a delegated OAuth2 sender, from the preset to a sent test mail.

The admin picks "Microsoft 365 (OAuth2)", chooses delegated sign-in, points the
endpoints (under Advanced) at the local provider, saves, clicks "Sign in with
Microsoft", accepts on the provider's consent page and lands back on the sender form,
which names the connected account; a test mail then goes out with XOAUTH2. The form
shows only the fields of the chosen authentication method. No console errors or CSP
violations on the way. Screenshots go to ``$PORTAL_SHOTS/oauth/``.
"""

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from portal.crypto import decrypt
from portal.extensions import db
from portal.mail.oauth import forget
from portal.senders.models import Sender
from tests.browser_kit import REFUSED_FORM, WIDTHS, shots, signed_in
from tests.oauth_servers import ACCOUNT, CLIENT_ID, TENANT

pytestmark = pytest.mark.browser
SHOTS = shots("oauth")


@pytest.mark.parametrize("width", WIDTHS)
def test_delegated_sign_in_end_to_end(app, browser, portal_server, world, oauth_provider,
                                      xoauth2_smtpd, width):
    forget()
    server = xoauth2_smtpd("starttls")
    context, page, errors = signed_in(browser, portal_server, width, "root", REFUSED_FORM)
    page.goto(portal_server.url + "/senders/new")
    expect(page.locator("#oauth-box")).to_be_hidden()  # password is the default method
    page.get_by_label("Preset").select_option(label="Microsoft 365 (OAuth2)")
    expect(page.get_by_text("SMTP.SendAsApp")).to_be_visible()
    expect(page.locator("#oauth-box")).to_be_visible()
    expect(page.get_by_label("Password / authorization code")).to_be_hidden()

    _fill_delegated_sender(page, server, oauth_provider)
    page.get_by_role("button", name="Save sender").click()
    expect(page.get_by_text("Sender “M365 robot” saved.")).to_be_visible()

    page.get_by_role("link", name="Edit M365 robot").click()
    expect(page.get_by_text(f"{portal_server.url}/senders/oauth/callback")).to_be_visible()
    page.get_by_role("button", name="Sign in with Microsoft").click()
    expect(page.get_by_text("Scope: https://outlook.office.com/SMTP.Send")).to_be_visible()
    page.get_by_role("button", name="Accept").click()
    expect(page.get_by_text(f"Connected as {ACCOUNT}.")).to_be_visible()
    expect(page.get_by_role("button", name="Reconnect")).to_be_visible()
    page.get_by_label("Test recipient").fill("me@example.org")
    page.get_by_role("button", name="Send test mail").click()
    expect(page.get_by_text("Test mail sent to me@example.org")).to_be_visible()
    expect(page.get_by_text(f"got a token for {ACCOUNT}")).to_be_visible()
    page.screenshot(path=str(_shot_path("connected", width)), full_page=True)
    assert len(server.messages) == 1 and server.xoauth2_users == [ACCOUNT]

    with app.app_context():
        sender = db.session.scalar(select(Sender).where(Sender.name == "M365 robot"))
        assert sender.oauth_account == ACCOUNT
        assert decrypt(sender.oauth_refresh_token_encrypted) in oauth_provider.refresh
        assert not any(token in sender.oauth_refresh_token_encrypted
                       for token in oauth_provider.refresh)
    body = page.content()
    assert not any(secret in body for secret in oauth_provider.issued_secrets)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert errors == [] and page.evaluate("window.__csp") == []
    context.close()


def _fill_delegated_sender(page, server, provider):
    """The rest of the form: the local SMTP server, delegated sign-in, local endpoints."""
    page.get_by_label("Name", exact=True).fill("M365 robot")
    page.get_by_label("Mail server (SMTP)").fill(server.host)
    page.get_by_label("Port").fill(str(server.port))
    page.get_by_label("Sender address").fill(ACCOUNT)
    page.get_by_label("Displayed name").fill("Robot")
    page.get_by_label("Sign-in").select_option("delegated")
    page.get_by_label("Tenant (directory) ID").fill(TENANT)
    page.get_by_label("Client (application) ID").fill(CLIENT_ID)
    page.get_by_text("Advanced: endpoints and scope").click()
    page.get_by_label("Token URL").fill(provider.token_url())
    page.get_by_label("Authorization URL").fill(provider.authorize_url())
    page.get_by_text("CA certificate for a private mail server").click()
    page.get_by_label("CA certificate (PEM)").fill(server.ca_pem)


def _shot_path(name, width):
    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS / f"{name}-{width}.png"
