"""Alembic migration scripts, shipped with the package so installed copies can upgrade."""
