"""An SMTP sink for benchmarks: aiosmtpd in its own process(es) on 127.0.0.1, counting mail.

Several processes may share one port (SO_REUSEPORT) so the sink is not the
bottleneck when the client opens several connections.
"""

import asyncio
import multiprocessing
import socket
import time

from aiosmtpd.smtp import SMTP


class _Count:
    """Counts accepted mail; ``latency`` delays each DATA reply like an MTA writing its
    queue to disk (the delay does not use CPU, so connections can overlap it)."""

    def __init__(self, counter, latency: float):
        self.counter, self.latency = counter, latency

    async def handle_DATA(self, server, session, envelope):
        if self.latency:
            await asyncio.sleep(self.latency)
        with self.counter.get_lock():
            self.counter.value += 1
        return "250 OK"


def _serve(port: int, counter, latency: float, ready, stop) -> None:
    """One sink process: aiosmtpd's SMTP protocol on an asyncio server sharing the port."""
    loop = asyncio.new_event_loop()
    handler = _Count(counter, latency)
    server = loop.run_until_complete(loop.create_server(
        lambda: SMTP(handler, hostname="sink.local"), host="127.0.0.1", port=port,
        reuse_port=True))
    ready.set()
    loop.run_until_complete(loop.run_in_executor(None, stop.wait))
    server.close()
    loop.run_until_complete(server.wait_closed())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Sink:
    """``with Sink(processes=2) as sink:`` → ``sink.port``, ``sink.count``."""

    def __init__(self, processes: int = 1, latency: float = 0.0):
        self.port = free_port()
        self.counter = multiprocessing.Value("l", 0)
        self.stop_event = multiprocessing.Event()
        self.processes = []
        for _ in range(processes):
            ready = multiprocessing.Event()
            proc = multiprocessing.Process(
                target=_serve, args=(self.port, self.counter, latency, ready, self.stop_event),
                daemon=True)
            proc.start()
            if not ready.wait(15):
                raise RuntimeError("SMTP sink did not start")
            self.processes.append(proc)

    @property
    def count(self) -> int:
        return self.counter.value

    def wait_for(self, total: int, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while self.count < total and time.monotonic() < deadline:
            time.sleep(0.01)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop_event.set()
        for proc in self.processes:
            proc.join(timeout=10)
