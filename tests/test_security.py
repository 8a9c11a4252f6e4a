"""Security headers: a strict CSP that htmx and the sandboxed mail previews live with."""

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from portal.extensions import db
from portal.outbox.models import Message
from portal.security import CONTENT_SECURITY_POLICY
from tests.conftest import PASSWORD, login
from tests.test_browser_foundation import sign_in

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
MAIL_HTML = ('<h1>Quarterly figures</h1><p style="color: rgb(255, 0, 0)" id="styled">Red?</p>'
             '<style>h1 { color: rgb(0, 128, 0); }</style><img src="https://example.com/t.gif">'
             '<script>document.getElementById("styled").textContent = "script ran"</script>')


def _directives() -> dict:
    parts = (p.strip().split() for p in CONTENT_SECURITY_POLICY.split(";"))
    return {p[0]: p[1:] for p in parts if p}


def test_policy_allows_only_own_scripts_and_styles():
    found = _directives()
    assert found["default-src"] == ["'self'"]
    assert found["script-src"] == ["'self'"] and found["style-src"] == ["'self'"]
    assert found["frame-ancestors"] == ["'none'"] and found["object-src"] == ["'none'"]
    flat = " ".join(CONTENT_SECURITY_POLICY.split())
    assert "unsafe-inline" not in flat and "unsafe-eval" not in flat and "*" not in flat


@pytest.mark.parametrize("path", ["/login", "/static/portal.js", "/healthz", "/api/v1/messages/1",
                                  "/no-such-page"])
def test_headers_on_every_answer(client, path):
    response = client.get(path)
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_headers_on_signed_in_pages_and_fragments(client, world):
    login(client, "root")
    for response in (client.get("/records"), client.get("/records", headers={"HX-Request": "true"}),
                     client.post("/templates/preview", data={"subject": "Hi",
                                                              "html_body": "<p>x</p>"})):
        assert response.status_code == 200
        assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY


# A template that needs an inline script, handler or style would be blocked by the policy.
INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I), "inline <script>"),
    (re.compile(r"<style\b", re.I), "<style> element"),
    (re.compile(r"\sstyle\s*=", re.I), "style attribute"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "event-handler attribute"),
    (re.compile(r"\shx-on[:-]", re.I), "hx-on attribute (needs eval)"),
    (re.compile(r"javascript:", re.I), "javascript: URL"),
]


def test_templates_need_nothing_the_policy_blocks():
    problems = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        source = path.read_text(encoding="utf-8")
        for pattern, what in INLINE:
            for match in pattern.finditer(source):
                line = source.count("\n", 0, match.start()) + 1
                problems.append(f"{path.relative_to(TEMPLATES)}:{line}: {what}")
    assert not problems, "\n".join(problems)


@pytest.fixture
def styled_message(app, world):
    with app.app_context():
        message = Message(sender_name="Relay", sender_address="robot@example.com",
                          sender_reason="manual", subject="Figures", html_body=MAIL_HTML,
                          mode="immediate", status="sent", attempt_count=1)
        message.set_recipients(["alice@example.org"], [], [])
        db.session.add(message)
        db.session.commit()
        return message.id


@pytest.mark.browser
def test_csp_in_chromium_htmx_works_and_previews_render(page, portal_server, world,
                                                        styled_message):
    """No portal page trips the policy; the mail preview renders, its own extras do not."""
    violations = []
    page.on("console", lambda msg: violations.append((page.url, msg.text))
            if "Content Security Policy" in msg.text else None)
    sign_in(page, portal_server, "root", PASSWORD)
    for path in ("/", "/compose", "/records", "/senders/new", "/teams", "/tokens", "/users"):
        page.goto(portal_server.url + path)
        expect(page.locator("main h1").first).to_be_visible()
    assert page.evaluate("typeof htmx === 'object' && htmx.config.allowEval === false")
    assert violations == [], violations

    page.goto(portal_server.url + "/templates/new")
    page.get_by_label("Subject").fill("Week report")
    page.get_by_label("HTML body").fill("<p>Hello from the preview</p>")
    preview = page.frame_locator("#template-preview iframe")
    expect(preview.get_by_text("Hello from the preview")).to_be_visible()
    assert violations == [], violations

    page.goto(f"{portal_server.url}/messages/{styled_message}")
    body = page.frame_locator("iframe.mail-preview")
    expect(body.get_by_role("heading", name="Quarterly figures")).to_be_visible()
    expect(body.locator("#styled")).to_have_text("Red?")  # the mail's script did not run
    # The body comes from its own URL with its own policy: the mail's styles render,
    # while scripts (sandbox) and remote images (img-src data:) stay inert.
    expect(body.locator("#styled")).to_have_css("color", "rgb(255, 0, 0)")
    expect(body.get_by_role("heading")).to_have_css("color", "rgb(0, 128, 0)")
    assert violations, "the mail's remote image should have been refused"
    assert all("example.com/t.gif" in text for _url, text in violations), violations
