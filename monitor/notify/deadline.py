"""A send's total deadline: the socket is shut when the time is up, however the server
answers.

A socket timeout bounds each read, not the request: a receiver that drips one byte a
second, or a server that accepts and never answers within the channel's long timeout,
would hold a sender (and the `monitor check` that waits for it) for minutes. A
:class:`Deadline` is armed around one send; at its time, or when the outbox aborts
(the daemon stopping), it shuts the connection's socket, so the blocked read returns
at once with an error and the send ends.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable
from types import TracebackType

logger = logging.getLogger(__name__)


class Deadline:
    """The end time of one send (``time.monotonic()``), and the socket it cuts then.

    ``sock`` is asked for the connection's current socket when the time comes (a client
    replaces its socket during a TLS handshake). ``reason`` says why it fired:
    "deadline" (the time was up) or "abort" (the outbox stopped it); None if it did not.
    Use it as a context manager around the send.
    """

    def __init__(
        self,
        at: float,
        sock: Callable[[], socket.socket | None],
        window: Window | None = None,
    ) -> None:
        self.at = at
        self.started = time.monotonic()
        self._sock = sock
        self._window = window
        self._done = threading.Event()
        self._lock = threading.Lock()
        self.reason: str | None = None

    @property
    def expired(self) -> bool:
        """Whether the send ran out of time: cut, or its socket timed out at the end."""
        return self.reason is not None or time.monotonic() >= self.at - 0.1

    def describe(self) -> str:
        """Why the send was cut, for the delivery's record."""
        if self.reason == "abort":
            return "interrupted: the monitor is stopping (sent again at its next start)"
        return f"timed out: no complete answer within {self.at - self.started:.1f}s in all"

    def remaining(self) -> float:
        """Seconds left (at least a little, so a socket timeout is never zero)."""
        return max(0.05, self.at - time.monotonic())

    def __enter__(self) -> Deadline:
        threading.Thread(target=self._wait, name="send-deadline", daemon=True).start()
        if self._window is not None:
            self._window.enter(self)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        with self._lock:
            self._done.set()
        if self._window is not None:
            self._window.leave(self)

    def _wait(self) -> None:
        if not self._done.wait(max(0.0, self.at - time.monotonic())):
            self.fire("deadline")

    def fire(self, reason: str) -> None:
        """Cut the connection now (unless the send has finished)."""
        with self._lock:
            if self._done.is_set() or self.reason is not None:
                return
            self.reason = reason
            sock = self._sock()
            if sock is None:
                return  # still connecting: the connect timeout ends at the deadline too
            # The plain socket's shutdown, also under TLS: it unblocks the reading
            # thread without touching the TLS object that thread is using.
            with contextlib.suppress(OSError):
                socket.socket.shutdown(sock, socket.SHUT_RDWR)


class Window:
    """The time the outbox gives its sends: each send's deadline is its channel's
    ``timeout`` from its start, and never later than ``until`` (the end of a flush);
    :meth:`abort` cuts every send in flight (the daemon stopping)."""

    def __init__(self, until: float | None = None) -> None:
        self.until = until
        self.aborted = threading.Event()
        self._active: set[Deadline] = set()
        self._lock = threading.Lock()

    def deadline(self, timeout: float, sock: Callable[[], socket.socket | None]) -> Deadline:
        """The deadline of one send starting now."""
        at = time.monotonic() + timeout
        if self.until is not None:
            at = min(at, self.until)
        return Deadline(at, sock, self)

    def enter(self, deadline: Deadline) -> None:
        with self._lock:
            self._active.add(deadline)
        if self.aborted.is_set():
            deadline.fire("abort")

    def leave(self, deadline: Deadline) -> None:
        with self._lock:
            self._active.discard(deadline)

    def over(self) -> bool:
        """No time left to start another send (aborted, or past ``until``)."""
        return self.aborted.is_set() or (self.until is not None and time.monotonic() >= self.until)

    def abort(self) -> None:
        """Cut every send in flight now; none starts after this."""
        self.aborted.set()
        with self._lock:
            active = list(self._active)
        for deadline in active:
            deadline.fire("abort")
