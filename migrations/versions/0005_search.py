"""search: full-text index over versions' title and text

SQLite: an FTS5 table ``versions_fts`` with the versions table as its external content
(no second copy of the text), kept in sync by triggers. PostgreSQL: a GIN index on
``monitor_search_document(title, text)``, an immutable function that builds the tsvector.

Both split text the same way, so a query finds the same versions on either backend: every
run of characters that are neither letters nor digits separates words, words are compared
in lower case, and no stemming or accent folding is done (texts in many languages).
See :mod:`monitor.history.search`.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 02:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_UPGRADE = [
    # unicode61 with remove_diacritics 0: letters and digits (Unicode categories L*, N*, Co)
    # form words, everything else separates them; case folded; accents kept.
    """
    CREATE VIRTUAL TABLE versions_fts USING fts5(
        title, text, content='versions', content_rowid='id',
        tokenize='unicode61 remove_diacritics 0'
    )
    """,
    """
    CREATE TRIGGER versions_fts_insert AFTER INSERT ON versions BEGIN
        INSERT INTO versions_fts(rowid, title, text) VALUES (new.id, new.title, new.text);
    END
    """,
    """
    CREATE TRIGGER versions_fts_delete AFTER DELETE ON versions BEGIN
        INSERT INTO versions_fts(versions_fts, rowid, title, text)
        VALUES ('delete', old.id, old.title, old.text);
    END
    """,
    """
    CREATE TRIGGER versions_fts_update AFTER UPDATE OF title, text ON versions BEGIN
        INSERT INTO versions_fts(versions_fts, rowid, title, text)
        VALUES ('delete', old.id, old.title, old.text);
        INSERT INTO versions_fts(rowid, title, text) VALUES (new.id, new.title, new.text);
    END
    """,
    "INSERT INTO versions_fts(versions_fts) VALUES ('rebuild')",
]

SQLITE_DOWNGRADE = [
    "DROP TRIGGER IF EXISTS versions_fts_update",
    "DROP TRIGGER IF EXISTS versions_fts_delete",
    "DROP TRIGGER IF EXISTS versions_fts_insert",
    "DROP TABLE IF EXISTS versions_fts",
]

# Non-alphanumeric runs become spaces before PostgreSQL's parser sees the text, so it never
# makes its special tokens (e-mail addresses, URLs, hyphenated words, 3.5 as one number)
# and splits words where SQLite's unicode61 does. A document whose distinct words exceed
# the tsvector size limit (1 MB of lexemes, pages of unique identifiers) is indexed from
# its first 200,000 characters instead of making the version's insert fail.
POSTGRESQL_UPGRADE = [
    r"""
    CREATE OR REPLACE FUNCTION monitor_search_document(title text, body text)
    RETURNS tsvector
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    AS $$
    DECLARE
        words text := regexp_replace(
            coalesce(title, '') || ' ' || coalesce(body, ''), '[^[:alnum:]]+', ' ', 'g'
        );
    BEGIN
        RETURN to_tsvector('simple'::regconfig, words);
    EXCEPTION WHEN program_limit_exceeded THEN
        RETURN to_tsvector('simple'::regconfig, left(words, 200000));
    END
    $$
    """,
    """
    CREATE INDEX ix_versions_search ON versions
    USING gin (monitor_search_document(title, text))
    """,
]

POSTGRESQL_DOWNGRADE = [
    "DROP INDEX IF EXISTS ix_versions_search",
    "DROP FUNCTION IF EXISTS monitor_search_document(text, text)",
]


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    statements = {"sqlite": SQLITE_UPGRADE, "postgresql": POSTGRESQL_UPGRADE}.get(dialect, [])
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    statements = {"sqlite": SQLITE_DOWNGRADE, "postgresql": POSTGRESQL_DOWNGRADE}.get(dialect, [])
    for statement in statements:
        op.execute(statement)
