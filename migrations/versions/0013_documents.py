"""documents: a document's metadata at its page's last good capture

``pages.document_meta`` holds the metadata (title, author, dates...) of a PDF, .docx or
.odt page as last captured: never compared, it is what a later capture's metadata is
told apart from (a change makes a ``metadata`` note on the page's timeline).

Revision ID: 0013_documents
Revises: 0009
Create Date: 2026-11-30 00:45:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_documents"
down_revision: str | None = "0012_discovery"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("pages", sa.Column("document_meta", sa.JSON(), nullable=True))


def downgrade() -> None:
    # A plain ALTER TABLE (SQLite 3.35+ drops a column in place): a batch copy of
    # ``pages`` would fail on the foreign keys that point at it.
    op.drop_column("pages", "document_meta")
