"""Turning response bytes into text with the right character set.

Order: a per-target override, then the BOM, the HTTP ``Content-Type`` charset, the
document's own ``<meta charset>``, and detection. Official sites often serve legacy
encodings (windows-1251, windows-1256, ISO-8859-x) and sometimes mislabel them; a
declared charset that decodes with many errors loses to detection.
"""

from __future__ import annotations

import codecs
import logging
import re

from charset_normalizer import from_bytes
from w3lib.encoding import html_body_declared_encoding, html_to_unicode, http_content_type_encoding

from monitor.exceptions import UndecodableContentError

logger = logging.getLogger(__name__)

# Bytes that never occur in text documents: NUL and most C0 controls.
_BINARY_BYTES = bytes(range(0, 9)) + b"\x0e\x0f" + bytes(range(0x10, 0x1B)) + b"\x1c\x1d\x1e\x1f"
_BINARY_SIGNATURES = (
    b"%PDF-",
    b"\x89PNG",
    b"GIF8",
    b"\xff\xd8\xff",
    b"PK\x03\x04",
    b"\x1f\x8b",
    b"Rar!",
    b"7z\xbc\xaf",
)
_TEXT_TYPES = ("text/", "application/xhtml", "application/xml", "application/json", "+xml")


DETECT_SAMPLE = 65536
# charset_normalizer's names, most common on the web first.
_PREFERRED_ON_TIE = ("utf_8", "cp1252", "cp1251", "cp1256", "cp1250")
_NON_ASCII = re.compile(rb"[\x80-\xff]")


def detect(body: bytes) -> str | None:
    """Best guess of the encoding of ``body`` by statistical detection.

    The sample is the body's start, or, when that is all ASCII, the part from the first
    non-ASCII byte on: a page whose first accented letter sits far down is read by it.
    """
    sample = body[:DETECT_SAMPLE]
    if sample.isascii() and not body.isascii():
        first = _NON_ASCII.search(body)
        start = max(0, first.start() - 1024) if first is not None else 0
        sample = body[start : start + DETECT_SAMPLE]
    matches = from_bytes(sample)
    best = matches.best()
    if best is None:
        return None
    # Detection often cannot tell windows-1252 from its cousins (cp1250, cp1257...) when
    # only a few accented letters differ: on a tie, the web's common charsets win.
    tied = {
        match.encoding
        for match in matches
        if match.chaos == best.chaos and match.coherence == best.coherence
    }
    return next((name for name in _PREFERRED_ON_TIE if name in tied), best.encoding)


def looks_binary(body: bytes, content_type: str | None) -> bool:
    """True for bodies that are not text: images, PDFs, archives, raw binary."""
    if content_type:
        mime = content_type.split(";")[0].strip().lower()
        if (
            mime
            and not any(kind in mime for kind in _TEXT_TYPES)
            and mime != "application/octet-stream"
        ):
            return True
    if body.startswith(_BINARY_SIGNATURES):
        return True
    sample = body[:4096]
    if not sample:
        return False
    controls = len(sample) - len(sample.translate(None, _BINARY_BYTES))  # at C speed
    return controls / len(sample) > 0.01


def decode(body: bytes, content_type: str | None, override: str | None = None) -> tuple[str, str]:
    """Decode an HTML body; returns (text, encoding name)."""
    if looks_binary(body, content_type):
        mime = (content_type or "unknown type").split(";")[0]
        raise UndecodableContentError(f"the body is not text ({mime}, {len(body)} bytes)")
    if override:
        return body.decode(override, errors="replace"), codecs.lookup(override).name
    declared = http_content_type_encoding(content_type) if content_type else None
    declared = declared or html_body_declared_encoding(body[:4096])
    encoding, text = html_to_unicode(content_type, body, auto_detect_fun=detect)
    canonical = _canonical(encoding)
    if canonical != "utf-8" and not canonical.startswith("utf") and _is_multibyte_utf8(body):
        # Bytes that are valid UTF-8 with multi-byte sequences are UTF-8 whatever the label
        # says (legacy text almost never is): reading them as windows-1251 or latin-1 would
        # produce mojibake, and a "change" each time the label flips.
        logger.debug("declared %s but the body is UTF-8", canonical)
        return body.decode("utf-8"), "utf-8"
    if declared and "\ufffd" in text and not encoding.startswith("utf-16"):
        # The declared charset does not fit the bytes: a mislabelled page. Trust detection
        # when it decodes cleanly; this is what stops a charset flip from being a "change".
        bad = text.count("\ufffd")
        guess = detect(body)
        if guess:
            alternative = body.decode(guess, errors="replace")
            if alternative.count("\ufffd") < bad:
                logger.debug("declared charset %s decodes badly; detected %s", declared, guess)
                return alternative, codecs.lookup(guess).name
    return text, _canonical(encoding)


def _is_multibyte_utf8(body: bytes) -> bool:
    if body.isascii():
        return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _canonical(name: str) -> str:
    try:
        return codecs.lookup(name).name
    except LookupError:
        return name
