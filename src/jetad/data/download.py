"""The top-tagging files of Zenodo record 2603256, streamed, resumable and md5-verified against
the record's published checksums ([Kasieczka et al. 2019]; the command is jetad.stages.download).

A transfer goes to `<name>.part` and resumes with an HTTP Range request; only a file whose md5
matches is renamed into place, so a bad transfer never replaces a good file.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from pathlib import Path

from tqdm import tqdm

from jetad import log
from jetad.atomic import file_md5
from jetad.errors import DataError
from jetad.params import or_default

LOG = log.get("jetad.download")
BLOCK = 1 << 20


def record_checksums(api_url: str, timeout: float) -> dict[str, str]:
    """name -> md5 from the record's API (`files[].checksum` of the form md5:<hex>)."""
    try:
        with urllib.request.urlopen(api_url, timeout=timeout) as response:
            record = json.load(response)
    except (urllib.error.URLError, OSError, json.JSONDecodeError) as exc:
        raise DataError(f"cannot read checksums from {api_url}: {exc}") from exc
    sums = {}
    for entry in record.get("files", []):
        algo, _, value = str(entry.get("checksum", "")).partition(":")
        if algo == "md5":
            sums[entry["key"]] = value
    return sums


def fetch(url: str, out: str | os.PathLike, md5: str, timeout: float | None = None,
          progress: bool = True) -> Path:
    """Download `url` to `out`, resuming a previous partial transfer, and verify its md5
    (`timeout` left out: download.timeout's schema default)."""
    timeout = or_default(timeout, "download", "timeout")
    out = Path(out)
    if out.exists():
        have = file_md5(out)
        if have == md5:
            LOG.info("%s already present, md5 %s", out, have)
            return out
        LOG.warning("%s exists with md5 %s, expected %s: downloading again", out, have, md5)
    out.parent.mkdir(parents=True, exist_ok=True)
    part = out.with_name(out.name + ".part")
    offset = part.stat().st_size if part.exists() else 0
    response = _open(url, offset, timeout)
    if response is not None:
        with response:
            _transfer(url, response, part, offset, out.name, progress)
    got = file_md5(part)
    if got != md5:
        bad = part.with_name(out.name + ".bad")
        os.replace(part, bad)
        raise DataError(f"{out.name}: md5 {got} does not match the published {md5}; "
                        f"the transfer is kept as {bad}, {out} was not touched")
    os.replace(part, out)
    LOG.info("downloaded %s: %d bytes, md5 %s verified", out, out.stat().st_size, got)
    return out


def _open(url: str, offset: int, timeout: float):
    """The response to a request for `url` from byte `offset` on; None when the partial file
    is already complete (the server answers 416 to a range past its end)."""
    request = urllib.request.Request(url)
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    try:
        return urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset:
            return None
        raise DataError(f"{url}: HTTP {exc.code} {exc.reason}") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise DataError(f"{url}: {exc}") from exc


def _transfer(url: str, response, part: Path, offset: int, name: str, progress: bool) -> None:
    """The response's body appended to `part` (or written afresh when the server ignored the
    range), with a progress bar; a short transfer is an error that a rerun resumes."""
    resumed = response.status == 206
    if offset and not resumed:
        LOG.info("server ignored the range request: starting %s from 0", name)
        offset = 0
    size = response.headers.get("Content-Length")
    total = offset + int(size) if size is not None else None
    with open(part, "ab" if resumed else "wb") as f, tqdm(
            total=total, initial=offset, unit="B", unit_scale=True, desc=name,
            disable=None if progress else True) as bar:
        while True:
            try:
                block = response.read(BLOCK)
            except (OSError, urllib.error.URLError) as exc:
                raise DataError(f"{url}: transfer interrupted after "
                                f"{f.tell()} bytes ({exc}); run again to resume") from exc
            if not block:
                break
            f.write(block)
            bar.update(len(block))
    got_bytes = part.stat().st_size
    if total is not None and got_bytes < total:
        raise DataError(f"{url}: transfer ended at {got_bytes} of {total} bytes; "
                        "run again to resume")


def published_md5(cfg, name: str) -> str:
    """The md5 the record publishes for `name` (cfg: the `download` section)."""
    api = cfg.api.format(record=cfg.record)
    sums = record_checksums(api, cfg.timeout)
    if name not in sums:
        raise DataError(f"record {cfg.record} lists no md5 for {name} at {api}")
    return sums[name]
