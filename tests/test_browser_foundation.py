"""In Chromium: sign in through the real login page and create a team via htmx."""

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def sign_in(page, server, username, password):
    page.goto(server.url + "/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    # Any language: signed in once the browser has left the sign-in page.
    page.wait_for_url(lambda url: "/login" not in url)
    expect(page.locator("form[action$='/logout']").first).to_be_attached()


def test_sign_in_and_create_team_without_reload(page, portal_server, world):
    from tests.conftest import PASSWORD

    sign_in(page, portal_server, "root", PASSWORD)
    page.get_by_role("link", name="Teams", exact=True).click()
    page.evaluate("window.__noReload = true")
    page.get_by_label("Team name").fill("Night shift")
    page.get_by_role("button", name="Create team").click()
    expect(page.get_by_role("cell", name="Night shift", exact=True)).to_be_visible()
    expect(page.get_by_text("Team “Night shift” created.")).to_be_visible()
    assert page.evaluate("window.__noReload") is True

    page.get_by_role("button", name="Create team").click()
    expect(page.get_by_text("Enter a team name.")).to_be_visible()

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete Night shift").click()
    expect(page.get_by_text("Team “Night shift” deleted.")).to_be_visible()
    expect(page.get_by_role("cell", name="Night shift", exact=True)).to_have_count(0)
    assert page.evaluate("window.__noReload") is True


def test_wrong_password_in_browser(page, portal_server, world):
    page.goto(portal_server.url + "/")
    page.get_by_label("Username").fill("root")
    page.get_by_label("Password").fill("nope")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("Wrong username or password.")).to_be_visible()


def test_small_screen_keyboard_sign_in(browser, portal_server, world):
    from tests.conftest import PASSWORD

    context = browser.new_context(viewport={"width": 360, "height": 740})
    page = context.new_page()
    page.goto(portal_server.url + "/login")
    page.keyboard.type("root")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_text("Signed in as")).to_be_visible()
    page.wait_for_load_state("load")
    width = page.evaluate("document.documentElement.scrollWidth")
    wide = page.evaluate("""[...document.querySelectorAll('body *')]
        .filter(e => e.getBoundingClientRect().right > 362)
        .map(e => e.tagName + '.' + e.className + ' ' + (e.textContent || '').slice(0, 40))""")
    assert width <= 360, wide[:8]
    context.close()
