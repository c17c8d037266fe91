"""Start and stop Celery workers as real subprocesses (each in its own process group)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
LOGS = Path(os.environ.get("SPIKE_LOGS", "/tmp/spike-celery-logs"))


@dataclass
class Worker:
    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def children(self) -> list[int]:
        """Pids of the pool's child processes (prefork)."""
        out = subprocess.run(
            ["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True
        ).stdout
        return [int(p) for p in out.split()]

    def kill_all(self) -> None:
        """SIGKILL the worker and its children at once (a machine gone)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self, grace: float = 20.0) -> float:
        """Warm shutdown (SIGTERM); returns the seconds it took, SIGKILL after ``grace``."""
        if self.process.poll() is not None:
            return 0.0
        t0 = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(grace)
        except subprocess.TimeoutExpired:
            self.kill_all()
            return float("inf")
        return time.monotonic() - t0


def start(
    name: str,
    *,
    pool: str = "prefork",
    concurrency: int = 1,
    env: dict[str, str] | None = None,
    ready_timeout: float = 60.0,
    command: list[str] | None = None,
) -> Worker:
    LOGS.mkdir(parents=True, exist_ok=True)
    log = LOGS / f"{name}.log"
    environment = {
        **os.environ,
        **(env or {}),
        "SPIKE_ROLE": "worker",
        "PYTHONPATH": f"{HERE}{os.pathsep}{ROOT}",
    }
    command = command or [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "spikeapp",
        "worker",
        "-P",
        pool,
        "-c",
        str(concurrency),
        "-n",
        f"{name}@%h",
        "-Q",
        environment.get("SPIKE_QUEUE", "spike-celery"),
        "--without-gossip",
        "--without-mingle",
        "-l",
        "info",
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command,
            cwd=HERE,
            env=environment,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    worker = Worker(name, process, log)
    deadline = time.monotonic() + ready_timeout
    while time.monotonic() < deadline:
        if " ready." in worker.text():
            return worker
        if process.poll() is not None:
            raise RuntimeError(f"worker {name} exited:\n{worker.text()[-3000:]}")
        time.sleep(0.1)
    worker.kill_all()
    raise RuntimeError(f"worker {name} not ready in {ready_timeout}s:\n{worker.text()[-3000:]}")
