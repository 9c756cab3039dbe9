"""Jet-image files: HDF5 (h5py), chunked and compressed, one row per jet.

Datasets: `images` (N, npix, npix) float32 summing to 1 per jet; `label` (N,) int8 (1 = top);
`jet_pt`, `jet_eta`, `jet_mass` (N,) float32; `n_constituents` (N,) int16. Attributes record
the pixel sizes and the source file(s). Writing is atomic; reading checks shape and content.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from jetad.atomic import atomic_path, create_h5, open_h5
from jetad.errors import DataError

FIELDS = ("jet_pt", "jet_eta", "jet_mass", "n_constituents")


@dataclass
class ImageSet:
    images: np.ndarray
    label: np.ndarray
    jet_pt: np.ndarray
    jet_eta: np.ndarray
    jet_mass: np.ndarray
    n_constituents: np.ndarray
    attrs: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.label)

    def take(self, index: np.ndarray) -> ImageSet:
        return ImageSet(
            self.images[index], self.label[index], self.jet_pt[index], self.jet_eta[index],
            self.jet_mass[index], self.n_constituents[index], dict(self.attrs),
        )

    @staticmethod
    def concatenate(parts: list[ImageSet]) -> ImageSet:
        return ImageSet(
            *(np.concatenate([getattr(p, name) for p in parts])
              for name in ("images", "label") + FIELDS),
            attrs=dict(parts[0].attrs),
        )


def write_images(path: str | os.PathLike, data: ImageSet) -> None:
    n = len(data)
    with atomic_path(path, suffix=".h5") as tmp:
        # no time stamps and fixed chunking: identical inputs give identical bytes
        with create_h5(tmp) as f:
            chunk = (min(max(n, 1), 1024),) + data.images.shape[1:]
            f.create_dataset(
                "images", data=data.images.astype(np.float32), chunks=chunk if n else None,
                compression="gzip" if n else None, compression_opts=4 if n else None,
                shuffle=bool(n), track_times=False,
            )
            f.create_dataset("label", data=data.label.astype(np.int8), track_times=False)
            for name, dtype in zip(FIELDS, (np.float32,) * 3 + (np.int16,), strict=True):
                f.create_dataset(name, data=getattr(data, name).astype(dtype), track_times=False)
            for key, value in data.attrs.items():
                f.attrs[key] = value


def read_images(path: str | os.PathLike, allow_empty: bool = False) -> ImageSet:
    path = Path(path)
    with open_h5(path) as f:
        missing = [k for k in ("images", "label") + FIELDS if k not in f]
        if missing:
            raise DataError(f"{path}: not a jet-image file, missing datasets {missing}")
        images = f["images"][...]
        data = ImageSet(
            images, f["label"][...], *(f[k][...] for k in FIELDS), attrs=dict(f.attrs)
        )
    if images.ndim != 3 or images.shape[1] != images.shape[2]:
        raise DataError(f"{path}: images have shape {images.shape}, expected (N, npix, npix)")
    if len(data) == 0 and not allow_empty:
        raise DataError(f"{path}: holds no jets")
    if not np.isfinite(images).all():
        bad = np.flatnonzero(~np.isfinite(images).all(axis=(1, 2)))
        raise DataError(f"{path}: NaN or inf in images, rows {bad[:10].tolist()}")
    return data
