"""Pixelization speed: jetad against energyflow.utils.pixelate on the same jets, same run.

energyflow (1.4.0) pixelates one jet per call and does less (centring only: no rotation or
flip); it is the reference the ratio is quoted against. Also prints Pythia8 + FastJet
generation speed per core. Run: `python bench/pixelize.py [--jets N]`.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

import jetad  # noqa: F401
from jetad import params
from jetad.data.generate import generate_chunk
from jetad.data.pixelize import pixelize


def to_ptyphi(p4: np.ndarray) -> list[np.ndarray]:
    """Per jet (pt, y, phi) with phi measured from the leading constituent (energyflow needs
    the shift or jets near phi = +-pi come out empty)."""
    jets = []
    for jet in p4:
        jet = jet[jet[:, 0] > 0].astype(np.float64)
        pt = np.hypot(jet[:, 1], jet[:, 2])
        y = 0.5 * np.log((jet[:, 0] + jet[:, 3]) / (jet[:, 0] - jet[:, 3]))
        phi = np.arctan2(jet[:, 2], jet[:, 1])
        phi = np.mod(phi - phi[np.argmax(pt)] + np.pi, 2 * np.pi) - np.pi
        jets.append(np.stack([pt, y, phi], axis=1))
    return jets


def best_of(fn, repeat=3):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jets", type=int, default=100_000, help="jets to pixelize")
    parser.add_argument("--gen-jets", type=int, default=200, help="jets per class to generate")
    parser.add_argument("--ef-jets", type=int, default=5_000, help="jets for energyflow")
    parser.add_argument("--params", default=None, help="parameter file (default: params.yaml)")
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0))
    cfg = params.load(args.params).pixelize

    print(f"generating {args.gen_jets} QCD and top jets (one core each, in turn) ...")
    parts = []
    for process in ("qcd", "top"):
        jets, stats = generate_chunk(process, args.gen_jets, seed=99, progress=False)
        parts.append(jets.p4)
        print(f"  generation {process}: {stats['jets_per_second']:.1f} jets/s per core, "
              f"acceptance {100 * stats['acceptance']:.1f}%")
    base = np.concatenate(parts)
    p4 = np.resize(base, (args.jets, *base.shape[1:]))

    pixelize(p4[:2000], cfg.npix, cfg.deta, cfg.dphi)  # warm up
    t1 = best_of(lambda: pixelize(p4, cfg.npix, cfg.deta, cfg.dphi, threads=1))
    tn = best_of(lambda: pixelize(p4, cfg.npix, cfg.deta, cfg.dphi, threads=cores))
    jetad_1, jetad_n = args.jets / t1, args.jets / tn

    from energyflow.utils import pixelate

    ef_in = to_ptyphi(p4[: args.ef_jets])
    width = cfg.npix * cfg.deta

    def ef():
        for jet in ef_in:
            pixelate(jet, npix=cfg.npix, img_width=width, nb_chan=1, norm=True)

    t_ef = best_of(ef, repeat=2)
    ef_rate = args.ef_jets / t_ef
    print(f"energyflow.utils.pixelate (1 core, per jet, no rotation/flip): {ef_rate:,.0f} jets/s")
    print(f"jetad pixelize, 1 thread:  {jetad_1:,.0f} jets/s  ({jetad_1 / ef_rate:.1f}x energyflow)")
    print(f"jetad pixelize, {cores} threads: {jetad_n:,.0f} jets/s  "
          f"({jetad_n / ef_rate:.1f}x energyflow; target 30x)")


if __name__ == "__main__":
    main()
