"""The JetNet layout of [Kansal et al. 2021] (Zenodo record 6975118): one HDF5 file per class,
`g.hdf5`, `q.hdf5`, `t.hdf5`, `w.hdf5`, `z.hdf5`, each with two datasets

- `particle_features` [N, 30, 4]: eta_rel, phi_rel, pT_rel, mask of the jet's 30 highest-pT
  particles, zero padded (mask 0);
- `jet_features` [N, 4]: the jet's pT (GeV), eta, mass (GeV) and number of particles (all of
  them, so it can exceed 30).

These are the names and shapes the `jetnet` package (v0.2.5, jetnet.datasets.JetNet) reads
with h5py. The relative features are those of its coordinate transforms
(jetnet.utils.coord_transform): eta_rel = eta - eta_jet, phi_rel = phi - phi_jet wrapped into
[-pi, pi), pT_rel = pT / pT_jet, the jet being the four-momentum sum of all its particles.

Both ways go through here: `read_jetnet` checks a file (the downloaded ones and the chunks
jetad generates in this layout alike), `to_jets` turns it into the top-tagging layout the image
stages read, and `from_jets` turns generated constituents into this layout.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from jetad.atomic import atomic_path, create_h5, create_h5_group
from jetad.data.kinematics import jet_kinematics
from jetad.data.layout import MAX_CONSTITUENTS, Jets
from jetad.data.processes import signal_label
from jetad.errors import DataError
from jetad.inputs import open_h5, reading

N_PARTICLES = 30
# JetNet's class -> jetad's process; the file of a class is <class>.hdf5
CLASSES = {"g": "gluon", "q": "quark", "t": "top", "w": "w", "z": "z"}
PARTICLE_FEATURES = ("etarel", "phirel", "ptrel", "mask")
JET_FEATURES = ("pt", "eta", "mass", "num_particles")
KIND = "JetNet file (particle_features [N, 30, 4], jet_features [N, 4])"
# the group of a jet file (top-tagging layout) that keeps the JetNet arrays of its jets, for a
# particle-level model: the same two datasets under it
GROUP = "jetnet"


@dataclass
class Particles:
    """JetNet's arrays of N jets."""

    particles: np.ndarray  # float32 (N, 30, 4): eta_rel, phi_rel, pT_rel, mask
    jet: np.ndarray  # float32 (N, 4): pT, eta, mass, number of particles

    def __len__(self) -> int:
        return len(self.jet)

    @property
    def mask(self) -> np.ndarray:
        return self.particles[:, :, 3] > 0.5

    @staticmethod
    def concatenate(parts: list[Particles]) -> Particles:
        return Particles(np.concatenate([p.particles for p in parts]),
                         np.concatenate([p.jet for p in parts]))


def _rows(bad: np.ndarray) -> str:
    idx = np.flatnonzero(bad)
    more = f" (and {len(idx) - 10} more)" if len(idx) > 10 else ""
    return "rows " + ", ".join(str(int(i)) for i in idx[:10]) + more


def _dataset(f, path: Path, name: str, per_jet: tuple[int, ...]) -> np.ndarray:
    if name not in f or not hasattr(f[name], "shape"):
        found = ", ".join(sorted(f)[:10]) or "nothing"
        raise DataError(f"{path}: no dataset '{name}' (found {found}); expected the JetNet "
                        "layout (particle_features [N, 30, 4], jet_features [N, 4])")
    shape = f[name].shape
    if len(shape) != 1 + len(per_jet) or tuple(shape[1:]) != per_jet:
        want = ", ".join(("N", *map(str, per_jet)))
        raise DataError(f"{path}: {name} has shape {shape}, expected ({want})")
    if f[name].dtype.kind not in "fiu":
        raise DataError(f"{path}: {name} holds {f[name].dtype}, not numbers")
    return np.asarray(f[name][...], dtype=np.float64)


def read_jetnet(path: str | os.PathLike, group: str | None = None) -> Particles:
    """Read and check a file in the JetNet layout (with `group`: the JetNet arrays a jet file
    keeps in that group, GROUP): both datasets of the right shapes and of one length, at least
    one jet, finite, mask 0 or 1, every jet with a particle, pT_rel not negative, jet pT above
    zero. Every problem is a DataError naming the file."""
    path = Path(path)
    with open_h5(path, KIND) as f, reading(path):
        if group is not None:
            if group not in f:
                raise DataError(f"{path}: no group '{group}' of JetNet arrays (only jets that "
                                "came in the JetNet layout keep them: data.source jetnet, or "
                                "generate.layout jetnet)")
            f = f[group]
        particles = _dataset(f, path, "particle_features", per_jet=(N_PARTICLES, 4))
        jet = _dataset(f, path, "jet_features", per_jet=(4,))
    if len(particles) != len(jet):
        raise DataError(f"{path}: particle_features holds {len(particles)} jets, jet_features "
                        f"{len(jet)}")
    if len(jet) == 0:
        raise DataError(f"{path}: no jets (particle_features and jet_features are empty)")
    checks = (
        (~(np.isfinite(particles).all(axis=(1, 2)) & np.isfinite(jet).all(axis=1)),
         "NaN or inf in"),
        (~np.isin(particles[:, :, 3], (0.0, 1.0)).all(axis=1), "mask must be 0 or 1, not in"),
        (~(particles[:, :, 3] == 1).any(axis=1), "jet with no particle (mask all 0) in"),
        ((particles[:, :, 2] < 0).any(axis=1), "negative pT_rel in"),
        (~(jet[:, 0] > 0), "jet pT not above 0 in"),
    )
    for bad, what in checks:
        if bad.any():
            raise DataError(f"{path}: {what} {_rows(bad)}")
    return Particles(particles.astype(np.float32), jet.astype(np.float32))


def write_jetnet(path: str | os.PathLike, data: Particles) -> None:
    """Write a file in the JetNet layout, atomically, the same bytes for the same jets."""
    with atomic_path(path, suffix=".hdf5") as tmp, create_h5(tmp) as f:
        write_arrays(f, data)


def write_arrays(group, data: Particles) -> None:
    """The two JetNet datasets into an open h5py group (without time stamps)."""
    n = len(data)
    for name, values in (("particle_features", data.particles), ("jet_features", data.jet)):
        group.create_dataset(name, data=values.astype(np.float32), track_times=False,
                             chunks=(min(max(n, 1), 4096),) + values.shape[1:] if n else None,
                             compression="gzip" if n else None,
                             compression_opts=4 if n else None, shuffle=bool(n))


def add_to_jet_file(path: str | os.PathLike, data: Particles) -> None:
    """Keep JetNet's arrays of a jet file's jets in it, group `jetnet`, in the file's order."""
    # heavy only here: the jet files are open for writing just once per jets run
    import h5py

    with h5py.File(path, "a") as f:
        write_arrays(create_h5_group(f, GROUP), data)


def to_jets(data: Particles, process: str) -> Jets:
    """The jets in the top-tagging layout: absolute four-momenta of the particles rebuilt from
    the jet's pT and eta and the relative features, massless (JetNet keeps no particle mass),
    with phi_jet = 0 (JetNet keeps no jet phi; images are centred on the jet anyway); sorted
    by pT; no truth (zeros); is_signal_new from the process (0 gluon and quark, else 1)."""
    rel = data.particles.astype(np.float64)
    pt_jet, eta_jet = (data.jet[:, k, None].astype(np.float64) for k in (0, 1))
    mask = rel[:, :, 3] > 0.5
    pt = np.where(mask, rel[:, :, 2] * pt_jet, 0.0)
    eta = rel[:, :, 0] + eta_jet
    phi = rel[:, :, 1]
    p4 = np.stack([pt * np.cosh(eta), pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)],
                  axis=-1)
    order = np.argsort(-pt, axis=1, kind="stable")
    n = len(data)
    out = np.zeros((n, MAX_CONSTITUENTS, 4), dtype=np.float32)
    out[:, :N_PARTICLES] = np.take_along_axis(p4, order[:, :, None], axis=1)
    zeros = np.zeros(n, dtype=np.int8)
    return Jets(p4=out, truth=np.zeros((n, 4), dtype=np.float32), ttv=zeros,
                label=np.full(n, signal_label(process), dtype=np.int8))


def from_jets(jets: Jets) -> Particles:
    """JetNet's arrays of jets given by their constituents (top-tagging layout, sorted by pT):
    the jet is the sum of all its constituents, the particles its 30 highest-pT ones."""
    p4 = jets.p4.astype(np.float64)
    present = p4[:, :, 0] > 0
    pt_jet, eta_jet, mass = jet_kinematics(p4)
    total = p4.sum(axis=1)
    phi_jet = np.arctan2(total[:, 2], total[:, 1])
    top = p4[:, :N_PARTICLES]
    keep = present[:, :N_PARTICLES]
    pt = np.hypot(top[:, :, 1], top[:, :, 2])
    safe = np.where(keep, pt, 1.0)
    eta = np.arcsinh(top[:, :, 3] / safe)
    dphi = np.mod(np.arctan2(top[:, :, 2], top[:, :, 1]) - phi_jet[:, None] + np.pi,
                  2 * np.pi) - np.pi
    feats = np.stack([eta - eta_jet[:, None], dphi, pt / pt_jet[:, None],
                      np.ones_like(pt)], axis=-1)
    feats[~keep] = 0.0
    jet = np.stack([pt_jet, eta_jet, mass, present.sum(axis=1)], axis=1)
    return Particles(feats.astype(np.float32), jet.astype(np.float32))
