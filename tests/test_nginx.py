"""A real nginx proxying /mail/ to gunicorn, driven in Chromium.

The deployment the README describes, on 127.0.0.1: gunicorn runs the portal
with ``PORTAL_PROXY_COUNT=1``, nginx forwards ``/mail/`` with the
``X-Forwarded-*`` headers, and the browser signs in, sends a test mail to a
local SMTP server and filters the records. Every URL it touches stays under
``/mail/``. Skipped when nginx is not installed, required in CI.
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.conftest import ENCRYPTION_KEY, PASSWORD
from tests.outbox_helpers import AUTH
from tests.smtp_servers import pick_free_port

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 30.0

NGINX_CONF = """\
daemon off;
{user}
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log info;
events {{ worker_connections 64; }}
http {{
    access_log {tmp}/access.log;
    client_body_temp_path {tmp}/client_body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    server {{
        listen 127.0.0.1:{port};
        location = /mail {{ return 301 /mail/; }}
        location /mail/ {{
            proxy_pass http://127.0.0.1:{upstream}/;
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-Host $http_host;
            proxy_set_header X-Forwarded-Prefix /mail;
        }}
    }}
}}
"""


def nginx_binary() -> str | None:
    """The nginx executable (Debian installs it in /usr/sbin, often not on PATH)."""
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)),
        None)


@pytest.fixture
def nginx_path() -> str:
    found = nginx_binary()
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("nginx is not installed; .ci/run should have installed it.")
        pytest.skip("nginx is not installed (apt-get install nginx); skipped the proxy test.")
    return found


class Process:
    """A server process started by a test, with its output in a log file."""

    def __init__(self, name: str, args: list[str], log: Path, **kwargs):
        self.name, self.log = name, log
        with open(log, "wb") as out:
            self.proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True,
                                         **kwargs)

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def wait_until_ready(self, url: str) -> None:
        """Poll ``url`` until it answers 200; fail with the process's output otherwise."""
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"{self.name} exited with {self.proc.returncode}:\n{self.output()}")
            try:
                with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.2)
        pytest.fail(f"{self.name} did not answer {url} in {START_TIMEOUT}s:\n{self.output()}")

    def stop(self) -> None:
        """SIGTERM the master (it stops its workers); kill the whole group if it hangs."""
        if self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)


def _gunicorn_env(app, instance: Path) -> dict:
    """The environment an operator would set, and nothing inherited that could interfere."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("PORTAL_") and k != "DATABASE_URL"}
    env.update(DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
               PORTAL_INSTANCE_PATH=str(instance), PORTAL_SECRET_KEY=ENCRYPTION_KEY,
               PORTAL_SESSION_KEY="nginx-test-session-key", PORTAL_PROXY_COUNT="1",
               PORTAL_SMTP_TIMEOUT="5")
    return env


@pytest.fixture
def gunicorn_server(app, tmp_path):
    """gunicorn with the project's gunicorn.conf.py on a free port; stopped afterwards."""
    port = pick_free_port()
    gunicorn = Path(sys.prefix) / "bin" / "gunicorn"
    args = [str(gunicorn), "--config", str(ROOT / "gunicorn.conf.py"),
            "--bind", f"127.0.0.1:{port}", "--workers", "2", "wsgi:app"]
    server = Process("gunicorn", args, tmp_path / "gunicorn.log", cwd=ROOT,
                     env=_gunicorn_env(app, tmp_path / "instance"))
    try:
        server.wait_until_ready(f"http://127.0.0.1:{port}/healthz")
        server.port = port
        yield server
    finally:
        server.stop()


@pytest.fixture
def nginx_server(nginx_path, gunicorn_server, tmp_path):
    """nginx in the foreground with everything (pid, logs, temp files) under tmp_path."""
    tmp = tmp_path / "nginx"
    tmp.mkdir()
    port = pick_free_port()
    conf = tmp / "nginx.conf"
    conf.write_text(NGINX_CONF.format(
        tmp=tmp, port=port, upstream=gunicorn_server.port,
        user="user root;" if os.geteuid() == 0 else ""))
    args = [nginx_path, "-p", str(tmp), "-c", str(conf), "-e", str(tmp / "error.log")]
    server = Process("nginx", args, tmp / "stdout.log")
    try:
        server.wait_until_ready(f"http://127.0.0.1:{port}/mail/healthz")
        server.url = f"http://127.0.0.1:{port}"
        yield server
    finally:
        server.stop()


def _add_sender_and_send_test_mails(page, smtp, recipients):
    """Fill the sender form and send a test mail to each address (nothing is saved)."""
    page.get_by_role("link", name="Senders", exact=True).click()
    page.get_by_role("link", name="Add sender").click()
    page.get_by_label("Name", exact=True).fill("Local relay")
    page.get_by_label("Mail server (SMTP)").fill(smtp.host)
    page.get_by_label("Port").fill(str(smtp.port))
    page.get_by_label("Encryption", exact=True).select_option("starttls")
    page.get_by_label("Sender address").fill("robot@example.com")
    page.get_by_label("Displayed name").fill("Reporting")
    page.get_by_label("Password / authorization code").fill(AUTH["robot@example.com"])
    page.get_by_text("CA certificate for a private mail server").click()
    page.get_by_label("CA certificate (PEM)").fill(smtp.ca_pem)
    for address in recipients:
        page.get_by_label("Test recipient").fill(address)
        page.get_by_role("button", name="Send test mail").click()
        expect(page.get_by_text(f"Test mail sent to {address}")).to_be_visible()


def test_sign_in_send_and_filter_through_nginx(page, nginx_server, world, smtpd_factory):
    smtp = smtpd_factory("starttls", auth=AUTH)
    base = nginx_server.url + "/mail/"
    requested, problems = [], []
    page.on("request", lambda request: requested.append(request.url))
    page.on("console", lambda msg: problems.append(msg.text)
            if "Content Security Policy" in msg.text else None)

    page.goto(base + "records")
    expect(page).to_have_url(re.compile(r"/mail/login\?next=%2Fmail%2Frecords$"))
    page.get_by_label("Username").fill("root")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(base + "records")
    expect(page.get_by_text("Signed in as")).to_be_visible()

    _add_sender_and_send_test_mails(page, smtp, ["me@example.org", "other@example.net"])
    assert sorted(m.rcpt_tos[0] for m in smtp.messages) == ["me@example.org",
                                                           "other@example.net"]

    page.get_by_role("link", name="Records", exact=True).click()
    expect(page).to_have_url(base + "records")
    table = page.locator("table.records")
    expect(table.get_by_text("other@example.net")).to_be_visible()
    page.evaluate("window.__noReload = true")
    page.get_by_label("Recipient contains").press_sequentially("me@exam", delay=30)
    # htmx pushes the whole filter form; empty fields may or may not be left out.
    expect(page).to_have_url(re.compile(r"/mail/records\?([^#]*&)?recipient=me(%40|@)exam(&|$)"))
    expect(table.get_by_text("other@example.net")).to_have_count(0)
    expect(table.get_by_text("me@example.org")).to_be_visible()
    assert page.evaluate("window.__noReload") is True

    page.reload()  # the pushed URL is a real page behind the proxy too
    expect(page.get_by_label("Recipient contains")).to_have_value("me@exam")
    expect(table.get_by_text("other@example.net")).to_have_count(0)

    outside = [url for url in requested if not url.startswith(base)]
    assert outside == [] and len(requested) > 10, outside
    assert problems == [], problems
    access_log = (Path(nginx_server.log).parent / "access.log").read_text()
    assert re.search(r'"GET /mail/records\?([^ ]*&)?recipient=me(%40|@)exam', access_log)
