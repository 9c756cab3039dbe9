"""N-subjettiness (Thaler & Van Tilburg 2011) of jets from their constituents, the substructure
baseline physicists compare an anomaly score with: tau21 picks two-prong jets (W, Z), tau32
three-prong jets (top).

tau_N = sum_k pT_k min_j DeltaR(k, a_j) / sum_k pT_k R0, with beta = 1 and the axes a_j the N
exclusive-kT subjets of the jet (FastJet's `exclusive_jets(N)` on a kT reclustering with R0 = the
jet radius, E-scheme). DeltaR is taken in rapidity and azimuth, as FastJet contrib's
Nsubjettiness does. A jet with at most N constituents has tau_N = 0 (each constituent is its own
axis); a ratio whose denominator is 0 is reported as 0.

`taus` runs one kT clustering history per jet in a compiled kernel (jetad.data.kt_axes) and
reads the 3, 2 and 1-jet axes from it: the three clusterings per jet through FastJet's awkward
interface took most of `jetad pixelize`. `taus_reference` is that FastJet computation, kept for
the tests and bench/nsubjettiness.py; the two agree to rounding.
"""

from __future__ import annotations

import os
import warnings

import numpy as np

R0 = 0.8


def _rap_phi(e, px, py, pz):
    pt = np.hypot(px, py)
    # rapidity; massless limit at the padding (e = pz = 0 gives 0, masked out anyway)
    with np.errstate(divide="ignore", invalid="ignore"):
        rap = 0.5 * np.log((e + pz) / (e - pz))
    return pt, np.nan_to_num(rap), np.arctan2(py, px)


def _axes_fastjet(p4: np.ndarray, n_axes: int) -> np.ndarray:
    """(jets, n_axes, 4) exclusive-kT axes (E, px, py, pz) of jets that have more than n_axes
    constituents."""
    # heavy: FastJet and awkward load only in the stages that cluster
    import awkward as ak
    import fastjet

    from jetad import log

    with log.native_stdout_to_stderr():  # FastJet's banner, as in jetad.data.generate
        fastjet._swig.ClusterSequence.print_banner()
    counts = np.count_nonzero(p4[:, :, 0] > 0, axis=1)
    flat = p4[p4[:, :, 0] > 0].astype(np.float64)
    particles = ak.unflatten(ak.zip({"px": flat[:, 1], "py": flat[:, 2], "pz": flat[:, 3],
                                     "E": flat[:, 0]}), counts)
    jet_def = fastjet.JetDefinition(fastjet.kt_algorithm, R0)
    with warnings.catch_warnings():
        # fastjet's Python layer warns about exclusive jets for every algorithm, kT included
        warnings.simplefilter("ignore", UserWarning)
        axes = fastjet.ClusterSequence(particles, jet_def).exclusive_jets(n_axes)
    return np.stack([ak.to_numpy(axes[k]).reshape(len(p4), n_axes)
                     for k in ("E", "px", "py", "pz")], axis=-1)


def tau_n_reference(p4: np.ndarray, n_axes: int) -> np.ndarray:
    """tau_N (beta = 1, R0 = 0.8) of each jet through FastJet, one clustering of the batch per
    N; p4 (jets, constituents, 4) as (E, px, py, pz), zero padded."""
    p4 = np.asarray(p4, dtype=np.float64)
    out = np.zeros(len(p4))
    real = p4[:, :, 0] > 0
    counts = real.sum(axis=1)
    use = counts > n_axes
    if not use.any():
        return out
    jets = p4[use]
    axes = _axes_fastjet(jets, n_axes)
    pt, rap, phi = _rap_phi(*np.moveaxis(jets, -1, 0))
    _, arap, aphi = _rap_phi(*np.moveaxis(axes, -1, 0))
    dphi = np.abs(phi[:, :, None] - aphi[:, None, :])
    dphi = np.minimum(dphi, 2 * np.pi - dphi)
    dr = np.sqrt((rap[:, :, None] - arap[:, None, :]) ** 2 + dphi**2).min(axis=2)
    pt = np.where(real[use], pt, 0.0)
    out[use] = (pt * dr).sum(axis=1) / (pt.sum(axis=1) * R0)
    return out


def taus_reference(p4: np.ndarray) -> np.ndarray:
    """(jets, 3) tau_1, tau_2, tau_3 through FastJet: the reference of `taus`."""
    return np.stack([tau_n_reference(p4, n) for n in (1, 2, 3)], axis=1)


def taus(p4: np.ndarray, threads: int | None = None) -> np.ndarray:
    """(jets, 3) tau_1, tau_2, tau_3 (beta = 1, R0 = 0.8) of each jet; p4 (jets, constituents,
    4) as (E, px, py, pz), zero padded, float32 or float64; jets spread over `threads`
    (default: every core this process may use)."""
    p4 = np.asarray(p4)
    if p4.ndim != 3 or p4.shape[2] != 4:
        raise ValueError(f"constituents have shape {p4.shape}, expected (jets, constituents, 4)")
    if p4.dtype not in (np.float32, np.float64):
        p4 = p4.astype(np.float64)
    out = np.zeros((len(p4), 3))
    if len(p4) == 0 or p4.shape[1] == 0:
        return out
    # heavy: Numba compiles (or loads from its cache) the kernel in the stages that need it
    import numba

    from jetad.data.kt_axes import taus_kernel

    threads = threads or len(os.sched_getaffinity(0))
    numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))
    taus_kernel(np.ascontiguousarray(p4), R0, out)
    return out


def tau_n(p4: np.ndarray, n_axes: int) -> np.ndarray:
    """tau_N (N = 1, 2 or 3) of each jet, as `taus`."""
    if n_axes not in (1, 2, 3):
        raise ValueError(f"tau_N for N = 1, 2 or 3, not {n_axes}")
    return taus(p4)[:, n_axes - 1]


def ratios_of(t: np.ndarray) -> dict[str, np.ndarray]:
    """tau1..tau3 of (jets, 3) taus and the ratios tau21 = tau2/tau1 and tau32 = tau3/tau2."""
    t1, t2, t3 = t[:, 0], t[:, 1], t[:, 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        tau21 = np.where(t1 > 0, t2 / t1, 0.0)
        tau32 = np.where(t2 > 0, t3 / t2, 0.0)
    return {"tau1": t1, "tau2": t2, "tau3": t3, "tau21": tau21, "tau32": tau32}


def ratios(p4: np.ndarray, threads: int | None = None) -> dict[str, np.ndarray]:
    """tau1..tau3 and the ratios tau21 = tau2/tau1 and tau32 = tau3/tau2 of each jet."""
    return ratios_of(taus(p4, threads))
