"""Every error the monitor raises on purpose.

MonitorError                 base of all of them; the CLI turns it into a message
├── ConfigError              the config file is missing, unreadable or invalid
├── StorageError             the database cannot be opened, upgraded or written
│   ├── UnknownTargetError   a name or URL that matches no target or page
│   ├── DaemonLockedError    another `monitor run` holds the database's scheduler lock
│   ├── LockLostError        this `monitor run` no longer holds it: it stops writing
│   └── WriteConflictError   another process wrote the same rows first (retried)
├── EvidenceError            a WARC file, bundle or stored body could not be written or read
│   ├── SavePageNowError     the public web archive made (or reported) no copy
│   └── TimeValueError       a date or time given by a person that cannot be read
├── ExtractionError          content could not be extracted from a capture
│   ├── UndecodableContentError  the body is binary or in no text encoding
│   ├── DocumentError    a PDF, .docx or .odt that cannot be read (damaged, encrypted)
│   ├── SelectorNotMatchedError  a configured selector matched nothing
│   └── PatternTimeoutError  a user regex took too long on a page (catastrophic backtracking)
├── SearchQueryError         a search query with nothing to look for
├── DemoError                the demo site could not be started
└── ClusterError             the cluster's broker or leadership cannot be used
    └── NotLeaderError       this scheduler lost the lead (its dispatch is rolled back)
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


class DaemonLockedError(StorageError):
    """Another scheduler is alive on the same database."""


class LockLostError(StorageError):
    """This scheduler lost the database's lock: another one took over; stop writing."""


class WriteConflictError(StorageError):
    """A write collided with another process's (a unique row it wrote first)."""


class EvidenceError(MonitorError):
    """Evidence could not be written or read: a WARC file, a bundle, a missing body."""


class SavePageNowError(EvidenceError):
    """The public web archive did not make (or report) a copy of a page."""


class TimeValueError(EvidenceError):
    """A date or time given by a person (``--since``, ``?until=``) that cannot be read.

    An EvidenceError because it first served ``monitor export``; every caller that caught
    that still does.
    """


class ExtractionError(MonitorError):
    """Content could not be extracted from a capture."""


class DocumentError(ExtractionError):
    """A document (PDF, .docx, .odt) that cannot be read: damaged, encrypted, too long."""


class UndecodableContentError(ExtractionError):
    """The body is not text in any encoding we can read (binary, image, archive)."""


class SelectorNotMatchedError(ExtractionError):
    """A configured content selector matched nothing on the page.

    It carries the page's title and its whole visible text (``page_lines``), so that a
    removed or blocked page is judged as such rather than blamed on the selector.
    """

    def __init__(
        self, message: str, *, title: str | None = None, page_lines: list[str] | None = None
    ) -> None:
        super().__init__(message)
        self.title = title
        self.page_lines = page_lines or []


class PatternTimeoutError(ExtractionError):
    """A user regex (``ignore``, ``follow.pattern``) ran past its time limit on a page:
    a catastrophic pattern such as ``(a|aa)+$``. It names the pattern."""

    def __init__(self, message: str, *, pattern: str) -> None:
        super().__init__(message)
        self.pattern = pattern


class SearchQueryError(MonitorError):
    """A search query with nothing to look for (only punctuation, or only exclusions)."""


class DemoError(MonitorError):
    """The demo site could not be started."""


class ClusterError(MonitorError):
    """The cluster's broker or leadership cannot be used (`monitor run --role ...`)."""


class NotLeaderError(ClusterError):
    """This scheduler is no longer the leader: its dispatch transaction is rolled back."""
