"""The installed package: its name, what it ships, and that it installs and runs as the
README and deploy/ say, from a wheel into a fresh virtualenv, away from the checkout."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DISTRIBUTION = "statement-monitor"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


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
    return next(out.glob("statement_monitor-*.whl"))


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv with ``pip install '<wheel>[postgres]'``, as the README says."""
    home = tmp_path_factory.mktemp("venv") / "venv"
    venv.create(home, with_pip=True)
    result = subprocess.run(
        [str(home / "bin" / "pip"), "install", "-q", f"{wheel}[postgres]"],
        capture_output=True,
        text=True,
        check=False,
        cwd=home.parent,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return home


def site_packages(home: Path) -> Path:
    return next((home / "lib").glob("python3*/site-packages"))


def test_the_distribution_is_ours_and_the_command_is_monitor() -> None:
    project = PYPROJECT["project"]
    assert project["name"] == DISTRIBUTION
    assert project["scripts"] == {"monitor": "monitor.cli:main"}
    assert project["license"] == "Apache-2.0"
    assert "Apache License" in (ROOT / "LICENSE").read_text(encoding="utf-8")[:200]
    # Where the README and the systemd unit tell people to install it, they name it so.
    for document in ("README.md", "deploy/monitor.service"):
        text = (ROOT / document).read_text(encoding="utf-8")
        assert f"{DISTRIBUTION}[postgres]" in text, document
        assert not re.search(r"pip install[^\n]*'monitor\[", text), document


def test_every_package_of_the_checkout_is_listed() -> None:
    """pyproject lists packages by hand (for the spiders/ and migrations/ mapping)."""
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    mapping = PYPROJECT["tool"]["setuptools"]["package-dir"]
    found = set()
    for init in ROOT.glob("monitor/**/__init__.py"):
        found.add(".".join(init.parent.relative_to(ROOT).parts))
    for package, folder in mapping.items():
        for init in (ROOT / folder).glob("**/__init__.py"):
            found.add(".".join([package, *init.parent.relative_to(ROOT / folder).parts]))
    assert found == listed


@pytest.mark.slow
def test_wheel_ships_migrations_spiders_templates_and_license(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "monitor/migrations/env.py" in names
    assert "monitor/migrations/script.py.mako" in names
    assert {
        "monitor/migrations/versions/0001_initial_schema.py",
        "monitor/migrations/versions/0002_change_detection_state.py",
    } <= names
    assert "monitor/spiders/listing.py" in names
    assert any(n.startswith("monitor/demo/templates/") for n in names)
    assert "monitor/detect/watch_terms.yaml" in names  # the built-in watch terms
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    tops = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert tops == {"monitor"}, "only the monitor package at the top of site-packages"
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "monitor = monitor.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


@pytest.mark.slow
def test_wheel_installs_with_postgres_and_upgrades_both_databases(
    installed: Path, tmp_path: Path, postgres_server: str
) -> None:
    """`pip install 'statement-monitor[postgres]'` in a fresh venv: no top-level spiders or
    migrations package; `monitor db upgrade` migrates SQLite and PostgreSQL from the
    installed copy, run away from the checkout."""
    from tests.conftest import _create_postgres_database, _drop_postgres_database

    site = site_packages(installed)
    tops = {path.name for path in site.iterdir()}
    assert "monitor" in tops
    assert not tops & {"spiders", "migrations"}, sorted(tops)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MONITOR_CONFIG")}
    python = str(installed / "bin" / "python")
    probe = subprocess.run(
        [
            python,
            "-c",
            "import importlib.util as u, monitor, psycopg;"
            "print(monitor.__file__);"
            "print(u.find_spec('spiders'), u.find_spec('migrations'));"
            "import monitor.spiders, monitor.migrations;"
            "print(monitor.spiders.__file__)",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert probe.returncode == 0, probe.stderr
    lines = probe.stdout.splitlines()
    assert lines[0].startswith(str(site)) and lines[2].startswith(str(site))
    assert lines[1] == "None None"
    monitor = str(installed / "bin" / "monitor")
    sqlite = subprocess.run(
        [monitor, "db", "upgrade", "--db", f"sqlite:///{tmp_path / 'installed.db'}"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert sqlite.returncode == 0, sqlite.stderr
    assert "upgraded from empty to" in sqlite.stdout
    url, name = _create_postgres_database(postgres_server)
    try:
        postgres = subprocess.run(
            [monitor, "db", "upgrade", "--db", url],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert postgres.returncode == 0, postgres.stderr
        assert "upgraded from empty to" in postgres.stdout
    finally:
        _drop_postgres_database(postgres_server, name)
