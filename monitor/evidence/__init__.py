"""Evidence: captures as WARC, integrity checks, citable bundles, public archive copies.

* :func:`archive_plan` writes the captures of a committed recording plan to the WARC
  archive from memory (the check's writer calls it after each batch), and
  :func:`archive_recorded` writes stored captures, read back by id;
* :func:`export_warc` writes chosen versions of a target as one WARC, from the database
  alone;
* :func:`verify` recomputes the hash of every stored body and WARC record;
* :func:`cite` writes a self-contained bundle for one change, :func:`cite_event` one for
  a removal or a restoration (docs/EVIDENCE.md says how a third party checks it without
  this software; each bundle carries ``verify_bundle.py``);
* :class:`SavePageNow` asks a public web archive for a copy of a page, and
  :func:`save_versions` records the copy's URL with the version.
"""

from __future__ import annotations

from monitor.evidence.archive import (
    archive_for,
    archive_plan,
    archive_recorded,
    capture_record,
    wants_warc,
)
from monitor.evidence.cite import (
    BUNDLE_FORMAT,
    BUNDLE_WARC,
    CHECKSUMS,
    MANIFEST,
    VERIFIER,
    Bundle,
    canonical_json,
    cite,
    cite_event,
    default_bundle_name,
    default_event_bundle_name,
    default_export_name,
    manifest_hash,
)
from monitor.evidence.export import ExportResult, export_warc
from monitor.evidence.settings import ArchiveSettings
from monitor.evidence.spn import SavePageNow, save_versions
from monitor.evidence.verify import VerifyReport, WarcCheck, verify, verify_warc_file
from monitor.exceptions import EvidenceError, SavePageNowError
from monitor.timefmt import parse_time

__all__ = [
    "BUNDLE_FORMAT",
    "BUNDLE_WARC",
    "CHECKSUMS",
    "MANIFEST",
    "VERIFIER",
    "ArchiveSettings",
    "Bundle",
    "EvidenceError",
    "ExportResult",
    "SavePageNow",
    "SavePageNowError",
    "VerifyReport",
    "WarcCheck",
    "archive_for",
    "archive_plan",
    "archive_recorded",
    "canonical_json",
    "capture_record",
    "cite",
    "cite_event",
    "default_bundle_name",
    "default_event_bundle_name",
    "default_export_name",
    "export_warc",
    "manifest_hash",
    "parse_time",
    "save_versions",
    "verify",
    "verify_warc_file",
    "wants_warc",
]
