"""Browser-test plumbing: the system Chromium for Playwright and a live portal server."""

import os
import shutil
import threading

import pytest
from werkzeug.serving import make_server

CHROMIUM = os.environ.get("PORTAL_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--disable-dev-shm-usage"]


def pytest_collection_modifyitems(config, items):
    """Without Chromium, browser tests are skipped locally (and fail in CI)."""
    if os.path.exists(CHROMIUM) or shutil.which(CHROMIUM):
        return
    if os.environ.get("CI"):
        return
    skip = pytest.mark.skip(reason=f"Chromium not found at {CHROMIUM}; install it with "
                                   "`apt-get install -y chromium` to run browser tests.")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


class LiveServer:
    """The app served by Werkzeug in a thread on 127.0.0.1 for the browser to visit."""

    def __init__(self, app):
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.thread.join(timeout=5)


@pytest.fixture
def portal_server(app):
    """The portal with CSRF protection on, as a browser meets it."""
    app.config["WTF_CSRF_ENABLED"] = True
    server = LiveServer(app)
    yield server
    server.stop()
