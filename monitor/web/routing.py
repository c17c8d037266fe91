"""The path parameters of the web routes: ids and version numbers that fit the database.

Starlette's ``int`` convertor takes any run of digits, and a number past the database's
64-bit integers overflowed in the query (a 500). ``{name:id}`` matches at most 18
digits, so a larger number matches no route and is answered 404, like an id that
does not exist.
"""

from __future__ import annotations

import logging

from starlette.convertors import Convertor, register_url_convertor

logger = logging.getLogger(__name__)


#: The largest id a path or query names (18 digits: below SQLite's and PostgreSQL's
#: 64-bit integers).
MAX_ID = 10**18 - 1


class IdConvertor(Convertor[int]):
    """A row id or version number in a path: 1 to 18 digits (always below 2**63)."""

    regex = "[0-9]{1,18}"

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: int) -> str:
        number = int(value)
        if number < 0:
            raise ValueError("an id in a path is never negative")
        return str(number)


def register() -> None:
    """Make ``{name:id}`` known to Starlette (before any route using it is built)."""
    register_url_convertor("id", IdConvertor())


register()
