"""Observing in worker processes: the CPU-heavy stage on the machine's other cores.

:class:`PoolProcessor` is a :class:`monitor.check.processor.Processor` whose work is
done by a few lean worker processes (:mod:`monitor.check.worker`, started with the
running Python; they import the detection code only). Fetches are sent in chunks (one
pickle per chunk: the body, the target's rules and the page's state as they were when
submitted), so the overhead per page stays small; each worker answers its chunks in
order and a reader thread per worker completes their futures. The writer thread takes
the observations in the order it submitted the fetches, as with the inline processor:
the results are the same, only computed elsewhere while the main process fetches and
writes.

A worker that dies (killed, out of memory) loses nothing: its unanswered fetches are
observed in the parent instead, and so is everything after, when no worker is left.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import pickle
import queue
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, replace
from typing import IO

from monitor.check.processor import process
from monitor.check.worker import Item, observation_of, read_frame, write_frame
from monitor.detect.observe import ProcessRules
from monitor.records import FetchResult, Observation, PageState

logger = logging.getLogger(__name__)

# Environment variable: how many worker processes observe a check's fetches (0: none,
# observe in the writer thread). Unset: :func:`default_workers` for checks of at least
# :data:`MIN_PAGES` pages.
WORKERS_VARIABLE = "MONITOR_OBSERVE_WORKERS"
# Below this many pages, a check observes inline: starting a process costs more.
MIN_PAGES = 100


def default_workers() -> int:
    """Worker processes for a big check: one per core but the one the crawl uses (at
    least one, at most four)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(4, (cores or 1) - 1))


def workers_for(pages: int) -> int:
    """How many worker processes a check of ``pages`` pages gets (0: observe inline)."""
    configured = os.environ.get(WORKERS_VARIABLE, "").strip()
    if configured:
        try:
            return max(0, int(configured))
        except ValueError:
            logger.warning("%s=%r is not a number: ignored", WORKERS_VARIABLE, configured)
    return default_workers() if pages >= MIN_PAGES else 0


@dataclass
class _Chunk:
    chunk_id: int
    items: list[Item]
    futures: list[Future[Observation]]


class _Worker:
    """One worker process, the chunks it has not answered yet, and its reader thread."""

    def __init__(self, number: int, on_answer: Callable[[], None]) -> None:
        self.number = number
        self.on_answer = on_answer
        self.process = subprocess.Popen(
            [sys.executable, "-m", "monitor.check.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            close_fds=True,
        )
        assert self.process.stdin is not None and self.process.stdout is not None
        self.stdin: IO[bytes] = self.process.stdin
        self.stdout: IO[bytes] = self.process.stdout
        for pipe in (self.stdin, self.stdout):
            _widen(pipe)
        self.lock = threading.Lock()
        self.waiting: deque[_Chunk] = deque()
        self.outstanding = 0  # fetches sent and not answered
        self.alive = True
        self.reader = threading.Thread(
            target=self._read, name=f"monitor-observe-{number}", daemon=True
        )
        self.reader.start()
        # Chunks are written to the worker by a thread of their own: the writer thread
        # that submits them goes on recording while the worker is busy (a send into a
        # full pipe would hold it, and the crawl behind it, until the worker reads).
        self.outbox: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self.sender = threading.Thread(
            target=self._send, name=f"monitor-observe-send-{number}", daemon=True
        )
        self.sender.start()

    def send(self, chunk: _Chunk, payload: bytes) -> bool:
        """Send a chunk; False when the worker is gone (the caller observes it)."""
        with self.lock:
            if not self.alive:
                return False
            self.waiting.append(chunk)
            self.outstanding += len(chunk.items)
        self.outbox.put(payload)
        return True

    def _send(self) -> None:
        while (payload := self.outbox.get()) is not None:
            try:
                write_frame(self.stdin, payload)
            except (BrokenPipeError, OSError, ValueError):
                # The reader sees the end too and observes what was sent itself.
                return

    def _read(self) -> None:
        try:
            while True:
                payload = read_frame(self.stdout)
                if payload is None:
                    break
                chunk_id, results = pickle.loads(payload)
                with self.lock:
                    chunk = self.waiting.popleft()
                    self.outstanding -= len(chunk.items)
                if chunk.chunk_id != chunk_id:
                    raise RuntimeError(f"worker {self.number} answered out of order")
                for (fetch, _rules, _state), future, values in zip(
                    chunk.items, chunk.futures, results, strict=True
                ):
                    future.set_result(observation_of(fetch, values))
                self.on_answer()
        except Exception:
            logger.exception("observing worker %d failed", self.number)
        finally:
            self._lost()

    def _lost(self) -> None:
        """The worker's output ended: whatever it did not answer is observed here."""
        with self.lock:
            self.alive = False
            left = list(self.waiting)
            self.waiting.clear()
            self.outstanding = 0
        if left:
            logger.warning(
                "observing worker %d ended with %d fetches unanswered: observed in the check",
                self.number,
                sum(len(chunk.items) for chunk in left),
            )
        for chunk in left:
            _observe_here(chunk)
        if left:
            self.on_answer()

    def close(self) -> None:
        with self.lock:
            self.alive = False
        self.outbox.put(None)  # what was sent goes out first
        self.sender.join()
        with contextlib.suppress(OSError):
            self.stdin.close()
        self.reader.join()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.stdout.close()


#: Bytes a pipe to or from a worker holds (Linux's default is 64 KiB, less than one chunk
#: of 8 pages of ~20 KB: the writer thread then waits in every send until the worker has
#: read the chunk before, instead of taking the crawl's next fetches). Linux lets any
#: process raise a pipe up to /proc/sys/fs/pipe-max-size (1 MiB by default).
PIPE_BYTES = 1 << 20


def _widen(pipe: IO[bytes]) -> None:
    """Give ``pipe`` room for several chunks, where the system allows it."""
    setting = getattr(fcntl, "F_SETPIPE_SZ", None)
    if setting is None:
        return
    try:
        fcntl.fcntl(pipe.fileno(), setting, PIPE_BYTES)
    except OSError as exc:  # a lower pipe-max-size: the default size works, more slowly
        logger.debug("could not widen a worker's pipe: %s", exc)


def _observe_here(chunk: _Chunk) -> None:
    for (fetch, rules, state), future in zip(chunk.items, chunk.futures, strict=True):
        if not future.done():
            future.set_result(process(fetch, rules, state))


class PoolProcessor:
    """Observes fetches in ``workers`` worker processes, ``chunk_size`` fetches at a time.

    ``submit`` queues a fetch and returns its future; a chunk goes out when full, or on
    :meth:`flush` (the writer flushes whenever it runs out of fetches to take). The
    page's state is copied when submitted: what the writer learns later never changes
    an observation already asked for, as with the inline processor.
    """

    def __init__(self, workers: int, *, chunk_size: int = 8) -> None:
        self.chunk_size = chunk_size
        self.workers = workers
        self._wake: Callable[[], None] = _nothing
        # Started with the first fetch that needs one: a check whose pages all answer
        # with the bytes they had (the fast path) never starts a process.
        self._workers: list[_Worker] = []
        self._items: list[Item] = []
        self._futures: list[Future[Observation]] = []
        self._next_id = 0

    def bind(self, wake: Callable[[], None]) -> None:
        self._wake = wake

    def _answered(self) -> None:
        self._wake()

    def submit(
        self, fetch: FetchResult, rules: ProcessRules, state: PageState | None
    ) -> Future[Observation]:
        future: Future[Observation] = Future()
        if (
            state is not None
            and state.last_body_sha256 is not None
            and hashlib.sha256(fetch.body).hexdigest() == state.last_body_sha256
        ):
            # The bytes of the last good capture: observing takes its fast path (no
            # parsing), cheaper here than a round trip to a worker.
            future.set_result(process(fetch, rules, state))
            return future
        # A snapshot of what observing reads (learned rules stay behind: not needed).
        snapshot = replace(state, volatile_rules={}) if state is not None else None
        self._items.append((fetch, rules, snapshot))
        self._futures.append(future)
        if len(self._items) >= self.chunk_size:
            self.flush()
        return future

    def flush(self) -> None:
        if not self._items:
            return
        chunk = _Chunk(self._next_id, self._items, self._futures)
        self._next_id += 1
        self._items, self._futures = [], []
        if not self._workers:
            self._workers = [_Worker(number, self._answered) for number in range(self.workers)]
            logger.debug("observing in %d worker processes", self.workers)
        live = [worker for worker in self._workers if worker.alive]
        if live:
            payload = pickle.dumps((chunk.chunk_id, chunk.items), protocol=pickle.HIGHEST_PROTOCOL)
            worker = min(live, key=lambda w: w.outstanding)
            if worker.send(chunk, payload):
                return
        _observe_here(chunk)

    @property
    def outstanding(self) -> int:
        """Fetches submitted and not observed yet."""
        return len(self._items) + sum(worker.outstanding for worker in self._workers)

    def close(self) -> None:
        self.flush()
        for worker in self._workers:
            worker.close()


def _nothing() -> None:
    return None
