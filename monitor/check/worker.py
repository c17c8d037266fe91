"""A worker process that observes fetches for a check (``python -m monitor.check.worker``).

It reads chunks of ``(fetch, rules, state)`` from its standard input and writes their
observations back, in order, on the descriptor that was its standard output (which is
then pointed at standard error, so that nothing else can write into the stream). A frame
is a 4-byte big-endian length and a pickle. The observations go back without their
fetch (the parent has it), as the values of :data:`FIELDS`. The process ends when its
input ends.

It imports the detection code only (:mod:`monitor.check.processor`), not Scrapy,
Twisted or SQLAlchemy: a worker costs little memory and starts quickly.
"""

from __future__ import annotations

import logging
import os
import pickle
import struct
import sys
from dataclasses import fields
from typing import IO, Any

from monitor.check.processor import process
from monitor.records import FetchResult, Observation, PageState

logger = logging.getLogger(__name__)

HEADER = struct.Struct(">I")
# The fields of an Observation sent back, in this order (``fetch`` stays with the parent).
FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Observation) if f.name != "fetch")

Item = tuple[FetchResult, Any, PageState | None]


def read_frame(stream: IO[bytes]) -> bytes | None:
    """One frame's payload, or None at the end of the stream."""
    header = _read_exactly(stream, HEADER.size)
    if header is None:
        return None
    (size,) = HEADER.unpack(header)
    payload = _read_exactly(stream, size)
    if payload is None:
        raise EOFError("the stream ended inside a frame")
    return payload


def write_frame(stream: IO[bytes], payload: bytes) -> None:
    stream.write(HEADER.pack(len(payload)))
    stream.write(payload)
    stream.flush()


def _read_exactly(stream: IO[bytes], size: int) -> bytes | None:
    data = stream.read(size)
    if not data:
        return None
    while len(data) < size:
        more = stream.read(size - len(data))
        if not more:
            raise EOFError("the stream ended inside a frame")
        data += more
    return data


def values_of(observation: Observation) -> tuple[object, ...]:
    """An observation's fields without its fetch, as sent back."""
    return tuple(getattr(observation, name) for name in FIELDS)


def observation_of(fetch: FetchResult, values: tuple[object, ...]) -> Observation:
    """The observation rebuilt around the parent's own fetch."""
    return Observation(fetch, **dict(zip(FIELDS, values, strict=True)))  # type: ignore[arg-type]


def serve(source: IO[bytes], sink: IO[bytes]) -> None:
    """Observe chunks until ``source`` ends."""
    while True:
        payload = read_frame(source)
        if payload is None:
            return
        chunk_id, items = pickle.loads(payload)
        results = [values_of(process(fetch, rules, state)) for fetch, rules, state in items]
        write_frame(sink, pickle.dumps((chunk_id, results), protocol=pickle.HIGHEST_PROTOCOL))


def main() -> None:
    logging.basicConfig(
        level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s"
    )
    sink = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # stray prints cannot corrupt frames
    try:
        serve(sys.stdin.buffer, sink)
    except (BrokenPipeError, KeyboardInterrupt):
        return


if __name__ == "__main__":
    main()
