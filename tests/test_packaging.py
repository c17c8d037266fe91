"""The installed package carries what it needs: migrations, templates, the console script."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    return next(out.glob("monitor-*.whl"))


@pytest.mark.slow
def test_wheel_ships_migrations_and_demo_site(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "migrations/env.py" in names and "migrations/script.py.mako" in names
    versions = {n for n in names if n.startswith("migrations/versions/") and n.endswith(".py")}
    assert {
        "migrations/versions/0001_initial_schema.py",
        "migrations/versions/0002_change_detection_state.py",
    } <= versions
    assert any(n.startswith("monitor/demo/templates/") for n in names)
    assert "monitor/detect/watch_terms.yaml" in names  # the built-in watch terms
    assert "spiders/listing.py" in names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "monitor = monitor.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


@pytest.mark.slow
def test_installed_copy_upgrades_a_database(wheel: Path, tmp_path: Path) -> None:
    """Run `monitor db upgrade` from the unpacked wheel, away from the checkout."""
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    database = tmp_path / "installed.db"
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "import monitor, migrations;"
        "assert monitor.__file__.startswith(sys.argv[1]), monitor.__file__;"
        "assert migrations.__file__.startswith(sys.argv[1]), migrations.__file__;"
        "from monitor.cli import main;"
        "main(['db', 'upgrade', '--db', 'sqlite:///' + sys.argv[2]])"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(site), str(database)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "upgraded from empty to" in result.stdout
