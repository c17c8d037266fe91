"""Alembic environment: uses the engine handed over by monitor.storage.db, or the configured URL."""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import Engine

from monitor.storage.db import lock_for_upgrade, migration_engine
from monitor.storage.models import Base

config = context.config
target_metadata = Base.metadata

# Full-text search objects made by raw SQL in 0005_search (FTS5 and its shadow tables on
# SQLite, an expression index on PostgreSQL): not in the models, so autogenerate must not
# offer to drop them.
SEARCH_OBJECTS = ("versions_fts", "ix_versions_search")


def include_object(
    object_: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    return not (reflected and name is not None and name.startswith(SEARCH_OBJECTS))


def _engine() -> Engine:
    engine = config.attributes.get("engine")
    if engine is None:
        engine = migration_engine(
            config.get_main_option("sqlalchemy.url") or "sqlite:///monitor.db"
        )
    return engine


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    with _engine().connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=True,
            compare_type=True,
            compare_server_default=True,
            include_object=include_object,
            # The whole upgrade is one transaction (SQLite's DDL is transactional too):
            # a process killed midway leaves the database as it was.
            transactional_ddl=True,
        )
        with context.begin_transaction():
            lock_for_upgrade(connection)
            context.run_migrations()
        connection.commit()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
