"""Compiled gradient/Hessian kernels: one fused loop per loss, then a pass for the weights.

Every kernel has the signature ``kernel(y, raw, w, params, grad, hess)``: ``y`` float64 or
float32 targets, ``raw`` float32 or float64 scores (shape ``(n,)``, or ``(n, k)`` for multiclass
losses, in either memory order), ``w`` float64 or float32 weights or an empty array for none,
``params`` a float64 vector (``params[0]`` the Hessian policy code, see ``POLICY``; then the
loss's parameters), and ``grad``/``hess`` preallocated float64 or float32 outputs shaped like
``raw``; it returns the fingerprint of the targets and weights it read (see ``_tally``). The
formulas are those of the loss classes' docstrings; the classes in ``regression``, ``binary``
and ``multiclass`` name their kernel.

Speed: NumPy evaluates a formula one operation at a time through temporary arrays, and SciPy's
``expit``/``log_expit`` are scalar loops; a compiled loop reads each input once and writes each
output once. ``exp`` and ``log1p`` are written here in plain arithmetic (range reduction and a
polynomial, accurate to about 1 ulp) because LLVM vectorises those loops, while calls to libm's
``exp``/``log1p`` stay scalar and cost 10-20x more. ``error_model="numpy"`` lets divisions
vectorise (no ZeroDivisionError checks). ``exp`` and ``log`` are functions of their own, compiled
once per process and inlined into each loop by LLVM; copying them into every kernel at numba's
level (``inline="always"``) took most of a kernel's compile time. Where LLVM leaves the call in a
long loop (the multiclass kernels), ``exp_inline``/``log_inline`` are numba-inlined copies (the
tests check each kernel's compiled code for calls). Kernels compile on first use and are cached on disk
(numba ``cache=True``), so later processes load them in milliseconds. ``run`` splits large
inputs by rows over a few threads (the kernels release Python's lock): boosters leave their
own threads idle while the objective runs.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from llvmlite import ir
from numba import config, njit, types
from numba.core.dispatcher import Dispatcher
from numba.extending import intrinsic

POLICY = {"exact": 0.0, "secant": 1.0, "unit": 2.0, "floor": 3.0, "gauss_newton": 4.0, "friedman": 5.0,
          "active": 6.0, "constant": 7.0}
EXACT, SECANT, UNIT, FLOOR, GAUSS_NEWTON, FRIEDMAN, ACTIVE, CONSTANT = 0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0


def _probe():  # a function of this file, for numba to find a cache location for
    return 0


def _cached_probe():
    """``_probe`` compiled with ``cache=True`` where numba can cache this file's kernels: in a
    writable ``__pycache__`` beside it, ``NUMBA_CACHE_DIR`` or the user's cache directory. A
    read-only install without a writable home (a container running as another user) has none:
    then a directory of this user's in the temporary directory, and failing that None:
    compiling in memory in every process (one warning). numba raises, rather than skips
    caching, when it finds no location."""
    try:
        return njit(cache=True)(_probe)
    except RuntimeError:
        pass
    if not config.CACHE_DIR:
        try:
            path = os.path.join(tempfile.gettempdir(), f"boostloss-numba-{os.getuid() if hasattr(os, 'getuid') else 0}")
            os.makedirs(path, mode=0o700, exist_ok=True)
            config.CACHE_DIR = path
            return njit(cache=True)(_probe)
        except (OSError, RuntimeError):
            config.CACHE_DIR = ""
    warnings.warn("boostloss: no writable directory to cache compiled kernels in; they compile in memory in "
                  "each process (set NUMBA_CACHE_DIR to a writable directory to keep them)", RuntimeWarning,
                  stacklevel=2)
    return None


def cache_location() -> str:
    """The directory numba caches this file's kernels in (when ``CACHE``)."""
    return _CACHED_PROBE.stats.cache_path


def dispatchers() -> list:
    """Every compiled function of this file (numba dispatchers), kernels and helpers."""
    return [value for value in globals().values() if isinstance(value, Dispatcher)]


def _seed_cache() -> None:
    """Copy the kernels compiled into the install's own ``__pycache__`` (``boostloss compile``,
    run where the image was built) into the directory numba caches in when that is another one
    (the install is read-only): each kernel's index with its data files, for the kernels that
    directory does not hold yet. numba checks each entry's source hash and CPU when loading."""
    shipped = os.path.join(os.path.dirname(os.path.abspath(__file__)), "__pycache__")
    try:
        target = cache_location()
        if not os.path.isdir(shipped) or os.path.realpath(target) == os.path.realpath(shipped):
            return
        names = os.listdir(shipped)
        for index in names:
            if not (index.startswith("kernels.") and index.endswith(".nbi")) or \
                    os.path.exists(os.path.join(target, index)):
                continue
            stem = index[:-len(".nbi")]
            for name in [n for n in names if n.startswith(stem + ".") and n.endswith(".nbc")] + [index]:  # index last
                shutil.copyfile(os.path.join(shipped, name), os.path.join(target, name))
    except OSError:
        pass  # a cache we cannot seed compiles as it would have


_CACHED_PROBE = _cached_probe()
CACHE = _CACHED_PROBE is not None
if CACHE:
    _seed_cache()
_JIT = {"cache": CACHE, "nogil": True, "error_model": "numpy", "fastmath": {"contract"}}
_INLINE = {"inline": "always", "error_model": "numpy", "fastmath": {"contract"}}
_LEAF = {"error_model": "numpy", "fastmath": {"contract"}}

LOG2E = 1.4426950408889634
LN2_HI = 6.93147180369123816490e-01  # ln 2 split so that k * LN2_HI is exact (fdlibm)
LN2_LO = 1.90821492927058770002e-10
MAX_EXP = 700.0  # as losses.base.MAX_EXP: log-link exponents are clipped here


# --------------------------------------------------------------------------- threads
# A second thread pays for itself once a part takes longer than the hand-over, 60-100 us inside a
# boosting round (the booster's own threads are still spinning down): from 1 << 16 elements a
# thread for most kernels (1.3-5.6 ns an element on one thread here), from 1 << 18 for the light
# ones (``_LIGHT``: 0.55-0.66 ns, one subtraction or so per row), which at 200,000 rows took
# 0.36 ms a round in an XGBoost fit on two threads, 0.26 ms on one.
MIN_PARALLEL_ELEMENTS = 1 << 16
LIGHT_PARALLEL_ELEMENTS = 1 << 18
_pool: list = [None, None]  # [executor, pid]: rebuilt in a forked child, whose parent's threads are gone
_pool_lock = threading.Lock()


def threads() -> int:
    """Threads ``run`` uses on large inputs: numba's ``NUMBA_NUM_THREADS`` (environment
    variable; default the number of CPUs), as numba's own parallel code does."""
    return max(1, int(config.NUMBA_NUM_THREADS))


def _executor(workers: int) -> ThreadPoolExecutor:
    with _pool_lock:
        executor, pid = _pool
        if executor is None or pid != os.getpid() or executor._max_workers != workers:
            _pool[:] = ThreadPoolExecutor(workers, thread_name_prefix="boostloss"), os.getpid()
        return _pool[0]


def split_from(kernel) -> int:
    """Elements per thread from which ``run`` splits ``kernel``'s rows over threads (never for ``_WHOLE``)."""
    if kernel in _WHOLE:
        return 1 << 62
    return LIGHT_PARALLEL_ELEMENTS if kernel in _LIGHT else MIN_PARALLEL_ELEMENTS


def run(kernel, y, raw, w, args, grad, hess) -> tuple:
    """``kernel(y, raw, w, *args, grad, hess)``, its rows split over ``threads()`` threads
    when ``raw`` holds at least ``split_from(kernel)`` elements per thread (rows are independent).
    Returns the fingerprint of ``y`` and ``w`` (see ``_tally``), as ``fingerprint(y, w)``."""
    parts = min(threads(), raw.size // split_from(kernel))
    if parts <= 1:
        return _as_ints(kernel(y, raw, w, *args, grad, hess))
    n = y.shape[0]
    bounds = [n * i // parts for i in range(parts + 1)]

    def rows(lo, hi):
        return kernel(y[lo:hi], raw[lo:hi], w[lo:hi] if w.size else w, *args, grad[lo:hi], hess[lo:hi])

    executor = _executor(parts - 1)
    others = [executor.submit(rows, bounds[i], bounds[i + 1]) for i in range(1, parts)]
    sums = [rows(bounds[0], bounds[1])] + [job.result() for job in others]
    s1 = sum(int(a) for a, _ in sums)  # a part's indices start at 0: sum (2 (i + lo) + 1) h = s2 + 2 lo s1
    s2 = sum(int(b) + 2 * lo * int(a) for (a, b), lo in zip(sums, bounds[:-1], strict=True))
    return s1 % 2**32, s2 % 2**32


def _as_ints(pair) -> tuple:
    return int(pair[0]) % 2**32, int(pair[1]) % 2**32


# --------------------------------------------------------------------------- scalar math
@intrinsic
def _float_from_bits(typingctx, bits):
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return types.float64(types.int64), codegen


@intrinsic
def _bits_from_float(typingctx, value):
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))

    return types.int64(types.float64), codegen


@njit(**_INLINE)
def _expm1_poly(r):
    """exp(r) - 1 for |r| <= ln(2)/2 by its Taylor series (error < 1e-18)."""
    p = 1.0 / 87178291200.0
    p = p * r + 1.0 / 6227020800.0
    p = p * r + 1.0 / 479001600.0
    p = p * r + 1.0 / 39916800.0
    p = p * r + 1.0 / 3628800.0
    p = p * r + 1.0 / 362880.0
    p = p * r + 1.0 / 40320.0
    p = p * r + 1.0 / 5040.0
    p = p * r + 1.0 / 720.0
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    return (p * r) * r + r


@njit(**_LEAF)
def exp(x):
    """exp(x): x = k ln2 + r, exp(r) by polynomial, 2^k in two halves (so subnormals come out
    right); 0 below -745.2, inf above 709.78."""
    xc = min(max(x, -746.0), 710.0)
    k = math.floor(xc * LOG2E + 0.5)
    r = (xc - k * LN2_HI) - k * LN2_LO
    ki = np.int64(k)
    half = ki >> 1
    value = (1.0 + _expm1_poly(r)) * _float_from_bits((half + 1023) << 52) * _float_from_bits((ki - half + 1023) << 52)
    if x < -745.2:
        value = 0.0
    if x > 709.78:
        value = math.inf
    return value


@njit(**_INLINE)
def expm1(x):
    """exp(x) - 1, accurate near 0."""
    return _expm1_poly(x) if abs(x) <= 0.34657359027997264 else exp(x) - 1.0


@njit(**_LEAF)
def log(x):
    """Natural log of x > 0 (normal numbers): x = m 2^e with m in [sqrt(1/2), sqrt(2)),
    log m = 2 atanh(t), t = (m - 1)/(m + 1), |t| < 0.172, by its series. 0 gives -inf."""
    tiny = x < 2.2250738585072014e-308  # subnormal: scale by 2^54 first
    bits = _bits_from_float(x * 18014398509481984.0 if tiny else x)
    e = ((bits >> 52) & 0x7FF) - (1023 + 54 if tiny else 1023)
    m = _float_from_bits((bits & 0x000FFFFFFFFFFFFF) | 0x3FF0000000000000)
    big = m > 1.4142135623730951
    if big:
        m = 0.5 * m
        e = e + 1
    t = (m - 1.0) / (m + 1.0)
    t2 = t * t
    s = 1.0 / 23.0
    s = s * t2 + 1.0 / 21.0
    s = s * t2 + 1.0 / 19.0
    s = s * t2 + 1.0 / 17.0
    s = s * t2 + 1.0 / 15.0
    s = s * t2 + 1.0 / 13.0
    s = s * t2 + 1.0 / 11.0
    s = s * t2 + 1.0 / 9.0
    s = s * t2 + 1.0 / 7.0
    s = s * t2 + 1.0 / 5.0
    s = s * t2 + 1.0 / 3.0
    ef = float(e)
    value = ef * LN2_HI + (2.0 * t + (2.0 * t * t2 * s + ef * LN2_LO))
    if x == 0.0:
        value = -math.inf
    if x == math.inf:
        value = math.inf
    return value


# exp and log inlined by numba, for loops where LLVM would leave them as calls (and the loop scalar)
exp_inline, log_inline = njit(**_INLINE)(exp.py_func), njit(**_INLINE)(log.py_func)


@njit(**_INLINE)
def log1p(x):
    """log(1 + x) for x > -1, accurate near 0: log(u) corrected by the rounding of u = 1 + x."""
    u = 1.0 + x
    value = log(u) - ((u - 1.0) - x) / u
    if u == 1.0:
        value = x
    return value


@njit(**_INLINE)
def sigmoid_terms(z):
    """(sigmoid(z), sigmoid(-z), log sigmoid(z), log sigmoid(-z)), each accurate at any z."""
    e = exp(-abs(z))
    inv = 1.0 / (1.0 + e)
    soft = log1p(e)
    positive = z >= 0  # selects, not branches, so that the loops vectorise
    return inv if positive else e * inv, e * inv if positive else inv, min(z, 0.0) - soft, -max(z, 0.0) - soft


FLOAT32_MAX = float(np.finfo(np.float32).max)


@intrinsic
def _fit(typingctx, a, value):
    """``value`` as stored into ``a``: saturated at +-FLOAT32_MAX for float32 ``a`` (instead of
    overflowing to inf; NaN stays NaN), unchanged for float64. Two selects written directly in
    LLVM: free inside the kernels' loops, and cheaper to compile than a numba overload (an
    inlined overload took about 0.3 s of each kernel's compile time)."""
    saturates = a.dtype == types.float32

    def codegen(context, builder, signature, args):
        x = args[1]
        if not saturates:
            return x
        hi, lo = ir.Constant(ir.DoubleType(), FLOAT32_MAX), ir.Constant(ir.DoubleType(), -FLOAT32_MAX)
        x = builder.select(builder.fcmp_ordered(">", x, hi), hi, x)
        return builder.select(builder.fcmp_ordered("<", x, lo), lo, x)

    return types.float64(a, types.float64), codegen


# A kernel also returns the fingerprint of the targets and weights it read: two wrapping uint32
# sums over the rows i of a mix h_i of each value's bits, ``(sum h_i, sum (2 i + 1) h_i)``, plus
# ``TALLY_WEIGHT`` times the same sums of the weights. Taken in the loop that reads them (a few
# integer operations per row on 32-bit lanes, which keep the loops' vector width: uint64 sums
# halved it and cost up to 45%), it tells an objective that reads the booster's own labels every
# round whether they are still the ones it validated, without a comparison pass. A changed value
# always changes the first sum; a swap of two rows changes the second unless 2 (i - j) (h_j - h_i)
# is 0 mod 2**32. ``fingerprint`` is the same sums in a pass of their own.
_NONE = np.uint32(0)
TALLY_WEIGHT = 0x9E3779B9  # odd


@intrinsic
def _tally(typingctx, s1, s2, value, i):
    """``(s1 + h, s2 + (2 i + 1) h, float64(value))``, the sums mod 2**32, ``h`` a bijective mix of
    ``value``'s bits (float64: its two halves xor-ed first). The kernels compute with the float64
    value: float32 targets minus float32 scores would otherwise be rounded to float32."""
    narrow = isinstance(value, types.Float) and value.bitwidth == 32
    u32, u64 = ir.IntType(32), ir.IntType(64)

    def codegen(context, builder, signature, args):
        a, b, x, index = args
        if narrow:
            h = builder.bitcast(x, u32)
        else:
            bits = builder.bitcast(x, u64)
            h = builder.trunc(builder.xor(bits, builder.lshr(bits, ir.Constant(u64, 32))), u32)
        h = builder.xor(h, builder.lshr(h, ir.Constant(u32, 16)))  # high bits (sign, exponent) mixed down
        h = builder.mul(h, ir.Constant(u32, 0x45D9F3B))
        h = builder.xor(h, builder.lshr(h, ir.Constant(u32, 16)))
        odd = builder.or_(builder.trunc(builder.shl(index, ir.Constant(u64, 1)), u32), ir.Constant(u32, 1))
        wide = builder.fpext(x, ir.DoubleType()) if narrow else (x if isinstance(value, types.Float)
                                                                else builder.sitofp(x, ir.DoubleType()))
        return context.make_tuple(builder, signature.return_type,
                                  (builder.add(a, h), builder.add(b, builder.mul(h, odd)), wide))

    returned = types.Tuple((types.uint32, types.uint32, types.float64))
    return returned(types.uint32, types.uint32, value, types.intp), codegen


@njit(**_LEAF)
def _weigh(grad, hess, w, s1, s2):
    """Multiply by the weights, if any, in a pass of its own: kept out of the kernels' loops,
    where the extra branch stops LLVM from vectorising them (measured 50x slower). A weight of
    zero gives zeros whatever the unweighted value (also inf); float32 products saturate (``_fit``).
    Returns the fingerprint ``(s1, s2)`` of the targets with the weights' added."""
    t1 = t2 = _NONE
    if w.size:
        for i in range(w.size):
            t1, t2, wi = _tally(t1, t2, w[i], i)
            g, h = grad[i] * wi, hess[i] * wi
            grad[i] = _fit(grad, g) if wi != 0.0 else 0.0
            hess[i] = _fit(hess, h) if wi != 0.0 else 0.0
    return _with_weights(s1, s2, t1, t2)


@njit(**_LEAF)
def _with_weights(s1, s2, t1, t2):
    return np.uint32((s1 + t1 * TALLY_WEIGHT) & 0xFFFFFFFF), np.uint32((s2 + t2 * TALLY_WEIGHT) & 0xFFFFFFFF)


@njit(cache=CACHE, nogil=True)
def fingerprint(y, w):
    """The fingerprint a kernel returns for targets ``y`` and weights ``w`` (empty for none)."""
    s1 = s2 = t1 = t2 = _NONE
    for i in range(y.size):
        s1, s2, _ = _tally(s1, s2, y[i], i)
    for i in range(w.size):
        t1, t2, _ = _tally(t1, t2, w[i], i)
    return _with_weights(s1, s2, t1, t2)


@njit(**_JIT)
def mean_abs_residual(y, raw, w):
    """The (``w``-weighted, if ``w`` is not empty) mean |raw - y| in one pass, each term divided
    by the total weight first, so that the sum cannot overflow where the mean fits in float64
    (sets the secant floor of the piecewise-linear losses)."""
    total = 0.0
    if w.size:
        weight = 0.0
        for i in range(w.size):
            weight += w[i]
        inv = 1.0 / weight if weight > 0 else 0.0
        for i in range(y.size):
            total += abs(np.float64(raw[i]) - y[i]) * (w[i] * inv)
    else:
        inv = 1.0 / max(y.size, 1)
        for i in range(y.size):
            total += abs(np.float64(raw[i]) - y[i]) * inv
    return total


@njit(cache=CACHE, nogil=True)
def group_rows(groups, n_groups):
    """Rows ordered by group (a counting sort, O(n)): ``(order, starts)`` with the rows of group
    ``g`` at ``order[starts[g]:starts[g + 1]]``, in their original order. ``groups`` are
    integers ``0 <= g < n_groups`` (boosters' leaf indices)."""
    starts = np.zeros(n_groups + 1, np.int64)
    for i in range(groups.size):
        starts[np.int64(groups[i]) + 1] += 1
    for g in range(n_groups):
        starts[g + 1] += starts[g]
    fill = starts[:-1].copy()
    order = np.empty(groups.size, np.int64)
    for i in range(groups.size):
        g = np.int64(groups[i])
        order[fill[g]] = i
        fill[g] += 1
    return order, starts


@njit(cache=CACHE, nogil=True, fastmath={"reassoc", "contract"})
def total(a):
    """sum(a) accumulated in float64 (reassociated, so vectorised: order-dependent in the last bits)."""
    s = 0.0
    for i in range(a.size):
        s += a[i]
    return s


@njit(cache=CACHE, nogil=True, fastmath={"reassoc", "contract"})
def dot(a, b):
    """sum(a * b) in float64 on this thread. ``np.dot`` hands long vectors to OpenBLAS, whose
    threads then spin-wait for more work on the cores the booster's threads are about to use:
    one such call before training made a 200,000-row XGBoost fit on 2 cores ~8% slower."""
    s = 0.0
    for i in range(a.size):
        s += a[i] * b[i]
    return s


@njit(**_JIT)
def scale_pair(grad, hess, factor):
    """grad *= factor; hess *= factor, in one pass (float32 outputs saturate: ``_fit``)."""
    for i in range(grad.size):
        grad[i] = _fit(grad, grad[i] * factor)
        hess[i] = _fit(hess, hess[i] * factor)


@njit(**_INLINE)
def _secant_l1(a, eps):
    return 1.0 / max(a, eps)


# --------------------------------------------------------------------------- regression
@njit(**_JIT)
def squared_error(y, raw, w, params, grad, hess):
    s1 = s2 = _NONE
    for i in range(y.size):
        s1, s2, yi = _tally(s1, s2, y[i], i)
        grad[i] = _fit(grad, raw[i] - yi)
        hess[i] = _fit(hess, 1.0)
    return _weigh(grad, hess, w, s1, s2)


@njit(**_JIT)
def absolute_error(y, raw, w, params, grad, hess):
    policy, eps = params[0], params[1]
    s1 = s2 = _NONE
    for i in range(y.size):
        s1, s2, yi = _tally(s1, s2, y[i], i)
        r = raw[i] - yi
        h = _secant_l1(abs(r), eps) if policy == SECANT else (1.0 if policy == UNIT else 0.0)
        grad[i] = _fit(grad, np.sign(r))
        hess[i] = _fit(hess, h)
    return _weigh(grad, hess, w, s1, s2)


@njit(**_JIT)
def huber(y, raw, w, params, grad, hess):
    policy, d = params[0], params[1]
    s1 = s2 = _NONE
    for i in range(y.size):
        s1, s2, yi = _tally(s1, s2, y[i], i)
        r = raw[i] - yi
        a = abs(r)
        if policy == SECANT:
            h = d / max(a, d)
        elif policy == UNIT:
            h = 1.0
        else:
            h = 1.0 if a <= d else 0.0
        grad[i] = _fit(grad, min(max(r, -d), d))
        hess[i] = _fit(hess, h)
    return _weigh(grad, hess, w, s1, s2)


@njit(**_JIT)
def pseudo_huber(y, raw, w, params, grad, hess):
    policy, d = params[0], params[1]
    s1 = s2 = _NONE
    for i in range(y.size):
        s1, s2, yi = _tally(s1, s2, y[i], i)
        r = raw[i] - yi
        a = abs(r / d)
        s = a if a > 1e150 else math.sqrt(1.0 + a * a)  # hypot(1, r/d) without overflowing
        h = 1.0 / s if policy == SECANT else 1.0 / (s * s * s)
        grad[i] = _fit(grad, r / s)
        hess[i] = _fit(hess, h)
    return _weigh(grad, hess, w, s1, s2)


@njit(**_JIT)
def log_cosh(y, raw, w, params, grad, hess):
    policy, sc = params[0], params[1]
    inv = 1.0 / sc  # a multiply per row, not a division
    s1 = s2 = _NONE
    for i in range(y.size):
        s1, s2, yi = _tally(s1, s2, y[i], i)
        r = (raw[i] - yi) * inv
        a = abs(r)
        m = expm1(-2.0 * a)  # tanh(a) = -m / (2 + m); sech^2(a) = 4 e / (1 + e)^2 with e = exp(-2a)
        t = -m / (2.0 + m)
        grad[i] = _fit(grad, sc * (t if r >= 0 else -t))
        if policy == SECANT:  # loop-invariant: LLVM unswitches the loop, the secant one needs no exp
            hess[i] = _fit(hess, 1.0 - r * r / 3.0 if a < 1e-4 else t / a)
        else:
            e = exp(-2.0 * a)
            hess[i] = _fit(hess, 4.0 * e / ((1.0 + e) * (1.0 + e)))
    return _weigh(grad, hess, w, s1, s2)


@njit(**_JIT)
def quantile(y, raw, w, params, grad, hess):
    policy, alpha, eps = params[0], params[1], params[2]
    s1 = s2 = _NONE
    for i in range(y.size):
        s1, s2, yi = _tally(s1, s2, y[i], i)
        r = raw[i] - yi
        g = 1.0 - alpha if r >= 0 else -alpha
        h = abs(g) * _secant_l1(abs(r), eps) if policy == SECANT else (1.0 if policy == UNIT else 0.0)
        grad[i] = _fit(grad, g)
        hess[i] = _fit(hess, h)
    return _weigh(grad, hess, w, s1, s2)


@njit(**_JIT)
def expectile(y, raw, w, params, grad, hess):
    alpha = params[1]
    s1 = s2 = _NONE
    for i in range(y.size):
        s1, s2, yi = _tally(s1, s2, y[i], i)
        r = raw[i] - yi
        c = 2.0 * (alpha if r < 0 else 1.0 - alpha)
        grad[i] = _fit(grad, c * r)
        hess[i] = _fit(hess, c)
    return _weigh(grad, hess, w, s1, s2)


@njit(**_JIT)
def fair(y, raw, w, params, grad, hess):
    policy, c = params[0], params[1]
    s1 = s2 = _NONE
    for i in range(y.size):
        s1, s2, yi = _tally(s1, s2, y[i], i)
        r = raw[i] - yi
        q = c / (abs(r) + c)
        grad[i] = _fit(grad, q * r)
        hess[i] = _fit(hess, q if policy == SECANT else q * q)
    return _weigh(grad, hess, w, s1, s2)


@njit(**_JIT)
def mape(y, raw, w, params, grad, hess):
    policy, eps = params[0], params[1]
    s1 = s2 = _NONE
    for i in range(y.size):
        s1, s2, yi = _tally(s1, s2, y[i], i)
        r = raw[i] - yi
        a = abs(yi)
        h = _secant_l1(abs(r), eps) if policy == SECANT else (1.0 if policy == UNIT else 0.0)
        grad[i] = _fit(grad, np.sign(r) / a)
        hess[i] = _fit(hess, h / a)  # not h * (1/|y|): 1/|y| overflows for subnormal y, and 0 * inf is NaN
    return _weigh(grad, hess, w, s1, s2)


@njit(**_JIT)
def squared_log_error(y, raw, w, params, grad, hess):
    policy = params[0]
    s1 = s2 = _NONE
    for i in range(y.size):
        s1, s2, yi = _tally(s1, s2, y[i], i)
        p = max(raw[i], -1.0 + 1e-6)
        inv = 1.0 / (1.0 + p)
        d = log1p((p - yi) / (1.0 + yi))  # log((1+p)/(1+y)): no cancellation near p = y
        h = inv * inv if policy == GAUSS_NEWTON else (1.0 - d) * inv * inv
        grad[i] = _fit(grad, d * inv)
        hess[i] = _fit(hess, h)
    return _weigh(grad, hess, w, s1, s2)


@njit(**_JIT)
def poisson(y, raw, w, params, grad, hess):
    s1 = s2 = _NONE
    for i in range(y.size):
        s1, s2, yi = _tally(s1, s2, y[i], i)
        mu = exp(min(raw[i], MAX_EXP))
        grad[i] = _fit(grad, mu - yi)
        hess[i] = _fit(hess, mu)
    return _weigh(grad, hess, w, s1, s2)


@njit(**_JIT)
def gamma(y, raw, w, params, grad, hess):
    s1 = s2 = _NONE
    for i in range(y.size):
        s1, s2, yi = _tally(s1, s2, y[i], i)
        ratio = exp(min(log(yi) - raw[i], MAX_EXP))
        grad[i] = _fit(grad, 1.0 - ratio)
        hess[i] = _fit(hess, ratio)
    return _weigh(grad, hess, w, s1, s2)


@njit(**_JIT)
def tweedie(y, raw, w, params, grad, hess):
    p = params[1]
    s1 = s2 = _NONE
    for i in range(y.size):
        s1, s2, yi = _tally(s1, s2, y[i], i)
        a = exp(min(log(yi) + (1.0 - p) * raw[i], MAX_EXP))  # y exp((1-p) raw); 0 where y = 0
        b = exp(min((2.0 - p) * raw[i], MAX_EXP))
        grad[i] = _fit(grad, b - a)
        hess[i] = _fit(hess, (2.0 - p) * b - (1.0 - p) * a)
    return _weigh(grad, hess, w, s1, s2)


# --------------------------------------------------------------------------- binary
@njit(**_JIT)
def logistic(y, raw, w, params, grad, hess):
    pos_weight, eps = params[1], params[2]
    s1 = s2 = _NONE
    for i in range(y.size):
        s1, s2, yi = _tally(s1, s2, y[i], i)
        t = yi * (1.0 - eps) + 0.5 * eps
        pi, one_minus, _, _ = sigmoid_terms(np.float64(raw[i]))
        g = (1.0 - t) * pi - pos_weight * t * one_minus
        grad[i] = _fit(grad, g)
        hess[i] = _fit(hess, (pos_weight * t + 1.0 - t) * pi * one_minus)
    return _weigh(grad, hess, w, s1, s2)


@njit(**_INLINE)
def _focal_row(y, raw, alpha, gam, floor, square):
    s = 2.0 * y - 1.0
    p, q, logp, logq = sigmoid_terms(s * raw)
    at_qg = (alpha if y == 1.0 else 1.0 - alpha) * (q * q if square else exp(gam * logq))
    g = -s * at_qg * (q - gam * p * logp)
    h = at_qg * p * ((2.0 * gam + 1.0) * q + gam * q * logp - gam * gam * p * logp)
    return g, max(h, p * abs(g)) if floor else h


@njit(**_JIT)
def focal(y, raw, w, params, grad, hess):
    policy, alpha, gam = params[0], params[1], params[2]
    floor = policy == FLOOR
    s1 = s2 = _NONE
    if gam == 2.0:  # the usual gamma: q^2 saves an exp per row
        for i in range(y.size):
            s1, s2, yi = _tally(s1, s2, y[i], i)
            grad[i], hess[i] = _focal_row(yi, raw[i], alpha, gam, floor, True)
    else:
        for i in range(y.size):
            s1, s2, yi = _tally(s1, s2, y[i], i)
            grad[i], hess[i] = _focal_row(yi, raw[i], alpha, gam, floor, False)
    return _weigh(grad, hess, w, s1, s2)


@njit(**_JIT)
def exponential(y, raw, w, params, grad, hess):
    s1 = s2 = _NONE
    for i in range(y.size):
        s1, s2, yi = _tally(s1, s2, y[i], i)
        s = 2.0 * yi - 1.0
        e = exp(min(-s * raw[i], MAX_EXP))
        grad[i] = _fit(grad, -s * e)
        hess[i] = _fit(hess, e)
    return _weigh(grad, hess, w, s1, s2)


@njit(**_JIT)
def symmetric_cross_entropy(y, raw, w, params, grad, hess):
    policy, alpha, beta_a = params[0], params[1], params[2] * params[3]  # beta * A
    s1 = s2 = _NONE
    for i in range(y.size):
        s1, s2, yi = _tally(s1, s2, y[i], i)
        s = 2.0 * yi - 1.0
        p, q, _, _ = sigmoid_terms(s * raw[i])
        h = p * q * (alpha + beta_a * (q - p))
        if policy == FLOOR:
            h = max(h, (alpha - beta_a * p) * p * q)
        grad[i] = _fit(grad, s * (-alpha * q + beta_a * p * q))
        hess[i] = _fit(hess, h)
    return _weigh(grad, hess, w, s1, s2)


@njit(**_JIT)
def dice(y, raw, w, params, grad, hess):
    """Per-row Dice ``1 - (2 p y + eps) / (p^2 + y + eps)`` on ``p = sigmoid(raw)`` in the forms of
    ``Dice``'s docstring: every ratio is over a denominator ``>= eps``, and none cancels."""
    policy, eps = params[0], params[1]
    s1 = s2 = _NONE
    for i in range(y.size):
        s1, s2, yi = _tally(s1, s2, y[i], i)
        p, q, _, _ = sigmoid_terms(np.float64(raw[i]))
        d1, k = p * p + 1.0 + eps, 1.0 + p + eps  # y = 1
        g1 = -2.0 * p * q * q * k / (d1 * d1)
        h1 = 2.0 * p * q * q * ((p * (2.0 * p + eps) - k * (q - p)) / (d1 * d1) + 4.0 * p * p * q * k / (d1 * d1 * d1))
        d0 = p * p + eps  # y = 0
        a, c = eps / d0, p * p / d0
        g0 = 2.0 * a * c * q
        h0 = g0 * (q * (eps - 3.0 * p * p) / d0 + q - p)
        positive = yi == 1.0
        g, h = (g1 if positive else g0), (h1 if positive else h0)
        if policy == FLOOR:
            h = max(h, abs(g))
        grad[i] = _fit(grad, g)
        hess[i] = _fit(hess, h)
    return _weigh(grad, hess, w, s1, s2)


@njit(**_INLINE)
def _ghm_bin(y, raw, top):
    """GHM's bin of a row, ``min(floor(bins |p - y|), bins - 1)`` with ``top = bins - 1`` (the
    norm ``|p - y|`` being ``sigmoid(-raw)`` for a positive, ``sigmoid(raw)`` for a negative),
    clipped as a float and converted to int32 so that the loop vectorises."""
    p, q, _, _ = sigmoid_terms(np.float64(raw))
    return np.int32(min((q if y == 1.0 else p) * (top + 1.0), top))


@njit(cache=CACHE, nogil=True, error_model="numpy")
def ghm_rows(y, raw, table):
    """Each row's GHM bin weight ``table[bin]`` (the bins are ``table.size``)."""
    top = np.float64(table.size - 1)
    out = np.empty(y.size)
    for i in range(y.size):
        out[i] = table[_ghm_bin(np.float64(y[i]), raw[i], top)]
    return out


@njit(**_JIT)
def ghm(y, raw, w, params, table, bins, grad, hess):
    """GHM-C in two calls, one function (compiled once: half the cold start of two). ``params[1]``
    0, counting: each row's bin into ``bins`` (int32; a vectorised pass) and the (``w``-weighted)
    number of rows in each bin into ``table``, ``grad`` and ``hess`` untouched. 1: the logistic
    loss's ``g = p - y`` (``-q`` for a positive), ``h = p q``, then times each row's bin weight
    ``table[bins[i]]`` in a pass of its own (the gather keeps a loop scalar: 7x slower in the first)."""
    if params[1] == 0.0:
        top = np.float64(table.size - 1)
        for i in range(y.size):
            bins[i] = _ghm_bin(np.float64(y[i]), raw[i], top)
        table[:] = 0.0
        if w.size:
            for i in range(y.size):
                table[bins[i]] += w[i]
        else:
            for i in range(y.size):
                table[bins[i]] += 1.0
        return _NONE, _NONE
    s1 = s2 = _NONE
    for i in range(y.size):
        s1, s2, yi = _tally(s1, s2, y[i], i)
        p, q, _, _ = sigmoid_terms(np.float64(raw[i]))
        grad[i] = _fit(grad, (1.0 - yi) * p - yi * q)
        hess[i] = _fit(hess, p * q)
    for i in range(y.size):
        beta = table[bins[i]]
        grad[i] = _fit(grad, grad[i] * beta)
        hess[i] = _fit(hess, hess[i] * beta)
    return _weigh(grad, hess, w, s1, s2)


@njit(**_JIT)
def hinge(y, raw, w, params, grad, hess):
    """Hinge ``max(0, m - z)``, ``z = s raw``: a row is active where ``z < m`` (XGBoost's
    ``binary:hinge``), or ``z <= m`` with ``closed`` (the perceptron, ``m = 0``)."""
    policy, m, closed = params[0], params[1], params[2] != 0.0
    s1 = s2 = _NONE
    for i in range(y.size):
        s1, s2, yi = _tally(s1, s2, y[i], i)
        s = 2.0 * yi - 1.0
        z = s * raw[i]
        active = z <= m if closed else z < m
        grad[i] = -s if active else 0.0
        hess[i] = 1.0 if policy == UNIT or (active and policy == ACTIVE) else 0.0
    return _weigh(grad, hess, w, s1, s2)


@njit(**_JIT)
def squared_hinge(y, raw, w, params, grad, hess):
    """``max(0, 1 - z)^2``, continued linearly below ``z = knee`` (modified Huber: ``knee = -1``,
    slope ``2 (1 - knee)``; squared hinge: ``knee = -inf``)."""
    policy, knee = params[0], params[1]
    s1 = s2 = _NONE
    for i in range(y.size):
        s1, s2, yi = _tally(s1, s2, y[i], i)
        s = 2.0 * yi - 1.0
        u = 1.0 - s * np.float64(raw[i])
        quadratic = u > 0.0 and u <= 1.0 - knee
        grad[i] = _fit(grad, -2.0 * s * min(max(u, 0.0), 1.0 - knee))
        hess[i] = 2.0 if policy == CONSTANT or quadratic else 0.0
    return _weigh(grad, hess, w, s1, s2)


_LIGHT = (squared_error, absolute_error, huber, quantile, expectile, fair)  # see LIGHT_PARALLEL_ELEMENTS
_WHOLE = (ghm,)  # kernels whose arguments hold a value per row (GHM's bins): never split over threads


# --------------------------------------------------------------------------- multiclass
# Rows go in blocks of ``_BLOCK``: a block of ``raw`` is copied class-major into scratch
# ``P[j, b]`` (allocated once per call), every loop then runs class-outer, row-inner over
# contiguous scratch, so that exp/log vectorise across rows (loops reading ``raw[i, j]`` with
# row stride k stay scalar: 3x slower), and the results are copied out. Conditionals are selects.
_BLOCK = 256  # rows per block (tuned over 128..2048): the scratch stays in L1/L2 for k <= 10


@njit(**_INLINE)
def _load_block(raw, i0, nb, P):
    """P[j, b] = raw[i0 + b, j] as float64: the block made contiguous per class. The loop runs in
    raw's memory order (rows inner for F order, where it vectorises; classes inner otherwise)."""
    k = raw.shape[1]
    if raw.strides[0] == raw.itemsize:
        for j in range(k):
            for b in range(nb):
                P[j, b] = np.float64(raw[i0 + b, j])
    else:
        for b in range(nb):
            for j in range(k):
                P[j, b] = np.float64(raw[i0 + b, j])


@njit(**_INLINE)
def _store_block(G, H, i0, nb, grad, hess):
    """grad[i0 + b, j] = G[j, b] and hess likewise, in grad's memory order."""
    k = grad.shape[1]
    if grad.strides[0] == grad.itemsize and hess.strides[0] == hess.itemsize:
        for j in range(k):
            for b in range(nb):
                grad[i0 + b, j] = _fit(grad, G[j, b])
                hess[i0 + b, j] = _fit(hess, H[j, b])
    else:
        for b in range(nb):
            for j in range(k):
                grad[i0 + b, j] = _fit(grad, G[j, b])
                hess[i0 + b, j] = _fit(hess, H[j, b])


@njit(**_INLINE)
def _softmax_block(y, i0, nb, P, label, m, top, total, q, rest, p_y, raw_y, s1, s2):
    """P holds a block of rows, raw[i0 + b, j] at P[j, b]; replace it by the softmax probabilities
    and fill, per row b: label, max m, first index of the max top, total = sum exp(raw - m),
    q = 1 - p_y and rest = 1 - p_top summed from the other classes (as _softmax_row), p_y, raw_y.
    Returns the targets' fingerprint ``(s1, s2)`` with the block's labels added."""
    k = P.shape[0]
    for b in range(nb):
        s1, s2, _ = _tally(s1, s2, y[i0 + b], i0 + b)
        label[b] = np.int64(y[i0 + b])
        m[b] = P[0, b]
        top[b] = 0
        total[b] = 0.0
        q[b] = 0.0
        rest[b] = 0.0
        raw_y[b] = P[0, b]
    for j in range(1, k):
        for b in range(nb):
            v = P[j, b]
            bigger = v > m[b]  # strict: top is the first index of the max
            m[b] = v if bigger else m[b]
            top[b] = j if bigger else top[b]
            raw_y[b] = v if j == label[b] else raw_y[b]
    for j in range(k):
        for b in range(nb):
            e = exp_inline(P[j, b] - m[b])
            P[j, b] = e
            total[b] += e
    for j in range(k):
        for b in range(nb):
            p = P[j, b] / total[b]
            P[j, b] = p
            q[b] += p if j != label[b] else 0.0  # q + 0.0 == q: same sums as skipping
            rest[b] += p if j != top[b] else 0.0
            p_y[b] = p if j == label[b] else p_y[b]
    return s1, s2


@njit(**_INLINE)
def _row_factor(w, i0, nb, table, label, c, t1, t2):
    """c[b] = table[label] * w[i0 + b] (or table[label] without weights), in loops of their own;
    returns the weights' fingerprint ``(t1, t2)`` with the block's added."""
    for b in range(nb):
        c[b] = table[label[b]]
    if w.size:
        for b in range(nb):
            t1, t2, _ = _tally(t1, t2, w[i0 + b], i0 + b)
            c[b] *= w[i0 + b]
    return t1, t2


@njit(**_JIT)
def softmax_cross_entropy(y, raw, w, params, class_weight, grad, hess):
    eps = params[1]
    n, k = raw.shape
    factor = k / (k - 1.0) if params[0] == FRIEDMAN and k > 1 else 1.0  # Friedman's leaf factor
    off, on = eps / k, 1.0 - (1.0 - eps + eps / k)  # p_j - t_j = p_j - off, or on - q for j = y
    P, H = np.empty((k, _BLOCK + 8)), np.empty((k, _BLOCK + 8))  # padded: rows 4 KiB apart would share cache sets
    label, top = np.empty(_BLOCK, np.int64), np.empty(_BLOCK, np.int64)
    m, total, q, rest, p_y, raw_y, c = np.empty((7, _BLOCK))
    s1 = s2 = t1 = t2 = _NONE
    for i0 in range(0, n, _BLOCK):
        nb = min(_BLOCK, n - i0)
        _load_block(raw, i0, nb, P)
        s1, s2 = _softmax_block(y, i0, nb, P, label, m, top, total, q, rest, p_y, raw_y, s1, s2)
        t1, t2 = _row_factor(w, i0, nb, class_weight, label, c, t1, t2)
        for j in range(k):
            for b in range(nb):
                p = P[j, b]
                diff = p - off if j != label[b] else on - q[b]
                P[j, b] = c[b] * diff
                H[j, b] = factor * c[b] * (p * (rest[b] if j == top[b] else 1.0 - p))
        _store_block(P, H, i0, nb, grad, hess)
    return _with_weights(s1, s2, t1, t2)


@njit(**_INLINE)
def _power_block(q, gam, nb, qg):
    """qg = q**gam, one loop per common gamma (q*q, sqrt: as pow, correctly rounded) so that no
    libm pow call stays in the loop; other gammas by exp(gam log q) (rel. error ~ gam |log q| ulp)."""
    if gam == 2.0:
        for b in range(nb):
            qg[b] = q[b] * q[b]
    elif gam == 0.0:
        for b in range(nb):
            qg[b] = 1.0
    elif gam == 1.0:
        for b in range(nb):
            qg[b] = q[b]
    elif gam == 0.5:
        for b in range(nb):
            qg[b] = math.sqrt(q[b])
    else:
        for b in range(nb):
            qg[b] = exp_inline(gam * log_inline(q[b]))


@njit(**_JIT)
def multiclass_focal(y, raw, w, params, alpha, grad, hess):
    gam = params[1]
    floor = params[0] == FLOOR or params[0] == FRIEDMAN
    n, k = raw.shape
    factor = k / (k - 1.0) if params[0] == FRIEDMAN and k > 1 else 1.0  # Friedman's leaf factor
    P, H = np.empty((k, _BLOCK + 8)), np.empty((k, _BLOCK + 8))  # padded: rows 4 KiB apart would share cache sets
    label, top = np.empty(_BLOCK, np.int64), np.empty(_BLOCK, np.int64)
    m, total, q, rest, p_y, raw_y, a, qg, f, q2_df = np.empty((10, _BLOCK))
    s1 = s2 = t1 = t2 = _NONE
    for i0 in range(0, n, _BLOCK):
        nb = min(_BLOCK, n - i0)
        _load_block(raw, i0, nb, P)
        s1, s2 = _softmax_block(y, i0, nb, P, label, m, top, total, q, rest, p_y, raw_y, s1, s2)
        t1, t2 = _row_factor(w, i0, nb, alpha, label, a, t1, t2)
        _power_block(q, gam, nb, qg)
        for b in range(nb):
            qb, py = q[b], p_y[b]
            # log p_y = log1p(-q) if q < 0.5 else (raw_y - m) - log(total), with one log: log1p
            # written out as kernels.log1p does it (u = 1 - q; log u corrected by u's rounding)
            small = qb < 0.5
            u = 1.0 - qb
            lg = log_inline(u if small else total[b])
            log_py = (-qb if u == 1.0 else lg - ((u - 1.0) + qb) / u) if small else (raw_y[b] - m[b]) - lg
            qgb = qg[b]
            ratio = log_py / qb if qb > 0 else -1.0  # q^(gamma-1) log p_y = q^gamma (log p_y / q)
            f[b] = qgb * (1.0 - gam * py * ratio)
            q2_df[b] = -2.0 * gam * qgb * qb - gam * qgb * qb * log_py + gam * (gam - 1.0) * py * qgb * log_py
        for j in range(k):
            for b in range(nb):
                p, qb = P[j, b], q[b]
                is_y = j == label[b]
                u = qb if is_y else -p
                u_over_q = 1.0 if is_y else (u / qb if qb > 0 else 0.0)
                pq = p * (rest[b] if j == top[b] else 1.0 - p)
                h = a[b] * (pq * f[b] - u_over_q * u_over_q * p_y[b] * q2_df[b])
                H[j, b] = factor * (max(h, a[b] * f[b] * pq) if floor else h)
                P[j, b] = -a[b] * u * f[b]
        _store_block(P, H, i0, nb, grad, hess)
    return _with_weights(s1, s2, t1, t2)


@njit(**_JIT)
def multiclass_symmetric_cross_entropy(y, raw, w, params, ones, grad, hess):
    alpha, beta_a = params[1], params[2] * params[3]  # beta A, A = log 0 := -4
    exact = params[0] == EXACT
    n, k = raw.shape
    factor = k / (k - 1.0) if params[0] == FRIEDMAN and k > 1 else 1.0  # Friedman's leaf factor
    P, H = np.empty((k, _BLOCK + 8)), np.empty((k, _BLOCK + 8))  # padded: rows 4 KiB apart would share cache sets
    label, top = np.empty(_BLOCK, np.int64), np.empty(_BLOCK, np.int64)
    m, total, q, rest, p_y, raw_y, a = np.empty((7, _BLOCK))
    s1 = s2 = t1 = t2 = _NONE
    for i0 in range(0, n, _BLOCK):
        nb = min(_BLOCK, n - i0)
        _load_block(raw, i0, nb, P)
        s1, s2 = _softmax_block(y, i0, nb, P, label, m, top, total, q, rest, p_y, raw_y, s1, s2)
        t1, t2 = _row_factor(w, i0, nb, ones, label, a, t1, t2)
        for j in range(k):
            for b in range(nb):
                p = P[j, b]
                u = q[b] if j == label[b] else -p  # 1{j = y} - p_j
                c = alpha - beta_a * p_y[b]
                pq = p * (rest[b] if j == top[b] else 1.0 - p)
                H[j, b] = a[b] * (c * pq + beta_a * p_y[b] * u * u) if exact else factor * a[b] * c * pq
                P[j, b] = -a[b] * c * u
        _store_block(P, H, i0, nb, grad, hess)
    return _with_weights(s1, s2, t1, t2)


@njit(**_JIT)
def multiclass_hinge(y, raw, w, params, class_weight, grad, hess):
    """Multiclass hinge ``sum_{j != y} max(0, u_j)^power`` (Weston-Watkins) or ``max(0, max_{j != y}
    u_j)^power`` (Crammer-Singer), ``u_j = margin - raw_y + raw_j``, times ``class_weight[y]``
    and the row's weight. A term is active where ``u > 0`` (the binary hinge's open kink)."""
    policy, margin, squared, crammer = params[0], params[1], params[2] != 0.0, params[3] != 0.0
    n, k = raw.shape
    s1 = s2 = t1 = t2 = _NONE
    rest = 2.0 if crammer else 2.0 * (k - 1.0)  # the true class's curvature bound (constant)
    for i in range(n):
        s1, s2, yi = _tally(s1, s2, y[i], i)
        c = np.int64(yi)
        factor = class_weight[c]
        if w.size:
            t1, t2, wi = _tally(t1, t2, w[i], i)
            factor *= wi
        fy = np.float64(raw[i, c])
        top, best = -1, -np.inf
        for j in range(k):
            v = np.float64(raw[i, j])
            if j != c and v > best:
                best, top = v, j
        total, count = 0.0, 0.0
        for j in range(k):
            u = margin - fy + np.float64(raw[i, j])
            active = j != c and u > 0.0 and (not crammer or j == top)
            g = (2.0 * u if squared else 1.0) if active else 0.0
            total += g
            count += 1.0 if active else 0.0
            if policy == UNIT:
                h = 1.0
            elif policy == CONSTANT:
                h = 2.0
            elif policy == ACTIVE:
                h = 1.0 if active else 0.0
            else:
                h = 2.0 if active and squared else 0.0
            grad[i, j] = _fit(grad, factor * g) if factor != 0.0 else 0.0
            hess[i, j] = _fit(hess, factor * h) if factor != 0.0 else 0.0
        if policy == UNIT:
            h = 1.0
        elif policy == CONSTANT:
            h = rest
        elif policy == ACTIVE:
            h = 1.0 if count > 0.0 else 0.0
        else:
            h = 2.0 * count if squared else 0.0
        grad[i, c] = _fit(grad, -factor * total) if factor != 0.0 else 0.0
        hess[i, c] = _fit(hess, factor * h) if factor != 0.0 else 0.0
    return _with_weights(s1, s2, t1, t2)
