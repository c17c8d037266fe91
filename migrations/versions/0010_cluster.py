"""cluster: the leading scheduler, the processes, dispatched batches, site leases

Tables of `monitor run --role scheduler|worker` (docs/SCALING.md); empty and unused on a
single node.

Revision ID: 0010_cluster
Revises: 0009
Create Date: 2026-11-30 00:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import monitor.storage.models

revision: str = "0010_cluster"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = monitor.storage.models.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "cluster_leader",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("epoch", sa.BigInteger(), nullable=False),
        sa.Column("node_id", sa.String(length=64), nullable=False),
        sa.Column("host", sa.String(length=200), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("since", UTC(timezone=True), nullable=False),
        sa.Column("heartbeat_at", UTC(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cluster_leader")),
    )
    op.create_table(
        "cluster_nodes",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("host", sa.String(length=200), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("queue", sa.String(length=200), nullable=True),
        sa.Column("concurrency", sa.Integer(), nullable=False),
        sa.Column("started_at", UTC(timezone=True), nullable=False),
        sa.Column("heartbeat_at", UTC(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cluster_nodes")),
    )
    op.create_index(
        op.f("ix_cluster_nodes_heartbeat_at"), "cluster_nodes", ["heartbeat_at"], unique=False
    )
    op.create_table(
        "cluster_dispatches",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("site", sa.String(length=255), nullable=False),
        sa.Column("targets", sa.JSON(), nullable=False),
        sa.Column("epoch", sa.BigInteger(), nullable=False),
        sa.Column("created_at", UTC(timezone=True), nullable=False),
        sa.Column("published_at", UTC(timezone=True), nullable=True),
        sa.Column("sends", sa.Integer(), nullable=False),
        sa.Column("worker_id", sa.String(length=64), nullable=True),
        sa.Column("started_at", UTC(timezone=True), nullable=True),
        sa.Column("starts", sa.Integer(), nullable=False),
        sa.Column("finished_at", UTC(timezone=True), nullable=True),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("errors", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cluster_dispatches")),
    )
    op.create_index(
        op.f("ix_cluster_dispatches_created_at"),
        "cluster_dispatches",
        ["created_at"],
        unique=False,
    )
    op.create_index(
        "ix_cluster_dispatches_site_finished_at",
        "cluster_dispatches",
        ["site", "finished_at"],
        unique=False,
    )
    op.create_table(
        "site_leases",
        sa.Column("site", sa.String(length=255), nullable=False),
        sa.Column("holder", sa.String(length=200), nullable=False),
        sa.Column("token", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", UTC(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("site", name=op.f("pk_site_leases")),
    )


def downgrade() -> None:
    op.drop_table("site_leases")
    op.drop_index("ix_cluster_dispatches_site_finished_at", table_name="cluster_dispatches")
    op.drop_index(op.f("ix_cluster_dispatches_created_at"), table_name="cluster_dispatches")
    op.drop_table("cluster_dispatches")
    op.drop_index(op.f("ix_cluster_nodes_heartbeat_at"), table_name="cluster_nodes")
    op.drop_table("cluster_nodes")
    op.drop_table("cluster_leader")
