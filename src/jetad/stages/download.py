"""`jetad download`: one file of the top-tagging Zenodo record 2603256, streamed, resumable and
md5-verified against the record's published checksums ([Kasieczka et al. 2019]; jetad.data.download)."""

from __future__ import annotations

from jetad.data.download import fetch, published_md5


def run(args, params) -> None:
    cfg = params.download
    md5 = cfg.md5.get(args.name) or published_md5(cfg, args.name)
    fetch(cfg.url.format(name=args.name), args.out, md5, cfg.timeout)
