"""Distributed training on a Dask cluster with ``xgboost.dask`` and ``lightgbm.dask``.

The objectives and metrics of ``boostloss.xgboost`` and ``boostloss.lightgbm`` go to the workers
unchanged: they are small picklable objects that read labels and weights from the worker's own
rows. What needs the whole training set is the input check and the start score; this module
computes both from Dask collections by reductions over the partitions, never collecting them:

* ``validate(loss, y, sample_weight)`` raises the ValueError that ``loss.validate`` would raise on
  the whole data (same message, counts summed over partitions), before any tree is built;
* ``init_score(loss, y, sample_weight)`` is ``loss.init_score`` of the whole data (see there for
  the method and its error bound);
* ``BoostRegressor`` and ``BoostClassifier`` wrap ``DaskXGBRegressor``/``DaskXGBClassifier`` or
  ``DaskLGBMRegressor``/``DaskLGBMClassifier``: fit and predict on Dask collections, started from
  the optimal constant and predicting in the target's units;
* ``xgboost_metric`` is ``bl.xgboost.metric`` with its sums all-reduced across workers (exact);
* ``predict(model, X, loss)`` turns any of those models' raw scores into target units.

Leaves are not refitted here (``Loss.refits_leaves``): the quantile of a leaf's rows would have
to be found across workers. Absolute error, quantile and MAPE take one Newton step per leaf, so
a Dask model is the one-machine model of the loss with ``refit=False``.

Several outputs per row: the distributions and ``multi_quantile`` train through
``BoostRegressor`` on both boosters (``predict``, ``predict_quantiles``, ``predict_interval``);
``init_score`` gives their ``(k,)`` start (exact summary, Newton steps, or each quantile's root
search) and takes the ``(n, k)`` targets of the multi-label and soft-label losses too, for
``xgboost.dask.train`` with ``num_target=k`` (LightGBM's labels are one column).

Train API (the start goes in as ``base_score``, which XGBoost applies on every worker and saves
in the model)::

    init = bl.dask.init_score(loss, y, w)            # validates y and w first
    scale = bl.dask.boosting_scale(loss, y, w, init, per_round=True)  # secant policies' scale, all rows
    dtrain = xgb.dask.DaskDMatrix(client, X, y, weight=w)
    out = xgb.dask.train(client, {"base_score": init, "disable_default_eval_metric": True}, dtrain, 100,
                         obj=bl.xgboost.objective(loss, scale), custom_metric=bl.dask.xgboost_metric(loss))
    pred = bl.dask.predict(out, X, loss)             # a Dask array in the target's units

Each worker's objective sees its own rows only. The ``secant`` Hessian policies use a scale of
the residuals (``Loss.boosting_scale``); ``boosting_scale`` computes it over all partitions, so
the workers use the one a single machine would (without it, each worker would use its own).
GHM weighs rows by the density of the whole round's gradient norms: its XGBoost objective sums
the bin counts over the workers every round (XGBoost's all-reduce), so each worker weighs its
rows as one machine would. LightGBM's Dask workers offer a Python objective no such sum, and
``BoostRegressor``/``BoostClassifier`` refuse GHM on them.

Dask, ``xgboost.dask`` and ``lightgbm.dask`` are imported on first use; without them an
ImportError names the ``dask`` extra. The math (``boostloss.losses``) never imports Dask.
"""

from __future__ import annotations

import inspect
import re
import warnings
from functools import partial

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, clone, is_classifier
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from ._booster import import_booster, per_row
from .losses import kernels
from .losses.base import check_sample_weight
from .losses.binary import BinaryLoss
from .losses.multiclass import TwoClassView
from .losses.multioutput import ColumnStack, _column_factors
from .registry import get_loss
from .sklearn import (
    _predicts,
    check_regression_loss,
    estimates_probabilities,
    margin_labels,
    point_predictions,
    quantile_levels,
    quantile_predictions,
)
from .xgboost import XGBoostMetric

SKETCH_SIZE = 1024  # points a partition contributes to the summary of its targets
SECTIONS = 16  # new points per bracket and pass of the distributed root search
ZERO_RTOL = 1e-12  # |sum w g| <= ZERO_RTOL * sum w |g| counts as a zero gradient (rounding)


def _dask():
    return import_booster("dask", "dask")


def _array_module():
    _dask()
    import_booster("distributed", "dask")
    return import_booster("dask.array", "dask")


def _booster_dask(name: str):
    """``xgboost.dask`` or ``lightgbm.dask``, naming the right extra when something is missing."""
    import_booster(name, name)
    _array_module()
    return import_booster(f"{name}.dask", "dask")


# --------------------------------------------------------------------------- collections
def _is_frame(collection) -> bool:
    """A Dask DataFrame or Series (which keep their own partitioning)."""
    return hasattr(collection, "map_partitions") and hasattr(collection, "divisions")


def _as_array(collection):
    """A Dask array of ``collection`` (a Dask array, DataFrame or Series, or anything array-like),
    with known chunk sizes; a single column becomes one-dimensional."""
    da = _array_module()
    if isinstance(collection, da.Array):
        array = collection
    elif _is_frame(collection):
        array = collection.to_dask_array(lengths=True)
    else:
        array = da.asarray(np.asarray(collection))
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if any(np.isnan(size) for sizes in array.chunks for size in sizes):
        array = array.compute_chunk_sizes()
    return array


class _Partitions:
    """Targets and weights as persisted, aligned Dask arrays, and their blocks ``[(y_i, w_i)]``.

    The persisted arrays are kept here so their data stay on the workers for every pass.
    A target that is not one-dimensional, or weights that do not match it, raise the
    ValueError ``loss.validate`` would raise on one machine.
    """

    def __init__(self, loss, y, sample_weight):
        dask = _dask()
        y = _as_array(y)
        columns = loss.multi_output and loss.target_columns  # (n, k) targets, whole rows in each block
        if y.ndim == 1 and columns:
            y = y[:, None]
        if y.ndim != 1 + columns:  # a zero-strided view: the same message without materialising anything
            loss.validate(np.broadcast_to(np.float64(0), y.shape))
        if columns:
            y = y.rechunk({1: -1})
        w = None if sample_weight is None else _as_array(sample_weight)
        if w is not None and w.shape != y.shape[:1]:
            check_sample_weight(np.broadcast_to(np.float64(0), w.shape), y.shape[0], loss)
        if w is None:
            (self.y,), self.w = dask.persist(y), None
            self.blocks = [(block, None) for block in self.y.to_delayed().ravel()]
        else:
            self.y, self.w = dask.persist(y, w.rechunk(y.chunks[:1]))
            self.blocks = list(zip(self.y.to_delayed().ravel(), self.w.to_delayed().ravel(), strict=True))

    def compute(self, function, *args) -> list:
        """``function(y_i, w_i, *args)`` on every block, on the cluster; the list of results."""
        dask = _dask()
        task = dask.delayed(function, pure=False)
        return list(dask.compute(*[task(y, w, *args) for y, w in self.blocks]))


# --------------------------------------------------------------------------- validation
# The order in which Loss.validate checks things; the whole data fails at the earliest stage
# that any partition fails at, with the counts of the partitions failing there.
_TARGETS_NUMERIC, _TARGETS_FINITE, _TARGETS_DOMAIN, _WEIGHTS_FINITE, _WEIGHTS_SIGN = range(5)


def _first_problem(loss, y, w):
    """``(stage, message)`` of the first check this partition fails, or None."""
    if np.shape(y)[0] == 0:
        return None
    try:
        y = loss.validate(y)
    except ValueError as err:
        try:
            finite = bool(np.isfinite(np.asarray(y, dtype=np.float64)).all())
        except (TypeError, ValueError):
            return _TARGETS_NUMERIC, str(err)
        return (_TARGETS_DOMAIN if finite else _TARGETS_FINITE), str(err)
    if w is not None:
        try:
            check_sample_weight(w, y.shape[0], loss)
        except ValueError as err:
            w = np.asarray(w, dtype=np.float64)
            if not np.isfinite(w).all():
                return _WEIGHTS_FINITE, str(err)
            if (w < 0).any():
                return _WEIGHTS_SIGN, str(err)
            # all zero: fine for one partition, only the total must be positive (checked globally)
    return None


def _merge_counts(problems, n_total: int) -> str:
    """One message from the partitions' messages: their ``k of n`` counts summed over partitions."""
    pattern = re.compile(r"(\d+) of (\d+)")
    parts = []
    for message, n in problems:
        match = next((m for m in pattern.finditer(message) if int(m.group(2)) == n), None)
        if match is None:
            return problems[0][0]
        parts.append((message[: match.start()], message[match.end():], int(match.group(1))))
    if len({(before, after) for before, after, _ in parts}) != 1:
        return problems[0][0]
    before, after, _ = parts[0]
    return f"{before}{sum(count for _, _, count in parts)} of {n_total}{after}"


def _raise_first_problem(loss, summaries, weighted: bool) -> None:
    n_total = sum(s["n"] for s in summaries)
    if n_total == 0:
        loss.validate(np.empty(0))
    failed = [s for s in summaries if s["problem"] is not None]
    if failed:
        stage = min(s["problem"][0] for s in failed)
        problems = [(s["problem"][1], s["n"]) for s in failed if s["problem"][0] == stage]
        raise ValueError(_merge_counts(problems, n_total))
    if weighted and not sum(s["weight"] for s in summaries) > 0:
        check_sample_weight(np.zeros(1), 1, loss)  # raises the one-machine message


def validate(loss, y, sample_weight=None) -> None:
    """Check Dask targets (and weights) for ``loss`` partition by partition, in one pass.

    Raises the ValueError ``loss.validate`` raises on the whole data: the same message, with
    the affected rows counted over all partitions (NaN or infinite targets or weights, targets
    outside the loss's domain, negative weights, weights summing to zero, mismatched shapes).
    """
    loss = get_loss(loss)
    parts = _Partitions(loss, y, sample_weight)
    _raise_first_problem(loss, parts.compute(_check_block, loss), sample_weight is not None)


def _rows(y, loss):
    """A block's targets: ``(n,)``, or ``(n, k)`` for a loss of column targets."""
    y = np.asarray(y)
    return y.reshape(y.shape[0], -1) if loss.multi_output and loss.target_columns else y.reshape(-1)


def _check_block(y, w, loss):
    y = _rows(y, loss)
    return {"n": y.shape[0], "problem": _first_problem(loss, y, w),
            "weight": float(np.sum(w)) if w is not None and y.shape[0] else 0.0}


# --------------------------------------------------------------------------- init_score
def _summarise(y, w, loss, size):
    """Validation outcome and a weighted summary of one partition's targets.

    Up to ``size`` distinct targets (and the labels of multiclass losses): every distinct value
    with its total weight, an exact summary. More: ``size`` groups of consecutive sorted values
    with equal weight, each as its weighted mean (so weighted means stay exact) with its total
    weight, plus the group boundaries as starting brackets for the root search.
    """
    summary = _check_block(y, w, loss)
    if summary["problem"] is not None or summary["n"] == 0:
        return summary
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    w = np.ones(y.size) if w is None else np.asarray(w, dtype=np.float64).reshape(-1)
    values, inverse = np.unique(y, return_inverse=True)
    weights = np.bincount(inverse.reshape(-1), weights=w, minlength=values.size)
    summary.update(exact=True, values=values, weights=weights, bounds=values[[0, -1]])
    if values.size <= size or loss.is_multiclass:
        return summary
    keep = weights > 0  # rows without weight do not move the optimum
    values, weights = values[keep], weights[keep]
    if values.size <= size:
        summary.update(values=values, weights=weights)
        return summary
    cum = np.cumsum(weights)
    group = np.minimum((size * (cum - weights) / cum[-1]).astype(np.intp), size - 1)
    group_weight = np.bincount(group, weights=weights, minlength=size)
    group_sum = np.bincount(group, weights=weights * values, minlength=size)
    first = np.searchsorted(group, np.arange(size))
    last = np.searchsorted(group, np.arange(size), side="right") - 1
    used = last >= first  # an empty group (possible at the end) has first == last + 1, maybe == values.size
    means = np.where(group_weight > 0, group_sum / np.where(group_weight > 0, group_weight, 1.0),
                     values[np.minimum(first, values.size - 1)])
    summary.update(exact=False, values=means[used], weights=group_weight[used],
                   bounds=np.concatenate([values[first[used]], values[last[used]]]))
    return summary


def init_score(loss, y, sample_weight=None, *, n_classes=None, tol=0.0):
    """``loss.init_score`` of Dask targets and weights, computed by reductions over partitions.

    ``y`` and ``sample_weight`` are Dask arrays, DataFrames (one column) or Series; they are
    validated first (see ``validate``). One pass summarises each partition's targets:

    * When the data have at most ``SKETCH_SIZE`` distinct targets per partition (classification
      labels, counts, any discretised target), the summary is exact (each distinct value with its
      total weight) and the result is ``loss.init_score`` of that summary: the same code and
      the same value as on one machine, for every loss, from this single pass.
    * Otherwise the summary gives a first estimate, ``loss.init_score`` of per-partition
      equal-weight groups (exact already for losses whose optimum is a weighted mean or its log:
      squared error, Poisson, Gamma, Tweedie), which a distributed root search then makes exact:
      the optimum is the root of the non-decreasing ``G(c) = sum_i w_i dL/dc(y_i, c)``, and each
      pass evaluates ``G`` at ``SECTIONS`` points per bracket with one reduction, shrinking the
      bracket ``SECTIONS + 1``-fold (about ten passes to full float64 precision).

    Error bound: the result is the midpoint of ``{c : G(c) = 0}`` (for quantile, absolute and
    MAPE losses, the weighted quantile with ``weighted_quantile``'s tie rule) to within
    ``max(tol, one float64 spacing)``, where ``|G(c)| <= 1e-12 sum_i w_i |dL/dc|`` counts as zero
    (rounding of the sums; the tolerance ``weighted_quantile`` uses for ties). A first estimate
    whose gradient is zero in that sense with positive curvature is returned after one check pass.
    """
    loss = get_loss(loss)
    parts = _Partitions(loss, y, sample_weight)
    if loss.multi_output and loss.target_columns:
        _raise_first_problem(loss, parts.compute(_check_block, loss), sample_weight is not None)
        return _multi_output_init(loss, parts, tol)
    summaries = parts.compute(_summarise, loss, SKETCH_SIZE)
    _raise_first_problem(loss, summaries, sample_weight is not None)
    return _start(loss, parts, [s for s in summaries if s["n"]], n_classes=n_classes, tol=tol)


def _start(loss, parts, summaries, *, n_classes=None, tol=0.0, exact_start=None):
    """``init_score`` from the validated summaries of the non-empty partitions: ``exact_start(values,
    weights)`` (default ``loss.init_score``) of an exact summary, else the root search (for a
    multi-output loss, ``_multi_output_init``) from the summary's first estimate."""
    values = np.concatenate([s["values"] for s in summaries])
    weights = np.concatenate([s["weights"] for s in summaries])
    exact = all(s["exact"] for s in summaries)
    if exact:  # merge equal values across partitions
        values, inverse = np.unique(values, return_inverse=True)
        weights = np.bincount(inverse.reshape(-1), weights=weights, minlength=values.size)
    if loss.is_multiclass:
        return loss.init_score(values, weights, n_classes=n_classes)
    if exact:
        try:
            return (exact_start or loss.init_score)(values, weights)
        except ValueError as err:  # a count of the summary's rows ("the 1 samples"): the data's
            n_total = sum(s["n"] for s in summaries)
            raise ValueError(re.sub(rf"\b{values.size} samples\b", f"{n_total} samples", str(err))) from None
    if loss.multi_output:
        return _multi_output_init(loss, parts, tol, summaries, (values, weights))
    bounds = np.unique(np.concatenate([s["bounds"] for s in summaries]))
    with np.errstate(divide="ignore", invalid="ignore"):
        candidates = loss.link(bounds)
    candidates = candidates[np.isfinite(candidates)]
    try:
        start = loss.init_score(values, weights)
    except ValueError:  # a group mean outside a non-convex domain (MAPE's y != 0): any start will do
        start = float(np.median(candidates))
    return _root(loss, parts, float(start), candidates, float(tol))


def _multi_output_init(loss, parts, tol, summaries=None, summary=None):
    """The ``(k,)`` start of a multi-output loss whose targets are not summarised exactly (column
    targets: ``summaries`` None). A stack of one-output losses (``multi_quantile``, the multi-label
    losses): each part's ``_start`` on its column, from the shared target's ``summaries`` or the
    column's own (exact: the stack's rule, which starts a multi-label column of one class too).
    Otherwise Newton steps (``_newton_start``, one reduction each) from ``loss.init_score`` of the
    targets' ``summary`` ``(values, weights)`` (column targets: their weighted mean row), to a zero
    of the summed gradient."""
    k = loss.n_outputs(parts.y)
    if isinstance(loss, ColumnStack):
        if not loss.target_columns:
            return np.array([float(_start(part, parts, summaries, tol=tol)) for part in loss.parts(k)])
        starts = []
        for j, part in enumerate(loss.parts(k)):
            column = _Partitions(part, parts.y[:, j], parts.w)
            summaries = [s for s in column.compute(_summarise, part, SKETCH_SIZE) if s["n"]]
            starts.append(float(_start(part, column, summaries, tol=tol, exact_start=partial(loss._part_init, part))))
        return np.array(starts)
    if summary is None:  # column targets: the weighted mean row, whose start is the constant's first estimate
        sums = np.sum(parts.compute(_column_sums), axis=0)
        summary = (sums[None, 1:] / sums[0], sums[:1])
    values, weights = summary
    return _newton_start(loss, parts, np.asarray(loss.init_score(values, weights), dtype=np.float64))


def _column_sums(y, w):
    """``[sum w, sum w y_1, ..., sum w y_k]`` of one block of column targets."""
    y = np.asarray(y, dtype=np.float64)
    y = y.reshape(y.shape[0], -1)
    w = np.ones(y.shape[0]) if w is None else np.asarray(w, dtype=np.float64).reshape(-1)
    return np.concatenate([[w.sum()], w @ y])


def _hessian_sums(y, w, loss, point):
    """``[sum w, sum w h_1, ..., sum w h_k]`` of one block at the constant score ``point``."""
    y = _rows(y, loss).astype(np.float64)
    if y.shape[0] == 0:
        return np.zeros(1 + point.size)
    w = None if w is None else np.asarray(w, dtype=np.float64).reshape(-1)
    hess = loss.grad_hess(y, np.tile(point, (y.shape[0], 1)), w)[1]  # weighted
    return np.concatenate([[y.shape[0] if w is None else w.sum()], hess.sum(axis=0)])


def _scoring_sums(y, w, loss, points):
    """``[sum w L, sum w g (k), sum w |g| (k), sum w h (k)]`` at each constant score (row) of ``points``."""
    y = _rows(y, loss).astype(np.float64)
    k = points.shape[1]
    out = np.zeros((points.shape[0], 1 + 3 * k))
    if y.shape[0] == 0:
        return out
    w = None if w is None else np.asarray(w, dtype=np.float64).reshape(-1)
    for i, point in enumerate(points):
        raw = np.tile(point, (y.shape[0], 1))
        value = loss.loss(y, raw)
        grad, hess = loss.grad_hess(y, raw, w)  # weighted
        out[i] = np.concatenate([[np.sum(value if w is None else w * value)], grad.sum(axis=0),
                                 np.abs(grad).sum(axis=0), hess.sum(axis=0)])
    return out


def _newton_start(loss, parts, start, iterations=100):
    """Newton steps on the summed gradient ``G`` from ``start``, inside the loss's ``raw_bounds``:
    each pass sums ``G`` at the point and at ``k`` forward-difference neighbours, whose Jacobian
    gives the step (where it is positive definite; else the policy Hessian's, for the distributions
    the Fisher information: the parameters may be correlated, as the Student-t's scale and degrees
    of freedom are). A step is halved until the summed loss or the free gradient falls (the loss
    alone is flat to rounding near the optimum); the scores stop where every free ``|G_j| <=
    ZERO_RTOL * sum w |g_j|``, where neither falls any more, where the steps no longer move them,
    or at a bound that the gradient pushes against."""
    k = start.size
    bounds = np.array(getattr(loss, "raw_bounds", ()) or [(-np.inf, np.inf)] * k, dtype=np.float64)
    low, high = bounds[:, 0], bounds[:, 1]

    def sums(point):
        steps = 1e-6 * np.maximum(1.0, np.abs(point))
        steps = np.where(point + steps > high, -steps, steps)  # backwards at an upper bound
        total = np.sum(parts.compute(_scoring_sums, loss, np.vstack([point, point + np.diag(steps)])), axis=0)
        grad = total[0, 1:1 + k]
        jacobian = (total[1:, 1:1 + k] - grad).T / steps
        return total[0, 0], grad, total[0, 1 + k:1 + 2 * k], 0.5 * (jacobian + jacobian.T), total[0, 1 + 2 * k:]

    point = np.clip(start, low, high)
    value, grad, grad_abs, jacobian, hess = sums(point)
    size = np.where(grad_abs > 0, grad_abs, 1.0)
    for _ in range(iterations):
        pinned = ((point <= low) & (grad > 0)) | ((point >= high) & (grad < 0))  # pushed against a bound
        free = ~pinned
        if np.all(np.abs(grad[free]) <= ZERO_RTOL * grad_abs[free]):  # zero to rounding (softmax: along its
            return point  # constant direction too, where the Jacobian is singular)
        step = np.zeros(k)
        try:
            np.linalg.cholesky(jacobian[np.ix_(free, free)])
            step[free] = -np.linalg.solve(jacobian[np.ix_(free, free)], grad[free])
        except np.linalg.LinAlgError:
            step[free] = -grad[free] / np.where(hess[free] > 0, hess[free], np.abs(grad[free]) + 1.0)
        for _ in range(60):
            candidate = np.clip(point + step, low, high)  # the loss's clip: flat beyond
            if np.all(np.abs(candidate - point) <= 4 * np.spacing(np.maximum(np.abs(point), 1.0))):
                return point  # the step is below rounding: converged
            new = sums(candidate)
            falls = np.max(np.abs(new[1][free]) / size[free]) < np.max(np.abs(grad[free]) / size[free])
            if new[0] < value - 1e-12 * abs(value) or falls:
                break
            step = step / 2
        else:
            return point
        point, (value, grad, grad_abs, jacobian, hess) = candidate, new
    return point


def _scale_sums(y, w, loss, init, residual):
    """``[sum w, sum w |init - y|, sum w h]`` of one partition (``h``: the policy Hessian at the
    floor given by ``residual``; 0 when ``residual`` is None)."""
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    if y.size == 0:
        return np.zeros(3)
    w = np.ones_like(y) if w is None else np.asarray(w, dtype=np.float64).reshape(-1)
    raw = per_row(init, y.size)
    hess = 0.0 if residual is None else loss.grad_hess(y, raw, w, residual_scale=residual)[1].sum()
    return np.array([w.sum(), kernels.dot(w, np.abs(raw - y)), hess])  # not np.dot: see kernels.dot


def boosting_scale(loss, y, sample_weight, init, per_round=False):
    """``loss.boosting_scale`` at the start score ``init`` over all partitions (two reductions),
    for ``bl.xgboost.objective(loss, scale)`` / ``bl.lightgbm.objective(loss, scale)``: fixed
    for the run, so every worker scales its rows as one machine would. None if not rescaled.
    ``per_round=True`` (for XGBoost, whose objective all-reduces the factor's sums across the
    workers each round, as one machine computes it over all rows) leaves the factor to each round."""
    loss = get_loss(loss)
    if loss.is_multiclass or not loss._rescales_hessian():
        return None
    from .losses.base import BoostingScale

    parts = _Partitions(loss, y, sample_weight)
    init = np.atleast_1d(np.asarray(init, dtype=np.float64))
    if isinstance(loss, ColumnStack):  # each part's scale on its column
        k = init.size
        columns = [parts.y[:, j] if loss.target_columns else parts.y for j in range(k)]
        scales = [boosting_scale(part, column, parts.w, init[j:j + 1], per_round)
                  for j, (part, column) in enumerate(zip(loss.parts(k), columns, strict=True))]
        return BoostingScale(np.array([s.residual for s in scales]),
                             None if per_round else np.array([s.factor for s in scales]))
    if loss.multi_output:  # one factor per column, sum(w) / sum(w h_j) at the start
        if per_round:
            return BoostingScale(1.0, None)
        sums = np.sum(parts.compute(_hessian_sums, loss, init), axis=0)
        return BoostingScale(1.0, _column_factors(sums[0], sums[1:]))
    weight, absolute, _ = np.sum(parts.compute(_scale_sums, loss, init, None), axis=0)
    residual = float(absolute / weight) or 1.0
    if per_round:  # no second reduction for a factor each round takes afresh
        return BoostingScale(residual, None)
    hess = float(np.sum(parts.compute(_scale_sums, loss, init, residual), axis=0)[2])
    return BoostingScale(residual, weight / hess if np.isfinite(hess) and hess > 0 else 1.0)


def _gradient_sums(y, w, loss, points):
    """``[sum w g, sum w |g|, sum w h]`` of the exact derivatives at each constant score in ``points``."""
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    sums = np.zeros((len(points), 3))
    if y.size == 0:
        return sums
    w = None if w is None else np.asarray(w, dtype=np.float64).reshape(-1)
    for j, c in enumerate(points):
        grad, hess = loss.exact_grad_hess(y, np.full(y.size, c))
        if w is not None:
            grad, hess = grad * w, hess * w
        sums[j] = grad.sum(), np.abs(grad).sum(), hess.sum()
    return sums


class _Signs:
    """The sign of ``G`` at every point evaluated so far (one reduction per batch of points)."""

    def __init__(self, loss, parts):
        self.loss, self.parts, self.sign, self.curvature = loss, parts, {}, {}

    def evaluate(self, points) -> None:
        new = sorted({float(p) for p in points if np.isfinite(p)} - self.sign.keys())
        if not new:
            return
        sums = np.sum(self.parts.compute(_gradient_sums, self.loss, np.array(new)), axis=0)
        for point, (g, g_abs, h) in zip(new, sums, strict=True):
            self.sign[point] = 0 if abs(g) <= ZERO_RTOL * g_abs else int(np.sign(g))
            self.curvature[point] = h

    def first(self, accept):
        """The smallest point whose sign passes ``accept``, and the largest point below it that fails."""
        points = sorted(self.sign)
        above = next((p for p in points if accept(self.sign[p])), None)
        below = [p for p in points if (above is None or p < above) and not accept(self.sign[p])]
        return (below[-1] if below else None), above


def _root(loss, parts, start, candidates, tol):
    """Midpoint of the zero set of the non-decreasing ``G`` by distributed K-section (see ``init_score``)."""
    signs = _Signs(loss, parts)
    nearest = candidates[np.argsort(np.abs(candidates - start))[: 2 * SECTIONS]]
    signs.evaluate([start, *nearest, *candidates[[0, -1]]] if candidates.size else [start])
    if signs.sign[start] == 0 and signs.curvature[start] > 0:
        return start
    for _ in range(64):  # widen until G changes sign
        points = sorted(signs.sign)
        steps = max(points[-1] - points[0], abs(start), 1e-3) * 2.0 ** np.arange(SECTIONS)
        left, right = signs.first(lambda s: s >= 0), signs.first(lambda s: s > 0)
        if left[0] is None or right[0] is None:
            signs.evaluate(points[0] - steps)
        elif left[1] is None or right[1] is None:
            signs.evaluate(points[-1] + steps)
        else:
            break
    else:
        raise RuntimeError(f"{loss}: init_score could not bracket the optimum")
    while True:
        left = signs.first(lambda s: s >= 0)  # (a, b]: G(a) < 0 <= G(b)
        right = signs.first(lambda s: s > 0)  # (a, b]: G(a) <= 0 < G(b)
        new = []
        for low, high in {left, right}:
            if high - low > tol:
                inner = low + (high - low) * np.arange(1, SECTIONS + 1) / (SECTIONS + 1)
                new.extend(p for p in inner if low < p < high)
        if not new:
            return 0.5 * (left[1] + right[1])
        signs.evaluate(new)


# --------------------------------------------------------------------------- XGBoost metric
class ExactXGBoostMetric(XGBoostMetric):
    """``bl.xgboost.metric`` whose statistics are all-reduced across XGBoost's workers (a mean's
    two sums, R2's two passes, F1's counts, the median's bisection steps), so each worker
    reports the metric of the whole evaluation set. (XGBoost averages the workers' own
    values, which is not the metric of their union.) On one machine it equals ``bl.xgboost.metric``."""

    def _value(self, y, raw, w):
        collective = import_booster("xgboost.collective", "xgboost")
        if collective.get_world_size() == 1:
            return self.metric.evaluate(y, raw, w, self.link)
        ops = {"sum": collective.Op.SUM, "min": collective.Op.MIN, "max": collective.Op.MAX}

        def reduce(values, op="sum"):
            return collective.allreduce(np.asarray(values, dtype=np.float64), ops[op])

        return self.metric.evaluate(y, raw, w, self.link, reduce=reduce)


def xgboost_metric(metric_or_loss, loss=None) -> ExactXGBoostMetric:
    """The XGBoost custom metric for ``xgboost.dask.train`` (``custom_metric=``) and
    ``DaskXGB*`` estimators (``eval_metric=``): as ``bl.xgboost.metric``, exact across workers."""
    return ExactXGBoostMetric(metric_or_loss, loss)


# --------------------------------------------------------------------------- prediction
def _dask_array(raw):
    """Raw scores as a Dask array (from a Dask frame or series, or an in-memory array)."""
    da = _array_module()
    if _is_frame(raw):
        raw = raw.to_dask_array()
    return raw if isinstance(raw, da.Array) else da.asarray(np.asarray(raw))


def _raw_to_units(raw, loss, columns: bool = False):
    """``loss.inverse_link`` on a Dask array of raw scores, block by block. With ``columns``,
    one-output scores become ``(n, 2)`` probabilities of classes 0 and 1."""
    raw = _dask_array(raw)
    link = loss.inverse_link
    if raw.ndim == 2 and np.ndim(link(np.zeros((1, raw.shape[1])))) == 1:  # k scores, one prediction (a mean)
        return raw.map_blocks(link, dtype=np.float64, drop_axis=1)
    if raw.ndim == 2 or not columns:
        return raw.map_blocks(link, dtype=np.float64)

    def two_columns(block):
        p = link(block)
        return np.column_stack([1.0 - p, p])

    return raw.map_blocks(two_columns, dtype=np.float64, new_axis=1, chunks=(raw.chunks[0], (2,)))


def predict(model, X, loss, **kwargs):
    """Predictions in the target's units, as a Dask array: ``loss.inverse_link`` of raw scores.

    ``model`` is an XGBoost Booster or the dictionary ``xgboost.dask.train`` returns (then
    ``X`` may be a DaskDMatrix or a Dask collection), or a fitted ``DaskXGB*``/``DaskLGBM*``
    estimator. Other keyword arguments go to the booster's predict.
    """
    loss = get_loss(loss)
    if isinstance(model, dict):
        model = model["booster"]
    if type(model).__module__.startswith("xgboost"):
        xgb_dask = _booster_dask("xgboost")
        if isinstance(model, import_booster("xgboost", "xgboost").Booster):
            raw = xgb_dask.predict(None, model, X, output_margin=True, **kwargs)
        else:
            raw = model.predict(X, output_margin=True, **kwargs)
    else:
        raw = model.predict(X, raw_score=True, **kwargs)
    return _raw_to_units(raw, loss)


# --------------------------------------------------------------------------- estimators
def _booster_name(estimator) -> str:
    module = type(estimator).__module__
    for name in ("xgboost", "lightgbm"):
        if module.startswith(f"{name}.dask"):
            return name
    raise TypeError("estimator must be a Dask estimator of XGBoost or LightGBM (DaskXGBRegressor, "
                    f"DaskXGBClassifier, DaskLGBMRegressor or DaskLGBMClassifier), got {type(estimator).__name__}")


def _per_row_scores(y, init):
    """The start score for every row of ``y``, partitioned like ``y`` (what LightGBM's Dask
    interface pairs with the data partition by partition)."""
    if _is_frame(y):
        import pandas as pd

        def part(frame):
            scores = per_row(init, len(frame))
            return pd.Series(scores, index=frame.index) if scores.ndim == 1 else pd.DataFrame(scores, index=frame.index)

        meta = pd.Series([], dtype=np.float64) if init.size == 1 else pd.DataFrame(np.zeros((0, init.size)))
        return y.map_partitions(part, meta=meta)
    y = _as_array(y)
    if init.size == 1:
        return y.map_blocks(lambda block: per_row(init, len(block)), dtype=np.float64)
    return y.map_blocks(lambda block: per_row(init, len(block)), dtype=np.float64, new_axis=1,
                        chunks=(y.chunks[0], (init.size,)))


def _eval_weights(eval_sets):
    """The evaluation sets' weights: None if none has any, else unit weights for those without."""
    if all(we is None for _, _, we in eval_sets):
        return None
    return [_per_row_scores(ye, np.ones(1)) if we is None else we for _, ye, we in eval_sets]


def _fit_xgboost(estimator, loss, init, scale, X, y, sample_weight, eval_sets, eval_metric, fit_params):
    from . import xgboost as adapter

    base = init
    if is_classifier(estimator) and not loss.is_multiclass:  # its binary:logistic reads a probability
        base = 1.0 / (1.0 + np.exp(-init))
    if loss.is_multiclass and not is_classifier(estimator):
        estimator.set_params(num_class=init.size)
    if loss.multi_output:  # num_target and the (k,) base_score, as on one machine
        outputs = adapter._outputs(loss, init, estimator.get_params())
        base = np.asarray(outputs.pop("base_score"))
        estimator.set_params(**outputs)
    estimator.set_params(objective=adapter.objective(loss, scale),
                         eval_metric=xgboost_metric(eval_metric or loss, loss),
                         base_score=base.tolist() if base.size > 1 else float(base[0]),
                         disable_default_eval_metric=True)
    if eval_sets:
        fit_params.update(eval_set=[(Xe, ye) for Xe, ye, _ in eval_sets],
                          sample_weight_eval_set=_eval_weights(eval_sets))
    estimator.fit(X, y, sample_weight=sample_weight, verbose=False, **fit_params)


def _fit_lightgbm(estimator, loss, init, scale, X, y, sample_weight, eval_sets, eval_metric, fit_params):
    from . import lightgbm as adapter

    estimator.set_params(objective=adapter.objective(loss, scale), metric="None")
    if loss.is_multiclass or loss.multi_output:
        estimator.set_params(num_class=init.size)
    callbacks = [*fit_params.pop("callbacks", []), adapter._AddStartToFirstTrees(init)]
    if eval_sets:
        if "eval_X" in inspect.signature(estimator.fit).parameters:  # LightGBM >= 4.7
            fit_params.update(eval_X=tuple(Xe for Xe, _, _ in eval_sets), eval_y=tuple(ye for _, ye, _ in eval_sets))
        else:
            fit_params["eval_set"] = [(Xe, ye) for Xe, ye, _ in eval_sets]
        fit_params.update(eval_sample_weight=_eval_weights(eval_sets),
                          eval_init_score=[_per_row_scores(ye, init) for _, ye, _ in eval_sets],
                          eval_metric=adapter.metric(eval_metric or loss, loss))
    with warnings.catch_warnings():  # lightgbm.dask warns on every fit that n_jobs (always in its params) is ignored
        warnings.filterwarnings("ignore", "Parameter n_jobs will be ignored", UserWarning)
        estimator.fit(X, y, sample_weight=sample_weight, init_score=_per_row_scores(y, init), callbacks=callbacks,
                      **fit_params)


def _default_estimator(kind: str):
    lgb_dask = _booster_dask("lightgbm")
    return lgb_dask.DaskLGBMRegressor(verbose=-1) if kind == "regressor" else lgb_dask.DaskLGBMClassifier(verbose=-1)


class _DaskBoostBase(BaseEstimator):
    """Shared fitting and prediction on Dask collections; subclasses prepare the targets."""

    _kind = "regressor"

    def __init__(self, estimator=None, loss="squared_error", eval_metric=None):
        self.estimator = estimator
        self.loss = loss
        self.eval_metric = eval_metric

    def _fit(self, X, y, sample_weight, eval_set, fit_params, n_classes=None):
        estimator = self.estimator if self.estimator is not None else _default_estimator(self._kind)
        booster = _booster_name(estimator)
        self._check_estimator_kind(estimator)
        self.loss_ = self._loss_for_booster(clone(get_loss(self.loss)))
        if booster == "lightgbm" and self.loss_.round_statistic:
            raise ValueError(f"{self.loss_}: its row weights are a statistic of each whole round, which LightGBM's "
                             "Dask workers cannot sum for a Python objective; use a DaskXGBRegressor or "
                             "DaskXGBClassifier, whose objective sums it over the workers")
        init = init_score(self.loss_, y, sample_weight, n_classes=n_classes)  # validates y and w first
        self.init_score_ = np.atleast_1d(np.asarray(init, dtype=np.float64))
        eval_sets = []
        for item in eval_set or []:
            Xe, ye, *we = item
            ye = self._encode_eval(ye)
            validate(self.loss_, ye, we[0] if we else None)
            eval_sets.append((Xe, ye, we[0] if we else None))
        self.estimator_ = clone(estimator)
        fit = _fit_xgboost if booster == "xgboost" else _fit_lightgbm
        # XGBoost all-reduces the factor each round, as one machine takes it over all rows;
        # LightGBM cannot, and keeps the start's (with its default lambda_l2=0 only
        # min_sum_hessian_in_leaf sees the difference)
        scale = boosting_scale(self.loss_, y, sample_weight, self.init_score_, per_round=booster == "xgboost")
        fit(self.estimator_, self.loss_, self.init_score_, scale, X, y, sample_weight, eval_sets, self.eval_metric,
            dict(fit_params))
        return self

    def _check_estimator_kind(self, estimator):
        pass

    def _loss_for_booster(self, loss):
        return loss

    def _encode_eval(self, y):
        return y

    def _raw(self, X):
        check_is_fitted(self, "estimator_")
        if _booster_name(self.estimator_) == "xgboost":
            return self.estimator_.predict(X, output_margin=True)
        return self.estimator_.predict(X, raw_score=True)

    @property
    def feature_importances_(self):
        check_is_fitted(self, "estimator_")
        return self.estimator_.feature_importances_

    @property
    def evals_result_(self):
        check_is_fitted(self, "estimator_")
        booster = self.estimator_
        return booster.evals_result() if _booster_name(booster) == "xgboost" else booster.evals_result_


class BoostRegressor(RegressorMixin, _DaskBoostBase):
    """A Dask booster trained with a boostloss regression loss, on Dask arrays or DataFrames.

    Parameters
    ----------
    estimator : DaskXGBRegressor or DaskLGBMRegressor (unfitted), default DaskLGBMRegressor().
        Booster settings (and the Dask ``client``) stay on it.
    loss : Loss or registry name, default "squared_error". Not a binary or multiclass loss.
    eval_metric : Metric, Loss, name or None (the loss itself), reported for ``eval_set``.

    ``fit(X, y, sample_weight=None, eval_set=None, **fit_params)`` validates targets and weights
    and computes ``loss.init_score`` by reductions over the partitions (see ``init_score``),
    then trains with the loss as objective from that start, which the fitted model keeps.
    ``eval_set`` is a list of ``(X, y)`` or ``(X, y, sample_weight)`` evaluated every round
    (``evals_result_``); there is no early stopping (LightGBM's Dask interface has none).
    ``predict`` returns a Dask array in the target's units.

    Attributes: ``estimator_``, ``loss_``, ``init_score_``, ``feature_importances_``, ``evals_result_``.
    """

    def fit(self, X, y, sample_weight=None, eval_set=None, **fit_params):
        check_regression_loss(get_loss(self.loss))
        return self._fit(X, y, sample_weight, eval_set, fit_params)

    def _check_estimator_kind(self, estimator):
        if is_classifier(estimator):
            raise ValueError(f"BoostRegressor needs a regressor as estimator, got {type(estimator).__name__}")

    def predict(self, X):
        """Predictions in the target's units (a Dask array); for a distribution loss its mean, for
        ``multi_quantile`` the quantile nearest the median (as ``boostloss.sklearn.BoostRegressor``)."""
        if not self.loss_.multi_output:
            return _raw_to_units(self._raw(X), self.loss_)
        return _dask_array(self._raw(X)).map_blocks(partial(point_predictions, self.loss_), drop_axis=1,
                                                    dtype=np.float64)

    @available_if(lambda self: _predicts(self, "quantiles"))
    def predict_quantiles(self, X, alphas=None):
        """The ``alphas``-quantiles of each row, a Dask array ``(n, len(alphas))`` (as
        ``boostloss.sklearn.BoostRegressor.predict_quantiles``: distribution losses, ``multi_quantile``)."""
        raw = _dask_array(self._raw(X))
        levels = quantile_levels(self.loss_, alphas)
        return raw.map_blocks(partial(quantile_predictions, self.loss_), levels=levels, dtype=np.float64,
                              chunks=(raw.chunks[0], (levels.size,)))

    @available_if(lambda self: _predicts(self, "quantiles"))
    def predict_interval(self, X, level=0.9):
        """The central interval holding ``level`` of each row's probability: ``(lower, upper)`` Dask arrays."""
        bounds = self.predict_quantiles(X, [(1.0 - level) / 2.0, (1.0 + level) / 2.0])
        return bounds[:, 0], bounds[:, 1]


class BoostClassifier(ClassifierMixin, _DaskBoostBase):
    """A Dask booster trained with a boostloss binary or multiclass loss, on Dask collections.

    Parameters
    ----------
    estimator : DaskXGBClassifier or DaskLGBMClassifier (unfitted; their regressor counterparts
        work too), default DaskLGBMClassifier().
    loss : Loss or registry name, default "logistic". A binary loss needs exactly two classes.
    eval_metric : as for ``BoostRegressor``.

    Labels may be of any type; ``classes_`` holds them sorted (found by a distributed
    ``unique``) and they are encoded partition by partition. ``predict_proba`` returns a Dask
    array of probabilities whose rows sum to 1, ``decision_function`` the raw margins,
    ``predict`` the most probable label. On two classes a multiclass loss trains one score per
    row, as ``boostloss.sklearn.BoostClassifier`` does. No ``class_weight``: pass weights.
    """

    _kind = "classifier"

    def __init__(self, estimator=None, loss="logistic", eval_metric=None):
        super().__init__(estimator=estimator, loss=loss, eval_metric=eval_metric)

    def fit(self, X, y, sample_weight=None, eval_set=None, **fit_params):
        loss = get_loss(self.loss)
        if (loss.multi_output and loss.target_columns) or (getattr(y, "ndim", 1) == 2 and y.shape[1] != 1):
            raise ValueError("bl.dask.BoostClassifier takes one label per row; for (n, k) multi-label or "
                             "probability targets use xgboost.dask.train with bl.dask.init_score (see the README)")
        if not (loss.is_multiclass or isinstance(loss, BinaryLoss)):
            raise ValueError(f"BoostClassifier: {loss!r} is a regression loss; use BoostRegressor")
        self.classes_ = _classes(y)
        n_classes = len(self.classes_)
        if n_classes < 2:
            raise ValueError(f"BoostClassifier: y has 1 class ({self.classes_[0]!r}); need at least two")
        if isinstance(loss, BinaryLoss) and n_classes != 2:
            raise ValueError(f"BoostClassifier: {loss!r} is a binary loss but y has {n_classes} classes")
        encoded = _encode(y, self.classes_)
        return self._fit(X, encoded, sample_weight, eval_set, fit_params,
                         n_classes=n_classes if loss.is_multiclass else None)

    def _loss_for_booster(self, loss):
        return TwoClassView(loss) if loss.is_multiclass and len(self.classes_) == 2 else loss

    def _encode_eval(self, y):
        unknown = set(_classes(y).tolist()) - set(self.classes_.tolist())
        if unknown:
            raise ValueError(f"BoostClassifier: eval_set has labels not seen in training: {sorted(unknown)}")
        return _encode(y, self.classes_)

    def decision_function(self, X):
        """Raw margins (a Dask array): ``(n,)`` log-odds of the second class on two classes, else ``(n, k)``."""
        return self._raw(X)

    @available_if(estimates_probabilities)
    def predict_proba(self, X):
        """Class probabilities, a Dask array of shape ``(n, n_classes)``, rows summing to 1 (absent
        for the losses without probabilities, as in ``boostloss.sklearn.BoostClassifier``)."""
        return _raw_to_units(self._raw(X), self.loss_, columns=True)

    def predict(self, X):
        """The most probable class label (for a margin loss, the side of the margin), a Dask array."""
        raw = _dask_array(self._raw(X))
        return raw.map_blocks(margin_labels, self.classes_, drop_axis=1 if raw.ndim == 2 else [],
                              dtype=self.classes_.dtype)


def _classes(y) -> np.ndarray:
    """The sorted distinct labels of a Dask collection (a distributed unique)."""
    da = _array_module()
    if _is_frame(y):
        labels = y.drop_duplicates().compute()
        labels = labels.to_numpy().ravel()
    else:
        labels = da.unique(_as_array(y)).compute()
    labels = np.asarray(labels)
    if labels.dtype.kind == "f" and np.isnan(labels).any():
        raise ValueError("BoostClassifier: y contains NaN labels")
    return np.unique(labels)


def _encode(y, classes):
    """Labels as class indices ``0..k-1`` (float), partitioned like ``y``."""
    def codes(block):
        return np.searchsorted(classes, np.asarray(block).reshape(-1)).astype(np.float64)

    if _is_frame(y):
        import pandas as pd

        series = y.iloc[:, 0] if getattr(y, "ndim", 1) == 2 else y
        return series.map_partitions(lambda s: pd.Series(codes(s.to_numpy()), index=s.index),
                                     meta=(series.name, np.float64))
    return _as_array(y).map_blocks(codes, dtype=np.float64)
