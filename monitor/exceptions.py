"""Every error the monitor raises on purpose.

MonitorError                 base of all of them; the CLI turns it into a message
├── ConfigError              the config file is missing, unreadable or invalid
├── StorageError             the database cannot be opened, upgraded or written
│   └── UnknownTargetError   a name or URL that matches no target or page
├── FetchError               a page could not be fetched (network, TLS, timeout, size)
├── ExtractionError          content could not be extracted from a capture
│   ├── UndecodableContentError  the body is binary or in no text encoding
│   └── SelectorNotMatchedError  a configured selector matched nothing
└── DemoError                the demo site could not be started
"""

from __future__ import annotations


class MonitorError(Exception):
    """Base class for errors the monitor reports to people."""


class ConfigError(MonitorError):
    """The configuration is invalid; the message names the file, the key and what is allowed."""


class StorageError(MonitorError):
    """The database could not be opened, upgraded or written."""


class UnknownTargetError(StorageError):
    """A target name or URL that matches nothing in the database."""


class FetchError(MonitorError):
    """A page could not be fetched."""


class ExtractionError(MonitorError):
    """Content could not be extracted from a capture."""


class UndecodableContentError(ExtractionError):
    """The body is not text in any encoding we can read (binary, image, archive)."""


class SelectorNotMatchedError(ExtractionError):
    """A configured content selector matched nothing on the page."""


class DemoError(MonitorError):
    """The demo site could not be started."""
