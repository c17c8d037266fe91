"""site boilerplate and images: site-wide chrome learned per host, images of versions

``site_lines`` holds, per page, the lines of its latest version that could be chrome
(with their block keys); ``site_boilerplate`` what was learned from them per site.
``versions.images`` keeps the content's images as [src, alt] pairs (null on older rows).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import monitor.storage.models

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "site_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("page_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("line", sa.Text(), nullable=False),
        sa.Column("block", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["page_id"], ["pages.id"], name=op.f("fk_site_lines_page_id_pages"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_site_lines")),
    )
    with op.batch_alter_table("site_lines", schema=None) as batch_op:
        batch_op.create_index("ix_site_lines_host_line", ["host", "line"], unique=False)
        batch_op.create_index(batch_op.f("ix_site_lines_page_id"), ["page_id"], unique=False)

    op.create_table(
        "site_boilerplate",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("created_at", monitor.storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_site_boilerplate")),
        sa.UniqueConstraint("host", "kind", "value", name=op.f("uq_site_boilerplate_host")),
    )
    with op.batch_alter_table("site_boilerplate", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_site_boilerplate_host"), ["host"], unique=False)

    with op.batch_alter_table("versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("images", sa.JSON(), nullable=True))


def downgrade() -> None:
    # A plain ALTER TABLE (SQLite 3.35+ drops a column in place): a batch copy of
    # ``versions`` would fail on the foreign keys that point at it.
    op.drop_column("versions", "images")
    with op.batch_alter_table("site_boilerplate", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_site_boilerplate_host"))
    op.drop_table("site_boilerplate")
    with op.batch_alter_table("site_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_site_lines_page_id"))
        batch_op.drop_index("ix_site_lines_host_line")
    op.drop_table("site_lines")
