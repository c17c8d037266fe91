"""discovery and deep history: sitemap dates, moved pages, imported captures

``listed_links.lastmod`` remembers a link's date in its listing's sitemap or feed (a
date that moves is a hint to check the page now). ``pages.moved_to_id`` and
``pages.moved_from_id`` link a page whose content reappeared at another URL to that
page, both ways (no FK, like ``last_version_id``). ``captures.source`` and
``captures.provenance`` say where a capture the monitor did not fetch itself came from
(a WARC file, a web archive) and exactly where.

Revision ID: 0012_discovery
Revises: 0009
Create Date: 2026-11-30 00:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_discovery"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("listed_links", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lastmod", sa.String(length=64), nullable=True))
    with op.batch_alter_table("pages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("moved_to_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("moved_from_id", sa.Integer(), nullable=True))
    with op.batch_alter_table("captures", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("provenance", sa.Text(), nullable=True))


def downgrade() -> None:
    # Plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+ has it): a batch copy of captures or
    # pages would drop a table that others refer to, which SQLite's foreign keys refuse.
    for table, column in (
        ("captures", "provenance"),
        ("captures", "source"),
        ("pages", "moved_from_id"),
        ("pages", "moved_to_id"),
        ("listed_links", "lastmod"),
    ):
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
