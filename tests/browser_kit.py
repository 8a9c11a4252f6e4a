"""What the Chromium tests share: a signed-in page that records console errors and CSP
violations, and where screenshots go (``$PORTAL_SHOTS``, default the temporary folder)."""

import os
import tempfile
from pathlib import Path

from tests.conftest import PASSWORD
from tests.test_browser_foundation import sign_in

WIDTHS = (1280, 360)
# Collects every Content-Security-Policy violation the page causes in window.__csp.
WATCH_CSP = """
window.__csp = [];
document.addEventListener('securitypolicyviolation',
  e => window.__csp.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline')));
"""
# Chromium logs every 4xx answer; a refused form is answered 422 on purpose.
REFUSED_FORM = "the server responded with a status of 422"


def shots(folder: str) -> Path:
    """The folder for one test module's screenshots."""
    base = Path(os.environ.get("PORTAL_SHOTS", Path(tempfile.gettempdir()) / "portal-shots"))
    return base / folder


def signed_in(browser, server, width, username, ignore=None):
    """A new context at ``width`` px with ``username`` signed in; returns (context, page,
    console errors). Console errors containing ``ignore`` are expected and not kept."""
    context = browser.new_context(viewport={"width": width, "height": 800})
    context.add_init_script(WATCH_CSP)
    page = context.new_page()
    errors = []
    page.on("console", lambda m: errors.append(m.text)
            if m.type == "error" and not (ignore and ignore in m.text) else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, server, username, PASSWORD)
    return context, page, errors
