"""monitor: watch official web pages and prove when they change."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
