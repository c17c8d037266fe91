"""listing membership: every link a listing showed, and the page that watches it

``listed_links`` remembers each URL a listing target ever listed (followed or not), so
an article is "added" only the first time its URL appears anywhere, and a URL watched by
several targets is one page fetched once; pages get an index by URL to find them.
Existing databases are filled from the listings' article pages: every one of them was
listed when it was discovered.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import monitor.storage.models

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "listed_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("page_id", sa.Integer(), nullable=True),
        sa.Column(
            "first_listed_at", monitor.storage.models.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "last_listed_at", monitor.storage.models.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("announce", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.ForeignKeyConstraint(
            ["page_id"],
            ["pages.id"],
            name=op.f("fk_listed_links_page_id_pages"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["target_id"],
            ["targets.id"],
            name=op.f("fk_listed_links_target_id_targets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_listed_links")),
        sa.UniqueConstraint("target_id", "url", name=op.f("uq_listed_links_target_id")),
    )
    with op.batch_alter_table("listed_links", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_listed_links_page_id"), ["page_id"], unique=False)
    with op.batch_alter_table("pages", schema=None) as batch_op:
        batch_op.create_index("ix_pages_url", ["url"], unique=False)
    # Every article page was listed when it was found: its listing has seen its URL.
    op.execute(
        """
        INSERT INTO listed_links (target_id, url, page_id, first_listed_at, last_listed_at,
                                  announce)
        SELECT target_id, url, id, created_at, COALESCE(last_listed_at, created_at), false
        FROM pages WHERE role = 'article'
        """
    )


def downgrade() -> None:
    with op.batch_alter_table("pages", schema=None) as batch_op:
        batch_op.drop_index("ix_pages_url")
    with op.batch_alter_table("listed_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_listed_links_page_id"))
    op.drop_table("listed_links")
