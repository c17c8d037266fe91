"""A CSS or XPath selector, parsed once from the config and handed to whoever selects.

The config writes ``css: article``, ``xpath: //main``, or the shorthands ``"css:article"``,
``"xpath://main"``, ``"//main"`` (XPath) and ``"article"`` (CSS); :meth:`Selector.parse`
reads them all. Extraction (:mod:`monitor.detect.extract`) and the listing spider
(:mod:`spiders.listing`) take the value, never the string.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

logger = logging.getLogger(__name__)

Kind = Literal["css", "xpath"]
KINDS: tuple[Kind, ...] = ("css", "xpath")


@dataclass(frozen=True, slots=True)
class Selector:
    """One selector: its kind (``css`` or ``xpath``) and its query.

    >>> Selector.parse("//main"), Selector.parse("css:article p").query
    ('xpath://main', 'article p')

    Its repr is its expression's (``'css:article'``), so the fingerprint of extraction
    rules that hold it (:attr:`monitor.detect.observe.ProcessRules.key`) and the messages
    naming it read as they always did.
    """

    kind: Kind
    query: str

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown selector kind in {self.kind}:{self.query!r}")

    @classmethod
    def parse(cls, text: str) -> Selector:
        """``"xpath:..."``, ``"css:..."``, an XPath starting with ``/``, or plain CSS."""
        if text.startswith("xpath:"):
            return cls("xpath", text[len("xpath:") :])
        if text.startswith("css:"):
            return cls("css", text[len("css:") :])
        if text.startswith("/"):
            return cls("xpath", text)
        return cls("css", text)

    @property
    def expression(self) -> str:
        """``css:<query>`` or ``xpath:<query>``: how it is written in one string."""
        return f"{self.kind}:{self.query}"

    def __str__(self) -> str:
        return self.expression

    def __repr__(self) -> str:
        return repr(self.expression)
