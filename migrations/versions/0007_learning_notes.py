"""learning notes: what was learned as noise, on the page's timeline; block samples

``learning_notes`` records each thing learned (or forgotten) about a page, shown on its
timeline and never alerted. ``volatile_lines.samples`` holds, for a rotating block, the
lines it showed, so that only those are ignored and a new sentence there is a change.

Blocks learned before this revision know no lines: they could hide any text, real edits
included (issue 17 item 1). They are made candidates again, to be re-learned under the
new rules; a page that had one may report one change at its next check, showing the
text the block holds.

Revision ID: 0007
Revises: 0005
Create Date: 2026-12-01 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import monitor.storage.models

revision: str = "0007"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "learning_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("page_id", sa.Integer(), nullable=False),
        sa.Column("capture_id", sa.Integer(), nullable=True),
        sa.Column("noted_at", monitor.storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["capture_id"], ["captures.id"], name=op.f("fk_learning_notes_capture_id_captures")
        ),
        sa.ForeignKeyConstraint(
            ["page_id"],
            ["pages.id"],
            name=op.f("fk_learning_notes_page_id_pages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_learning_notes")),
    )
    with op.batch_alter_table("learning_notes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_learning_notes_page_id"), ["page_id"], unique=False)
    with op.batch_alter_table("volatile_lines", schema=None) as batch_op:
        batch_op.add_column(sa.Column("samples", sa.JSON(), nullable=True))
    lines = sa.table(
        "volatile_lines",
        sa.column("kind", sa.String),
        sa.column("learned", sa.Boolean),
        sa.column("streak", sa.Integer),
    )
    op.execute(lines.update().where(lines.c.kind == "after").values(learned=False, streak=0))


def downgrade() -> None:
    with op.batch_alter_table("volatile_lines", schema=None) as batch_op:
        batch_op.drop_column("samples")
    with op.batch_alter_table("learning_notes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_learning_notes_page_id"))
    op.drop_table("learning_notes")
