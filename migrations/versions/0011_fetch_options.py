"""fetch options: the proxy a capture went through, and browser-rendered captures

``captures.proxy`` is the proxy of the request (scheme://host:port, never credentials);
``captures.renderer`` is "browser" when a browser rendered the page (the body is then the
rendered DOM) and ``captures.raw_body_sha256`` the hash of the document as the server
sent it (kept in ``blobs`` with the body).

Revision ID: 0011
Revises: 0009
Create Date: 2026-11-30 00:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010_cluster"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("captures", schema=None) as batch_op:
        batch_op.add_column(sa.Column("proxy", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("renderer", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("raw_body_sha256", sa.String(length=64), nullable=True))


def downgrade() -> None:
    # Plain ALTER TABLE (SQLite 3.35+ drops a column in place): a batch copy of
    # ``captures`` would fail on the foreign keys that point at it.
    op.drop_column("captures", "raw_body_sha256")
    op.drop_column("captures", "renderer")
    op.drop_column("captures", "proxy")
