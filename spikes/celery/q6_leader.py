"""Design check: scheduler leadership by a session-level PostgreSQL advisory lock.

Two candidates (separate processes) try ``pg_try_advisory_lock`` every POLL seconds; the
leader keeps its lock session busy with a ``SELECT 1`` every BEAT seconds, and the session
has ``idle_session_timeout`` = IDLE, so a leader that is frozen or cut off (its socket still
open, no FIN ever sent: SIGSTOP stands in for a lost machine) is disconnected by the server
and its lock released. Scenarios: SIGKILL of the leader; SIGSTOP of the leader (then SIGCONT:
the old leader must notice it lost the lock before doing anything).

    python spikes/celery/q6_leader.py
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DSN = "postgresql://postgres@127.0.0.1:5432/test"
KEY = 7_312_012  # the lock's id for this spike (issue 12)
POLL, BEAT, IDLE = 1.0, 3.0, 15


def candidate(name: str, out: Path) -> None:
    import psycopg

    def say(event: str, **fields: object) -> None:
        with out.open("a") as f:
            f.write(json.dumps({"name": name, "event": event, "at": time.time(), **fields}) + "\n")

    connection = psycopg.connect(DSN, autocommit=True)
    connection.execute(f"SET idle_session_timeout = '{IDLE}s'")
    while True:
        try:
            got = connection.execute("SELECT pg_try_advisory_lock(%s)", (KEY,)).fetchone()
        except psycopg.Error as exc:
            say("standby-lost-connection", error=str(exc)[:80])
            connection = psycopg.connect(DSN, autocommit=True)
            connection.execute(f"SET idle_session_timeout = '{IDLE}s'")
            continue
        if got and got[0]:
            say("leader", pid=os.getpid())
            break
        time.sleep(POLL)
    while True:  # leading: before each scheduling step, prove the lock session is alive
        time.sleep(BEAT)
        try:
            connection.execute("SELECT 1")
        except psycopg.Error as exc:
            say("lost-leadership", error=str(exc).splitlines()[0][:100])
            return


def spawn(name: str, out: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, __file__, "--candidate", name, str(out)])


def events(out: Path) -> list[dict[str, object]]:
    if not out.exists():
        return []
    return [json.loads(line) for line in out.read_text().splitlines()]


def wait_for(out: Path, event: str, count: int, timeout: float) -> list[dict[str, object]]:
    deadline = time.time() + timeout
    while time.time() < deadline:
        found = [e for e in events(out) if e["event"] == event]
        if len(found) >= count:
            return found
        time.sleep(0.05)
    return [e for e in events(out) if e["event"] == event]


def scenario(stop: str) -> None:
    out = Path(tempfile.mkdtemp(prefix="spike-leader-")) / "events.jsonl"
    first = spawn("a", out)
    leader = wait_for(out, "leader", 1, 10)[0]
    second = spawn("b", out)
    time.sleep(2)
    print(
        f"== leader {leader['name']}, standby b polling every {POLL} s; {stop} the leader "
        f"(beat {BEAT} s, idle_session_timeout {IDLE} s)"
    )
    stopped_at = time.time()
    first.send_signal(signal.SIGKILL if stop == "SIGKILL" else signal.SIGSTOP)
    leaders = wait_for(out, "leader", 2, 60)
    if len(leaders) >= 2:
        print(f"  b leads {float(leaders[1]['at']) - stopped_at:.2f} s after the {stop}")  # type: ignore[arg-type]
    else:
        print("  no takeover within 60 s")
    if stop == "SIGSTOP":
        first.send_signal(signal.SIGCONT)
        lost = wait_for(out, "lost-leadership", 1, BEAT + 5)
        verdict = lost[0]["error"] if lost else "still thinks it leads!"
        print(f"  old leader after SIGCONT: {verdict}")
    for process in (first, second):
        process.kill()
        process.wait()


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--candidate":
        candidate(sys.argv[2], Path(sys.argv[3]))
        return
    scenario("SIGKILL")
    scenario("SIGSTOP")


if __name__ == "__main__":
    main()
