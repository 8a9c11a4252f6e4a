"""In Chromium: the sender pages at 1280 and 360 px.

Add a sender from a preset, send a test mail, make it default (the banner goes at
once), delete it; the list and the form never scroll sideways; a failed Save moves
the focus to the error summary; a running check shows a spinner in place of the old
result with both check buttons disabled; the list's Test button updates its row; a
failed check makes Save ask first. No console errors or CSP violations on the way.

Screenshots go to ``$PORTAL_SHOTS/senders/`` (default: the temporary folder).
"""


import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from portal.crypto import decrypt
from portal.extensions import db
from portal.senders.models import Sender
from tests.browser_kit import REFUSED_FORM, WIDTHS, shots, signed_in
from tests.conftest import PASSWORD
from tests.sender_helpers import AUTH
from tests.test_browser_foundation import sign_in

pytestmark = pytest.mark.browser

SHOTS = shots("senders")


def _open(browser, server, width, path="/senders", username="root"):
    """A signed-in user on ``path``; returns (context, page, console errors)."""
    context, page, errors = signed_in(browser, server, width, username, REFUSED_FORM)
    page.goto(server.url + path)
    page.evaluate("window.__noReload = true")
    return context, page, errors


def _clean(page, errors, width):
    """No sideways scrolling, no console error, no CSP violation, no reload."""
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert errors == [] and page.evaluate("window.__csp") == []
    assert page.evaluate("window.__noReload") is True


def _shot(page, name, width):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True, caret="initial")


def _hold(page, pattern):
    """Hold the requests matching ``pattern`` until ``release`` is called."""
    held = []
    page.route(pattern, lambda route: held.append(route))

    def release():
        for route in held:
            route.continue_()
        page.unroute(pattern)
    return held, release


@pytest.fixture
def senders(app, world, smtpd_factory):
    """A working sender (plain relay, no login) with a long name, and one whose server
    is gone. Returns (working id, broken id, relay)."""
    relay = smtpd_factory("plain")
    with app.app_context():
        rows = [Sender(name="Finance reports sender with a rather long name", host=relay.host,
                       port=relay.port, encryption="none",
                       address="finance-reports-department@example.com",
                       display_name="Reports", mode="immediate", max_connections=1),
                Sender(name="Old relay", host="127.0.0.1", port=9, encryption="none",
                       address="old@example.com", display_name="Old", mode="deferred",
                       max_connections=1, team_id=world["red"])]
        db.session.add_all(rows)
        db.session.commit()
        return rows[0].id, rows[1].id, relay


def test_sender_lifecycle(page, portal_server, world, smtpd_factory):
    server = smtpd_factory("starttls", auth=AUTH)
    sign_in(page, portal_server, "root", PASSWORD)
    expect(page.get_by_text("Mailbox not configured")).to_be_visible()
    page.get_by_role("link", name="Senders", exact=True).first.click()
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

    page.get_by_role("button", name="Save sender").click()  # the check passed: no question
    expect(page.get_by_text("Sender “Local relay” saved.")).to_be_visible()
    expect(page.locator("tr", has_text="Local relay").locator(".pill-ok")).to_be_visible()
    page.wait_for_load_state("load")  # htmx has taken over the forms of the new page
    page.evaluate("window.__noReload = true")
    page.get_by_label("System default sender").select_option(
        label="Local relay <robot@example.com>")
    page.locator("form.default-form").first.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Default sender saved.")).to_be_visible()
    expect(page.get_by_text("Mailbox not configured")).to_have_count(0)  # without a reload
    assert page.evaluate("window.__noReload") is True

    page.get_by_role("link", name="Delete Local relay").click()
    expect(page.get_by_text("This is the default sender of its scope")).to_be_visible()
    page.get_by_role("button", name="Delete sender").click()
    expect(page.get_by_text("Sender “Local relay” deleted.")).to_be_visible()
    expect(page.get_by_text("Mailbox not configured")).to_be_visible()


@pytest.mark.parametrize("width", WIDTHS)
def test_list_fits_and_the_row_test_button_updates_its_row(browser, portal_server, senders,
                                                            width):
    working, broken, relay = senders
    context, page, errors = _open(browser, portal_server, width)
    row = page.locator(f"#sender-{working}")
    expect(row.get_by_text("never tested")).to_be_visible()
    expect(page.locator(f"#sender-{broken}").get_by_text("never tested")).to_be_visible()
    _shot(page, "list", width)

    held, release = _hold(page, "**/test")
    button = row.get_by_role("button", name="Test Finance reports sender with a rather long")
    button.click()
    expect(row.get_by_text("Checking…")).to_be_visible()
    expect(row.get_by_text("never tested")).to_be_hidden()
    expect(button).to_be_disabled()
    release()
    expect(row.locator(".pill-ok")).to_have_text("OK")
    expect(button).to_be_enabled()
    assert relay.messages == []  # Test connection sends nothing

    other = page.locator(f"#sender-{broken}")
    other.get_by_role("button", name="Test Old relay").click()
    expect(other.get_by_text("server unreachable")).to_be_visible()
    expect(other.locator(".pill-failed")).to_be_visible()
    expect(row.locator(".pill-ok")).to_be_visible()  # the other row is untouched
    _shot(page, "list-tested", width)
    _clean(page, errors, width)
    context.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_failed_save_moves_the_focus_to_the_error_summary(browser, portal_server, world,
                                                          width):
    context, page, errors = _open(browser, portal_server, width, "/senders/new")
    _shot(page, "form-empty", width)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.get_by_label("Port").fill("0")
    page.get_by_role("button", name="Save sender").click()
    summary = page.locator(".error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_be_in_viewport()
    expect(summary).to_contain_text("Port must be a number between 1 and 65535.")
    expect(summary.get_by_role("link")).to_have_count(5)  # host, port, name, address, shown name
    summary.get_by_role("link", name="Sender address").click()
    expect(page.get_by_label("Sender address")).to_be_focused()
    _shot(page, "form-errors", width)
    _clean(page, errors, width)
    context.close()


def _fill(page, host, port, **fields):
    page.get_by_label("Name", exact=True).fill(fields.get("name", "Relay"))
    page.get_by_label("Mail server (SMTP)").fill(host)
    page.get_by_label("Port").fill(str(port))
    page.get_by_label("Encryption", exact=True).select_option("none")
    page.get_by_label("Sender address").fill("robot@example.com")
    page.get_by_label("Displayed name").fill("Reporting")
    if "password" in fields:
        page.get_by_label("Password / authorization code").fill(fields["password"])
        page.get_by_label("Allow login without encryption").check()


@pytest.mark.parametrize("width", WIDTHS)
def test_a_running_check_shows_a_spinner_instead_of_the_old_result(
        app, browser, portal_server, world, smtpd_factory, width):
    from portal.auth.models import User

    with app.app_context():
        db.session.get(User, world["root"]).email = "root@corp.local"
        db.session.commit()
    server = smtpd_factory("plain", auth=AUTH)
    context, page, errors = _open(browser, portal_server, width, "/senders/new")
    expect(page.get_by_label("Test recipient")).to_have_value("root@corp.local")
    _fill(page, server.host, server.port, password="wrong")
    connection = page.get_by_role("button", name="Test connection")
    mail = page.get_by_role("button", name="Send test mail")
    connection.click()
    old = page.locator("#check-result .check-panel")
    expect(old).to_contain_text("Connection failed")

    held, release = _hold(page, "**/senders/check")
    page.get_by_label("Password / authorization code").fill(AUTH["robot@example.com"])
    mail.click()
    expect(page.get_by_text("Checking…")).to_be_visible()
    expect(old).to_be_hidden()
    expect(connection).to_be_disabled()
    expect(mail).to_be_disabled()
    _shot(page, "form-checking", width)
    release()
    result = page.locator("#check-result .check-panel")
    expect(result).to_have_count(1)  # the new result replaced the old one
    expect(result).to_contain_text("Test mail sent to root@corp.local")
    expect(page.get_by_text("Checking…")).to_be_hidden()
    expect(connection).to_be_enabled()
    expect(mail).to_be_enabled()
    assert [m.rcpt_tos for m in server.messages] == [["root@corp.local"]]
    _shot(page, "form-check-result", width)
    _clean(page, errors, width)
    context.close()


def test_save_after_a_failed_check_asks_and_keeps_the_typed_password(
        app, browser, portal_server, world, smtpd_factory):
    server = smtpd_factory("plain", auth=AUTH)
    context, page, errors = _open(browser, portal_server, 1280, "/senders/new")
    _fill(page, server.host, server.port, name="Doubtful", password="wrong-code")
    page.get_by_role("button", name="Test connection").click()
    expect(page.locator("#check-result")).to_contain_text("Connection failed")
    page.get_by_role("button", name="Save sender").click()
    question = page.locator("#save-confirm-box")
    expect(question).to_be_focused()
    expect(question).to_contain_text("login refused")
    _shot(page, "form-confirm", 1280)
    with app.app_context():
        assert db.session.scalar(select(Sender)) is None
    page.get_by_role("button", name="Save anyway").click()
    expect(page.get_by_text("Sender “Doubtful” saved.")).to_be_visible()
    expect(page.locator("tr", has_text="Doubtful")).to_contain_text("login refused")
    with app.app_context():
        sender = db.session.scalar(select(Sender))
        assert decrypt(sender.password_encrypted) == "wrong-code"
        assert sender.last_check_ok is False
    assert errors == [] and page.evaluate("window.__csp") == []
    context.close()
