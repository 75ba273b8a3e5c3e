"""CatBoost adapter: a Loss as a CatBoost objective and metric, started from its optimal constant.

::

    model = bl.catboost.train(loss, {"iterations": 200, "depth": 6}, train_pool, eval_set=valid_pool)
    pred = bl.catboost.predict(model, X_test, loss)          # target units

CatBoost wants ``der1 = -dL/dF`` and ``der2 = -d2L/dF2`` (the negated convention); the
objective returns them as one ``(n, 2)`` float64 array, CatBoost's fast path. ``train`` sets
each pool's ``baseline`` to ``loss.init_score`` for the fit (CatBoost forbids ``boost_from_average``
with a custom objective), then restores the pools' baselines and stores the start as the model's
bias (``set_scale_and_bias``), which CatBoost saves, since it does not keep a pool's baseline.
``CatBoostRegressor(loss_function=bl.catboost.objective(loss),
eval_metric=bl.catboost.metric(loss))`` works directly too, starting from 0.

Both classes set ``no_jit``: when numba is installed CatBoost otherwise tries to compile
their methods (and replaces them on the instance, which breaks pickling).

``prefer_native=True`` (``objective``, ``train``) hands CatBoost its own loss-function string
instead (``native_loss``: ``"RMSE"``, ``"Huber:delta=2.0"``, ``"MultiClass"``, ...) when CatBoost
has the same loss with the same parameters and targets, and falls back to the Python objective
otherwise. The objective then runs at the built-in's speed (the Python objective is called
once per row for multiclass); the start, bias and default metric (in Python) stay ours.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager, nullcontext

import numpy as np

from . import losses as L
from ._booster import RoundInputs, boosting_scale, import_booster, nonempty, per_row, resolve_metric, start_scores
from .losses.base import secant_floor
from .registry import get_loss


def _catboost():
    return import_booster("catboost", "catboost")


class CatBoostObjective:
    """CatBoost custom objective: ``calc_ders_range`` for one output, ``calc_ders_multi``
    (one row per call, as CatBoost requires) for multiclass losses."""

    no_jit = True

    def __init__(self, loss, scale=None):
        self.loss = get_loss(loss)
        self.scale = scale  # a BoostingScale fixed for the training run; None: fixed at the first block
        self.inputs = RoundInputs(self.loss)  # only its token: see checked_targets

    def calc_ders_range(self, approxes, targets, weights):
        if self.inputs.is_checked():  # see checked_targets: one kernel call per block
            if self.loss.round_statistic:  # kernel arguments of the round's own (GHM): the loss's path, unchecked
                ders = np.empty((2, targets.shape[0]))
                self.loss.boosting_grad_hess(targets, approxes, weights, out=ders, state=self.inputs.shared_state())
                return np.negative(ders, out=ders).T
            kernel, args, factor = self.__dict__.get("_prepared") or self._prepare()
            ders = np.empty((2, targets.shape[0]))
            kernel(targets, approxes, _NO_WEIGHTS if weights is None else weights, *args, ders[0], ders[1])
            ders *= factor
            return ders.T
        y = self.loss.validate(targets, weights)
        state = self.inputs.shared_state()
        if state is None and self.loss.round_statistic:
            raise ValueError(f"{self.loss}: its row weights are a statistic of each whole round, which CatBoost "
                             "hands over in blocks: train with bl.catboost.train or boostloss's estimators, "
                             "which end the rounds")
        if self.scale is None and self.loss._rescales_hessian():
            # CatBoost hands over blocks of <= 1000 rows: fix the scale once (train() and the
            # estimators compute it on all rows instead) rather than letting every block differ
            self.scale = self.loss.boosting_scale(y, approxes, weights)
        ders = np.empty((y.shape[0], 2))
        self.loss.boosting_grad_hess(y, approxes, weights, self.scale, out=(ders[:, 0], ders[:, 1]), state=state)
        return np.negative(ders, out=ders)

    def calc_ders_multi(self, approx, target, weight):
        try:  # per thread: CatBoost calls from several
            row = self._rows.row
        except AttributeError:
            row = None
            if "_rows" not in self.__dict__:
                self.__dict__["_rows"] = threading.local()
        if row is None or row.k != len(approx):
            row = self._rows.row = _MulticlassRow(self.loss, len(approx))
        return row(approx, target, 1.0 if weight is None else weight)

    @contextmanager
    def checked_targets(self):
        """For ``train``, which has validated the targets and weights of every row and fixed
        the scale: inside the block, ``calc_ders_range`` skips the per-block checks and the
        generic path and costs one compiled-kernel call (a loss with a round statistic, GHM: its
        own path, without the checks). CatBoost calls it for blocks of up to
        1000 rows from several threads, which contend for Python's lock, so what a call costs
        is paid about twice. The objective (and the copies CatBoost makes of its parameters,
        which share its token) checks every block again once the block is left."""
        if self._prepare() is None and not self.loss.round_statistic:
            yield self
            return
        with self.inputs.checked():
            yield self

    def _prepare(self):
        """``(kernel, kernel args, factor)`` for the fixed scale (factor negated, as CatBoost
        wants), or None where the generic path is needed."""
        loss, scale = self.loss, self.scale
        rescaled = loss._rescales_hessian()
        if (loss.kernel is None or loss.is_multiclass or loss.round_statistic
                or (rescaled and (scale is None or scale.factor is None))):
            return None
        policy = getattr(loss, "hessian", "exact")
        eps = secant_floor(None, None, scale.residual) if policy == "secant" and loss.uses_secant_floor else 0.0
        prepared = self.__dict__["_prepared"] = (
            loss.kernel, loss._kernel_args(policy, eps, None), -(scale.factor if rescaled else 1.0))
        return prepared

    @contextmanager
    def rounds(self, fit_kwargs: dict):
        """For ``train`` and ``fit_estimator``: ``fit_kwargs`` with, for a loss with a round statistic
        (GHM), a callback ending each round of the run's shared round state (``RoundInputs.shared_rounds``)."""
        with self.inputs.shared_rounds() as state:
            if state is not None:
                fit_kwargs = {**fit_kwargs, "callbacks": [*(fit_kwargs.get("callbacks") or []), _RoundEnds(state)]}
            yield fit_kwargs

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("_rows", None)  # caches, rebuilt on first use
        state.pop("_prepared", None)
        return state

    def __repr__(self):
        return f"bl.catboost.objective({self.loss!r})"


class _RoundEnds:
    """CatBoost callback ending each iteration's round of a lagged round state (``Loss.round_state``)."""

    def __init__(self, state):
        self.state = state

    def after_iteration(self, info):
        self.state.end_round()
        return True


class _MulticlassRow:
    """One row of a multiclass loss for ``calc_ders_multi``, which CatBoost calls once per row
    (twice per row and iteration): everything but the row itself is prepared once (the kernel's
    arguments, one-row arrays, the Hessian's list of lists, whose diagonal alone changes), so
    a call costs one compiled-kernel call and a few list assignments."""

    def __init__(self, loss, k):
        self.loss, self.k = loss, k
        self.y, self.w = np.zeros(1), np.zeros(1)
        self.both = np.empty((2, 1, k))  # gradient and Hessian rows, negated in one call
        self.grad, self.hess = self.both
        self.hess_rows = [[0.0] * k for _ in range(k)]
        self.args = loss._kernel_args(getattr(loss, "hessian", "exact"), 0.0, self.grad) if loss.kernel else None

    def __call__(self, approx, target, weight):
        raw = np.asarray(approx, dtype=np.float64).reshape(1, self.k)
        self.y[0] = target
        if self.args is None:  # a loss without a compiled kernel (e.g. a sum of losses)
            self.loss.boosting_grad_hess(self.y, raw, None, out=(self.grad, self.hess))
            self.both *= weight
        else:
            if not 0 <= target < self.k or target != int(target):
                raise ValueError(f"{self.loss}: label {target!r} is not one of the classes 0..{self.k - 1}")
            self.w[0] = weight
            self.loss.kernel(self.y, raw, self.w, *self.args, self.grad, self.hess)
        np.negative(self.both, out=self.both)  # CatBoost's convention
        rows = self.hess_rows
        for j, value in enumerate(self.hess[0].tolist()):
            rows[j][j] = value
        return self.grad[0].tolist(), rows


class _MultiOutputRow:
    """One row of a multi-output loss (``Loss.multi_output``) for ``calc_ders_multi``: the target row
    (its first entry for targets shared by the outputs, which CatBoost is handed as k equal
    columns), the raw scores plus the start (``offset``: CatBoost refuses multi-dimensional
    baselines, so the start is added here and stored as the model's bias afterwards), the
    policy's pair at the run's fixed scale, weighted and negated."""

    def __init__(self, loss, k, scale, offset):
        self.loss, self.k = loss, k
        self.residual = None if scale is None else scale.residual
        self.factor = 1.0 if scale is None or scale.factor is None else np.asarray(scale.factor)
        self.offset = 0.0 if offset is None else np.asarray(offset, dtype=np.float64)
        self.hess_rows = [[0.0] * k for _ in range(k)]

    def __call__(self, approx, target, weight):
        raw = (np.asarray(approx, dtype=np.float64) + self.offset).reshape(1, self.k)
        y = np.asarray(target, dtype=np.float64).reshape(1, -1)
        y = y if self.loss.target_columns else y[:, 0]
        grad, hess = self.loss._grad_policy_hessian(y, raw, self.residual)
        scale = -(1.0 if weight is None else weight) * self.factor  # CatBoost's convention: negated
        rows = self.hess_rows
        for j, value in enumerate((hess[0] * scale).tolist()):
            rows[j][j] = value
        return (grad[0] * scale).tolist(), rows


def _multi_output_classes():
    """``CatBoostMultiOutputObjective`` and ``CatBoostMultiOutputMetric``: the objective and metric
    of multi-output losses, which CatBoost recognises as multi-target by their base classes
    (``catboost.MultiTargetCustomObjective``, ``MultiTargetCustomMetric``), made on first use so
    that importing this module does not import CatBoost (module ``__getattr__``: they pickle)."""
    if not _MULTI:
        catboost = _catboost()

        class CatBoostMultiOutputObjective(CatBoostObjective, catboost.MultiTargetCustomObjective):
            """``calc_ders_multi`` of a multi-output loss, one row per call (``_MultiOutputRow``);
            ``offset``: the start, which ``train`` sets (added to CatBoost's scores)."""

            offset = None

            def calc_ders_multi(self, approx, target, weight):
                row = self.__dict__.get("_row")
                if row is None or row.k != len(approx):
                    row = self.__dict__["_row"] = _MultiOutputRow(self.loss, len(approx), self.scale, self.offset)
                return row(approx, target, weight)

            def __getstate__(self):
                state = super().__getstate__()
                state.pop("_row", None)
                return state

        class CatBoostMultiOutputMetric(CatBoostMetric, catboost.MultiTargetCustomMetric):
            """``CatBoostMetric`` for multi-output models: approxes and targets come as lists of
            columns; ``offset`` as for the objective."""

            offset = None
            columns = False  # whether the model's targets are (n, k) (else k copies of one column)

            def evaluate(self, approxes, target, weight):
                raw = np.column_stack(approxes) + (0.0 if self.offset is None else np.asarray(self.offset))
                y = np.column_stack(target) if self.columns else np.asarray(target[0])
                return self.metric.sums(y, raw, nonempty(weight), self.link)

        for made in (CatBoostMultiOutputObjective, CatBoostMultiOutputMetric):
            made.__module__, made.__qualname__ = __name__, made.__name__
            _MULTI[made.__name__] = made
    return _MULTI["CatBoostMultiOutputObjective"], _MULTI["CatBoostMultiOutputMetric"]


_MULTI: dict = {}


def __getattr__(name):
    if name in ("CatBoostMultiOutputObjective", "CatBoostMultiOutputMetric"):
        _multi_output_classes()
        return _MULTI[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_NO_WEIGHTS = np.empty(0)


class CatBoostMetric:
    """CatBoost custom metric: additive ``evaluate`` -> ``(sum w v, sum w)``, then
    ``get_final_error``; ``is_max_optimal`` from the metric."""

    no_jit = True

    def __init__(self, metric, loss=None):
        self.metric, self.link = resolve_metric(metric, loss)

    def is_max_optimal(self):
        return self.metric.higher_is_better

    def evaluate(self, approxes, target, weight):
        raw = np.asarray(approxes[0]) if len(approxes) == 1 else np.column_stack(approxes)
        return self.metric.sums(target, raw, nonempty(weight), self.link)

    def get_final_error(self, error, weight):
        return self.metric.final(error, weight)


def _number(value) -> str:
    """A parameter as CatBoost reads it: ``repr`` of the float, so it round-trips exactly."""
    return repr(float(value))


def _all_ones(weights) -> bool:
    if weights is None:
        return True
    values = list(weights.values()) if isinstance(weights, dict) else weights
    return bool(np.all(np.asarray(values, dtype=np.float64) == 1.0))


# CatBoost's built-in twin of each loss class (exact classes only: a subclass may change the
# math), or None where a parameter value has none. Checked against CatBoost's sources and by
# training both ways (tests/test_adapters.py).
_NATIVE = {
    L.SquaredError: lambda p: "RMSE",
    # CatBoost's MAE objective is its Quantile:alpha=0.5, i.e. |r| / 2: the same minimiser
    L.AbsoluteError: lambda p: "MAE",
    L.Quantile: lambda p: f"Quantile:alpha={_number(p['alpha'])}",
    L.Expectile: lambda p: f"Expectile:alpha={_number(p['alpha'])}",
    L.Huber: lambda p: f"Huber:delta={_number(p['delta'])}",
    L.LogCosh: lambda p: "LogCosh" if float(p["scale"]) == 1.0 else None,
    L.Poisson: lambda p: "Poisson",
    L.Tweedie: lambda p: f"Tweedie:variance_power={_number(p['power'])}",
    # soft labels: CatBoost's CrossEntropy, which its regressors refuse (and its classifiers the targets)
    L.Logistic: lambda p: "Logloss" if float(p["pos_weight"]) == 1.0 and float(p["label_smoothing"]) == 0.0
    and not p["soft_labels"] else None,
    # alpha weighs the positives in both (CatBoost clips p to [1e-13, 1 - 1e-13], which changes
    # nothing at that precision); CatBoost refuses focal_gamma = 0
    L.Focal: lambda p: (f"Focal:focal_alpha={_number(p['alpha'])};focal_gamma={_number(p['gamma'])}"
                        if float(p["gamma"]) > 0.0 else None),
    L.SoftmaxCrossEntropy: lambda p: (
        "MultiClass" if _all_ones(p["class_weight"]) and float(p["label_smoothing"]) == 0.0 else None),
    # started from CatBoost's own quantiles (boost_from_average: it refuses multi-dimensional
    # baselines). Not RMSEWithUncertainty (the same (mean, log sigma) likelihood) nor MultiLogloss
    # (multilabel_logistic): CatBoost starts both at 0, refusing boost_from_average and baselines
    L.MultiQuantile: lambda p: "MultiQuantile:alpha=" + ",".join(_number(a) for a in p["alphas"]),
}


def native_loss(loss) -> str | None:
    """CatBoost's own loss-function string for ``loss`` when CatBoost's loss is the same
    mathematics (the loss, its parameters and the targets it accepts), else None.

    ``SquaredError`` -> ``"RMSE"``, ``AbsoluteError`` -> ``"MAE"`` (CatBoost optimises
    ``|r| / 2``, the same minimiser), ``Quantile(alpha)`` -> ``"Quantile:alpha=..."``,
    ``Expectile`` -> ``"Expectile:alpha=..."``, ``Huber(delta)`` -> ``"Huber:delta=..."``,
    ``LogCosh(scale=1)`` -> ``"LogCosh"``, ``Poisson`` -> ``"Poisson"``, ``Tweedie(power)`` ->
    ``"Tweedie:variance_power=..."``, ``Logistic()`` -> ``"Logloss"`` (only without
    ``pos_weight``, label smoothing and soft labels), ``Focal(alpha, gamma > 0)`` ->
    ``"Focal:focal_alpha=...;focal_gamma=..."``, ``SoftmaxCrossEntropy()`` -> ``"MultiClass"``
    (only without class weights and label smoothing; ``train`` passes ``classes_count``) and
    ``MultiQuantile(alphas)`` -> ``"MultiQuantile:alpha=..."`` (started from CatBoost's own quantiles).
    Everything else is None: e.g. ``MAPE`` (CatBoost divides by ``max(1, |y|)``), ``Gamma``,
    ``Fair``, ``PseudoHuber``, subclasses and sums of losses.

    The ``hessian`` policy does not enter: it is how boosters are driven, not the loss.
    CatBoost drives its own losses its own way: exact Hessians for Huber, log-cosh and focal,
    the full softmax Hessian, exact-quantile leaves for MAE and quantile (which refuse
    ``leaf_estimation_method="Newton"``), and from 200 rounds on 10 Newton steps per leaf
    for Logloss and Poisson (1 for a custom objective). Models trained either way are equally
    good but not equal, except where the derivatives and leaf steps agree (tests/test_adapters.py).
    """
    loss = get_loss(loss)
    rule = _NATIVE.get(type(loss))
    return None if rule is None else rule(loss.get_params())


# The losses whose CatBoost metric of the ``native_loss`` name has the value of ``metric(loss)``,
# the weighted mean loss on the raw scores, to 1e-6 (MAE and quantile: CatBoost's quantile delta
# lowers it by ~2.5e-7; tests/test_adapters.py computes both). Not squared error (CatBoost's RMSE
# is sqrt(2 x) ours), Poisson and Tweedie (CatBoost leaves out terms that depend on y alone), MAPE
# (|y| floored at 1), log-cosh (CatBoost's is off by up to 2e-5, evaluated in lower precision) and
# focal (``catboost.utils.eval_metric`` gives ours, but the value logged in training was 0.4% off).
_SAME_METRIC = (L.AbsoluteError, L.Quantile, L.Expectile, L.Huber, L.Logistic, L.SoftmaxCrossEntropy)


def native_metric(loss) -> str | None:
    """CatBoost's own eval-metric string whose value is ``metric(loss)``'s (the loss's weighted
    mean on the raw scores), else None: absolute error (``MAE``), quantile, expectile, Huber,
    logistic and softmax cross-entropy under ``native_loss``'s conditions.
    CatBoost computes it in C++, without calling Python for every block of rows: the default
    eval metric of ``train`` and the estimators wherever there is one."""
    loss = get_loss(loss)
    return native_loss(loss) if type(loss) in _SAME_METRIC else None


def objective(loss, scale=None, prefer_native=False) -> CatBoostObjective | str:
    """The CatBoost objective for ``loss`` (a Loss or a registry name).

    With ``prefer_native=True``: CatBoost's own loss-function string (``native_loss``) where it
    has the same loss, else the Python objective. The string trains at the speed of the
    built-in, since it is the built-in (measured at 200,000 rows: the Python objective takes
    1.3-2.3x as long, ~50x for multiclass), with identical mathematics; models are equal up to CatBoost's own
    Hessians and leaf estimation details. Unlike ``train``, this alone does not start from
    ``loss.init_score``.
    """
    if prefer_native:
        native = native_loss(loss)
        if native is not None:
            return native
    if get_loss(loss).multi_output:
        return _multi_output_classes()[0](loss, scale)
    return CatBoostObjective(loss, scale)


def metric(metric_or_loss, loss=None, native=False) -> CatBoostMetric:
    """The CatBoost custom metric for a Metric, a Loss or a name; ``loss`` supplies the link
    for a plain metric (see ``boostloss.xgboost.metric``). For a model of a multi-output loss
    (``loss``, or the loss given as the metric) trained with the Python objective a
    ``CatBoostMultiOutputMetric``, which CatBoost requires of multi-target models; ``native``: for
    a model of CatBoost's own ``MultiQuantile``, which CatBoost counts as one target."""
    made = CatBoostMetric(metric_or_loss, loss)
    model = get_loss(loss) if loss is not None else getattr(made.metric, "loss", None)
    if model is None or not model.multi_output or (native and not model.target_columns):
        return made
    made = _multi_output_classes()[1](metric_or_loss, loss)
    made.columns = model.target_columns
    return made


def _pools(eval_set):
    if eval_set is None:
        return []
    return list(eval_set) if isinstance(eval_set, (list, tuple)) else [eval_set]


def train(loss, params, pool, *, eval_set=None, prefer_native=False, **fit_kwargs):
    """Fit a ``catboost.CatBoost`` model with ``loss`` as objective and metric, started from
    ``loss.init_score``; the start is saved in the model as its bias.

    ``pool`` and ``eval_set`` are ``catboost.Pool`` objects; their baselines hold the start
    during the fit and are restored afterwards.
    ``prefer_native=True`` trains with CatBoost's own loss (``native_loss``) where it has the
    same one (with ``boost_from_average=False``: the start is still ours), else with the
    Python objective; the default ``eval_metric`` is the loss either way, as CatBoost's own
    metric where its value is the same (``native_metric``), else ``metric(loss)``. For losses
    with leaf refits (``loss.refits_leaves``) the Python objective takes
    ``leaf_estimation_iterations=LEAF_STEPS``, for the margin losses Bernoulli sampling, unless
    ``params`` set them (see ``_objective_defaults``).
    Labels and weights are validated first. Other keyword arguments go to ``CatBoost.fit``.
    Where every feature of a numeric ``pool`` is constant (CatBoost refuses to train) the model
    is the optimal constant (``_fit_constant``). Multi-output losses (``Loss.multi_output``): the
    start is added to the scores by the objective and metric (``_start_in_scores``), as CatBoost
    refuses multi-dimensional baselines; build the pools with ``pool(X, y, loss)``.
    """
    catboost = _catboost()
    loss = get_loss(loss)
    params = dict(params)
    native = native_loss(loss) if prefer_native else None
    params.setdefault("eval_metric", native_metric(loss) or metric(loss, native=native is not None))
    labels = _targets(loss, pool.get_label(), native)
    init = start_scores(loss, labels, _pool_weight(pool), params.get("classes_count"))
    # CatBoost keeps baselines in float32: start from exactly the value the bias will hold
    init = init.astype(np.float32).astype(np.float64)
    if native is None:
        # CatBoost evaluates the objective in blocks of rows: the scale is fixed here, on all rows
        params["loss_function"] = objective(loss, boosting_scale(loss, labels, _pool_weight(pool), init))
        params.update(_objective_defaults(loss, params))
    else:
        params["loss_function"] = native
        # the baselines below carry the start (CatBoost refuses boost_from_average with them);
        # multi-output: CatBoost's own start (it refuses multi-dimensional baselines)
        params.setdefault("boost_from_average", loss.multi_output)
    if loss.is_multiclass:
        params.setdefault("classes_count", init.size)
        params.setdefault("class_names", list(range(init.size)))  # ONNX export needs them
    pools = [pool, *_pools(eval_set)]
    for data in pools:
        loss.validate(_targets(loss, data.get_label(), native), _pool_weight(data))
    _start_in_scores(params, init if loss.multi_output else None)
    # the start goes into the pools' baselines for the fit only: left there, CatBoost would add
    # it again (on top of the bias) when predicting on or evaluating these pools later
    saved = [data.get_baseline() for data in pools]
    model = catboost.CatBoost(params)
    checked = params["loss_function"].checked_targets() if native is None else nullcontext()
    rounds = params["loss_function"].rounds(fit_kwargs) if native is None else nullcontext(fit_kwargs)
    try:
        for data in pools if not loss.multi_output else ():
            _set_rows(data, [tuple(init.tolist())] * data.num_row())  # the start, on every row
        with checked, rounds as fit_kwargs:
            model.fit(pool, eval_set=eval_set, **fit_kwargs)
    except catboost.CatBoostError as err:
        if _NO_FEATURE not in str(err) or len(pool.get_cat_feature_indices()) or len(pool.get_text_feature_indices()):
            raise
        model = catboost.CatBoost({**params, "iterations": 1})
        _fit_constant(model, pool.get_features(), labels, _pool_weight(pool), pool.get_baseline(),
                      feature_names=pool.get_feature_names())
    finally:
        for data, baseline in zip(pools, saved, strict=True):
            _restore_baseline(data, baseline)
    _store_start(model, loss, init, native)
    return model


def pool(data, label, loss, prefer_native=False, **kwargs):
    """A ``catboost.Pool`` holding ``label`` as ``train`` needs it for ``loss``: a multi-output loss of
    one target per row (distributions, multi-quantile) takes it as k equal columns for its Python
    objective (CatBoost's multi-target models fit one output per label column), which ``train``
    reads back as one; as it is for CatBoost's own loss (``prefer_native``: ``MultiQuantile``) and
    every other loss. Other arguments go to ``catboost.Pool``."""
    loss = get_loss(loss)
    return _catboost().Pool(data, _labels_for(loss, label, native_loss(loss) if prefer_native else None), **kwargs)


def _labels_for(loss, label, native):
    """``label`` as CatBoost takes it for ``loss`` and its ``native_loss`` (or None) (see ``pool``)."""
    label = np.asarray(label)
    if _tiled(loss, native) and label.ndim == 1:
        return np.repeat(label.astype(np.float64)[:, None], loss.n_outputs(), axis=1)
    return label


def _tiled(loss, native) -> bool:
    """Whether CatBoost is handed k copies of each target (a multi-output loss of one target per row,
    trained with the Python objective)."""
    return loss.multi_output and not loss.target_columns and not native


def _targets(loss, labels, native):
    """The targets of a pool's labels: the first of the k copies ``pool`` made; ValueError for one
    column where the Python objective needs k (CatBoost would fit one output)."""
    labels = np.asarray(labels)
    if not _tiled(loss, native):
        return labels
    if labels.ndim != 2 or labels.shape[1] != loss.n_outputs():
        raise ValueError(f"{loss}: CatBoost fits as many outputs as the label has columns; give the "
                         f"{loss.n_outputs()} outputs k copies of the target: bl.catboost.pool(X, y, loss)")
    return labels[:, 0].astype(np.float64)


def _start_in_scores(params, init) -> None:
    """For a multi-output loss (``init`` not None), whose start CatBoost refuses as a multi-dimensional
    baseline: the start added to the scores by boostloss's objective and metric during the fit
    (their ``offset``), and stored as the model's bias afterwards (``_store_start``)."""
    if init is None:
        return
    for part in (params.get("loss_function"), params.get("eval_metric")):
        if hasattr(type(part), "offset"):
            part.offset = init.tolist()


def _store_start(model, loss, init, native) -> None:
    """The start as the model's bias (CatBoost saves it); a native multi-output loss keeps the start
    CatBoost found itself (``boost_from_average``), which its trees were grown from."""
    if not (loss.multi_output and native is not None):
        model.set_scale_and_bias(1.0, init.tolist() if init.size > 1 else float(init[0]))


LEAF_STEPS = 5


def _objective_defaults(loss, params) -> dict:
    """Parameters the Python objective of ``loss`` needs, unless ``params`` set them.

    Leaf refits (``loss.refits_leaves``): ``leaf_estimation_iterations=LEAF_STEPS``. CatBoost
    refuses leaf refits (``leaf_estimation_method="Exact"``) for Python objectives; it takes
    several Newton steps per leaf instead, each with the gradients and Hessians at the leaf's
    current value. With the IRLS Hessians of the piecewise-linear losses these steps are IRLS
    iterations towards each leaf's weighted quantile (its exact refit). With five the quantile,
    MAE and MAPE models score 0.95 of CatBoost's own (geometric mean of the fixed-round ratios
    of ``benchmarks/realdata.py``), at 1.7-2x the time of one step.

    Gradients that vanish on settled rows (``loss.gradient_can_vanish``, the margin losses):
    ``bootstrap_type="Bernoulli"`` at CatBoost's CPU default rate (``subsample=0.8``) where no
    bootstrap is named. CatBoost's CPU default MVS samples rows by ``|g|``: it never samples a
    settled row, dropping the Hessian the policy gives it, and stops with "Too few sampling
    units" once every row is settled (a separable training set)."""
    out = {}
    if loss.refits_leaves and params.get("leaf_estimation_iterations") is None:
        out["leaf_estimation_iterations"] = LEAF_STEPS
    if (loss.gradient_can_vanish and params.get("bootstrap_type") is None
            and params.get("task_type") in (None, "CPU")):
        out["bootstrap_type"] = "Bernoulli"
        if params.get("subsample") is None:
            out["subsample"] = 0.8
    return out


def _set_rows(pool, rows: list) -> None:
    """Set ``pool``'s baseline to ``rows``, a list of one tuple per row. ``Pool.set_baseline``
    converts its argument to an array and reads it back row by row in Python (~90 ms per
    200,000 rows, even with no columns); CatBoost's internal setter, which it calls, reads a
    list of tuples in ~2 ms. The public method is used where the internal one is missing."""
    setter = getattr(pool, "_set_baseline", None)
    if setter is None:
        pool.set_baseline(np.array(rows, dtype=np.float64).reshape(pool.num_row(), -1))
    else:
        setter(rows)


def _restore_baseline(pool, baseline):
    """Give ``pool`` back its ``baseline`` (usually none: an (n, 0) array)."""
    if baseline.size == 0:
        _set_rows(pool, [()] * pool.num_row())
    else:
        pool.set_baseline(baseline)


def _pool_weight(pool):
    weights = np.asarray(pool.get_weight(), dtype=np.float64)
    return None if weights.size == 0 or np.all(weights == 1.0) else weights


def predict(model, data, loss, **kwargs) -> np.ndarray:
    """Predictions in the target's units: ``loss.inverse_link`` of the raw formula values
    (which include the bias that ``train`` stored)."""
    raw = model.predict(data, prediction_type="RawFormulaVal", **kwargs)
    return get_loss(loss).inverse_link(raw)


def save_onnx(model, loss, path) -> None:
    """Save ``model`` (a CatBoost model or estimator trained with ``loss``) as ONNX predicting in
    the target's units: CatBoost's own export (``save_model(format="onnx")``), whose regressor
    output holds raw scores, followed for log and logit links by the inverse link (``Exp``,
    ``Sigmoid``) on that output; multiclass models (softmax probabilities, also of CatBoost's
    own ``MultiClass``: outputs ``label`` and ``probabilities``) and identity links are CatBoost's
    export as it is. A binary model of CatBoost's own loss (``prefer_native=True``) is refused:
    its export does not reproduce the model. Needs the ``onnx`` package."""
    loss = get_loss(loss)
    if loss.link.name == "logit" and isinstance(model.get_params().get("loss_function"), str):
        raise ValueError("save_onnx: CatBoost's ONNX export of a model trained with its own binary loss "
                         "(prefer_native=True) does not reproduce the model's probabilities (measured: P(y=1) "
                         "off by up to 0.84); train with boostloss's objective (prefer_native=False) to export")
    model.save_model(str(path), format="onnx")
    step = {"log": "Exp", "logit": "Sigmoid"}.get(loss.link.name)
    if step is None or loss.is_multiclass:
        return
    try:
        import onnx
    except ImportError as err:
        from ._booster import install_hint

        raise ImportError(f"save_onnx needs the onnx package: {install_hint('export', 'onnx')}") from err
    graph = (exported := onnx.load(str(path))).graph
    if graph.output[0].type.tensor_type.elem_type != onnx.TensorProto.FLOAT:  # a classifier's label
        return
    output = graph.output[0].name
    for node in graph.node:
        node.output[:] = [f"{output}_raw" if name == output else name for name in node.output]
    graph.node.append(onnx.helper.make_node(step, [f"{output}_raw"], [output]))
    onnx.save(exported, str(path))


def fit_estimator(estimator, loss, X, y, *, sample_weight=None, eval_set=None, eval_sample_weight=None,
                  eval_metric=None, early_stopping_rounds=None, prefer_native=False, **fit_params):
    """Fit a CatBoost scikit-learn estimator (in place) with ``loss``, started from its optimal
    constant (``baseline`` on every pool), stored afterwards as the model's bias. Used by
    ``boostloss.sklearn``. Early stopping, if asked, watches ``eval_metric`` (default: the loss,
    as ``native_metric`` where CatBoost has it) and keeps the best model. ``prefer_native`` as for
    ``train``: CatBoost's own loss where it is the same (``native_loss``), else the Python objective."""
    catboost = _catboost()
    loss = get_loss(loss)
    init = start_scores(loss, y, sample_weight, estimator.get_params().get("classes_count"))
    init = init.astype(np.float32).astype(np.float64)
    native = native_loss(loss) if prefer_native else None
    watched = native_metric(loss) if eval_metric is None else None
    chosen = {"eval_metric": watched or metric(eval_metric or loss, loss, native=native is not None)}
    if native is None:
        chosen.update(loss_function=objective(loss, boosting_scale(loss, y, sample_weight, init)),
                      **_objective_defaults(loss, estimator.get_params()))
    else:  # the baselines below carry the start (CatBoost refuses boost_from_average with them;
        # multi-output: CatBoost's own start, as it refuses multi-dimensional baselines)
        chosen.update(loss_function=native, boost_from_average=loss.multi_output)
        if loss.link.name in ("logit", "softmax"):  # its own classification losses keep the labels,
            y = np.asarray(y).astype(np.int64)     # which its ONNX export wants as integers
            eval_set = [(xe, np.asarray(ye).astype(np.int64)) for xe, ye in eval_set or []]
    _start_in_scores(chosen, init if loss.multi_output else None)  # before the estimator copies them
    estimator.set_params(**chosen)
    if loss.is_multiclass:
        estimator.set_params(classes_count=init.size)
        if estimator.get_params().get("class_names") is None:  # ONNX export needs them
            estimator.set_params(class_names=list(range(init.size)))
    params = estimator.get_params()
    y = _labels_for(loss, y, native)
    cat_features = params.get("cat_features")
    baseline = (lambda n: None) if loss.multi_output else (lambda n: per_row(init, n))
    pools = [catboost.Pool(xe, _labels_for(loss, ye, native), baseline=baseline(len(ye)), cat_features=cat_features,
                           weight=None if eval_sample_weight is None else eval_sample_weight[i])
             for i, (xe, ye) in enumerate(eval_set or [])]
    rounds = params["loss_function"].rounds(fit_params) if native is None else nullcontext(fit_params)
    try:
        with rounds as fit_params:
            estimator.fit(X, y, sample_weight=sample_weight, baseline=baseline(len(y)), eval_set=pools or None,
                          early_stopping_rounds=early_stopping_rounds, **fit_params)
    except catboost.CatBoostError as err:
        if _NO_FEATURE not in str(err):
            raise
        estimator.set_params(iterations=1)  # as LightGBM's constant model: what trained, one tree
        _fit_constant(estimator, X, y, sample_weight, baseline(len(y)), cat_features=cat_features)
    _store_start(estimator, loss, init, native)
    return init


_NO_FEATURE = "All features are either constant or ignored"


def _one_cell_changed(X, cat_features=()):
    """A copy of ``X`` with its first numeric feature raised by 1 in the first row: data every
    feature of which is constant, made acceptable to CatBoost for ``_fit_constant``."""
    n = len(X)
    if n < 2:  # no cell to change: one row is constant whatever it holds
        raise ValueError(f"CatBoost found no usable feature in {n} sample{'s' if n != 1 else ''}: "
                         "every feature is constant or ignored")
    if not hasattr(X, "iloc"):
        X = np.array(X, dtype=np.float64)
        X[0, 0] += 1.0
        return X
    cats = set(cat_features or ())
    numeric = [j for j, (name, dtype) in enumerate(X.dtypes.items())
               if dtype.kind in "biuf" and j not in cats and name not in cats]
    if not numeric:
        raise ValueError("CatBoost found no usable feature: every feature is constant or ignored, and none "
                         "is numeric for boostloss's constant model")
    X = X.copy()
    X.isetitem(numeric[0], X.iloc[:, numeric[0]].astype(np.float64))
    X.iloc[0, numeric[0]] += 1.0
    return X


def _fit_constant(model, X, y, weight, baseline, cat_features=None, feature_names=None):
    """Where CatBoost refuses to train (every feature constant), boostloss's model is the optimal
    constant: ``model`` (set to one iteration) is fitted on ``_one_cell_changed`` data and its
    leaves set to zero, so it predicts its bias (the start, set by the caller) everywhere, as
    LightGBM's one-leaf constant model does."""
    model.fit(_catboost().Pool(_one_cell_changed(X, cat_features), y, weight=weight, baseline=baseline,
                               cat_features=cat_features, feature_names=feature_names))
    model.set_leaf_values(np.zeros_like(model.get_leaf_values()))


def predict_raw(estimator, X) -> np.ndarray:
    """Raw formula values of a fitted CatBoost estimator, bias included."""
    return estimator.predict(X, prediction_type="RawFormulaVal")


def best_iteration(estimator):
    """The best iteration on the evaluation set, or None."""
    return estimator.get_best_iteration()
