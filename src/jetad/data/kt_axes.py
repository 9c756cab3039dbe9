"""The compiled kernel of jetad.data.nsubjettiness: one exclusive-kT clustering history per jet
gives its 3, 2 and 1-subjet axes, and tau_1..tau_3 follow from them (Numba; jets spread over
threads, each jet's numbers depend on that jet alone, so the result does not depend on the
number of threads).

The clustering is FastJet's plain N^2 kT clustering (Cacciari, Salam and Soyez, "FastJet user
manual", EPJC 72 (2012) 1896; its ClusterSequence_N2.cc), redone step for step: pp kT with
d_ij = min(kt2_i, kt2_j) dR_ij^2 / R^2 and d_iB = kt2_i, E-scheme recombination, geometric
nearest neighbours so that a jet of n constituents costs O(n^2), FastJet's rapidity
(insensitive to round-off at large |pz|), azimuth in [0, 2pi) and Delta phi, the same order of
scanning and the same strict comparisons. Exclusive jets count a merge with the beam as a step
(FastJet's exclusive_jets(N): the pseudojets left after n - N steps), so the N-subjet axes are
the jets alive when N remain. FastJet picks its tiled strategy above 30 particles; the tiles
change only which of two exactly equal distances wins, never a distance.

tau_N is then computed as the NumPy reference of jetad.data.nsubjettiness does it (rapidity
0.5 log((E + pz)/(E - pz)) with NumPy's nan_to_num, NumPy's pairwise summation over the padded
row), so that the two agree to the last bits wherever the same libm is used.
"""

from __future__ import annotations

import math

import numba
import numpy as np

PI = math.pi
TWOPI = 2.0 * math.pi
MAX_RAP = 1e5  # FastJet's rapidity of a zero-pT particle along the beam
BLOCK = 64  # jets per parallel task (one scratch allocation each)
# rows of the axes array: the 3 axes of tau_3, then the 2 of tau_2, then the 1 of tau_1
AXES_ROW = (5, 3, 0)  # indexed by N - 1


@numba.njit(cache=True, nogil=True, inline="always")
def _set_jet(mom, k, rap, phi, kt2, nn, nnd, r2):
    """FastJet's _bj_set_jetinfo with PseudoJet's rapidity and azimuth of slot k."""
    e, px, py, pz = mom[k, 0], mom[k, 1], mom[k, 2], mom[k, 3]
    t = px * px + py * py
    p = 0.0 if t == 0.0 else math.atan2(py, px)
    if p < 0.0:
        p += TWOPI
    if p >= TWOPI:
        p -= TWOPI
    if e == abs(pz) and t == 0:
        y = MAX_RAP + abs(pz)
        y = y if pz >= 0.0 else -y
    else:
        m2 = max(0.0, (e + pz) * (e - pz) - t)
        ep = e + abs(pz)
        y = 0.5 * math.log((t + m2) / (ep * ep))
        if pz > 0:
            y = -y
    rap[k], phi[k], kt2[k] = y, p, t
    nn[k], nnd[k] = -1, r2


@numba.njit(cache=True, nogil=True, inline="always")
def _dij(k, kt2, nn, nnd):
    """FastJet's _bj_diJ: d_iJ times R^2 with J the nearest neighbour (or the beam)."""
    t = kt2[k]
    j = nn[k]
    if j >= 0 and kt2[j] < t:
        t = kt2[j]
    return nnd[k] * t


@numba.njit(cache=True, nogil=True)
def _row(k, n, rap, phi, out):
    """out[j] = FastJet's _bj_dist(k, j), the squared (rapidity, azimuth) distance, for j < n
    and out[k] = inf: one branch-free loop that LLVM vectorizes (the distance is symmetric to
    the last bit, so a row serves as a column)."""
    yk, pk = rap[k], phi[k]
    for j in range(n):
        dphi = abs(pk - phi[j])
        dphi = TWOPI - dphi if dphi > PI else dphi
        deta = yk - rap[j]
        out[j] = dphi * dphi + deta * deta
    out[k] = math.inf


@numba.njit(cache=True, nogil=True)
def _first_nearest(x, n, r2):
    """(index, distance) of the first smallest x[:n] below r2, else (-1, r2): what FastJet's
    scans with strict `<` find, in index order. (A branch rarely taken is faster here than a
    min chain, whose latency Numba's reduction does not hide.)"""
    best, jbest = r2, -1
    for j in range(n):
        if x[j] < best:
            best, jbest = x[j], j
    return jbest, best


@numba.njit(cache=True, nogil=True)
def _nearest(k, n, rap, phi, nn, nnd, r2, tmp):
    """FastJet's _bj_set_NN_nocross over slots 0..n-1."""
    _row(k, n, rap, phi, tmp)
    nn[k], nnd[k] = _first_nearest(tmp, n, r2)


@numba.njit(cache=True, nogil=True)
def _start(mom, n, rap, phi, kt2, nn, nnd, dij, r2):
    """Jet info, nearest neighbours and d_iJ of n particles, the neighbours found as FastJet's
    _bj_set_NN_crosscheck finds them (each pair once, strict `<` in slot order)."""
    for k in range(n):
        _set_jet(mom, k, rap, phi, kt2, nn, nnd, r2)
    for a in range(1, n):
        best, jbest = r2, -1
        ya, pa = rap[a], phi[a]
        for b in range(a):
            dphi = abs(pa - phi[b])
            dphi = TWOPI - dphi if dphi > PI else dphi
            deta = ya - rap[b]
            d = dphi * dphi + deta * deta
            if d < best:
                best, jbest = d, b
            if d < nnd[b]:
                nnd[b], nn[b] = d, a
        nn[a], nnd[a] = jbest, best
    for k in range(n):
        dij[k] = _dij(k, kt2, nn, nnd)


@numba.njit(cache=True, nogil=True)
def _move(src, dst, mom, rap, phi, kt2, nn, nnd, dij):
    """FastJet's `*jetA = *tail`: slot src copied into slot dst."""
    for c in range(4):
        mom[dst, c] = mom[src, c]
    rap[dst], phi[dst], kt2[dst] = rap[src], phi[src], kt2[src]
    nn[dst], nnd[dst], dij[dst] = nn[src], nnd[src], dij[src]


@numba.njit(cache=True, nogil=True)
def _update(a, b, n, rap, phi, kt2, nn, nnd, dij, r2, tmp, tmp2):
    """FastJet's neighbour update after a step that removed slot a (its content now the old
    tail's, slot n) and, for a merge (b >= 0), put the new jet in slot b. FastJet finds the new
    jet's neighbour as it loops, with strict `<`: the first nearest, found here beforehand. A
    jet whose neighbour left is rescanned, new jet included, so it needs no other check; a
    beam step skips FastJet's rescan of jets without a neighbour (none can have come nearer)."""
    if b >= 0:
        _row(b, n, rap, phi, tmp)
        nn[b], nnd[b] = _first_nearest(tmp, n, r2)
    for i in range(n):
        if nn[i] == a or (b >= 0 and nn[i] == b):
            _nearest(i, n, rap, phi, nn, nnd, r2, tmp2)
            dij[i] = _dij(i, kt2, nn, nnd)
        elif b >= 0 and tmp[i] < nnd[i]:
            nnd[i], nn[i] = tmp[i], b
            dij[i] = _dij(i, kt2, nn, nnd)
        if nn[i] == n:
            nn[i] = a
    if b >= 0:
        dij[b] = _dij(b, kt2, nn, nnd)


@numba.njit(cache=True, nogil=True)
def cluster_axes(mom, n, rap, phi, kt2, nn, nnd, dij, axes, r2, tmp, tmp2):
    """The exclusive-kT axes of n particles (mom (>= n, 4) as E, px, py, pz, overwritten):
    axes rows 0-2 the 3-jet axes, 3-4 the 2-jet axes, 5 the 1-jet axis, each filled only when
    more particles than axes. The other arrays are scratch of at least n slots."""
    _start(mom, n, rap, phi, kt2, nn, nnd, dij, r2)
    while n > 1:
        a, dmin = 0, dij[0]
        for k in range(1, n):
            if dij[k] < dmin:
                a, dmin = k, dij[k]
        b = nn[a]
        if b >= 0:
            if a < b:
                a, b = b, a
            for c in range(4):
                mom[b, c] = mom[a, c] + mom[b, c]
            _set_jet(mom, b, rap, phi, kt2, nn, nnd, r2)
        n -= 1
        _move(n, a, mom, rap, phi, kt2, nn, nnd, dij)
        _update(a, b, n, rap, phi, kt2, nn, nnd, dij, r2, tmp, tmp2)
        if n <= 3:
            row = AXES_ROW[n - 1]
            for k in range(n):
                for c in range(4):
                    axes[row + k, c] = mom[k, c]


@numba.njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _rap_phi(e, px, py, pz):
    """The reference's rapidity and azimuth: 0.5 log((E + pz)/(E - pz)) through NumPy's
    nan_to_num (NaN -> 0, +-inf -> +-max double), and atan2."""
    y = 0.5 * math.log((e + pz) / (e - pz))
    if y != y:
        y = 0.0
    elif y == math.inf:
        y = 1.7976931348623157e308
    elif y == -math.inf:
        y = -1.7976931348623157e308
    return y, math.atan2(py, px)


@numba.njit(cache=True, nogil=True)
def _block_sum(x, lo, n):
    """NumPy's pairwise summation of x[lo:lo + n] for n <= 128: plain below 8 terms, else 8
    accumulators."""
    if n < 8:
        s = 0.0
        for i in range(lo, lo + n):
            s += x[i]
        return s
    r0, r1, r2, r3 = x[lo], x[lo + 1], x[lo + 2], x[lo + 3]
    r4, r5, r6, r7 = x[lo + 4], x[lo + 5], x[lo + 6], x[lo + 7]
    i = 8
    while i < n - (n % 8):
        k = lo + i
        r0, r1, r2, r3 = r0 + x[k], r1 + x[k + 1], r2 + x[k + 2], r3 + x[k + 3]
        r4, r5, r6, r7 = r4 + x[k + 4], r5 + x[k + 5], r6 + x[k + 6], r7 + x[k + 7]
        i += 8
    s = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        s += x[lo + i]
        i += 1
    return s


@numba.njit(cache=True, nogil=True, inline="always")
def _half(n):
    """NumPy's split of a pairwise sum of n > 128 terms: about half, a multiple of 8."""
    n2 = n // 2
    return n2 - n2 % 8


@numba.njit(cache=True, nogil=True)
def pairwise_sum(x, n):
    """NumPy's pairwise summation of x[:n] (its float64 add.reduce over a contiguous row),
    its recursion unrolled onto a stack (Numba's cache does not take recursive functions)."""
    if n <= 128:
        return _block_sum(x, 0, n)
    # frames (start, length, stage, left half's sum); a frame's result is passed up in `ret`
    lo, ln, stage, left = np.empty(64, np.int64), np.empty(64, np.int64), \
        np.empty(64, np.int64), np.empty(64)
    lo[0], ln[0], stage[0], sp, ret = 0, n, 0, 1, 0.0
    while sp:
        t = sp - 1
        if ln[t] <= 128:
            ret = _block_sum(x, lo[t], ln[t])
            sp -= 1
        elif stage[t] == 0:
            stage[t] = 1
            lo[sp], ln[sp], stage[sp] = lo[t], _half(ln[t]), 0
            sp += 1
        elif stage[t] == 1:
            left[t], stage[t] = ret, 2
            h = _half(ln[t])
            lo[sp], ln[sp], stage[sp] = lo[t] + h, ln[t] - h, 0
            sp += 1
        else:
            ret = left[t] + ret
            sp -= 1
    return ret


@numba.njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _min_dr(y, p, ay, ap, row, n_axes):
    """The reference's min over axes of sqrt(dy^2 + dphi^2), dphi = min(|dphi|, 2pi - |dphi|),
    NaN propagating as in NumPy's minimum and min. One square root, of the smallest square:
    a correctly rounded square root is monotonic, so the result is the same to the bit."""
    best = math.inf
    for k in range(row, row + n_axes):
        dphi = abs(p - ap[k])
        other = TWOPI - dphi
        if not dphi <= other:
            dphi = other
        dy = y - ay[k]
        d = dy * dy + dphi * dphi
        if d != d or d < best:
            best = d
    return math.sqrt(best)


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _jet_taus(jet, n, axes, r0, pt, y, p, terms, ay, ap, out):
    """tau_1..tau_3 of one jet (jet (m, 4), n real constituents, axes from cluster_axes) into
    out[0..2], each reduced over the padded row as the reference does."""
    m = jet.shape[0]
    for j in range(m):
        e = np.float64(jet[j, 0])
        if e > 0:
            px, py, pz = np.float64(jet[j, 1]), np.float64(jet[j, 2]), np.float64(jet[j, 3])
            pt[j] = math.hypot(px, py)
            y[j], p[j] = _rap_phi(e, px, py, pz)
        else:
            pt[j] = 0.0
    for k in range(6):
        ay[k], ap[k] = _rap_phi(axes[k, 0], axes[k, 1], axes[k, 2], axes[k, 3])
    den = pairwise_sum(pt, m) * r0
    for n_axes in range(1, 4):
        if n <= n_axes:
            out[n_axes - 1] = 0.0
            continue
        row = AXES_ROW[n_axes - 1]
        for j in range(m):
            terms[j] = pt[j] * _min_dr(y[j], p[j], ay, ap, row, n_axes) if jet[j, 0] > 0 \
                else 0.0
        out[n_axes - 1] = pairwise_sum(terms, m) / den


@numba.njit(cache=True, nogil=True)
def _gather(jet, mom):
    """The real constituents (E > 0) of a padded jet, in order, as float64; their number."""
    n = 0
    for j in range(jet.shape[0]):
        if jet[j, 0] > 0:
            for c in range(4):
                mom[n, c] = jet[j, c]
            n += 1
    return n


@numba.njit(parallel=True, cache=True, nogil=True, error_model="numpy")
def taus_kernel(p4, r0, out):
    """tau_1..tau_3 (out (jets, 3)) of zero-padded jets p4 (jets, m, 4) as (E, px, py, pz)."""
    n_jets, m = p4.shape[0], p4.shape[1]
    r2 = r0 * r0
    for blk in numba.prange((n_jets + BLOCK - 1) // BLOCK):
        mom = np.empty((m, 4))
        rap, phi, kt2, nnd, dij, tmp, tmp2 = (np.empty(m), np.empty(m), np.empty(m),
                                              np.empty(m), np.empty(m), np.empty(m),
                                              np.empty(m))
        nn = np.empty(m, dtype=np.int64)
        axes = np.zeros((6, 4))
        ay, ap = np.empty(6), np.empty(6)
        for i in range(blk * BLOCK, min(n_jets, (blk + 1) * BLOCK)):
            n = _gather(p4[i], mom)
            cluster_axes(mom, n, rap, phi, kt2, nn, nnd, dij, axes, r2, tmp, tmp2)
            # the clustering's scratch is free again: reused for pT, rapidity, azimuth, terms
            _jet_taus(p4[i], n, axes, r0, kt2, rap, phi, dij, ay, ap, out[i])
