"""How long the `monitor` command takes to start, per command (issue 14: ≤ 0.3 s).

    python benchmarks/startup.py               # 10 runs of each command, medians
    python benchmarks/startup.py --runs 20 --importtime

Each command runs as a fresh process (the installed ``monitor`` script) against a small
SQLite database made in a temporary folder, so the time is what a user waits for:
interpreter start, imports, the command's own work. ``--importtime`` also prints the
ten slowest imports of each command (``python -X importtime``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COMMANDS = (
    ["--help"],
    ["targets"],
    ["history", "statement"],
    ["status"],
)


def prepare(folder: Path) -> dict[str, str]:
    config = folder / "config.yaml"
    config.write_text(
        f"database: sqlite:///{folder / 'monitor.db'}\n"
        "targets:\n"
        "  - name: statement\n"
        "    url: http://127.0.0.1:9/statement\n"
    )
    env = {**os.environ, "MONITOR_CONFIG": str(config), "NO_COLOR": "1"}
    subprocess.run(["monitor", "db", "upgrade"], env=env, check=True, capture_output=True)
    return env


def measure(command: list[str], env: dict[str, str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(["monitor", *command], env=env, capture_output=True, check=False)
        times.append(time.perf_counter() - start)
    return times


def slowest_imports(command: list[str], env: dict[str, str], count: int = 10) -> list[str]:
    script = shutil.which("monitor")
    assert script is not None
    result = subprocess.run(
        [sys.executable, "-X", "importtime", script, *command],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    rows = []
    for line in result.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _self, cumulative, name = line.removeprefix("import time:").split("|")
        if name.startswith(" ") and not name.startswith("  "):  # top-level imports
            rows.append((int(cumulative), name.strip()))
    return [f"{us / 1000:8.1f} ms  {name}" for us, name in sorted(rows, reverse=True)[:count]]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--importtime", action="store_true")
    parser.add_argument("--goal", type=float, default=0.3, help="seconds (exit 1 above)")
    args = parser.parse_args()
    if shutil.which("monitor") is None:
        raise SystemExit("the monitor command is not installed in this environment")
    worst = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        env = prepare(Path(tmp))
        baseline = statistics.median(measure_python(env, args.runs))
        print(f"{'python -c pass':24} median {baseline:.3f} s (the interpreter alone)")
        for command in COMMANDS:
            times = measure(command, env, args.runs)
            median = statistics.median(times)
            worst = max(worst, median)
            print(
                f"{'monitor ' + ' '.join(command):24} median {median:.3f} s  "
                f"min {min(times):.3f} s  max {max(times):.3f} s"
            )
            if args.importtime:
                for line in slowest_imports(command, env):
                    print("    " + line)
    return 1 if worst > args.goal else 0


def measure_python(env: dict[str, str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], env=env, check=True)
        times.append(time.perf_counter() - start)
    return times


if __name__ == "__main__":
    sys.exit(main())
