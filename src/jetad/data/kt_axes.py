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

Speed: the helpers of a clustering step are inlined into cluster_axes (Numba counts references
to the arrays passed to a function it calls, with atomic instructions: a third of the time in a
profile), and cluster_axes into the parallel kernel (about 15% faster, for a first compile of
20 s of CPU instead of 16; main's took 7; _jet_taus stays apart); the neighbour update after a
merge and the starting neighbours are branch-free loops; minima are taken on the distances' bit
patterns, which vectorizes; tau_N reuses the clustering's atan2 of each constituent. Every
operation that produces a number is the one before, in the same order, so the results are the
same to the bit.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba.core import types
from numba.extending import intrinsic

PI = math.pi
TWOPI = 2.0 * math.pi
MAX_RAP = 1e5  # FastJet's rapidity of a zero-pT particle along the beam
BLOCK = 64  # jets per parallel task (one scratch allocation each)
# rows of the axes array: the 3 axes of tau_3, then the 2 of tau_2, then the 1 of tau_1
AXES_ROW = (5, 3, 0)  # indexed by N - 1
# Non-negative doubles (every distance here) order as their bit patterns read as int64 do, and
# an integer minimum vectorizes where a floating one does not (NaN ordering): minima are taken
# on the patterns (_bits). NO_BOUND is above every double's pattern, NaNs included.
NO_BOUND = np.int64(0x7FFFFFFFFFFFFFFF)


@numba.njit(cache=True, nogil=True, inline="always")
def _set_jet(mom, k, rap, phi, kt2, nn, nnd, r2):
    """FastJet's _bj_set_jetinfo with PseudoJet's rapidity and azimuth of slot k; returns
    atan2(py, px) (before FastJet's shift into [0, 2pi)), which tau_N reuses."""
    e, px, py, pz = mom[k, 0], mom[k, 1], mom[k, 2], mom[k, 3]
    t = px * px + py * py
    a = math.atan2(py, px)
    p = 0.0 if t == 0.0 else a
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
    return a


@numba.njit(cache=True, nogil=True, inline="always")
def _dist(y0, p0, y, p):
    """FastJet's _bj_dist: the squared (rapidity, azimuth) distance, symmetric to the last bit
    (|p0 - p| = |p - p0|, and a difference squared does not see its sign)."""
    dphi = abs(p0 - p)
    dphi = TWOPI - dphi if dphi > PI else dphi
    deta = y0 - y
    return dphi * dphi + deta * deta


@numba.njit(cache=True, nogil=True, inline="always")
def _dij(k, kt2, nn, nnd):
    """FastJet's _bj_diJ: d_iJ times R^2 with J the nearest neighbour (or the beam)."""
    t = kt2[k]
    j = nn[k]
    if j >= 0 and kt2[j] < t:
        t = kt2[j]
    return nnd[k] * t


@intrinsic
def _bits(typingctx, x):
    """The bit pattern of a float64 as an int64 (an LLVM bitcast)."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.int64))
    return types.int64(types.float64), codegen


@numba.njit(cache=True, nogil=True, inline="always")
def _first_of(x, n, best):
    """The first index of x[:n] holding the bit pattern `best` (n if none), as a minimum over
    the indices that do, which vectorizes where a loop that stops at the first does not."""
    first = n
    for j in range(n):
        c = j if _bits(x[j]) == best else n
        first = c if c < first else first
    return first


@numba.njit(cache=True, nogil=True, inline="always")
def _first_below(x, n, bound):
    """Index of the first smallest of x[:n] below `bound` (bits), else -1: what FastJet's
    scans with strict `<` find, in index order."""
    best = bound
    for j in range(n):
        v = _bits(x[j])
        best = v if v < best else best
    return -1 if best == bound else _first_of(x, n, best)


@numba.njit(cache=True, nogil=True, inline="always")
def _nearest(k, n, rap, phi, nn, nnd, r2, rb, tmp):
    """FastJet's _bj_set_NN_nocross of slot k over slots 0..n-1 (tmp: its distances)."""
    yk, pk = rap[k], phi[k]
    best = rb
    for j in range(n):
        d = _dist(yk, pk, rap[j], phi[j])
        d = math.inf if j == k else d
        tmp[j] = d
        v = _bits(d)
        best = v if v < best else best
    if best == rb:
        nn[k], nnd[k] = -1, r2
    else:
        j = _first_of(tmp, n, best)
        nn[k], nnd[k] = j, tmp[j]


@numba.njit(cache=True, nogil=True, inline="always")
def _start(mom, n, rap, phi, kt2, nn, nnd, dij, r2, rb, tmp, praw):
    """Jet info, nearest neighbours and d_iJ of n particles, the neighbours found as FastJet's
    _bj_set_NN_crosscheck finds them (each pair once, strict `<` in slot order): jet a's
    distances to the earlier jets in one branch-free loop that also offers a to each of them,
    then the first nearest among them for a."""
    for k in range(n):
        praw[k] = _set_jet(mom, k, rap, phi, kt2, nn, nnd, r2)
    for a in range(1, n):
        ya, pa = rap[a], phi[a]
        best = rb
        for b in range(a):
            d = _dist(ya, pa, rap[b], phi[b])
            tmp[b] = d
            v = _bits(d)
            best = v if v < best else best
            take = d < nnd[b]
            nnd[b] = d if take else nnd[b]
            nn[b] = a if take else nn[b]
        if best != rb:
            j = _first_of(tmp, a, best)
            nn[a], nnd[a] = j, tmp[j]
    for k in range(n):
        dij[k] = _dij(k, kt2, nn, nnd)


@numba.njit(cache=True, nogil=True, inline="always")
def _move(src, dst, mom, rap, phi, kt2, nn, nnd, dij):
    """FastJet's `*jetA = *tail`: slot src copied into slot dst."""
    for c in range(4):
        mom[dst, c] = mom[src, c]
    rap[dst], phi[dst], kt2[dst] = rap[src], phi[src], kt2[src]
    nn[dst], nnd[dst], dij[dst] = nn[src], nnd[src], dij[src]


@numba.njit(cache=True, nogil=True, inline="always")
def _after_merge(a, b, n, rap, phi, kt2, nn, nnd, dij, tmp, flag):
    """FastJet's neighbour update after a merge that removed slot a (its content now the old
    tail's, slot n) and put the new jet in slot b, in one branch-free pass: a jet whose
    neighbour was a or b is flagged for a rescan (the new jet included, so it needs no other
    check); any other jet takes the new jet if nearer, strictly; a neighbour that was the tail
    is now slot a. tmp gets the new jet's distances; returns the number of jets flagged."""
    yb, pb, kb = rap[b], phi[b], kt2[b]
    count = 0
    for i in range(n):
        d = _dist(yb, pb, rap[i], phi[i])
        d = math.inf if i == b else d
        tmp[i] = d
        ni = nn[i]
        rescan = (ni == a) | (ni == b)
        take = (not rescan) & (d < nnd[i])
        ki = kt2[i]
        dij[i] = d * (kb if kb < ki else ki) if take else dij[i]
        nnd[i] = d if take else nnd[i]
        ni = b if take else ni
        nn[i] = a if ni == n else ni
        flag[i] = rescan
        count += rescan
    return count


@numba.njit(cache=True, nogil=True, inline="always")
def _after_beam(a, n, nn, flag):
    """As _after_merge after a jet (slot a) went to the beam: a jet whose neighbour it was is
    flagged; FastJet's rescan of jets without a neighbour is skipped (none came nearer)."""
    count = 0
    for i in range(n):
        ni = nn[i]
        rescan = ni == a
        nn[i] = a if ni == n else ni
        flag[i] = rescan
        count += rescan
    return count


@numba.njit(cache=True, nogil=True, inline="always")
def cluster_axes(mom, n, rap, phi, kt2, nn, nnd, dij, axes, r2, tmp, flag, praw):
    """The exclusive-kT axes of n particles (mom (>= n, 4) as E, px, py, pz, overwritten):
    axes rows 0-2 the 3-jet axes, 3-4 the 2-jet axes, 5 the 1-jet axis, each filled only when
    more particles than axes; praw[k] = atan2(py, px) of particle k. The other arrays are
    scratch of at least n slots (flag uint8)."""
    rb = _bits(r2)
    _start(mom, n, rap, phi, kt2, nn, nnd, dij, r2, rb, tmp, praw)
    while n > 1:
        a = max(0, _first_below(dij, n, NO_BOUND))
        b = nn[a]
        if b >= 0:
            if a < b:
                a, b = b, a
            for c in range(4):
                mom[b, c] = mom[a, c] + mom[b, c]
            _set_jet(mom, b, rap, phi, kt2, nn, nnd, r2)
        n -= 1
        _move(n, a, mom, rap, phi, kt2, nn, nnd, dij)
        if b >= 0:
            count = _after_merge(a, b, n, rap, phi, kt2, nn, nnd, dij, tmp, flag)
            j = _first_below(tmp, n, rb)
            if j >= 0:
                nn[b], nnd[b] = j, tmp[j]
            dij[b] = _dij(b, kt2, nn, nnd)
        else:
            count = _after_beam(a, n, nn, flag)
        i = 0
        while count:
            if flag[i]:
                _nearest(i, n, rap, phi, nn, nnd, r2, rb, tmp)
                dij[i] = _dij(i, kt2, nn, nnd)
                count -= 1
            i += 1
        if n <= 3:
            row = AXES_ROW[n - 1]
            for k in range(n):
                for c in range(4):
                    axes[row + k, c] = mom[k, c]


@numba.njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _rap(e, pz):
    """The reference's rapidity 0.5 log((E + pz)/(E - pz)) through NumPy's nan_to_num (NaN ->
    0, +-inf -> +-max double)."""
    y = 0.5 * math.log((e + pz) / (e - pz))
    if y != y:
        y = 0.0
    elif y == math.inf:
        y = 1.7976931348623157e308
    elif y == -math.inf:
        y = -1.7976931348623157e308
    return y


@numba.njit(cache=True, nogil=True, inline="always")
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


@numba.njit(cache=True, nogil=True, inline="always")
def _pairwise(x, n, frames, left):
    """NumPy's pairwise summation of x[:n] (its float64 add.reduce over a contiguous row), its
    recursion unrolled onto a stack (Numba's cache does not take recursive functions): frames
    (64, 3) int64 and left (64,) are scratch."""
    if n <= 128:
        return _block_sum(x, 0, n)
    # frames (start, length, stage), left the left half's sum; a frame's result is passed up
    # in `ret`
    frames[0, 0], frames[0, 1], frames[0, 2], sp, ret = 0, n, 0, 1, 0.0
    while sp:
        t = sp - 1
        lo, ln, stage = frames[t, 0], frames[t, 1], frames[t, 2]
        if ln <= 128:
            ret = _block_sum(x, lo, ln)
            sp -= 1
        elif stage == 0:
            frames[t, 2] = 1
            frames[sp, 0], frames[sp, 1], frames[sp, 2] = lo, _half(ln), 0
            sp += 1
        elif stage == 1:
            left[t], frames[t, 2] = ret, 2
            h = _half(ln)
            frames[sp, 0], frames[sp, 1], frames[sp, 2] = lo + h, ln - h, 0
            sp += 1
        else:
            ret = left[t] + ret
            sp -= 1
    return ret


@numba.njit(cache=True, nogil=True)
def pairwise_sum(x, n):
    """NumPy's pairwise summation of x[:n]."""
    return _pairwise(x, n, np.empty((64, 3), np.int64), np.empty(64))


@numba.njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _sq_dr(y, p, ay, ap):
    """The reference's dy^2 + dphi^2, dphi = min(|dphi|, 2pi - |dphi|) as NumPy's minimum
    (NaN propagating)."""
    dphi = abs(p - ap)
    other = TWOPI - dphi
    dphi = dphi if dphi <= other else other
    dy = y - ay
    return dy * dy + dphi * dphi


@numba.njit(cache=True, nogil=True, inline="always")
def _nanmin(best, d):
    """NumPy's minimum (NaN propagating)."""
    return d if (d != d) | (d < best) else best


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _jet_taus(jet, pos, n, praw, axes, r0, pt, y, terms, padded, frames, left, ay, ap, out):
    """tau_1..tau_3 of one jet (jet (m, 4), its n real constituents in rows pos[:n], their
    atan2(py, px) in praw, axes from cluster_axes) into out[0..2], as the reference computes
    them: each sum reduced pairwise over the padded row, the min over axes of sqrt(dR^2) taken
    as the square root of the smallest square (a correctly rounded square root is monotonic,
    so the same to the bit). padded (4, m) is zero on entry and left so."""
    m = jet.shape[0]
    for k in range(n):
        j = pos[k]
        e, px, py, pz = (np.float64(jet[j, 0]), np.float64(jet[j, 1]), np.float64(jet[j, 2]),
                         np.float64(jet[j, 3]))
        pt[k] = math.hypot(px, py)
        y[k] = _rap(e, pz)
    # the axes rows in use (N < n): row 5 for N = 1, rows 3-5 up to N = 2, all up to N = 3
    for r in range(AXES_ROW[min(n - 1, 3) - 1] if n > 1 else 6, 6):
        ay[r] = _rap(axes[r, 0], axes[r, 3])
        ap[r] = math.atan2(axes[r, 2], axes[r, 1])
    for k in range(n):
        yk, pk = y[k], praw[k]
        d1 = _sq_dr(yk, pk, ay[5], ap[5])
        d2 = _nanmin(_sq_dr(yk, pk, ay[3], ap[3]), _sq_dr(yk, pk, ay[4], ap[4]))
        d3 = _nanmin(_nanmin(_sq_dr(yk, pk, ay[0], ap[0]), _sq_dr(yk, pk, ay[1], ap[1])),
                     _sq_dr(yk, pk, ay[2], ap[2]))
        terms[0, k] = pt[k] * math.sqrt(d1)
        terms[1, k] = pt[k] * math.sqrt(d2)
        terms[2, k] = pt[k] * math.sqrt(d3)
    for k in range(n):
        j = pos[k]
        padded[0, j] = pt[k]
        for c in range(3):
            padded[c + 1, j] = terms[c, k]
    den = _pairwise(padded[0], m, frames, left) * r0
    for n_axes in range(1, 4):
        out[n_axes - 1] = _pairwise(padded[n_axes], m, frames, left) / den if n > n_axes \
            else 0.0
    for k in range(n):
        for c in range(4):
            padded[c, pos[k]] = 0.0


@numba.njit(cache=True, nogil=True, inline="always")
def _gather(jet, mom, pos):
    """The real constituents (E > 0) of a padded jet, in order, as float64; their rows and
    number."""
    n = 0
    for j in range(jet.shape[0]):
        if jet[j, 0] > 0:
            for c in range(4):
                mom[n, c] = jet[j, c]
            pos[n] = j
            n += 1
    return n


@numba.njit(parallel=True, cache=True, nogil=True, error_model="numpy")
def taus_kernel(p4, r0, out):
    """tau_1..tau_3 (out (jets, 3)) of zero-padded jets p4 (jets, m, 4) as (E, px, py, pz)."""
    n_jets, m = p4.shape[0], p4.shape[1]
    r2 = r0 * r0
    for blk in numba.prange((n_jets + BLOCK - 1) // BLOCK):
        mom = np.empty((m, 4))
        rap, phi, kt2, nnd, dij, tmp, praw = (np.empty(m), np.empty(m), np.empty(m),
                                              np.empty(m), np.empty(m), np.empty(m),
                                              np.empty(m))
        nn, pos = np.empty(m, dtype=np.int64), np.empty(m, dtype=np.int64)
        flag = np.empty(m, dtype=np.uint8)
        terms, padded = np.empty((3, m)), np.zeros((4, m))
        frames, left = np.empty((64, 3), np.int64), np.empty(64)
        axes = np.zeros((6, 4))
        ay, ap = np.empty(6), np.empty(6)
        for i in range(blk * BLOCK, min(n_jets, (blk + 1) * BLOCK)):
            n = _gather(p4[i], mom, pos)
            cluster_axes(mom, n, rap, phi, kt2, nn, nnd, dij, axes, r2, tmp, flag, praw)
            # the clustering's scratch is free again: reused for pT and rapidity
            _jet_taus(p4[i], pos, n, praw, axes, r0, kt2, rap, terms, padded, frames, left,
                      ay, ap, out[i])
