#!/usr/bin/env python3
"""Check a monitor evidence bundle without the monitor: Python's standard library only.

    python3 verify_bundle.py evidence-mfa-statements-v3-v4        # a bundle folder
    python3 verify_bundle.py evidence-mfa-statements-v3-v4.zip    # or its zip

It checks, and says so line by line:

1. the manifest's own sha256 (canonical JSON of the manifest without "manifest_sha256");
2. the sha256 and size of every file the manifest lists, and every line of SHA256SUMS;
3. each capture's body file against the body_sha256 and body_size in the manifest;
4. every record of the WARC file: its WARC-Block-Digest and WARC-Payload-Digest
   (sha256, base32), and that each capture's response record has the capture's URL,
   time and body hash.

Exit status 0 when everything holds, 1 otherwise. docs/EVIDENCE.md describes each check
so that it can be redone with other tools. Uses only: argparse, base64, gzip, hashlib,
json, os, sys, zipfile.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import hashlib
import json
import os
import sys
import zipfile

MANIFEST = "manifest.json"
CHECKSUMS = "SHA256SUMS"


def load(path: str) -> dict[str, bytes]:
    """Every file of the bundle, by its path inside the bundle."""
    files: dict[str, bytes] = {}
    if os.path.isdir(path):
        for folder, _dirs, names in os.walk(path):
            for name in names:
                full = os.path.join(folder, name)
                relative = os.path.relpath(full, path).replace(os.sep, "/")
                with open(full, "rb") as stream:
                    files[relative] = stream.read()
        return files
    with zipfile.ZipFile(path) as bundle:
        names = [name for name in bundle.namelist() if not name.endswith("/")]
        manifests = [name for name in names if name.rsplit("/", 1)[-1] == MANIFEST]
        if len(manifests) != 1:
            raise SystemExit(f"{path}: expected one {MANIFEST} in the zip, found {len(manifests)}")
        prefix = manifests[0][: -len(MANIFEST)]
        for name in names:
            if name.startswith(prefix):
                files[name[len(prefix) :]] = bundle.read(name)
    return files


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def canonical(data: object) -> bytes:
    """Canonical JSON (RFC 8785 for data without floats): sorted keys, no spaces, UTF-8."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def digest_bytes(value: str) -> bytes | None:
    """The raw hash in a WARC digest "sha256:<base32>" (or hex); None if not sha256."""
    algorithm, _, encoded = value.partition(":")
    if algorithm.strip().lower() != "sha256":
        return None
    encoded = encoded.strip()
    if len(encoded) == 64:
        return bytes.fromhex(encoded)
    encoded = encoded.upper().rstrip("=")
    return base64.b32decode(encoded + "=" * (-len(encoded) % 8))


def warc_records(data: bytes) -> list[tuple[dict[str, str], bytes]]:
    """The records of a WARC file (gzip members are concatenated, as gzip allows)."""
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    records = []
    position = 0
    while position < len(data):
        end = data.index(b"\r\n\r\n", position)
        lines = data[position:end].decode("utf-8").split("\r\n")
        if not lines[0].startswith("WARC/"):
            raise ValueError(f"no WARC record at byte {position} of the uncompressed file")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        start = end + 4
        length = int(headers["content-length"])
        block = data[start : start + length]
        if data[start + length : start + length + 4] != b"\r\n\r\n":
            raise ValueError(f"record at byte {position} does not end where its length says")
        records.append((headers, block))
        position = start + length + 4
    return records


class Report:
    def __init__(self) -> None:
        self.failures = 0

    def check(self, ok: bool, what: str) -> None:
        print(("ok    " if ok else "FAIL  ") + what)
        if not ok:
            self.failures += 1


def verify(path: str) -> int:
    report = Report()
    files = load(path)
    if MANIFEST not in files:
        print(f"FAIL  no {MANIFEST} in {path}")
        return 1
    manifest = json.loads(files[MANIFEST].decode("utf-8"))

    # 1. The manifest's own hash.
    claimed = manifest.get("manifest_sha256")
    rest = {key: value for key, value in manifest.items() if key != "manifest_sha256"}
    report.check(sha256(canonical(rest)) == claimed, f"manifest sha256 {claimed}")

    # 2. Every listed file, and SHA256SUMS.
    for entry in manifest["files"]:
        data = files.get(entry["path"])
        report.check(
            data is not None and sha256(data) == entry["sha256"] and len(data) == entry["size"],
            f"file {entry['path']} sha256 {entry['sha256']} ({entry['size']} bytes)",
        )
    if CHECKSUMS in files:
        for line in files[CHECKSUMS].decode("utf-8").splitlines():
            expected, _, name = line.partition("  ")
            data = files.get(name)
            report.check(data is not None and sha256(data) == expected, f"{CHECKSUMS}: {name}")

    # 3. The bodies.
    for capture in manifest["captures"]:
        body = files.get(capture["body_file"], b"")
        report.check(
            sha256(body) == capture["body_sha256"] and len(body) == capture["body_size"],
            f"{capture['role']} body {capture['body_file']} sha256 {capture['body_sha256']}",
        )

    # 4. The WARC records.
    responses: dict[str, tuple[dict[str, str], bytes]] = {}
    try:
        records = warc_records(files[manifest["warc_file"]])
    except (KeyError, ValueError, OSError, EOFError) as exc:
        report.check(False, f"WARC file {manifest.get('warc_file')} readable ({exc})")
        records = []
    for headers, block in records:
        kind, record_id = headers.get("warc-type"), headers.get("warc-record-id")
        block_digest = headers.get("warc-block-digest")
        if block_digest:
            ok = digest_bytes(block_digest) == hashlib.sha256(block).digest()
            report.check(ok, f"WARC {kind} record {record_id} block digest")
        else:
            report.check(False, f"WARC {kind} record {record_id} has a block digest")
        payload_digest = headers.get("warc-payload-digest")
        if payload_digest and kind in ("response", "request"):
            payload = block[block.index(b"\r\n\r\n") + 4 :]
            ok = digest_bytes(payload_digest) == hashlib.sha256(payload).digest()
            report.check(ok, f"WARC {kind} record {record_id} payload digest")
        if kind == "response" and record_id:
            responses[record_id] = (headers, block)
    for capture in manifest["captures"]:
        found = responses.get(capture["warc_record_id"])
        if found is None:
            report.check(False, f"{capture['role']} capture's WARC record is in the WARC file")
            continue
        headers, block = found
        payload = block[block.index(b"\r\n\r\n") + 4 :]
        report.check(
            sha256(payload) == capture["body_sha256"]
            and headers.get("warc-target-uri") == capture["url"]
            and headers.get("warc-date") == capture["captured_at"],
            f"{capture['role']} capture's WARC response: {capture['url']} at "
            f"{capture['captured_at']}, body sha256 {capture['body_sha256']}",
        )

    if report.failures:
        print(f"{report.failures} check(s) FAILED")
        return 1
    print(f"all checks passed; manifest sha256 {claimed}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("bundle", help="the bundle folder or .zip")
    return verify(parser.parse_args().bundle)


if __name__ == "__main__":
    sys.exit(main())
