"""robots.txt shared by the cluster's workers

``robots_txt`` keeps each site's robots.txt as a worker last fetched it (status, body,
when): every worker reads it from here while it is younger than ``cluster.robots_ttl``,
so the whole cluster fetches a site's robots.txt once per that time, not once per batch.

Revision ID: 0014_robots
Revises: 0013_documents
Create Date: 2026-11-30 04:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import monitor.storage.models

revision: str = "0014_robots"
down_revision: str | None = "0013_documents"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = monitor.storage.models.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "robots_txt",
        sa.Column("site", sa.String(length=255), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("fetched_at", UTC(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("site", name=op.f("pk_robots_txt")),
    )


def downgrade() -> None:
    op.drop_table("robots_txt")
