"""`jetad split` (SPEC 1.4): QCD 75/25 train/test with a validation part taken from train;
every top jet goes to test (the signal is only for evaluation). Seeded by params.seed."""

from __future__ import annotations

import numpy as np

from jetad import log
from jetad.errors import DataError

HELP = "split jet images: QCD into train/val/test, all tops into test (seeded)"
LOG = log.get("jetad.split")


def add_arguments(parser) -> None:
    parser.add_argument("--in", dest="input", required=True, help="image file from pixelize")
    parser.add_argument("--train", required=True)
    parser.add_argument("--val", required=True)
    parser.add_argument("--test", required=True)


def split_indices(label: np.ndarray, test_fraction: float, val_fraction: float,
                  seed: int, origin: str = "input") -> dict[str, np.ndarray]:
    """Sorted row indices of each part; the permutation depends only on the seed and counts."""
    qcd = np.flatnonzero(label == 0)
    top = np.flatnonzero(label == 1)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 14]))
    perm = qcd[rng.permutation(len(qcd))]
    n_test = int(round(test_fraction * len(qcd)))
    test_qcd, rest = perm[:n_test], perm[n_test:]
    n_val = int(round(val_fraction * len(rest)))
    val, train = rest[:n_val], rest[n_val:]
    parts = {"train": np.sort(train), "val": np.sort(val),
             "test": np.sort(np.concatenate([test_qcd, top]))}
    for name, idx in parts.items():
        if len(idx) == 0:
            raise DataError(f"{origin}: split leaves the {name} part empty ({len(qcd)} QCD,"
                            f" {len(top)} top jets, test_fraction {test_fraction},"
                            f" val_fraction {val_fraction})")
    return parts


def run(args, params) -> None:
    from jetad.atomic import file_md5
    from jetad.data.images import read_images, write_images

    data = read_images(args.input)
    cfg = params["split"]
    parts = split_indices(data.label, cfg["test_fraction"], cfg["val_fraction"], params["seed"],
                          origin=str(args.input))
    for name, idx in parts.items():
        out = getattr(args, name)
        subset = data.take(idx)
        subset.attrs["part"] = name
        write_images(out, subset)
        LOG.info("wrote %s: %d jets (%d QCD, %d top), md5 %s", out, len(subset),
                 int((subset.label == 0).sum()), int((subset.label == 1).sum()), file_md5(out))
