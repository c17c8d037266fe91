"""Lazy package exports: a package names its public objects without importing them.

``monitor targets`` must start in a fraction of a second, and a package's
``__init__`` that imports every module of the package (pydantic models, the web stack,
Scrapy) costs that and more. A package lists its public names as ``name -> module``
and gets a module ``__getattr__`` (PEP 562) that imports the module on first use::

    if TYPE_CHECKING:
        from monitor.config.schema import Config
    else:
        __getattr__, __dir__ = lazy_exports(__name__, {"Config": "monitor.config.schema"})

The ``TYPE_CHECKING`` imports give the type checker the real names; at run time only
the modules used are imported. ``tests/test_lazy.py`` checks that every lazy name
resolves and that the lists agree.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(
    package: str, exports: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of a package exporting ``exports`` lazily."""

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)  # imported once
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(exports))

    return __getattr__, __dir__
