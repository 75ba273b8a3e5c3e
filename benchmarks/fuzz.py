"""Fuzz every loss with random (target, raw score, weight) rows and count non-finite outputs.

Run: ``python benchmarks/fuzz.py`` (about 2 minutes on 2 cores for 2 million rows per loss
configuration; ``--rows`` changes that). Prints one markdown table, a row per configuration:
rows tried and non-finite values found in

* ``boosting_grad_hess`` into float32 buffers, as the XGBoost and LightGBM adapters call it
  (scale fixed at the start, then per round), with margins in the whole float32 range for
  identity links and out to +-1e4 otherwise, and weights 0, 1e-300, 1e-38, 1e-12 or 1e-3..1e6;
  also whether every zero-weight row came out exactly zero;
* ``loss``, ``grad_hess`` and ``exact_grad_hess`` in float64, unweighted, with |raw| <= 1e100
  (targets in the loss's domain, |y| <= 1e6; log-link exponents are clipped at 700), where every
  value is finite;
* ``init_score`` of 200 random batches (weights spanning 1e-6..1e6).

The tests (``tests/test_properties.py``) draw the same kinds of inputs through hypothesis; this
script draws many more, which is what a fuzz run is.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

from boostloss.checks import configurations
from boostloss.losses.base import IdentityLink, LogitLink

F32_MAX = float(np.finfo(np.float32).max)
CONFIGURATIONS = configurations()
K = 3  # classes of the multiclass configurations


def log_uniform(rng, low, high, n):
    return np.exp(rng.uniform(np.log(low), np.log(high), n))


def targets(rng, loss, n):
    """Targets in the loss's domain, |y| <= 1e6, spread over many scales."""
    if loss.is_multiclass:
        return rng.integers(0, K, n).astype(float)
    if isinstance(loss.link, LogitLink):
        return rng.integers(0, 2, n).astype(float)
    scale = log_uniform(rng, 1e-6, 1e6, n)
    if loss.name in ("poisson", "tweedie"):
        return np.where(rng.random(n) < 0.2, 0.0, np.round(scale))
    if loss.name == "gamma":
        return scale
    if loss.name == "squared_log_error":
        return np.maximum(scale * rng.choice([-1e-6, 1.0], n), -1 + 1e-9)
    return scale * rng.choice([-1.0, 1.0], n)  # MAPE: non-zero by construction


def margins(rng, loss, n, bound):
    """Raw scores: half within +-30, half log-uniform out to ``bound``, either sign."""
    shape = (n, K) if loss.is_multiclass else (n,)
    wide = log_uniform(rng, 1e-3, bound, n * (K if loss.is_multiclass else 1)).reshape(shape)
    narrow = rng.uniform(-30, 30, shape)
    pick = rng.random(shape) < 0.5
    return np.where(pick, narrow, wide * rng.choice([-1.0, 1.0], shape))


def weights(rng, n):
    w = log_uniform(rng, 1e-3, 1e6, n)
    special = rng.random(n) < 0.3
    w[special] = rng.choice([0.0, 1e-300, 1e-38, 1e-12], int(special.sum()))
    w[0] = 1.0  # a batch is never all zero
    return w


def non_finite(*arrays) -> int:
    return sum(int(np.count_nonzero(~np.isfinite(a))) for a in arrays)


def fuzz(loss, rows, batch, rng):
    counts = dict(f32=0, f32_zero_rows_wrong=0, f64=0, init=0)
    identity = isinstance(loss.link, IdentityLink) and not loss.is_multiclass
    for start in range(0, rows, batch):
        n = min(batch, rows - start)
        y = targets(rng, loss, n)
        raw32 = margins(rng, loss, n, F32_MAX if identity else 1e4).astype(np.float32)
        w = weights(rng, n)
        first = loss.boosting_scale(y, raw32.astype(np.float64), w)
        for scale in (first, None if first is None else type(first)(first.residual, None)):
            grad, hess = loss.boosting_grad_hess(y, raw32, w, scale, out=(np.empty_like(raw32), np.empty_like(raw32)))
            counts["f32"] += non_finite(grad, hess)
            zero = w == 0
            counts["f32_zero_rows_wrong"] += int(np.count_nonzero(grad[zero])) + int(np.count_nonzero(hess[zero]))
        raw64 = margins(rng, loss, n, 1e100)
        counts["f64"] += non_finite(loss.loss(y, raw64), *loss.grad_hess(y, raw64), *loss.exact_grad_hess(y, raw64))
    for _ in range(200):
        n = int(rng.integers(3, 40))
        y = targets(rng, loss, n)
        if loss.is_multiclass:
            y[:K] = np.arange(K)
        elif isinstance(loss.link, LogitLink):
            y[:2] = [0.0, 1.0]
        elif loss.name in ("poisson", "tweedie"):
            y[0] = 1.0
        counts["init"] += non_finite(np.atleast_1d(loss.init_score(y, log_uniform(rng, 1e-6, 1e6, n))))
    return counts


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000, help="rows per loss configuration (default 2e6)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", category=RuntimeWarning)
    rng = np.random.default_rng(args.seed)
    print("| loss | rows | non-finite float32 (booster buffers) | zero-weight rows not zero | non-finite float64 "
          "(loss, grad_hess, exact) | non-finite starts (200 batches) |")
    print("|---|---|---|---|---|---|")
    start, totals = time.perf_counter(), dict(rows=0, f32=0, f32_zero_rows_wrong=0, f64=0, init=0)
    for loss in CONFIGURATIONS:
        counts = fuzz(loss, args.rows, 100_000, rng)
        totals["rows"] += args.rows
        for key, value in counts.items():
            totals[key] += value
        print(f"| {loss!r} | {args.rows:,} | {counts['f32']} | {counts['f32_zero_rows_wrong']} | {counts['f64']} | "
              f"{counts['init']} |", flush=True)
    print(f"\n{len(CONFIGURATIONS)} configurations, {totals['rows']:,} rows (each through float32 buffers at two "
          f"scales and through float64): non-finite float32 {totals['f32']}, zero-weight rows not zero "
          f"{totals['f32_zero_rows_wrong']}, non-finite float64 {totals['f64']}, non-finite starts {totals['init']}; "
          f"{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
