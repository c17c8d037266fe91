"""Storage: the database schema, its engine and the store that reads and writes it.

- :mod:`monitor.storage.models`: the SQLAlchemy models (one MetaData, a naming convention)
- :mod:`monitor.storage.db`: engines, SQLite pragmas, Alembic upgrades
- :mod:`monitor.storage.store`: targets, pages, captures, bodies, versions, listings

Storage knows nothing of detection, alerts or the config: it imports only the shared
vocabulary and records (tests/test_architecture.py says so).
"""

from __future__ import annotations

__all__: list[str] = []
