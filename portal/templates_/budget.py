"""Run template rendering in a child process with a hard memory limit and a deadline.

The sandbox refuses the obvious ways to build huge values, but a template is code:
loops, string methods and formatting can still ask for gigabytes or minutes. So every
render runs in a spare child process whose address space is capped (``RLIMIT_AS``) and
whose answer is awaited for a bounded time; a child that runs out of either is killed
and replaced, and the caller gets ``BudgetExceeded``. The web process and the worker
never hold the memory, and a request never waits longer than the deadline.

Children are fresh interpreters (safe in threaded servers), kept for reuse, and
started again after a fork (gunicorn workers get their own).
"""

from __future__ import annotations

import contextlib
import importlib
import os
import resource
import subprocess
import sys
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path

_PROJECT = Path(__file__).resolve().parent.parent.parent  # the folder holding portal/
MAX_SPARES = 4
STARTUP_SECONDS = 60


class BudgetExceeded(Exception):
    """The render used more than its memory (``what="memory"``) or time budget."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


def _address_space() -> int:
    """This process's current virtual size in bytes (Linux), 0 where unknown."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _serve(conn, target: Callable, memory_bytes: int) -> None:
    """The child: cap the address space above what it uses now, then answer requests.

    Answers are ("ok", value), ("memory", None) or ("error", exception); an exception
    that cannot be pickled is sent as its text in a RuntimeError.
    """
    limit = _address_space() + memory_bytes
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    conn.send(("ready", None))
    while True:
        try:
            args = conn.recv()
        except EOFError:
            return
        try:
            answer = ("ok", target(*args))
        except MemoryError:
            answer = ("memory", None)
        except Exception as error:  # the caller decides what each error means
            answer = ("error", error)
        try:
            conn.send(answer)
        except MemoryError:
            conn.send(("memory", None))
        except Exception as error:  # unpicklable result or exception
            conn.send(("error", RuntimeError(str(error))))


class _Child:
    """A render process started as ``python -m portal.templates_.budget TARGET BYTES``,
    talking over its stdin/stdout (no re-import of the parent's main module)."""

    def __init__(self, target: Callable, memory_bytes: int) -> None:
        name = f"{target.__module__}:{target.__qualname__}"
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            filter(None, [str(_PROJECT), os.environ.get("PYTHONPATH")]))}
        self.process = subprocess.Popen(
            [sys.executable, "-m", __name__, name, str(memory_bytes)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, close_fds=True)
        self.conn = _Pipe(self.process.stdout.fileno(), self.process.stdin.fileno())
        # The deadline is for rendering: wait for the interpreter to start first.
        try:
            started = self.conn.poll(STARTUP_SECONDS) and self.conn.recv()[0] == "ready"
        except Exception:  # noqa: BLE001 (whatever went wrong, the child is not usable)
            started = False
        if not started:
            self.kill()
            raise RuntimeError("the template render process did not start")

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """End the child and close every descriptor that reached it."""
        with contextlib.suppress(OSError):
            self.process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)
        self.conn.close()
        for stream in (self.process.stdin, self.process.stdout):
            with contextlib.suppress(OSError):
                stream.close()


class _Pipe:
    """Send and receive pickled objects over two file descriptors."""

    def __init__(self, read_fd: int, write_fd: int) -> None:
        self._reader = Connection(os.dup(read_fd), writable=False)
        self._writer = Connection(os.dup(write_fd), readable=False)

    def send(self, value) -> None:
        self._writer.send(value)

    def poll(self, seconds: float) -> bool:
        return self._reader.poll(seconds)

    def recv(self):
        return self._reader.recv()

    def close(self) -> None:
        for end in (self._reader, self._writer):
            with contextlib.suppress(OSError):
                end.close()


class BoundedRunner:
    """Calls ``target(*args)`` in a child process under a memory limit and a deadline.

    ``target`` must be a module-level function (it is pickled by name) whose arguments
    and result pickle.
    """

    def __init__(self, target: Callable) -> None:
        self._target = target
        self._lock = threading.Lock()
        self._spares: list[tuple[_Child, int]] = []
        self._pid = os.getpid()

    def __call__(self, args: tuple, *, seconds: float, memory_bytes: int):
        child = self._take(memory_bytes)
        try:
            child.conn.send(args)
            if not child.conn.poll(seconds):
                raise BudgetExceeded("time")
            status, value = child.conn.recv()
        except (EOFError, OSError):  # the child died (the kernel's answer to its memory)
            child.kill()
            raise BudgetExceeded("memory") from None
        except BaseException:
            child.kill()
            raise
        if status == "memory":  # a child that ran out may be in any state: replace it
            child.kill()
            raise BudgetExceeded("memory")
        self._give_back(child, memory_bytes)
        if status == "error":
            raise value
        return value

    def _take(self, memory_bytes: int) -> _Child:
        with self._lock:
            if self._pid != os.getpid():  # forked: the spares belong to the parent
                self._spares, self._pid = [], os.getpid()
            while self._spares:
                child, size = self._spares.pop()
                if size == memory_bytes and child.alive:
                    return child
                child.kill()
        return _Child(self._target, memory_bytes)

    def _give_back(self, child: _Child, memory_bytes: int) -> None:
        with self._lock:
            if len(self._spares) < MAX_SPARES and self._pid == os.getpid():
                self._spares.append((child, memory_bytes))
                return
        child.kill()


def _main(argv: list[str]) -> None:
    """Child entry point: ``TARGET`` as ``module:function``, then the memory budget."""
    module, _, name = argv[0].partition(":")
    target = getattr(importlib.import_module(module), name)
    conn = _Pipe(sys.stdin.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr  # nothing else may write into the answer pipe
    _serve(conn, target, int(argv[1]))


if __name__ == "__main__":
    _main(sys.argv[1:])
