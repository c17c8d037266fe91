"""The ``cluster`` config section: what the scheduler and worker roles need.

Nothing of it is needed on a single node. It lives with the cluster code and registers
itself with the config (:mod:`monitor.config.registry`), as the archive section does.
"""

from __future__ import annotations

import logging
import os
import re

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from monitor.config.registry import register_section
from monitor.config.units import parse_duration
from monitor.exceptions import ConfigError

logger = logging.getLogger(__name__)

#: RabbitMQ closes a channel whose delivery stays unacknowledged longer than this
#: (its default ``consumer_timeout``): a batch must end well inside it.
RABBITMQ_CONSUMER_TIMEOUT = 1800.0

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_QUEUE_NAME = re.compile(r"^[A-Za-z0-9_.:-]{1,200}$")


@register_section("cluster")
class ClusterSettings(BaseModel):
    """The ``cluster`` config section (`monitor run --role scheduler|worker`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    broker_env: str = Field(
        default="MONITOR_BROKER_URL",
        description="Environment variable holding the broker URL (redis://... or amqp://...).",
    )
    queue: str = Field(default="monitor.checks", description="The queue of check batches.")
    batch_size: int = Field(
        default=100, ge=1, le=10_000, description="At most this many pages of a site per batch."
    )
    batch_timeout: float = Field(
        default=600.0, description="A batch's crawl is stopped after this long."
    )
    concurrency: int = Field(
        default=16, ge=1, le=256, description="Batches (sites) in flight per worker process."
    )
    tick: float = Field(default=1.0, description="How often the leader looks for due pages.")
    leader_timeout: float = Field(
        default=30.0, description="A standby scheduler leads within this after the leader dies."
    )
    heartbeat: float = Field(
        default=10.0, description="How often a worker says it is alive (gone after 3 missed)."
    )
    lease_ttl: float = Field(
        default=60.0,
        description="A site's lease lasts this long unless renewed (a dead worker's site is "
        "free again after it).",
    )
    robots_ttl: float = Field(
        default=3600.0,
        description="A site's robots.txt, once fetched by any worker, is used by every worker "
        "for this long (fetched once per site per this time by the whole cluster).",
    )
    resend_after: float = Field(
        default=300.0,
        description="A batch sent but not started after this long is sent again "
        "(a lost message, a broker restart).",
    )

    @field_validator(
        "batch_timeout",
        "tick",
        "leader_timeout",
        "heartbeat",
        "lease_ttl",
        "robots_ttl",
        "resend_after",
        mode="before",
    )
    @classmethod
    def _duration(cls, value: object) -> float:
        return parse_duration(value)

    @field_validator("broker_env")
    @classmethod
    def _env_name(cls, value: str) -> str:
        if not _ENV_NAME.match(value):
            raise ValueError(f"{value!r} is not an environment variable name")
        return value

    @field_validator("queue")
    @classmethod
    def _queue_name(cls, value: str) -> str:
        if not _QUEUE_NAME.match(value):
            raise ValueError(f"{value!r} is not a queue name (letters, digits, '.', '_', ':', '-')")
        return value

    @field_validator("leader_timeout")
    @classmethod
    def _leader_timeout(cls, value: float) -> float:
        if value < 3:
            raise ValueError("must be at least 3s (the leader beats every fifth of it)")
        return value

    @field_validator("tick", "heartbeat", "lease_ttl", "robots_ttl", "resend_after")
    @classmethod
    def _positive(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("must be more than 0s")
        return value

    @field_validator("batch_timeout")
    @classmethod
    def _batch_timeout(cls, value: float) -> float:
        if not 0 < value < RABBITMQ_CONSUMER_TIMEOUT:
            raise ValueError(
                "must be more than 0s and less than 30m (RabbitMQ's default consumer_timeout: "
                "a longer batch would be delivered twice)"
            )
        return value

    @model_validator(mode="after")
    def _lease_outlives_beats(self) -> ClusterSettings:
        if self.lease_ttl < 3 * self.tick:
            raise ValueError("lease_ttl must be at least three ticks")
        return self

    def broker_url(self) -> str:
        """The broker URL from the environment; ConfigError naming the variable if unset."""
        url = os.environ.get(self.broker_env, "").strip()
        if not url:
            raise ConfigError(
                f"cluster.broker_env: the environment variable {self.broker_env} is not set; "
                "set it to the broker URL (e.g. amqp://guest:guest@127.0.0.1:5672// or "
                "redis://127.0.0.1:6379/5)"
            )
        if not url.startswith(("redis://", "rediss://", "amqp://", "amqps://", "pyamqp://")):
            raise ConfigError(
                f"cluster.broker_env: {self.broker_env} must hold a redis:// or amqp:// URL"
            )
        return url
