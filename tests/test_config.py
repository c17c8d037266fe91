"""Config validation: every error names the file, the key and what is allowed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor import config as cfg
from monitor.exceptions import ConfigError

CASES = yaml.safe_load((Path(__file__).parent / "data" / "config_errors.yaml").read_text())
ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_config_error_messages(case: dict[str, Any]) -> None:
    with pytest.raises(ConfigError) as caught:
        cfg.parse(case["config"], "cfg.yaml")
    message = str(caught.value)
    assert case["error"] in message, message
    for line in message.splitlines():
        assert line.startswith("cfg.yaml: "), line


def test_example_config_is_valid_and_documents_every_key(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("MONITOR_SMTP_PASSWORD", "MONITOR_WEBHOOK_SECRET", "MONITOR_APPRISE_URLS"):
        monkeypatch.setenv(variable, "set")  # its channels' secrets (checked at load)
    example = ROOT / "config.example.yaml"
    config = cfg.load(example)
    assert config.targets, "the example lists real pages to watch"
    text = example.read_text()
    documented = {
        line.split("#", 1)[1].strip().split(":")[0].strip()
        for line in text.splitlines()
        if line.lstrip().startswith("#") and ":" in line
    }
    documented_keys = set()
    for line in text.splitlines():
        stripped = line.lstrip("# ").strip()
        if ":" in stripped:
            documented_keys.add(stripped.split(":", 1)[0].strip("- "))
    models: list[type[Any]] = [
        cfg.Config,
        cfg.Fetch,
        cfg.Detect,
        cfg.Defaults,
        cfg.Schedule,
        cfg.Target,
        cfg.Follow,
        cfg.Templates,
        cfg.Route,
        cfg.Outbox,
        cfg.Daemon,
        cfg.Metrics,
        cfg.Browser,
        cfg.FromEnv,
        # What plugins own: every channel kind, the archive (registered by cfg.load).
        *cfg.CHANNEL_TYPES.values(),
        *cfg.SECTIONS.values(),
    ]
    assert {"email", "webhook", "apprise"} <= set(cfg.CHANNEL_TYPES)
    assert "archive" in cfg.SECTIONS
    missing = []
    for model in models:
        for name, field in model.model_fields.items():
            key = field.alias or name
            if key not in documented_keys:
                missing.append(f"{model.__name__}.{key}")
    assert not missing, f"config.example.yaml does not document: {missing}"
    assert documented  # the file has comments at all


def test_load_reports_yaml_syntax_with_position(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("targets:\n  - name: a\n    url: [unclosed\n")
    with pytest.raises(ConfigError, match=r"broken.yaml: not valid YAML at line \d+, column \d+"):
        cfg.load(path)


def test_load_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such config file"):
        cfg.load(tmp_path / "nope.yaml")


def test_durations_and_sizes() -> None:
    assert cfg.parse_duration("90s") == 90
    assert cfg.parse_duration("15m") == 900
    assert cfg.parse_duration("2h") == 7200
    assert cfg.parse_duration(30) == 30
    assert cfg.parse_size("10MB") == 10_000_000
    assert cfg.parse_size("1 MiB") == 1024 * 1024
    with pytest.raises(ValueError):
        cfg.parse_duration("-5s")


def test_secret_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MONITOR_TEST_SECRET", "s3cret")
    assert cfg.secret("MONITOR_TEST_SECRET", "channels.hook.secret_env") == "s3cret"
    monkeypatch.delenv("MONITOR_TEST_SECRET")
    with pytest.raises(
        ConfigError,
        match=r"channels\.hook\.secret_env: the environment variable MONITOR_TEST_SECRET "
        "is not set",
    ):
        cfg.secret("MONITOR_TEST_SECRET", "channels.hook.secret_env")


def test_selector_shorthands() -> None:
    config = cfg.parse(
        {
            "targets": [
                {
                    "name": "a",
                    "url": "https://example.org/",
                    "selector": "article.main",
                    "exclude": ["xpath://aside", ".share"],
                },
            ]
        }
    )
    target = config.targets[0]
    assert target.selector is not None and target.selector.expression == "css:article.main"
    assert [s.expression for s in target.exclude] == ["xpath://aside", "css:.share"]
    assert target.kind == "page"


def test_select_by_name_and_tag() -> None:
    config = cfg.parse(
        {
            "targets": [
                {"name": "a", "url": "https://example.org/a", "tags": ["x"]},
                {"name": "b", "url": "https://example.org/b", "tags": ["y"]},
                {"name": "c", "url": "https://example.org/c", "tags": "x", "enabled": False},
            ]
        }
    )
    assert [t.name for t in config.select()] == ["a", "b"]
    assert [t.name for t in config.select(tags=("x",))] == ["a"]
    assert [t.name for t in config.select(names=("c",))] == ["c"]
    with pytest.raises(ConfigError, match="no target named 'zz'; known targets: a, b, c"):
        config.select(names=("zz",))
