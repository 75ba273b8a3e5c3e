"""The speed paths give the same numbers as the plain ones: rows split over threads, float32
buffers for XGBoost and LightGBM, CatBoost's checked-targets path, the unweighted quantile."""

from __future__ import annotations

import multiprocessing

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_losses import LOSSES, sample

import boostloss as bl
from boostloss._booster import boosting_scale, start_scores
from boostloss.losses import kernels
from boostloss.losses.base import weighted_quantile

KERNEL_LOSSES = [loss for loss in LOSSES if loss.kernel is not None]
BIG = 2 * kernels.MIN_PARALLEL_ELEMENTS + 12_345  # split into two parts of unequal length


def big(loss):
    """Rows enough for run() to split ``loss``'s kernel over two threads, in parts of unequal length
    (as many as for the other kernels where ``run`` never splits it: GHM's)."""
    n = 2 * kernels.split_from(loss.kernel if loss.kernel not in kernels._WHOLE else None) + 12_345
    return n // 3 if loss.is_multiclass else n


def rows(loss, n, seed=0):
    rng = np.random.default_rng(seed)
    y = sample(loss, n, rng).astype(np.float64)
    raw = rng.normal(0.0, 2.0, (n, 3) if loss.is_multiclass else n)
    if loss.name == "squared_log_error":
        raw = np.abs(raw)
    return y, raw, rng.uniform(0.1, 3.0, n)


# --------------------------------------------------------------------------- threads
@pytest.mark.parametrize("loss", [loss for loss in KERNEL_LOSSES if loss.kernel not in kernels._WHOLE], ids=repr)
def test_rows_split_over_threads_give_the_single_thread_numbers(loss, monkeypatch):
    y, raw, w = rows(loss, big(loss))
    assert raw.size >= 2 * kernels.split_from(loss.kernel)  # so that run() does split
    split = loss.grad_hess(y, raw, w)
    monkeypatch.setattr(kernels.config, "NUMBA_NUM_THREADS", 1)
    whole = loss.grad_hess(y, raw, w)
    np.testing.assert_array_equal(split[0], whole[0])
    np.testing.assert_array_equal(split[1], whole[1])


@pytest.mark.parametrize("loss", KERNEL_LOSSES, ids=repr)
def test_a_kernel_returns_the_fingerprint_of_the_targets_and_weights_it_read(loss, monkeypatch):
    """What lets an objective compute with the booster's own labels every round and still see
    labels set again: the fingerprint taken in the kernel's pass is ``kernels.fingerprint``'s,
    however the rows are split over threads, and a changed target, two swapped rows or a changed
    weight change it."""
    y, raw, w = rows(loss, big(loss))
    args = loss._batch_args(y, raw, w, getattr(loss, "hessian", "exact"), 0.1, None, None, np.float32)
    seen = {}
    for threads in (2, 1):
        monkeypatch.setattr(kernels.config, "NUMBA_NUM_THREADS", threads)
        for case, (yt, wt) in enumerate(((y, np.empty(0)), (y.astype(np.float32), w), (y, w.astype(np.float32)))):
            grad, hess = np.empty_like(raw, np.float32), np.empty_like(raw, np.float32)
            got = kernels.run(loss.kernel, yt, raw, wt, args, grad, hess)
            assert got == tuple(int(v) for v in kernels.fingerprint(yt, wt))
            seen[threads, case] = got
    assert all(seen[2, case] == seen[1, case] for case in range(3))
    changed, swapped = y.copy(), y.copy()
    changed[5] = y[6] if y[5] != y[6] else y[5] + 1.0
    far = int(np.flatnonzero(y != y[3])[-1])  # the last row with another target than row 3
    swapped[[3, far]] = y[[far, 3]]
    heavier = w.copy()
    heavier[7] *= 2.0
    base = kernels.fingerprint(y, w)
    for other in (kernels.fingerprint(changed, w), kernels.fingerprint(swapped, w), kernels.fingerprint(y, heavier),
                  kernels.fingerprint(y, np.empty(0))):
        assert other != base


@pytest.mark.parametrize("loss", KERNEL_LOSSES, ids=repr)
def test_float32_targets_give_the_numbers_of_the_same_targets_in_float64(loss):
    """Booster labels are float32 and are handed to the kernels as they are: residuals are still
    taken in float64 (float32 targets minus float32 scores would round them)."""
    y, raw, w = rows(loss, 3000)
    y32, raw32 = y.astype(np.float32), raw.astype(np.float32)
    narrow = loss.grad_hess(y32, raw32, w.astype(np.float32))
    wide = loss.grad_hess(y32.astype(np.float64), raw32, w.astype(np.float32).astype(np.float64))
    np.testing.assert_array_equal(narrow[0], wide[0])
    np.testing.assert_array_equal(narrow[1], wide[1])


def test_multiclass_rows_split_in_either_memory_order():
    loss = bl.SoftmaxCrossEntropy()
    y, raw, w = rows(loss, BIG // 2)
    c_order = loss.grad_hess(y, raw, w)
    f_order = loss.grad_hess(y, np.asfortranarray(raw), w)
    np.testing.assert_array_equal(c_order[0], f_order[0])
    np.testing.assert_array_equal(c_order[1], f_order[1])


def _kernel_in_child(queue):
    loss = bl.LogCosh()
    y, raw, w = rows(loss, BIG)
    queue.put(float(loss.grad_hess(y, raw, w)[0].sum()))


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="no fork here")
def test_a_forked_child_splits_rows_with_threads_of_its_own():
    loss = bl.LogCosh()
    y, raw, w = rows(loss, BIG)
    expected = float(loss.grad_hess(y, raw, w)[0].sum())  # the parent's pool threads now exist
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_kernel_in_child, args=(queue,))
    child.start()
    child.join(timeout=60)
    assert child.exitcode == 0  # a child reusing the parent's (absent) threads would hang here
    assert queue.get(timeout=5) == expected


# --------------------------------------------------------------------------- float32 buffers
@pytest.mark.parametrize("loss", [bl.LogCosh(), bl.Quantile(alpha=0.9), bl.Focal(), bl.SoftmaxCrossEntropy()], ids=repr)
def test_xgboost_and_lightgbm_objectives_return_the_float64_pair_rounded_to_float32(loss):
    y, raw, w = rows(loss, 5000)
    raw32 = raw.astype(np.float32)
    scale = boosting_scale(loss, y, w, start_scores(loss, y, w, 3 if loss.is_multiclass else None))
    grad, hess = loss.boosting_grad_hess(y, raw32, w, scale)
    for objective in (bl.xgboost.objective(loss, scale), bl.lightgbm.objective(loss, scale)):
        g32, h32 = objective(y, raw32, sample_weight=w) if "xgboost" in repr(objective) else objective(y, raw32, w)
        assert g32.dtype == h32.dtype == np.float32 and g32.shape == raw.shape
        # one rounding of the float64 numbers (two where a secant factor multiplies afterwards)
        np.testing.assert_allclose(g32, grad, rtol=2.5e-7, atol=1e-30)
        np.testing.assert_allclose(h32, hess, rtol=2.5e-7, atol=1e-30)


# --------------------------------------------------------------------------- CatBoost
CATBOOST_LOSSES = [bl.SquaredError(), bl.Huber(), bl.Quantile(alpha=0.9), bl.MAPE(), bl.LogCosh(),
                   bl.Logistic(pos_weight=2), bl.Focal(), bl.Poisson(), bl.PseudoHuber(hessian="exact")]


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("loss", CATBOOST_LOSSES, ids=repr)
def test_catboost_checked_targets_path_gives_the_checked_numbers(loss, weighted):
    y, raw, w = rows(loss, 700)
    w = w if weighted else None
    scale = boosting_scale(loss, y, w, start_scores(loss, y, w))
    objective = bl.catboost.objective(loss, scale)
    targets, weights = y.astype(np.float32), None if w is None else w.astype(np.float32)  # as CatBoost hands them
    checked = objective.calc_ders_range(raw, targets, weights)
    with objective.checked_targets():
        fast = objective.calc_ders_range(raw, targets, weights)
    assert fast.shape == (700, 2)
    np.testing.assert_allclose(fast, checked, rtol=1e-13, atol=1e-300)


def test_catboost_objective_checks_blocks_again_after_training():
    pytest.importorskip("catboost")
    import catboost

    rng = np.random.default_rng(3)
    X = rng.normal(size=(300, 3))
    pool = catboost.Pool(X, rng.poisson(2.0, 300).astype(float))
    model = bl.catboost.train("poisson", {"iterations": 3, "verbose": 0, "allow_writing_files": False}, pool)
    objective = model.get_params()["loss_function"]
    with pytest.raises(ValueError, match="1 of 4 targets"):
        objective.calc_ders_range(np.zeros(4), np.array([1, 2, -1, 0], dtype=np.float32), None)


# --------------------------------------------------------------------------- quantiles
@settings(max_examples=300, deadline=None)
@given(values=st.lists(st.sampled_from([-2.0, -0.5, 0.0, 0.25, 1.0, 3.0]) | st.floats(-1e6, 1e6),
                       min_size=1, max_size=40),
       quantile=st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0]) | st.floats(0.0, 1.0))
def test_unweighted_quantile_selects_what_unit_weights_sort_to(values, quantile):
    values = np.array(values)
    assert weighted_quantile(values, quantile) == weighted_quantile(values, quantile, np.ones(values.size))


# --------------------------------------------------------------------------- reductions
@settings(max_examples=200, deadline=None)
@given(values=st.lists(st.floats(-1e6, 1e6), min_size=0, max_size=300), dtype=st.sampled_from([np.float32, np.float64]))
def test_compiled_sums_match_numpy(values, dtype):
    a = np.array(values, dtype=dtype)
    b = np.linspace(0.1, 3.0, a.size)
    scale = np.abs(a).astype(np.float64) @ np.abs(b) + 1e-300
    assert abs(kernels.dot(b, a) - float(np.dot(b, a.astype(np.float64)))) <= 1e-12 * scale
    size = np.abs(a).astype(np.float64).sum() + 1e-300
    assert abs(kernels.total(a) - float(a.astype(np.float64).sum())) <= 1e-12 * size
    grad, hess = a.copy(), 2 * a
    kernels.scale_pair(grad, hess, 0.5)
    np.testing.assert_array_equal(grad, (a.astype(np.float64) * 0.5).astype(dtype))
    np.testing.assert_array_equal(hess, (2 * a.astype(np.float64) * 0.5).astype(dtype))


@pytest.mark.parametrize("loss", [bl.SoftmaxCrossEntropy(), bl.MulticlassFocal(gamma=0.5, alpha=[1, 2, 0.5]),
                                  bl.MulticlassSymmetricCrossEntropy(alpha=0.5, hessian="exact"),
                                  bl.SoftmaxCrossEntropy() + 0.5 * bl.MulticlassFocal()], ids=repr)
def test_catboost_per_row_multiclass_ders_are_the_negated_weighted_rows(loss):
    objective = bl.catboost.objective(loss)
    rng = np.random.default_rng(5)
    for _ in range(20):
        approx, label, weight = rng.normal(size=3), float(rng.integers(3)), float(rng.uniform(0.1, 3.0))
        grad, hess = loss.boosting_grad_hess(np.array([label]), approx[None, :])
        der1, der2 = objective.calc_ders_multi(approx, label, weight)
        np.testing.assert_allclose(der1, -weight * grad[0], rtol=1e-14)
        np.testing.assert_allclose(np.diag(der2), -weight * hess[0], rtol=1e-14)
        assert np.count_nonzero(np.asarray(der2) - np.diag(np.diag(der2))) == 0


@pytest.mark.parametrize("start", [(), (0.25,), (0.1, -0.2, 0.3)])
def test_catboost_constant_baselines_set_fast_equal_the_public_setter(start):
    catboost = pytest.importorskip("catboost")
    from boostloss.catboost import _set_rows

    X = np.random.default_rng(0).normal(size=(50, 2))
    public, fast = catboost.Pool(X, np.arange(50.0)), catboost.Pool(X, np.arange(50.0))
    public.set_baseline(np.tile(np.array(start, dtype=np.float64), (50, 1)).reshape(50, len(start)))
    _set_rows(fast, [start] * 50)
    assert fast.get_baseline().shape == public.get_baseline().shape == (50, len(start))
    np.testing.assert_array_equal(fast.get_baseline(), public.get_baseline())

    class PublicOnly:  # a CatBoost without the internal setter: the public one gets the same array
        def num_row(self):
            return 50

        def set_baseline(self, baseline):
            self.baseline = baseline

    other = PublicOnly()
    _set_rows(other, [start] * 50)
    np.testing.assert_array_equal(other.baseline, np.tile(np.array(start), (50, 1)).reshape(50, len(start)))


@pytest.mark.parametrize("booster", ["xgboost", "lightgbm"])
def test_the_objective_reads_the_boosters_own_labels_every_round_without_a_copy(booster, monkeypatch):
    """Each round the objective computes with the labels the booster holds, as it holds them:
    XGBoost's buffer read in place (``get_label`` would copy it), LightGBM's own array (the same
    object every round); the copying getters run only a few times per fit (validation, start)."""
    module = pytest.importorskip(booster)
    data_class = module.DMatrix if booster == "xgboost" else module.Dataset
    rng = np.random.default_rng(2)
    X, y = rng.normal(size=(400, 3)), rng.normal(size=400)
    data = module.DMatrix(X, y) if booster == "xgboost" else module.Dataset(X, y, free_raw_data=False)
    copies, handed = [], []
    if booster == "xgboost":
        if not np.shares_memory(bl.xgboost._info(data, "label"), bl.xgboost._info(data, "label")):
            pytest.skip(f"XGBoost {module.__version__} has no XGDMatrixGetInfoRef: the objective copies the labels")

        def counting(get):
            return lambda self, *args: copies.append(1) or get(self, *args)

        for getter in ("get_label", "get_float_info"):
            monkeypatch.setattr(data_class, getter, counting(getattr(data_class, getter)))
        original_info = bl.xgboost._info

        def read(dmatrix, field):
            array = original_info(dmatrix, field)
            handed.extend([np.shares_memory(array, original_info(dmatrix, field))] * (field == "label"))
            return array

        monkeypatch.setattr(bl.xgboost, "_info", read)
    else:
        original = data_class.get_label
        monkeypatch.setattr(data_class, "get_label", lambda self: handed.append(original(self)) or handed[-1])
    params = {"max_depth": 2, "verbosity": 0} if booster == "xgboost" else {"num_leaves": 4, "verbose": -1}
    getattr(bl, booster).train(bl.Huber(), params, data, 30)
    if booster == "xgboost":
        assert len(copies) <= 4  # validation and start: not a copy once per round
        assert len(handed) == 30 and all(handed)  # the booster's own buffer, each round
    else:
        assert len(handed) >= 30 and all(labels is handed[-1] for labels in handed[-30:])


# --------------------------------------------------------------------------- compiled code
INLINED = """
import re, sys
import numpy as np
from boostloss.checks import configurations
from boostloss.losses import kernels
rng = np.random.default_rng(0)
used = set()
for loss in (loss for loss in configurations() if loss.kernel is not None):
    y = (rng.integers(0, 3, 64) if loss.is_multiclass else (rng.random(64) < 0.5) if loss.link.name == "logit"
         else np.exp(rng.normal(size=64))).astype(float)
    for dtype in (np.float32, np.float64):
        raw = rng.normal(size=(64, 3) if loss.is_multiclass else 64).astype(dtype)
        loss.grad_hess(y, raw, out=(np.empty_like(raw), np.empty_like(raw)))
    used.add(loss.kernel)
for kernel in used:
    for signature, code in kernel.inspect_llvm().items():
        own = kernel.py_func.__name__
        calls = {name for name in re.findall(r"call [^@]*@(_ZN9boostloss\\w+)", code) if own not in name}
        print(own, sorted({re.sub(r"^_ZN9boostloss6losses7kernels\\d+", "", name).split("B")[0] for name in calls}))
"""


def test_every_kernels_loop_calls_no_function_of_ours(tmp_path):
    """exp and log are compiled once as functions of their own and LLVM inlines them; a call left
    in a kernel's loop keeps the loop scalar (a multiclass kernel ran 2x slower before it used
    exp_inline). Only the weights pass, run once per call, stays a call. In a fresh process with
    an empty cache: numba shows no compiled code for kernels loaded from a cache."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", INLINED], env=env, capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert len(lines) >= 2 * 19, lines  # every kernel, float32 and float64
    for line in lines:
        name, _, calls = line.partition(" ")
        assert calls in ("[]", "['_weigh']"), line
