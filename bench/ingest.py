"""API intake speed against gunicorn as ``make run`` starts it (gunicorn.conf.py, wsgi:app).

Sets up a throwaway instance (temporary folder, SQLite, schema, a deferred default
sender that is never contacted because no worker runs, a system API token), starts
gunicorn on a free 127.0.0.1 port, then measures with 8 concurrent clients (separate
processes, one keep-alive connection each):

- ``healthz_rps``: ``GET /healthz`` requests per second, the ceiling of this server on
  this machine;
- ``single_rps``: ``POST /api/v1/messages`` (small, deferred) requests per second;
- ``batch_messages_per_s``: messages per second through ``POST /api/v1/messages/batch``
  with 500 messages per call;
- ``single_over_healthz``: the ratio that says how close intake comes to the ceiling.

Prints one JSON object.

    .venv/bin/python -m bench.ingest [--seconds 8] [--clients 8] [--batch 500]
"""

import argparse
import http.client
import json
import multiprocessing
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
MAIL = {"to": "alice@example.org", "subject": "Nightly figures", "html": "<p>Done.</p>",
        "mode": "deferred"}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _flask(env: dict, *args: str) -> str:
    done = subprocess.run([str(BIN / "flask"), "--app", "portal", *args], env=env,
                          cwd=env["BENCH_ROOT"],
                          capture_output=True, text=True, check=True)
    return done.stdout


def _instance(folder: str, root: str) -> tuple[dict, str]:
    """Schema, a deferred default sender and a token in a fresh instance; (env, token)."""
    env = {**os.environ, "PORTAL_INSTANCE_PATH": folder, "BENCH_ROOT": root}
    env.pop("DATABASE_URL", None)
    _flask(env, "db", "upgrade")
    _flask(env, "sender", "add", "--name", "Bench", "--host", "127.0.0.1", "--port", "9",
           "--encryption", "none", "--address", "robot@example.com", "--display-name", "Robot",
           "--mode", "deferred", "--default")
    token = _flask(env, "create-token", "--name", "Bench").strip().splitlines()[-1]
    return env, token


def _start(env: dict, port: int) -> subprocess.Popen:
    server = subprocess.Popen(
        [str(BIN / "gunicorn"), "--config", "gunicorn.conf.py", "wsgi:app"],
        cwd=env["BENCH_ROOT"],
        env={**env, "PORTAL_BIND": f"127.0.0.1:{port}"},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status in (200, 503):
                return server
        except OSError:
            time.sleep(0.1)
    server.terminate()
    raise SystemExit("gunicorn did not start")


def _client(args) -> int:
    """One client: the same request over one keep-alive connection until the deadline;
    returns how many got the expected answer."""
    port, method, path, body, headers, expected, deadline = args
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    done = 0
    while time.monotonic() < deadline:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        if response.status != expected:
            raise SystemExit(f"{method} {path}: HTTP {response.status}")
        done += 1
    conn.close()
    return done


def _rate(pool, port, clients, seconds, method, path, body=None, headers=None,
          expected=200) -> float:
    start = time.monotonic()
    deadline = start + seconds
    print(f"{method} {path} …", file=sys.stderr, flush=True)
    counts = pool.map(_client, [(port, method, path, body, headers or {}, expected, deadline)
                                for _ in range(clients)])
    return sum(counts) / (time.monotonic() - start)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--root", default=str(ROOT),
                        help="checkout to run (e.g. an older one without the batch API)")
    parser.add_argument("--no-batch", action="store_true", help="skip the batch figure")
    options = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="portal-ingest-") as folder:
        env, token = _instance(folder, options.root)
        port = _free_port()
        server = _start(env, port)
        auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        single = json.dumps(MAIL).encode()
        batch = json.dumps({"messages": [MAIL] * options.batch}).encode()
        try:
            with multiprocessing.Pool(options.clients) as pool:
                _rate(pool, port, options.clients, 1.0, "GET", "/healthz")  # warm up
                healthz = _rate(pool, port, options.clients, options.seconds, "GET",
                                "/healthz")
                singles = _rate(pool, port, options.clients, options.seconds, "POST",
                                "/api/v1/messages", single, auth, 202)
                batches = 0.0 if options.no_batch else _rate(
                    pool, port, options.clients, options.seconds, "POST",
                    "/api/v1/messages/batch", batch, auth, 200)
        finally:
            server.terminate()
            server.wait(10)
    print(json.dumps({
        "clients": options.clients, "seconds": options.seconds,
        "web_workers": int(os.environ.get("PORTAL_WEB_WORKERS", "2")),
        "web_threads": int(os.environ.get("PORTAL_WEB_THREADS", "4")),
        "healthz_rps": round(healthz, 1), "single_rps": round(singles, 1),
        "single_over_healthz": round(singles / healthz, 3),
        "batch_size": options.batch, "batch_messages_per_s": round(batches * options.batch, 1),
        "cpus": os.cpu_count(), "python": sys.version.split()[0]}))


if __name__ == "__main__":
    main()
