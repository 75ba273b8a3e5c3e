"""boostloss objectives against each booster's built-in twin: training time and kernel throughput.

Run: ``python benchmarks/speed.py`` (about 30 minutes on 2 cores; ``--quick`` for a smoke run of about 2;
``--only train,catboost,multiclass,kernels,objectives,numpy,cold`` and ``--boosters`` to run a
part; ``--peers`` adds the installed peer libraries to the numpy part).
Progress goes to stderr; stdout gets the tables:

A. Training time, boostloss / built-in twin: ``bl.xgboost.train``, ``bl.lightgbm.train`` and
   ``bl.catboost.train`` against ``xgb.train``, ``lgb.train`` and ``catboost.CatBoost`` with the
   twin built-in objective, on the same prebuilt ``QuantileDMatrix`` / constructed
   ``lgb.Dataset`` / quantized ``catboost.Pool`` (built outside the timing). XGBoost and
   LightGBM: 1,000,000 and 200,000 rows x 20 float32 features, 100 rounds (the multiclass pair,
   five trees per round, 20 rounds); CatBoost: 200,000 rows, 100 iterations.
   Each pair runs side by side, interleaved (built-in first on even repeats, boostloss first on
   odd ones), garbage collected before every fit, after an untimed warm-up fit of every pair on
   2,000 rows; the median of ``--repeats`` (3) fits is reported. XGBoost and LightGBM rows
   also time the objective as users build it by hand (``xgb.train(obj=bl.xgboost.objective(loss))``,
   ``lgb.train({"objective": bl.lightgbm.objective(loss)})``, starting from 0), interleaved too.
   Each booster also gets an "interface floor" row (info): the cheapest custom objective there
   is (``FloorObjective``, ``FloorCatBoost``: NumPy's ``p - y`` into preallocated buffers)
   against built-in squared error, i.e. what the booster's custom-objective path costs by
   itself; no Python objective can train faster than that. It runs first at each size, and every
   XGBoost and LightGBM row gives the time spent inside the objective (ms per round, from a
   clock around each call) and its ratio over the floor's (target ``FLOOR_TARGET``): where a row
   misses it, the objective's share of the round against the booster's own.
   Then CatBoost multiclass: boostloss against a plain per-row ``calc_ders_multi`` that calls
   the same loss (what a generic adapter does), CatBoost's documented per-row softmax
   objective, a floor (``FloorMulti``: constant lists, the per-row callback alone) and the
   built-in ``MultiClass``.
B. Kernels: ``loss.grad_hess(y, raw, out=(g, h))`` for every registered loss at 1,000,000 rows
   (multiclass: 200,000 x 5 scores), float32 and float64 raw scores, against a memory-bandwidth
   floor (``np.copyto(g, raw); np.copyto(h, y)``: reads both inputs, writes both outputs once),
   with boostloss's default threads (``NUMBA_NUM_THREADS``) and with one.
C. Objectives built by hand: one call of ``bl.xgboost.objective(loss)`` / ``bl.lightgbm.objective(loss)``
   through the booster's ``(preds, data)`` interface at 1,000,000 rows, against the objective
   ``train()`` builds (which gets the boosting scale; both read the booster's own targets).
E. The hand-built XGBoost objective's call against a plain NumPy reference of the same formulas
   (every loss) and, with ``--peers``, against each installed peer library's objective for the
   same loss (jaxboost, bokbokbok, boost-loss, imbalance-xgboost; absent ones are skipped).
D. Cold start: in a fresh process on a fresh copy of the package (nothing compiled or cached),
   ``import boostloss`` beyond its dependencies, and each loss's first ``bl.xgboost.train``
   (2,000 rows, 5 rounds) against its second in the same process: the compile cost; and the
   first fit in a fresh process after ``boostloss compile`` ran on the copy (an image built once).

Same work on both sides: no evaluation sets (XGBoost and LightGBM compute no metric). CatBoost
computes its ``eval_metric`` on the learning set every iteration whatever is passed, so the
boostloss side is given the twin's built-in metric as ``eval_metric`` (a C++ metric, as the
built-in computes); one row, marked "info", shows boostloss's default Python metric instead.
CatBoost's leaf estimation is pinned on both sides (one Newton step, no backtracking, learning
rate 0.1): its defaults differ by loss (Logloss and Poisson take 10 Newton steps, Expectile 5,
LogCosh and Quantile the Exact method) and would make the built-in side do several times the
work; Quantile keeps Exact on the built-in side because CatBoost refuses Newton for it.
``--catboost-defaults`` leaves CatBoost's per-loss defaults instead. ``GOMP_SPINCOUNT`` is 10000
unless set: with OpenMP's default spinning, XGBoost and LightGBM fits on 2 threads took 9-250x
longer whenever another process was busy on this 2-core machine (see the comment at the imports).
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time
import warnings
from functools import partial

# XGBoost's and LightGBM's OpenMP threads spin 300,000 times before sleeping at every barrier: with two
# other busy processes on this 2-core machine a 0.4 s LightGBM fit (200,000 rows) took 100 s, XGBoost's
# 0.6 s took 5.6 s. Spinning 10,000 times cost nothing on the quiet machine and kept them at 1.0 and 1.5 s
# (OMP_WAIT_POLICY=passive: 2.1 and 2.2 s, and 2-3x slower when quiet). Set before the boosters load
# libgomp; a GOMP_SPINCOUNT in the environment wins.
os.environ.setdefault("GOMP_SPINCOUNT", "10000")

import catboost as cb
import lightgbm as lgb
import numba
import numpy as np
import xgboost as xgb
from scipy.special import expit

import boostloss as bl

ROUNDS, THREADS, FEATURES, CLASSES = 100, 2, 20, 5
XGB = dict(tree_method="hist", max_depth=6, eta=0.1, nthread=THREADS)
LGB = dict(num_leaves=31, learning_rate=0.1, verbose=-1, num_threads=THREADS)
CB = dict(iterations=ROUNDS, depth=6, thread_count=THREADS, verbose=0, allow_writing_files=False)
CB_PINNED = dict(learning_rate=0.1, leaf_estimation_method="Newton", leaf_estimation_iterations=1,
                 leaf_estimation_backtracking="No")

# (boostloss loss, task, XGBoost twin, LightGBM twin, ratio target at 1M rows); grouped by task so
# that each task's data objects are built once
TRAIN_CASES = [
    ("squared_error", "regression", {"objective": "reg:squarederror"}, {"objective": "regression"}, 1.10),
    ("huber:delta=1", "regression", {"objective": "reg:pseudohubererror", "huber_slope": 1.0},
     {"objective": "huber", "alpha": 1.0}, 1.10),
    ("pseudo_huber:delta=1", "regression", {"objective": "reg:pseudohubererror", "huber_slope": 1.0},
     {"objective": "huber", "alpha": 1.0}, 1.10),
    ("quantile:alpha=0.9", "regression", {"objective": "reg:quantileerror", "quantile_alpha": 0.9},
     {"objective": "quantile", "alpha": 0.9}, 1.10),
    ("log_cosh", "regression", {"objective": "reg:squarederror"}, {"objective": "regression"}, 1.15),
    ("logistic", "binary", {"objective": "binary:logistic"}, {"objective": "binary"}, 1.10),
    ("focal", "binary", {"objective": "binary:logistic"}, {"objective": "binary"}, 1.15),
    ("poisson", "poisson", {"objective": "count:poisson"}, {"objective": "poisson"}, 1.10),
    ("softmax_cross_entropy", "multiclass", {"objective": "multi:softprob"}, {"objective": "multiclass"}, 1.15),
]
SMALL_TARGET = 1.25  # every XGBoost/LightGBM target at 200,000 rows
FLOOR_TARGET = 1.02  # a row's ratio over its booster's interface-floor ratio (same size)
# five trees per round: the multiclass pair runs 20 rounds, as many trees as the other pairs' 100 rounds, on
# all the rows (its 100 rounds at 1M rows would take 4 of the full run's 15 minutes on 2 cores)
MULTICLASS_ROUNDS = 20

# (boostloss loss, task, CatBoost twin, extra built-in parameters)
CATBOOST_CASES = [
    ("squared_error", "regression", "RMSE", {}),
    ("huber:delta=1", "regression", "Huber:delta=1", {}),
    ("quantile:alpha=0.9", "regression", "Quantile:alpha=0.9", {"leaf_estimation_method": "Exact"}),
    ("log_cosh", "regression", "LogCosh", {}),
    ("expectile:alpha=0.9", "regression", "Expectile:alpha=0.9", {}),
    ("logistic", "binary", "Logloss", {}),
    ("focal", "binary", "Focal:focal_alpha=0.25;focal_gamma=2", {}),
    ("poisson", "poisson", "Poisson", {}),
]
CATBOOST_TARGET, NATIVE_TARGET = 1.5, 1.10
NATIVE_LOSSES = ("squared_error", "logistic")
SPEEDUP_TARGET, KERNEL_TARGET = 20.0, 5.0

TRAIN_NOTES = [
    "huber and pseudo_huber are timed against XGBoost's reg:pseudohubererror (XGBoost has no Huber), and log_cosh "
    "against squared error (XGBoost and LightGBM have no log-cosh): same kind of work, not the same loss",
    "reg:quantileerror (XGBoost) and quantile (LightGBM) refit every leaf to a quantile of its residuals after each "
    "tree, work that the custom-objective side does not do: ratios below 1 there say little about the objective",
    "boostloss times include all of its train(): target validation, the optimal start (init_score), the Hessian "
    "scale of secant losses and, for LightGBM, the start written into the Dataset and the first trees",
]
CATBOOST_PINNED_NOTE = (
    "CatBoost: leaf estimation pinned on both sides (one Newton step, no backtracking, learning rate 0.1); "
    "Quantile keeps its Exact leaves on the built-in side (CatBoost refuses Newton for it)")
CATBOOST_METRIC_NOTE = (
    "CatBoost computes eval_metric on the learning set every iteration: boostloss gets the twin's (C++) metric, "
    "except in the 'default Python eval_metric' row")


START = time.perf_counter()


def log(message):
    print(f"[{time.perf_counter() - START:5.0f} s] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- data
def make_data(n, seed=0):
    """Float32 features and one target per task, all from the same rows (fixed seed)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, FEATURES), dtype=np.float32)
    x = X[:, :6].astype(np.float64)
    linear = 0.8 * x[:, 0] - 0.5 * x[:, 1] + 0.3 * x[:, 2]
    signal = linear + np.sin(2 * x[:, 3]) + 0.5 * x[:, 4] * x[:, 5]
    binary_logit = -2.6 + 1.2 * linear + 0.5 * np.sin(2 * x[:, 3])  # about 10% positives
    coef = rng.normal(size=(5, CLASSES))
    # not x @ coef: a BLAS call leaves OpenBLAS's threads spinning on the cores the first fits need
    scores = sum(x[:, j, None] * coef[j] for j in range(5)) + rng.normal(scale=1.0, size=(n, CLASSES))
    targets = {
        "regression": signal + rng.normal(size=n),
        "binary": (rng.random(n) < expit(binary_logit)).astype(np.float64),
        "poisson": rng.poisson(np.exp(0.3 * linear + 0.2 * np.sin(2 * x[:, 3]))).astype(np.float64),
        "multiclass": scores.argmax(axis=1).astype(np.float64),
    }
    return X, targets


# ---------------------------------------------------------------- timing
IN_OBJECTIVE = [0.0]  # seconds spent inside the timed objectives' calls (see time_objectives)


def time_objectives(*classes):
    """Make each class's ``__call__`` add the seconds it takes to ``IN_OBJECTIVE`` (two clock reads
    a round): the part of a fit spent in the objective, against the booster's own work."""
    for cls in classes:
        def timed(self, *args, _call=cls.__call__, **kwargs):
            start = time.perf_counter()
            try:
                return _call(self, *args, **kwargs)
            finally:
                IN_OBJECTIVE[0] += time.perf_counter() - start
        cls.__call__ = timed


def interleaved(runs, repeats, label, inside=None):
    """Time every ``name -> fit()`` in ``runs`` ``repeats`` times, in turn (reversed order on odd
    repeats), garbage collecting before each fit; a ``(setup, fit)`` pair runs ``setup()``
    untimed first. Returns ``name -> list of seconds`` or the error message of a fit that
    raised (it is not run again); ``inside`` (a dict) gets ``name -> list of seconds`` spent in
    the timed objectives (``time_objectives``) during each fit."""
    times = {name: [] for name in runs}
    if inside is not None:
        inside.update({name: [] for name in runs})
    for rep in range(repeats):
        order = list(runs) if rep % 2 == 0 else list(reversed(runs))
        for name in order:
            if isinstance(times[name], str):
                continue
            setup, fit = runs[name] if isinstance(runs[name], tuple) else (None, runs[name])
            try:
                if setup is not None:
                    setup()
                gc.collect()
                IN_OBJECTIVE[0] = 0.0
                start = time.perf_counter()
                model = fit()
                elapsed = time.perf_counter() - start
                if inside is not None:
                    inside[name].append(IN_OBJECTIVE[0])
            except Exception as err:  # the kernels are being rewritten: report, do not stop
                times[name] = f"{type(err).__name__}: {str(err).splitlines()[0][:90] if str(err) else ''}"
                log(f"    {label}: {name} failed: {times[name]}")
                continue
            del model
            times[name].append(elapsed)
        done = ", ".join(f"{name} {t[-1]:.2f} s" for name, t in times.items() if not isinstance(t, str))
        log(f"    {label} repeat {rep + 1}/{repeats}: {done}")
    return times


def median(times):
    return statistics.median(times) if isinstance(times, list) and times else None


def seconds(value):
    return "-" if value is None else f"{value:.2f}"


# ---------------------------------------------------------------- A: XGBoost and LightGBM
def xgb_data(X, y):
    return xgb.QuantileDMatrix(X, y, nthread=THREADS)


def lgb_data(X, y):
    return lgb.Dataset(X, y, params={"num_threads": THREADS, "verbose": -1}).construct()


def clear_init_score(dataset):
    """``bl.lightgbm.train`` leaves its start score in the Dataset's init_score; a built-in fit
    on the same Dataset would start from it (and skip boost_from_average), so clear it."""
    dataset.set_field("init_score", None)
    dataset.init_score = None


def train_runs(booster, data, loss, twin, multiclass, rounds=None):
    """The built-in and boostloss fits of one pair, as zero-argument callables."""
    rounds = rounds or ROUNDS
    extra = {"num_class": CLASSES} if multiclass else {}
    if booster == "xgboost":
        return {"built-in": lambda: xgb.train({**XGB, **extra, **twin}, data, rounds),
                "boostloss": lambda: bl.xgboost.train(loss, {**XGB, **extra}, data, rounds),
                "hand-built": lambda: xgb.train({**XGB, **extra}, data, rounds, obj=bl.xgboost.objective(loss))}

    return {"built-in": (lambda: clear_init_score(data), lambda: lgb.train({**LGB, **extra, **twin}, data, rounds)),
            "boostloss": lambda: bl.lightgbm.train(loss, {**LGB, **extra}, data, rounds),
            "hand-built": (lambda: clear_init_score(data),
                           lambda: lgb.train({**LGB, **extra, "objective": bl.lightgbm.objective(loss)}, data, rounds))}


class FloorObjective:
    """The cheapest custom objective there is: squared error's ``p - y`` by NumPy into a
    preallocated float32 buffer, a constant float32 Hessian. What it costs over the built-in
    is what the booster's custom-objective path itself costs (the margins copied out to
    Python, the gradients copied back in), whatever computes the gradients."""

    def __init__(self, y):
        self.y = np.asarray(y, dtype=np.float32)
        self.grad, self.hess = np.empty_like(self.y), np.ones_like(self.y)

    def __call__(self, preds, data):
        np.subtract(preds, self.y, out=self.grad, casting="unsafe")
        return self.grad, self.hess


def floor_runs(booster, data, y, rounds=None):
    """Built-in squared error against ``FloorObjective`` from the same start (the mean)."""
    rounds, start = rounds or ROUNDS, float(np.mean(y))
    if booster == "xgboost":
        params = {**XGB, "base_score": start, "disable_default_eval_metric": True}
        return {"built-in": lambda: xgb.train({**XGB, "objective": "reg:squarederror"}, data, rounds),
                "boostloss": lambda: xgb.train(params, data, rounds, obj=FloorObjective(y))}
    return {"built-in": (lambda: clear_init_score(data), lambda: lgb.train({**LGB, "objective": "regression"}, data,
                                                                           rounds)),
            "boostloss": (lambda: data.set_init_score(np.full(len(y), start)),
                          lambda: lgb.train({**LGB, "objective": FloorObjective(y)}, data, rounds))}


FLOOR_NAME = "interface floor: NumPy p - y into float32 buffers"


def twin_name(twin):
    extra = ", ".join(f"{k}={v:g}" for k, v in twin.items() if k != "objective")
    return twin["objective"] + (f" ({extra})" if extra else "")


def train_rows(sizes, boosters, repeats, data):
    """Table A rows for XGBoost and LightGBM: per booster and size the interface floor first, then
    every pair, each row with the time spent inside the objective and its ratio over the floor's."""
    for n in sizes:
        X, targets = data(n)
        for booster in boosters:
            build = xgb_data if booster == "xgboost" else lgb_data
            floor = None
            for task in dict.fromkeys(case[1] for case in TRAIN_CASES):
                log(f"  {booster}, {n:,} rows, {task}: building the data object")
                obj = build(X, targets[task])
                if task == "regression":
                    label = f"{booster} {n:,} {FLOOR_NAME}"
                    log(f"  {label}")
                    inside = {}
                    times = interleaved(floor_runs(booster, obj, targets[task]), repeats, label, inside)
                    floor = dict(booster=booster, rows=f"{n:,}", loss=FLOOR_NAME, twin="squared error", times=times,
                                 target=None, inside=inside, rounds=ROUNDS)
                    yield floor
                for loss, case_task, xgb_twin, lgb_twin, target in TRAIN_CASES:
                    if case_task != task:
                        continue
                    twin = xgb_twin if booster == "xgboost" else lgb_twin
                    label = f"{booster} {n:,} {loss} vs {twin['objective']}"
                    log(f"  {label}")
                    multiclass = task == "multiclass"
                    rounds = MULTICLASS_ROUNDS if multiclass else ROUNDS
                    inside = {}
                    runs = train_runs(booster, obj, loss, twin, multiclass, rounds)
                    times = interleaved(runs, repeats, label, inside)
                    rows = f"{n:,}" + (f" ({MULTICLASS_ROUNDS} rounds)" if multiclass else "")
                    yield dict(booster=booster, rows=rows, loss=loss, twin=twin_name(twin), times=times,
                               target=target if n >= 1_000_000 else SMALL_TARGET, inside=inside, rounds=rounds,
                               floor=floor)
                del obj
                gc.collect()


def warm_up_train(boosters, data):
    """A tiny fit of every pair (untimed): imports, numba compilation, first-call costs."""
    X, targets = data(2000)
    for booster in boosters:
        build = xgb_data if booster == "xgboost" else lgb_data
        objs = {task: build(X, y) for task, y in targets.items()}
        for loss, task, xgb_twin, lgb_twin, _ in TRAIN_CASES:
            twin = xgb_twin if booster == "xgboost" else lgb_twin
            runs = train_runs(booster, objs[task], loss, twin, task == "multiclass", rounds=2)
            if task == "regression" and loss == "squared_error":
                floor = floor_runs(booster, objs[task], targets[task], 2)
                runs = {**runs, **{f"floor {k}": v for k, v in floor.items()}}
            for run in runs.values():
                try:
                    for step in run if isinstance(run, tuple) else (run,):
                        step()
                except Exception as err:
                    log(f"  warm-up {booster} {loss}: {type(err).__name__}: {err}")


# ---------------------------------------------------------------- A: CatBoost
def cb_pool(X, y):
    pool = cb.Pool(X, y)
    pool.quantize()  # like QuantileDMatrix and a constructed lgb.Dataset: binned outside the timing
    return pool


def catboost_params(pinned, extra=None):
    params = {**CB, **(CB_PINNED if pinned else {})}
    return {**params, **(extra or {})} if pinned else params


def catboost_runs(pool, loss, twin, builtin_extra, pinned, iterations=None, python_metric=False, native=False):
    base = catboost_params(pinned)
    if iterations:
        base["iterations"] = iterations
    ours = dict(base) if python_metric else {**base, "eval_metric": twin}
    kwargs = {"prefer_native": True} if native else {}
    builtin_params = {**catboost_params(pinned, builtin_extra), "loss_function": twin}
    if iterations:
        builtin_params["iterations"] = iterations
    return {"built-in": lambda: cb.CatBoost(builtin_params).fit(pool),
            "boostloss": lambda: bl.catboost.train(loss, dict(ours), pool, **kwargs)}


class FloorCatBoost:
    """The cheapest CatBoost objective there is: squared error's ders by NumPy, one (n, 2) array
    per block, no checks (what CatBoost's callback protocol itself costs)."""

    no_jit = True

    def calc_ders_range(self, approxes, targets, weights):
        ders = np.empty((2, len(targets)))
        np.subtract(targets, approxes, out=ders[0])
        ders[1] = -1.0
        return ders.T


def prefer_native_available():
    """Whether ``bl.catboost.train`` takes ``prefer_native`` (tried on a tiny pool)."""
    X, targets = make_data(200)
    try:
        bl.catboost.train("squared_error", {**CB, "iterations": 1}, cb.Pool(X, targets["regression"]),
                          prefer_native=True)
    except TypeError as err:
        return "prefer_native" not in str(err)
    except Exception:  # another failure: let the timed rows show it
        return True
    return True


def catboost_rows(n, iterations, repeats, pinned, data):
    X, targets = data(n)
    rows = f"{n:,}" + ("" if iterations == ROUNDS else f" ({iterations} it.)")
    native = prefer_native_available()
    warm = make_data(2000)
    for loss, task, twin, extra in CATBOOST_CASES:  # warm-up, untimed
        try:
            for fit in catboost_runs(cb_pool(warm[0], warm[1][task]), loss, twin, extra, pinned, 2).values():
                fit()
        except Exception as err:
            log(f"  warm-up catboost {loss}: {type(err).__name__}: {err}")
    pools = {}
    for loss, task, twin, extra in CATBOOST_CASES:
        if task not in pools:
            log(f"  catboost, {n:,} rows, {task}: building the pool")
            pools = {task: cb_pool(X, targets[task])}  # one pool alive at a time
        label = f"catboost {n:,} {loss} vs {twin}"
        log(f"  {label}")
        times = interleaved(catboost_runs(pools[task], loss, twin, extra, pinned, iterations), repeats, label)
        yield dict(booster="catboost", rows=rows, loss=loss, twin=twin, times=times, target=CATBOOST_TARGET)
        if loss == "squared_error":
            label = f"catboost {n:,} {FLOOR_NAME.replace('p - y into float32 buffers', 'calc_ders_range')}"
            log(f"  {label}")
            base = {**catboost_params(pinned), "eval_metric": twin, "boost_from_average": False,
                    **({"iterations": iterations} if iterations else {})}
            runs = {"built-in": catboost_runs(pools[task], loss, twin, extra, pinned, iterations)["built-in"],
                    "boostloss": partial(lambda params, pool: cb.CatBoost(params).fit(pool),
                                         {**base, "loss_function": FloorCatBoost()}, pools[task])}
            yield dict(booster="catboost", rows=rows, loss=label.split(f"{n:,} ")[1], twin=twin,
                       times=interleaved(runs, repeats, label), target=None)
            label = f"catboost {n:,} {loss} vs {twin} (boostloss with its default Python eval_metric)"
            log(f"  {label}")
            times = interleaved(catboost_runs(pools[task], loss, twin, extra, pinned, iterations, python_metric=True),
                                repeats, label)
            yield dict(booster="catboost", rows=rows, loss=f"{loss}, default Python eval_metric", twin=twin,
                       times=times, target=None)
    pools = {}
    for loss in NATIVE_LOSSES:
        _, task, twin, extra = next(case for case in CATBOOST_CASES if case[0] == loss)
        row = dict(booster="catboost", rows=rows, loss=f"{loss}, prefer_native=True", twin=twin, target="~1.0")
        if not native:
            yield {**row, "times": None}
            continue
        if task not in pools:
            pools = {task: cb_pool(X, targets[task])}
        label = f"catboost {n:,} {loss} (prefer_native) vs {twin}"
        log(f"  {label}")
        runs = catboost_runs(pools[task], loss, twin, extra, pinned, iterations, native=True)
        yield {**row, "times": interleaved(runs, repeats, label)}


def print_ratio_row(row):
    """One row of table A; returns 1 if it has a target that was missed, else 0."""
    head = f"| {row['booster']} | {row['rows']} | {row['loss']} | {row['twin']} |"
    if row["times"] is None:
        print(f"{head} - | n/a (prefer_native not available) | - | {row['target']} | - | - | - | - | - | - | - |",
              flush=True)
        return 0
    errors = [t for t in row["times"].values() if isinstance(t, str)]
    builtin, ours = median(row["times"]["built-in"]), median(row["times"]["boostloss"])
    hand = median(row["times"]["hand-built"]) if "hand-built" in row["times"] else None
    # the objective built by hand (xgb.train(obj=...), lgb.train({"objective": ...})) where it was timed
    by_hand = "- | - |" if not isinstance(hand, float) else f"{hand:.2f} | {hand / builtin:.3f} |"
    target = row["target"]
    if errors:
        shown = "info" if target is None else f"<= {target:.2f}" if isinstance(target, float) else target
        print(f"{head} {seconds(builtin)} | {seconds(ours)} | - | {shown} | no ({'; '.join(errors)}) | {by_hand}"
              " - | - | - | - |", flush=True)
        return target is not None
    ratio = ours / builtin
    profile, missed = floor_columns(row, builtin)
    if target is None:
        print(f"{head} {builtin:.2f} | {ours:.2f} | {ratio:.3f} | info | - | {by_hand}{profile}", flush=True)
        return missed
    limit = NATIVE_TARGET if target == "~1.0" else target
    met = ratio <= limit
    shown = f"~1.0 (<= {NATIVE_TARGET})" if target == "~1.0" else f"<= {target:.2f}"
    print(f"{head} {builtin:.2f} | {ours:.2f} | {ratio:.3f} | {shown} | {'yes' if met else 'no'} | {by_hand}"
          f"{profile}", flush=True)
    return int(not met) + missed


def floor_columns(row, builtin):
    """The profile columns of an XGBoost/LightGBM row: ms per round inside the objective
    (boostloss / hand-built) and the row's ratio over the interface floor's ratio (target
    ``FLOOR_TARGET``), or dashes; and 1 if that target was missed."""
    inside, floor = row.get("inside"), row.get("floor")
    if not inside:
        return " - | - | - | - |", 0
    per_round = " / ".join(f"{median(inside[name]) * 1000 / row['rounds']:.2f}"
                           for name in ("boostloss", "hand-built") if isinstance(inside.get(name), list))
    if floor is None or isinstance(floor["times"]["boostloss"], str):
        return f" {per_round} | - | - | - |", 0
    floor_ratio = median(floor["times"]["boostloss"]) / median(floor["times"]["built-in"])
    over = [median(row["times"][name]) / builtin / floor_ratio for name in ("boostloss", "hand-built")
            if isinstance(row["times"].get(name), list)]
    met = max(over) <= FLOOR_TARGET
    return (f" {per_round} | {' / '.join(f'{v:.3f}' for v in over)} | <= {FLOOR_TARGET} | "
            f"{'yes' if met else 'no'} |"), int(not met)


# ---------------------------------------------------------------- A: CatBoost multiclass
class PlainMulti:
    """What a generic adapter does: each row through the loss's public vectorised API."""

    no_jit = True

    def __init__(self, loss):
        self.loss = bl.get_loss(loss)

    def calc_ders_multi(self, approx, target, weight):
        g, h = self.loss.grad_hess([target], np.asarray(approx)[None, :])
        w = 1.0 if weight is None else weight
        return (-w * g[0]).tolist(), np.diag(-w * h[0]).tolist()


class DocsSoftmax:
    """CatBoost's documented pattern for a multiclass objective: the softmax of one row with
    numpy, then Python loops building the gradient list and the full Hessian as a list of lists
    (negated convention: der1 = -dL/dF, der2 = -d2L/dF2)."""

    no_jit = True

    def calc_ders_multi(self, approx, target, weight):
        w = 1.0 if weight is None else weight
        e = np.exp(np.asarray(approx) - max(approx))
        total = e.sum()
        grad, hess = [], []
        for j in range(len(e)):
            grad.append(w * ((1.0 if j == target else 0.0) - e[j] / total))
            row = []
            for i in range(len(e)):
                der2 = e[j] * e[i] / total**2
                if i == j:
                    der2 -= e[j] / total
                row.append(w * der2)
            hess.append(row)
        return grad, hess


class FloorMulti:
    """The cheapest per-row multiclass objective there is: the same precomputed lists for every
    row (wrong numbers, CatBoost's per-row callback cost alone)."""

    no_jit = True

    def __init__(self):
        self.grad = [0.1] * CLASSES
        self.hess = [[-1.0 if i == j else 0.0 for j in range(CLASSES)] for i in range(CLASSES)]

    def calc_ders_multi(self, approx, target, weight):
        return self.grad, self.hess


def multiclass_runs(pool, params):
    runs = {"MultiClass": lambda: cb.CatBoost({**params, "loss_function": "MultiClass"}).fit(pool),
            "docs example": lambda: cb.CatBoost({**params, "loss_function": DocsSoftmax()}).fit(pool),
            "floor": lambda: cb.CatBoost({**params, "loss_function": FloorMulti()}).fit(pool)}
    for loss in ("softmax_cross_entropy", "multiclass_focal"):
        runs[f"plain {loss}"] = (lambda loss=loss: cb.CatBoost({**params, "loss_function": PlainMulti(loss)})
                                 .fit(pool))
        runs[f"boostloss {loss}"] = lambda loss=loss: bl.catboost.train(loss, dict(params), pool)
    return runs


def multiclass_rows(n, iterations, repeats, pinned):
    params = {**catboost_params(pinned), "iterations": iterations, "classes_count": CLASSES,
              "eval_metric": "MultiClass"}
    X, targets = make_data(200, seed=2)
    for name, fit in multiclass_runs(cb_pool(X, targets["multiclass"]), {**params, "iterations": 2}).items():
        try:  # warm-up on a tiny pool, untimed
            fit()
        except Exception as err:
            log(f"  warm-up catboost multiclass {name}: {type(err).__name__}: {err}")
    X, targets = make_data(n, seed=1)
    runs = multiclass_runs(cb_pool(X, targets["multiclass"]), params)
    label = f"catboost multiclass {n:,} rows x {iterations} iterations"
    log(f"  {label}: {', '.join(runs)}")
    return interleaved(runs, repeats, label)


def print_multiclass(times, n, iterations):
    print(f"\nCatBoost multiclass ({CLASSES} classes), {n:,} rows x {iterations} iterations; plain = a "
          "per-row calc_ders_multi calling the same loss's grad_hess; speed-up = plain / boostloss\n")
    print("| loss | plain per-row s | boostloss s | speed-up | target | met | floor s | largest possible speed-up "
          "(plain / floor) | docs example s | MultiClass s | boostloss / MultiClass |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    missed = 0
    docs, native, floor = median(times["docs example"]), median(times["MultiClass"]), median(times["floor"])
    for loss in ("softmax_cross_entropy", "multiclass_focal"):
        plain, ours = median(times[f"plain {loss}"]), median(times[f"boostloss {loss}"])
        errors = [t for t in (times[f"plain {loss}"], times[f"boostloss {loss}"]) if isinstance(t, str)]
        if errors:
            speedup, met, versus = "-", f"no ({'; '.join(errors)})", "-"
        else:
            speedup = f"{plain / ours:.1f}x"
            met = "yes" if plain / ours >= SPEEDUP_TARGET else "no"
            versus = "-" if native is None else f"{ours / native:.1f}"
        missed += not met.startswith("yes")
        bound = "-" if plain is None or floor is None else f"{plain / floor:.1f}x"
        print(f"| {loss} | {seconds(plain)} | {seconds(ours)} | {speedup} | >= {SPEEDUP_TARGET:g}x | {met} | "
              f"{seconds(floor)} | {bound} | {seconds(docs)} | {seconds(native)} | {versus} |", flush=True)
    print("\nfloor = a calc_ders_multi returning the same precomputed lists for every row: CatBoost's per-row "
          "callback alone, so no per-row objective can beat plain / floor")
    return missed


# ---------------------------------------------------------------- B: kernels
def kernel_inputs(loss, n, rng):
    """Realistic float64 targets and raw scores for ``loss`` (multiclass: n // CLASSES rows x CLASSES)."""
    if loss.is_multiclass:
        raw = rng.normal(scale=2.0, size=(n // CLASSES, CLASSES))
        return (raw + rng.gumbel(size=raw.shape)).argmax(axis=1).astype(np.float64), raw

    def regression():
        y = 3.0 * rng.standard_normal(n)
        return y, y + rng.standard_normal(n)

    def binary():
        return (rng.random(n) < 0.3).astype(np.float64), rng.normal(scale=2.0, size=n)

    def log_link(kind):  # mean mu = exp(raw): Poisson counts, Gamma (y > 0) or Tweedie (counts x gamma sizes)
        mu = np.exp(0.5 * rng.standard_normal(n))
        if kind == "gamma":
            y = np.maximum(rng.gamma(2.0, mu / 2.0), 1e-12)
        else:
            y = rng.poisson(mu).astype(np.float64) * (rng.gamma(2.0, 0.5, n) if kind == "tweedie" else 1.0)
        return y, np.log(mu) + 0.1 * rng.standard_normal(n)

    def lognormal():  # y > 0: MAPE (non-zero targets) and squared log error (y and raw > -1)
        y = rng.lognormal(1.0, 1.0, n)
        return y, y * np.exp(0.1 * rng.standard_normal(n))

    makers = {"regression": regression, "binary": binary, "counts": lambda: log_link("poisson"),
              "gamma": lambda: log_link("gamma"), "tweedie": lambda: log_link("tweedie"), "lognormal": lognormal}
    preferred = {"tweedie": "tweedie", "gamma": "gamma", "mape": "lognormal", "squared_log_error": "lognormal"}.get(
        loss.name, "binary" if loss.link.name == "logit" else "counts" if loss.link.name == "log" else "regression")
    for key in dict.fromkeys([preferred, *makers]):  # a loss added later: the first generator it accepts
        y, raw = makers[key]()
        try:
            loss.validate(y)
            return y, raw
        except ValueError:
            continue
    raise ValueError(f"no generated targets suit {loss!r}")


def median_ms(call, min_calls=15, max_calls=50, budget=0.5):
    """Median wall time (ms) of ``call()``: at least ``min_calls`` calls, more while under ``budget`` s."""
    times = []
    spent = 0.0
    while len(times) < min_calls or (len(times) < max_calls and spent < budget):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
        spent += times[-1]
    return 1e3 * statistics.median(times)


def kernel_rows(n, min_calls):
    rng = np.random.default_rng(7)
    for item in bl.available_losses():
        loss = bl.get_loss(item) if isinstance(item, str) else item
        name = item if isinstance(item, str) else loss.name
        y, raw64 = kernel_inputs(loss, n, rng)
        for dtype in (np.float32, np.float64):
            raw = raw64.astype(dtype)
            g, h = np.empty(raw.shape), np.empty(raw.shape)
            second = raw if loss.is_multiclass else y
            floor = median_ms(lambda raw=raw, second=second, g=g, h=h: (np.copyto(g, raw), np.copyto(h, second)),
                              min_calls)
            row = dict(loss=name, shape=raw.shape, dtype=np.dtype(dtype).name, floor=floor)
            try:
                try:
                    loss.grad_hess(y, raw, out=(g, h))  # warm-up (numba compiles on the first call)
                    call, row["out"] = partial(loss.grad_hess, y, raw, out=(g, h)), True
                except TypeError as err:
                    if "out" not in str(err):
                        raise
                    loss.grad_hess(y, raw)
                    call, row["out"] = partial(loss.grad_hess, y, raw), False
                gc.collect()
                row["ms"] = median_ms(call, min_calls)
                threads = numba.config.NUMBA_NUM_THREADS
                numba.config.NUMBA_NUM_THREADS = 1  # boostloss reads it on every call
                try:
                    row["ms1"] = median_ms(call, min_calls)
                finally:
                    numba.config.NUMBA_NUM_THREADS = threads
            except Exception as err:
                row["error"] = f"{type(err).__name__}: {str(err).splitlines()[0][:90] if str(err) else ''}"
            log(f"  kernel {name} {row['dtype']}: " + (f"{row['ms']:.2f} ms" if "ms1" in row else row["error"])
                + f" (floor {floor:.2f} ms)")
            yield row


def print_kernels(rows, n):
    used = {row["out"] for row in rows if "out" in row}
    if used == {True}:
        header = "ms, grad_hess(y, raw, out=(g, h))"
    elif used == {False}:
        header = "ms, grad_hess(y, raw) (out= not available: allocates its outputs)"
    else:
        header = "ms (* = grad_hess(y, raw): out= not available for that loss)"
    threads = numba.config.NUMBA_NUM_THREADS
    print(f"\nKernels: {n:,} rows of float64 targets (multiclass: {n // CLASSES:,} rows x {CLASSES} classes); "
          "float64 g, h; floor = np.copyto(g, raw); np.copyto(h, y) (one thread); boostloss splits the rows "
          f"over NUMBA_NUM_THREADS = {threads} threads (ratio), or 1 (last ratio)\n")
    print(f"| loss | dtype | {header} | Mrows/s | floor ms | ratio | target | met | ms, 1 thread | ratio, 1 thread |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    missed = 0
    for row in rows:
        shape = row["shape"]
        name = row["loss"] + (f" ({shape[0]:,} x {shape[1]})" if len(shape) == 2 else "")
        if "error" in row:
            missed += 1
            print(f"| {name} | {row['dtype']} | - | - | {row['floor']:.2f} | - | <= {KERNEL_TARGET:g} | "
                  f"no ({row['error']}) | - | - |")
            continue
        ratio = row["ms"] / row["floor"]
        met = ratio <= KERNEL_TARGET
        missed += not met
        star = "*" if len(used) == 2 and not row["out"] else ""
        print(f"| {name} | {row['dtype']} | {row['ms']:.2f}{star} | {shape[0] / row['ms'] / 1e3:.1f} | "
              f"{row['floor']:.2f} | {ratio:.2f} | <= {KERNEL_TARGET:g} | {'yes' if met else 'no'} | "
              f"{row['ms1']:.2f} | {row['ms1'] / row['floor']:.2f} |", flush=True)
    return missed


# ---------------------------------------------------------------- objectives built by hand
HAND_TARGET = 1.05  # the hand-built objective's call against the one train() builds
NUMPY_TARGET = 0.5  # the hand-built objective's call against a plain NumPy reference of the same formulas


def interleaved_calls(functions, args, calls):
    """``name -> median ms`` of ``functions[name](*args)``: an untimed first call each, then
    ``calls`` calls of each in turn (the order reversed every other time)."""
    times = {name: [] for name in functions}
    for function in functions.values():
        function(*args)
    for i in range(calls):
        for name in (list(functions) if i % 2 == 0 else list(reversed(functions))):
            start = time.perf_counter()
            functions[name](*args)
            times[name].append(time.perf_counter() - start)
    return {name: 1e3 * statistics.median(t) for name, t in times.items()}


def objective_rows(n, calls):
    """One grad+hess call through XGBoost's ``obj(preds, dtrain)`` and LightGBM's
    ``fobj(preds, train_set)``, 1,000,000 rows: ``bl.<booster>.objective(loss)`` as a user builds
    it against the objective ``train()`` builds (its scale), calls
    interleaved, after an untimed first call each, medians."""
    from boostloss._booster import boosting_scale

    rng = np.random.default_rng(11)
    for booster in ("xgboost", "lightgbm"):
        for name in bl.available_losses():
            loss = bl.get_loss(name)
            y, raw64 = kernel_inputs(loss, n, rng)
            if loss.is_multiclass:
                continue  # the kernel table has them; their objectives take no scale
            init = np.atleast_1d(loss.init_score(y))
            preds = (raw64 - raw64.mean() + init[0]).astype(np.float32)
            data = xgb.DMatrix(np.zeros((n, 1), np.float32), y, nthread=THREADS) if booster == "xgboost" else \
                lgb.Dataset(np.zeros((n, 1), np.float32), y, params={"verbose": -1}).construct()
            adapter = getattr(bl, booster)
            hand = adapter.objective(loss)
            built = adapter.objective(loss, boosting_scale(loss, y, None, init, per_round=True))
            ms = interleaved_calls({"hand": hand, "train": built}, (preds, data), calls)
            row = dict(booster=booster, loss=name, **ms)
            log(f"  objective {booster} {name}: hand {row['hand']:.2f} ms, train {row['train']:.2f} ms")
            yield row


def print_objectives(rows, n):
    print(f"\nObjectives built by hand: one call of bl.<booster>.objective(loss) through the booster's own "
          f"(preds, data) interface, {n:,} rows, against the objective train() builds; medians of interleaved calls\n")
    print("| booster | loss | hand-built ms | train() ms | ratio | target | met |")
    print("|---|---|---|---|---|---|---|")
    missed = 0
    for row in rows:
        ratio = row["hand"] / row["train"]
        met = ratio <= HAND_TARGET
        missed += not met
        print(f"| {row['booster']} | {row['loss']} | {row['hand']:.2f} | {row['train']:.2f} | {ratio:.2f} | "
              f"<= {HAND_TARGET:g} | {'yes' if met else 'no'} |", flush=True)
    return missed


# ---------------------------------------------------------------- E: NumPy reference and peer libraries
def _numpy_reference(name, loss):
    """A plain NumPy ``obj(preds, dtrain)`` of the loss's default formulas (gradient and Hessian
    policy as boostloss hands them to XGBoost, without the per-round secant factor: slightly less
    work than boostloss does), or None. SciPy's expit / log_expit for the logistic terms."""
    from scipy.special import expit, log_expit, softmax

    params = loss.get_params()
    d, alpha, c, power = params.get("delta", 1.0), params.get("alpha", 0.5), params.get("c", 1.0), params.get("power")
    gam = params.get("gamma", 2.0)

    def secant(r, eps=1e-6):
        return 1.0 / np.maximum(np.abs(r), eps)

    formulas = {
        "squared_error": lambda y, p: (p - y, np.ones_like(p)),
        "absolute_error": lambda y, p: (np.sign(p - y), secant(p - y)),
        "huber": lambda y, p: (np.clip(p - y, -d, d), d / np.maximum(np.abs(p - y), d)),
        "pseudo_huber": lambda y, p: ((p - y) / np.hypot(1.0, (p - y) / d), 1.0 / np.hypot(1.0, (p - y) / d)),
        "log_cosh": lambda y, p: (np.tanh(p - y), np.tanh(p - y) / np.where(p == y, 1.0, p - y)),
        "quantile": lambda y, p: (np.where(p >= y, 1.0 - alpha, -alpha),
                                  np.where(p >= y, 1.0 - alpha, alpha) * secant(p - y)),
        "expectile": lambda y, p: (2.0 * np.where(p < y, alpha, 1.0 - alpha) * (p - y),
                                   2.0 * np.where(p < y, alpha, 1.0 - alpha)),
        "fair": lambda y, p: (c * (p - y) / (np.abs(p - y) + c), c / (np.abs(p - y) + c)),
        "mape": lambda y, p: (np.sign(p - y) / np.abs(y), secant(p - y) / np.abs(y)),
        "squared_log_error": lambda y, p: (np.log1p((p - y) / (1.0 + y)) / (1.0 + p), 1.0 / (1.0 + p) ** 2),
        "poisson": lambda y, p: (np.exp(p) - y, np.exp(p)),
        "gamma": lambda y, p: (1.0 - y * np.exp(-p), y * np.exp(-p)),
        "tweedie": lambda y, p: (np.exp((2 - power) * p) - y * np.exp((1 - power) * p),
                                 (2 - power) * np.exp((2 - power) * p) - (1 - power) * y * np.exp((1 - power) * p)),
        "logistic": lambda y, p: (expit(p) - y, expit(p) * expit(-p)),
        "exponential": lambda y, p: (-(2 * y - 1) * np.exp(-(2 * y - 1) * p), np.exp(-(2 * y - 1) * p)),
    }

    def focal(y, p):
        s = 2.0 * y - 1.0
        pt, qt, logp = expit(s * p), expit(-s * p), log_expit(s * p)
        a = np.where(y == 1.0, params.get("alpha", 0.25), 1.0 - params.get("alpha", 0.25)) * qt ** gam
        g = -s * a * (qt - gam * pt * logp)
        return g, np.maximum(a * pt * ((2 * gam + 1) * qt + gam * qt * logp - gam * gam * pt * logp), pt * np.abs(g))

    def symmetric(y, p):
        s = 2.0 * y - 1.0
        pt, qt = expit(s * p), expit(-s * p)
        a, ba = params.get("alpha", 0.1), params.get("beta", 1.0) * loss.A
        return s * (-a * qt + ba * pt * qt), np.maximum(pt * qt * (a + ba * (qt - pt)), (a - ba * pt) * pt * qt)

    def softmax_terms(y, raw):
        p = softmax(raw, axis=1)
        onehot = np.zeros_like(p)
        onehot[np.arange(len(y)), y.astype(np.int64)] = 1.0
        return p, onehot, raw.shape[1] / (raw.shape[1] - 1.0)  # Friedman's factor k / (k - 1)

    def softmax_cross_entropy(y, raw):
        p, onehot, factor = softmax_terms(y, raw)
        return p - onehot, factor * p * (1.0 - p)

    def multiclass_focal(y, raw):
        p, onehot, factor = softmax_terms(y, raw)
        p_y = (p * onehot).sum(axis=1, keepdims=True)
        q, log_py = 1.0 - p_y, np.log(p_y)
        qg = q ** gam
        big_f = qg - gam * p_y * q ** (gam - 1.0) * log_py
        q2_df = -2 * gam * qg * q - gam * qg * q * log_py + gam * (gam - 1) * p_y * qg * log_py
        u = onehot - p
        exact = p * (1 - p) * big_f - (u / np.where(q > 0, q, 1.0)) ** 2 * p_y * q2_df
        return -u * big_f, factor * np.maximum(exact, big_f * p * (1 - p))

    def ghm(y, p):  # one call: the density of its own rows (the moving average starts there)
        prob, bins = expit(p), int(loss.bins)
        b = np.minimum((np.abs(prob - y) * bins).astype(np.int64), bins - 1)
        counts = np.bincount(b, minlength=bins)
        held = counts > 0
        beta = np.zeros(bins)
        beta[held] = y.size / (held.sum() * counts[held])
        return beta[b] * (prob - y), beta[b] * prob * (1.0 - prob)

    formulas.update(focal=focal, symmetric_cross_entropy=symmetric, softmax_cross_entropy=softmax_cross_entropy,
                    multiclass_focal=multiclass_focal, ghm=ghm)
    formula = formulas.get(name)
    if formula is None:
        return None

    def obj(preds, dtrain):
        return formula(dtrain.get_label().astype(np.float64), preds.astype(np.float64))
    return obj


def _peer_objectives():
    """(boostloss loss, peer, obj(preds, dtrain)) for every peer library installed: each peer's
    own loss with the parameters set alike on both sides; absent peers are skipped."""
    from importlib.util import find_spec

    pairs = []
    if find_spec("jaxboost") is not None:
        import jaxboost.objective as jo

        for name, peer in (("squared_error", jo.mse), ("huber", jo.huber), ("pseudo_huber", jo.pseudo_huber),
                           ("log_cosh", jo.log_cosh), ("quantile", jo.quantile), ("poisson", jo.poisson),
                           ("gamma", jo.gamma), ("logistic", jo.binary_crossentropy), ("focal", jo.focal_loss)):
            pairs.append((bl.get_loss(name), "jaxboost", peer.xgb_objective))
    if find_spec("bokbokbok") is not None:
        from bokbokbok.loss_functions.classification import WeightedFocalLoss
        from bokbokbok.loss_functions.regression import LogCoshLoss

        pairs += [(bl.get_loss("log_cosh"), "bokbokbok", LogCoshLoss()),
                  (bl.Focal(alpha=0.5, gamma=2.0), "bokbokbok", WeightedFocalLoss(alpha=1.0, gamma=2.0))]
    if find_spec("boost_loss") is not None:
        from boost_loss.regression.asymmetric import QuantileLoss
        from boost_loss.regression.regression import FairLoss, HuberLoss, L1Loss, LogCoshLoss

        pairs += [(bl.get_loss("huber"), "boost-loss", HuberLoss(delta=1.0)), (bl.Fair(), "boost-loss", FairLoss()),
                  (bl.get_loss("absolute_error"), "boost-loss", L1Loss()),
                  (bl.get_loss("log_cosh"), "boost-loss", LogCoshLoss()),
                  (bl.Quantile(0.5), "boost-loss", QuantileLoss(t=0.5))]
    if find_spec("imxgboost") is not None:
        from imxgboost.focal_loss import Focal_Binary_Loss
        from imxgboost.weighted_loss import Weight_Binary_Cross_Entropy

        pairs += [(bl.Focal(alpha=0.5, gamma=2.0), "imbalance-xgboost", Focal_Binary_Loss(2.0).focal_binary_object),
                  (bl.get_loss("logistic"), "imbalance-xgboost",
                   Weight_Binary_Cross_Entropy(1.0).weighted_binary_cross_entropy)]
    return pairs


def peer_rows(n, calls, peers):
    """One grad+hess call through XGBoost's ``obj(preds, dtrain)`` at ``n`` rows: the hand-built
    ``bl.xgboost.objective(loss)`` against a plain NumPy reference of the same formulas (every
    loss; multiclass: n // CLASSES rows x CLASSES) and, with ``peers``, each installed peer library's objective
    for the same loss; calls interleaved after an untimed first call, medians."""
    rng = np.random.default_rng(12)
    cases = [(bl.get_loss(name), "NumPy reference", None) for name in bl.available_losses()]
    cases += _peer_objectives() if peers else []
    inputs = {}
    for loss, side, other in cases:
        key = repr(loss)
        if key not in inputs:
            y, raw64 = kernel_inputs(loss, n, rng)
            init = np.atleast_1d(loss.init_score(y))
            inputs[key] = (xgb.DMatrix(np.zeros((len(y), 1), np.float32), y, nthread=THREADS),
                           (raw64 - raw64.mean(axis=0) + init).astype(np.float32))
        data, preds = inputs[key]
        other = other or _numpy_reference(loss.name, loss)
        if other is None:
            continue
        ms = interleaved_calls({"boostloss": bl.xgboost.objective(loss), "ms": other}, (preds, data), calls)
        row = dict(loss=repr(loss), other=side, **ms)
        log(f"  {side} {row['loss']}: {row['ms']:.2f} ms, boostloss {row['boostloss']:.2f} ms")
        yield row


def print_peers(rows, n):
    print(f"\nOne grad+hess call through XGBoost's obj(preds, dtrain), {n:,} rows: the hand-built "
          "bl.xgboost.objective(loss) against a plain NumPy reference of the same formulas and against each "
          "installed peer library's objective for the same loss; medians of interleaved calls\n")
    print("| loss | against | its ms | boostloss ms | boostloss / it | target | met |")
    print("|---|---|---|---|---|---|---|")
    missed = 0
    for row in rows:
        ratio = row["boostloss"] / row["ms"]
        reference = row["other"] == "NumPy reference"
        met = ratio <= NUMPY_TARGET if reference else None
        missed += met is False
        print(f"| {row['loss']} | {row['other']} | {row['ms']:.2f} | {row['boostloss']:.2f} | {ratio:.2f} | "
              f"{f'<= {NUMPY_TARGET:g}' if reference else '-'} | {'-' if met is None else 'yes' if met else 'no'} |",
              flush=True)
    return missed


# ---------------------------------------------------------------- cold start
COLD_IMPORT = """
import time
start = time.perf_counter()
import numpy, scipy, numba, sklearn, scipy.optimize, scipy.special
deps = time.perf_counter()
import boostloss
print(deps - start, time.perf_counter() - deps)
"""
COLD_FIT = """
import time, numpy as np
import xgboost as xgb
import boostloss as bl
rng = np.random.default_rng(0)
X = rng.normal(size=(2000, 5)); f = X[:, 0]
loss = bl.get_loss({name!r})
y = {{"binary": (rng.random(2000) < 0.3).astype(float), "multiclass": rng.integers(0, 3, 2000).astype(float),
     "positive": np.exp(f + 0.3 * rng.normal(size=2000))}}.get({kind!r}, 3 * f + rng.normal(size=2000))
for _ in range(2):
    start = time.perf_counter()
    bl.xgboost.train(loss, {{"max_depth": 3, "nthread": 1}}, xgb.DMatrix(X, y), 5)
    print(time.perf_counter() - start)
"""


def cold_rows(losses):
    """In a fresh process on a fresh copy of the package (nothing compiled, nothing cached):
    the import beyond NumPy, SciPy, numba and scikit-learn, and for each loss the first
    ``bl.xgboost.train`` (2,000 rows, 5 rounds) against the second in the same process; then,
    on another fresh copy where ``boostloss compile --losses LOSS --boosters xgboost`` ran first
    (as where an image is built), the same first fit in a fresh process."""
    import shutil
    import subprocess
    import tempfile
    from pathlib import Path

    package = Path(bl.__file__).parent

    def run(*commands):
        """Run each command in its own process, in order, on one fresh copy; the last one's numbers."""
        with tempfile.TemporaryDirectory(prefix="boostloss-cold-") as root:
            shutil.copytree(package, Path(root) / "boostloss", ignore=shutil.ignore_patterns("__pycache__"))
            env = {**os.environ, "PYTHONPATH": root, "NUMBA_CACHE_DIR": str(Path(root) / "numba-cache")}
            for command in commands:
                done = subprocess.run([sys.executable, *command], env=env, cwd=root, capture_output=True, text=True,
                                      timeout=900)
                if done.returncode:
                    raise RuntimeError(done.stderr[-500:])
            return [float(v) for v in done.stdout.split()]

    deps, own = run(["-c", COLD_IMPORT])
    yield dict(kind="import", deps=deps, own=own)
    for name in losses:
        loss = bl.get_loss(name)
        kind = "multiclass" if loss.is_multiclass else "binary" if loss.domain == bl.Logistic.domain else \
            "positive" if name in ("gamma", "mape", "squared_log_error", "poisson", "tweedie") else "real"
        fit = ["-c", COLD_FIT.format(name=name, kind=kind)]
        first, second = run(fit)
        built, _ = run(["-m", "boostloss", "compile", "--losses", name, "--boosters", "xgboost", "--quiet"], fit)
        log(f"  cold {name}: first fit {first:.2f} s, second {second:.2f} s, after compile {built:.2f} s")
        yield dict(kind="fit", loss=name, first=first, second=second, built=built)


def print_cold(rows):
    print("\nCold start: a fresh process on a fresh copy of the package (nothing compiled or cached yet)\n")
    print("| what | cold s | warm s | added by compiling, s | target | met | first fit after `boostloss compile`, s "
          "| added, s |")
    print("|---|---|---|---|---|---|---|---|")
    missed = 0
    for row in rows:
        if row["kind"] == "import":
            met = row["own"] <= 0.3
            print(f"| import boostloss (NumPy, SciPy, numba, scikit-learn: {row['deps']:.2f} s before) | "
                  f"{row['own']:.2f} | - | - | <= 0.3 | {'yes' if met else 'no'} | - | - |")
        else:
            added = row["first"] - row["second"]
            met = added <= 1.0
            print(f"| first bl.xgboost.train, {row['loss']} | {row['first']:.2f} | {row['second']:.2f} | {added:.2f} | "
                  f"<= 1.0 | {'yes' if met else 'no'} | {row['built']:.2f} | {row['built'] - row['second']:.2f} |",
                  flush=True)
        missed += not met
    return missed


# ---------------------------------------------------------------- main
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="200,000 XGBoost/LightGBM rows only, fewer CatBoost rows and iterations, one timed fit "
                             "per side (a smoke run: about 2 minutes on 2 cores)")
    parser.add_argument("--boosters", default="xgboost,lightgbm,catboost")
    parser.add_argument("--only", action="append", default=None,
                        help="which parts to run: train, catboost, multiclass, kernels, objectives, numpy, cold "
                             "(repeatable or comma list)")
    parser.add_argument("--repeats", type=int, default=None,
                        help="timed fits per side, the median reported (default 3; 1 with --quick)")
    parser.add_argument("--peers", action="store_true",
                        help="with the numpy part: also time each installed peer library's objective for the "
                             "same loss (jaxboost, bokbokbok, boost-loss, imbalance-xgboost)")
    parser.add_argument("--catboost-defaults", action="store_true",
                        help="leave CatBoost's per-loss leaf estimation defaults (not the same work on both sides)")
    args = parser.parse_args(argv)
    args.repeats = args.repeats or (1 if args.quick else 3)
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    parts = [p.strip() for item in (args.only or ["train,catboost,multiclass,kernels,objectives,numpy,cold"])
             for p in item.split(",")]
    unknown = set(parts) - {"train", "catboost", "multiclass", "kernels", "objectives", "numpy", "cold"}
    if unknown:
        parser.error(f"unknown part(s) {sorted(unknown)}; choose from train, catboost, multiclass, kernels, "
                     "objectives, numpy, cold")
    boosters = [b.strip() for b in args.boosters.split(",") if b.strip()]
    if set(boosters) - {"xgboost", "lightgbm", "catboost"}:
        parser.error(f"unknown booster(s) in {args.boosters!r}")
    warnings.filterwarnings("ignore")
    # the boosters, numba and scipy leave ~10^6 long-lived objects: a full collection between fits took
    # 0.1 s; frozen, they are skipped (objects freed later are still freed by reference counting)
    gc.collect()
    gc.freeze()
    pinned = not args.catboost_defaults
    sizes = [200_000] if args.quick else [1_000_000, 200_000]
    cb_rows, cb_iterations = (30_000, 50) if args.quick else (200_000, ROUNDS)
    mc_rows, mc_iterations = (2_000, 10) if args.quick else (6_000, 20)
    kernel_n = 1_000_000

    needed = (sizes if "train" in parts else []) + ([cb_rows] if "catboost" in parts else [])
    cache = {}

    def data(n):
        """Features and targets for ``n`` rows: the first ``n`` rows of one set made for the largest size."""
        if not cache:
            cache["all"] = make_data(max(needed))
        X, targets = cache["all"]
        return X[:n], {task: y[:n] for task, y in targets.items()}

    start = time.perf_counter()
    missed = 0
    print(f"xgboost {xgb.__version__}, lightgbm {lgb.__version__}, catboost {cb.__version__}, numpy {np.__version__}; "
          f"{ROUNDS} rounds, {THREADS} threads, median of {args.repeats} interleaved fits per side, "
          f"GOMP_SPINCOUNT={os.environ.get('GOMP_SPINCOUNT')}")
    print(f"XGBoost {XGB}; LightGBM {LGB}; CatBoost {catboost_params(pinned)}\n")
    train_boosters = [b for b in boosters if b in ("xgboost", "lightgbm")]
    if ("train" in parts and train_boosters) or ("catboost" in parts and "catboost" in boosters):
        print("Training time: ratio = boostloss s / built-in s, each the median of interleaved fits on the same "
              "prebuilt data\n")
        print("| booster | rows | loss | built-in twin | built-in s (median) | boostloss s (median) | ratio | target "
              "| met | hand-built objective s | its ratio | in objective, ms/round (boostloss / hand-built) "
              "| ratio over the floor's (boostloss / hand-built) | target | met |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    if "train" in parts and train_boosters:
        time_objectives(bl.xgboost.XGBoostObjective, bl.lightgbm.LightGBMObjective, FloorObjective)
        log("warming up (tiny fits of every pair)")
        warm_up_train(train_boosters, lambda n: make_data(n, seed=3))
        gc.collect()
        gc.freeze()
        for row in train_rows(sizes, train_boosters, args.repeats, data):
            missed += print_ratio_row(row)
    if "catboost" in parts and "catboost" in boosters:
        for row in catboost_rows(cb_rows, cb_iterations, args.repeats, pinned, data):
            missed += print_ratio_row(row)
    notes = list(TRAIN_NOTES) if "train" in parts and train_boosters else []
    if notes:
        notes.append(f"softmax_cross_entropy grows {CLASSES} trees per round: it runs {MULTICLASS_ROUNDS} rounds "
                     f"({CLASSES * MULTICLASS_ROUNDS} trees, as many as the other pairs) to keep the run within its "
                     "time budget; boostloss's once-per-fit costs weigh 5x more than over 100 rounds")
    if "catboost" in parts and "catboost" in boosters:
        notes = notes + [CATBOOST_PINNED_NOTE] * pinned + [CATBOOST_METRIC_NOTE]
    if notes:
        print("\n" + "\n".join(f"- {note}" for note in notes))
    if "multiclass" in parts and "catboost" in boosters:
        times = multiclass_rows(mc_rows, mc_iterations, args.repeats, pinned)
        missed += print_multiclass(times, mc_rows, mc_iterations)
    cache.clear()
    gc.collect()
    if "kernels" in parts:
        log("kernels")
        rows = list(kernel_rows(kernel_n, 15))
        missed += print_kernels(rows, kernel_n)
    if "objectives" in parts:
        log("objectives built by hand")
        missed += print_objectives(list(objective_rows(kernel_n, 5 if args.quick else 15)), kernel_n)
    if "numpy" in parts:
        log("NumPy reference" + (" and peer libraries" if args.peers else ""))
        missed += print_peers(list(peer_rows(kernel_n, 5 if args.quick else 15, args.peers)), kernel_n)
    if "cold" in parts:
        log("cold start")
        missed += print_cold(cold_rows(["huber"] if args.quick else bl.available_losses()))
    print(f"\n{missed} target(s) missed; total wall time {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
