"""What ``make run`` does around the services: a port check before, a notice after.

``python -m portal.setup_run check-port`` stops ``make run`` before anything is
created when the address gunicorn would bind (``bind`` in ``gunicorn.conf.py``,
i.e. ``PORTAL_BIND``) is taken, naming the port and how to choose another.

``python -m portal.setup_run wait-ready`` runs beside the web app and the worker
(a ``Procfile`` process): once the web app answers ``/healthz`` it prints a box
with the address and the first administrator's credentials (from
``instance/first-admin.txt`` while that file exists), so they are not lost among
the access logs. It then stays idle, because honcho stops every process as soon
as one of them exits.
"""

from __future__ import annotations

import argparse
import errno
import http.client
import os
import runpy
import signal
import socket
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GUNICORN_CONF = ROOT / "gunicorn.conf.py"
DEFAULT_BIND = "127.0.0.1:5000"
GUNICORN_DEFAULT_PORT = 8000
FIRST_ADMIN_FILE = "first-admin.txt"
DELETE_LINE = "Please delete this file after you have signed in and changed the password."
READY_TIMEOUT = 30.0


def bind_setting() -> str:
    """The address gunicorn will bind: ``bind`` from gunicorn.conf.py (which reads PORTAL_BIND)."""
    try:
        bind = runpy.run_path(str(GUNICORN_CONF)).get("bind")
    except Exception:  # a broken file: gunicorn will say what is wrong with it
        bind = None
    if isinstance(bind, list | tuple):
        bind = bind[0] if bind else None
    return bind or os.environ.get("PORTAL_BIND") or DEFAULT_BIND


def parse_bind(bind: str) -> tuple[str, int] | None:
    """(host, port) of a TCP bind as gunicorn reads it; None for unix sockets and fds."""
    bind = bind.strip()
    if bind.startswith(("unix:", "fd://")):
        return None
    bind = bind.removeprefix("tcp://")
    if bind.startswith("["):
        host, _, rest = bind[1:].partition("]")
        port = rest.removeprefix(":")
    elif bind.count(":") == 1:
        host, port = bind.split(":")
    else:
        host, port = bind, ""
    return host or "0.0.0.0", int(port) if port else GUNICORN_DEFAULT_PORT  # noqa: S104


def local_host(host: str) -> str:
    """Where to reach a server bound to ``host`` from this machine (wildcards -> loopback)."""
    return {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)  # noqa: S104


def _netloc(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def portal_url(bind: str | None = None) -> str:
    """The address to open in a browser for the configured bind."""
    bind = bind or bind_setting()
    address = parse_bind(bind)
    if address is None:
        return f"(gunicorn listens on {bind})"
    return f"http://{_netloc(local_host(address[0]), address[1])}/"


def first_admin_path(instance_path: str | None = None) -> Path:
    """``first-admin.txt`` in the instance folder (PORTAL_INSTANCE_PATH, else ./instance)."""
    folder = instance_path or os.environ.get("PORTAL_INSTANCE_PATH") or ROOT / "instance"
    return Path(folder) / FIRST_ADMIN_FILE


def write_first_admin(path: Path, username: str, password: str, url: str) -> None:
    """Keep the first admin's credentials in a file only its owner can read (mode 0600)."""
    text = (f"Mailbox Portal: first system administrator\n\n"
            f"Open:     {url}\nUsername: {username}\nPassword: {password}\n\n"
            f"{DELETE_LINE}\n"
            f"(Change it on your own page under Users, or with: "
            f"flask --app portal reset-password {username})\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        os.fchmod(handle.fileno(), 0o600)
        handle.write(text)


def read_first_admin(path: Path) -> dict[str, str] | None:
    """``{"username", "password"}`` from the credentials file, or None when it is gone."""
    try:
        pairs = [line.partition(":") for line in path.read_text(encoding="utf-8").splitlines()]
    except OSError:
        return None
    found = {key.strip().lower(): value.strip() for key, sep, value in pairs
             if sep and key.strip().lower() in ("username", "password")}
    return found if len(found) == 2 else None


def forget_first_admin(path: Path, username: str) -> bool:
    """Remove the credentials file when it holds ``username``'s now replaced password."""
    credentials = read_first_admin(path)
    if not credentials or credentials["username"].lower() != username.lower():
        return False
    path.unlink(missing_ok=True)
    return True


def port_problem(host: str, port: int) -> str | None:
    """Why gunicorn could not bind host:port (busy, not ours, privileged), or None if it can."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM)[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn does
            probe.bind(address)
    except socket.gaierror:
        return f"The host “{host}” in the bind address is not known on this machine."
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            return f"Port {port} on {host} is already in use (another program, or a portal "\
                   "that is still running)."
        if error.errno == errno.EADDRNOTAVAIL:
            return f"{host} is not an address of this machine."
        if error.errno == errno.EACCES:
            return f"Port {port} needs administrator rights; choose a port above 1023."
        return f"Cannot listen on {_netloc(host, port)}: {error.strerror}."
    return None


def free_port_near(host: str, port: int) -> int:
    """The first free port after ``port`` (for the suggestion), else 8001."""
    for candidate in range(max(port + 1, 1024), min(port + 100, 65535)):
        if port_problem(host, candidate) is None:
            return candidate
    return 8001


def check_port(bind: str) -> str | None:
    """The message that stops ``make run`` when the bind address is unusable, or None."""
    address = parse_bind(bind)
    if address is None:
        return None
    host, port = address
    problem = port_problem(host, port)
    if problem is None:
        return None
    suggestion = local_host(host) if problem.endswith("this machine.") else host
    example = _netloc(suggestion, free_port_near(suggestion, port))
    return (f"{problem}\nThe portal was not started. Choose another address with PORTAL_BIND, "
            f"for example:\n\n    PORTAL_BIND={example} make run\n")


def health_status(host: str, port: int, timeout: float = 2.0) -> int | None:
    """The HTTP status of GET /healthz, or None while nothing answers (no proxy involved)."""
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        connection.request("GET", "/healthz")
        return connection.getresponse().status
    except (OSError, http.client.HTTPException):
        return None
    finally:
        connection.close()


def wait_for_health(host: str, port: int, timeout: float) -> int | None:
    """Poll /healthz until it answers (its status) or ``timeout`` seconds pass (None)."""
    deadline = time.monotonic() + timeout
    while (status := health_status(host, port)) is None and time.monotonic() < deadline:
        time.sleep(0.5)
    return status


def box(lines: list[str]) -> str:
    """``lines`` framed, so the notice stands out among the services' logs."""
    width = max(len(line) for line in lines)
    rule = "+" + "-" * (width + 2) + "+"
    return "\n".join([rule, *(f"| {line.ljust(width)} |" for line in lines), rule])


def ready_notice(url: str, credentials_file: Path, status: int) -> str:
    """The box printed once the web app answers."""
    lines = ["Mailbox Portal is running.", "", f"Open      {url}"]
    credentials = read_first_admin(credentials_file)
    if credentials:
        lines += [f"Username  {credentials['username']}", f"Password  {credentials['password']}",
                  "", f"These are also in {credentials_file}.", DELETE_LINE]
    else:
        lines += ["", "Sign in with your administrator account. Forgot the password?",
                  "    flask --app portal reset-password USERNAME"]
    if status != 200:
        lines += ["", f"Note: /healthz answers {status}; see the messages above."]
    lines += ["", "Ctrl-C stops the web app and the worker."]
    return box(lines)


def wait_ready(bind: str, credentials_file: Path, timeout: float) -> bool:
    """Print the notice once the web app answers; say so clearly if it does not in time."""
    address = parse_bind(bind)  # a unix socket cannot be polled from here: just say so
    status = wait_for_health(local_host(address[0]), address[1], timeout) if address else 200
    if status is None:
        print(f"The web app did not answer on {portal_url(bind)} within {timeout:.0f} seconds; "
              "see the web messages above. The credentials of the first administrator, "
              f"if one was just created, are in {credentials_file}.", flush=True)
        return False
    print(ready_notice(portal_url(bind), credentials_file, status), flush=True)
    return True


def _stop_quietly_on_signals() -> None:
    """SIGTERM and SIGINT (honcho stopping everything, Ctrl-C) end the process quietly."""
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: sys.exit(0))


def main(argv: list[str] | None = None) -> int:
    """``check-port`` or ``wait-ready [--timeout S] [--exit]``; see the module docstring."""
    parser = argparse.ArgumentParser(prog="python -m portal.setup_run")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("check-port", help="refuse to start when the bind address is taken")
    ready = commands.add_parser("wait-ready", help="print where the portal answers, once it does")
    ready.add_argument("--timeout", type=float, default=READY_TIMEOUT)
    ready.add_argument("--exit", action="store_true", help="exit after printing (not for honcho)")
    options = parser.parse_args(argv)
    bind = bind_setting()
    if options.command == "check-port":
        if message := check_port(bind):
            print(message, file=sys.stderr)
        return 1 if message else 0
    _stop_quietly_on_signals()  # before the notice, so a stop right after it is clean too
    wait_ready(bind, first_admin_path(), options.timeout)
    while not options.exit:  # stay up: honcho ends everything when one process exits
        signal.pause()
    return 0


if __name__ == "__main__":
    sys.exit(main())
