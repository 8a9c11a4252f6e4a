"""Group commit for the worker's connection threads: many small writes, one commit.

Each SMTP connection must commit its "handing over" mark before it sends the next
message (that is what keeps at most one message in doubt per connection), so the
worker makes one short write transaction per message and connection. Threads of one
process that want to commit at the same moment are served by one transaction: the
first to get the writer lock (the leader) takes every request queued so far, its own
and the others', writes them all with one ``apply`` call, commits once, and wakes the
others with their results. Nobody waits for anybody when the database is idle; under
load, N connections cost one commit and a few statements, not N of each, and SQLite's
single writer never sleep-polls for its lock.

``apply(connection, requests)`` gets a Core connection of the leader's own, outside any
ORM session (a session's commit bookkeeping would cost more than the writes), and
returns one result per request, in order. When a shared transaction fails, each of its
requests is tried again alone, so one bad request fails only its own thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection

from portal.extensions import db


class _Request:
    __slots__ = ("data", "done", "result", "error")

    def __init__(self, data: Any) -> None:
        self.data, self.done, self.result, self.error = data, False, None, None


class GroupCommit:
    """Run write requests from many threads in shared transactions (leader/follower)."""

    def __init__(self, apply: Callable[[Connection, list], list]) -> None:
        self._apply = apply
        self._writer = threading.Lock()  # held by the leader for a whole transaction
        self._queue_lock = threading.Lock()
        self._queue: list[_Request] = []

    def run(self, data: Any) -> Any:
        """Write ``data`` in a committed transaction (possibly shared); returns its
        result, or raises the error of its own write."""
        request = _Request(data)
        with self._queue_lock:
            self._queue.append(request)
        with self._writer:
            if not request.done:
                self._lead()
        if request.error is not None:
            raise request.error
        return request.result

    def _lead(self) -> None:
        with self._queue_lock:
            requests, self._queue = self._queue, []
        try:
            try:
                self._write(requests)
            except Exception:
                if len(requests) == 1:
                    raise
                for request in requests:  # find the bad one; the others still commit
                    try:
                        self._write([request])
                    except Exception as error:
                        request.error = error
        except BaseException as error:  # the leader's own failure: tell everyone
            for request in requests:
                request.error = request.error or error
        finally:
            for request in requests:
                request.done = True

    def _write(self, requests: list[_Request]) -> None:
        with db.engine.begin() as connection:
            results = self._apply(connection, [request.data for request in requests])
        for request, result in zip(requests, results, strict=True):
            request.result = result
