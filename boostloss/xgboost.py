"""XGBoost adapter: a Loss as an XGBoost objective and metric, started from its optimal constant.

Train API::

    booster = bl.xgboost.train(loss, params, dtrain, 100, evals=[(dvalid, "valid")])
    pred = bl.xgboost.predict(booster, dtest, loss)          # target units

``train`` sets ``base_score`` to ``loss.init_score`` (XGBoost treats it as a raw margin under a
custom objective and saves it in the model), installs ``objective(loss)`` and
``metric(loss)`` and turns off the default metric, which would read raw margins. Using
``xgb.train(..., obj=bl.xgboost.objective(loss))`` directly works too; then pass
``base_score=loss.init_score(y, w)`` in ``params`` yourself, or training starts from 0.5.

scikit-learn API: ``XGBRegressor(objective=bl.xgboost.objective(loss),
eval_metric=bl.xgboost.metric(loss), base_score=loss.init_score(y))``; sample weights reach
the objective through its ``sample_weight`` keyword.
"""

from __future__ import annotations

import numpy as np

from ._booster import RoundInputs, boosting_scale, import_booster, nonempty, resolve_metric, start_scores
from .registry import get_loss


def _xgb():
    return import_booster("xgboost", "xgboost")


def _sum_over_workers():
    """In distributed training (xgboost.dask, Spark), a function summing an array over all
    workers with XGBoost's own all-reduce; None on one machine."""
    collective = _xgb().collective
    if collective.get_world_size() <= 1:
        return None
    return lambda sums: collective.allreduce(np.asarray(sums, dtype=np.float64), collective.Op.SUM)


class XGBoostObjective:
    """``obj(predt, dtrain)`` for ``xgb.train`` and ``obj(y_true, y_pred, *, sample_weight)``
    for the scikit-learn API. Returns ``(grad, hess)``, weighted, shaped like the margins, in
    buffers that the next call overwrites (XGBoost copies them first)."""

    def __init__(self, loss, scale=None):
        self.loss = get_loss(loss)
        self.scale = scale  # a BoostingScale fixed for the training run; None: each batch's own
        self.inputs = RoundInputs(self.loss)

    def __call__(self, first, second, *, sample_weight=None):
        if isinstance(second, _xgb().DMatrix):
            raw = first
            y, w = self.inputs.targets_of(second, lambda: (second.get_label(), second.get_weight()))
        else:
            raw = second
            y, w = self.inputs.targets(first, sample_weight)
        return self.loss.boosting_grad_hess(y, raw, w, self.scale, reduce=_sum_over_workers(),
                                            out=self.inputs.buffers(raw, np.float32))

    def __repr__(self):
        return f"bl.xgboost.objective({self.loss!r})"


class XGBoostMetric:
    """``custom_metric(predt, dtrain) -> (name, value)`` for ``xgb.train``, and
    ``eval_metric(y_true, y_pred, *, sample_weight) -> value`` for the scikit-learn API."""

    def __init__(self, metric, loss=None):
        self.metric, self.link = resolve_metric(metric, loss)

    @property
    def __name__(self):
        return self.metric.name

    def __call__(self, first, second, *, sample_weight=None):
        if isinstance(second, _xgb().DMatrix):
            raw, y, w = first, second.get_label(), nonempty(second.get_weight())
            return self.metric.name, self._value(y, raw, w)
        return self._value(first, second, nonempty(sample_weight))

    def _value(self, y, raw, w):
        return self.metric.final(*self.metric.sums(y, raw, w, self.link))


def objective(loss, scale=None) -> XGBoostObjective:
    """The XGBoost objective for ``loss`` (a Loss or a registry name)."""
    return XGBoostObjective(loss, scale)


def metric(metric_or_loss, loss=None) -> XGBoostMetric:
    """The XGBoost custom metric for a Metric, a Loss or a name. ``loss`` supplies the link
    that turns raw margins into predictions for a plain metric (for example SMAPE after a
    log-link loss); without it the metric's own default applies (identity, or
    sigmoid/softmax for log loss)."""
    return XGBoostMetric(metric_or_loss, loss)


def train(loss, params, dtrain, num_boost_round=10, *, evals=(), custom_metric=None, **kwargs):
    """``xgb.train`` with ``loss`` as objective and metric, started from ``loss.init_score``.

    Labels and weights of ``dtrain`` and of every evaluation set are validated first, so bad
    targets raise ValueError before any tree is built. Other keyword arguments go to
    ``xgb.train``. Returns the Booster; ``predict`` gives predictions in the target's units.
    """
    xgb = _xgb()
    loss = get_loss(loss)
    params = dict(params)
    labels, weights = dtrain.get_label(), dtrain.get_weight()
    init = start_scores(loss, labels, weights, params.get("num_class"))
    for data, _ in evals:
        loss.validate(data.get_label(), nonempty(data.get_weight()))
    if loss.is_multiclass:
        params.setdefault("num_class", init.size)
        params["base_score"] = init.tolist()
    else:
        params["base_score"] = float(init[0])
    params.setdefault("disable_default_eval_metric", True)
    obj = objective(loss, boosting_scale(loss, labels, weights, init, per_round=True))
    with obj.inputs.checked(dtrain):
        return xgb.train(params, dtrain, num_boost_round, evals=evals, obj=obj,
                         custom_metric=custom_metric or metric(loss), **kwargs)


def predict(model, data, loss, **kwargs) -> np.ndarray:
    """Predictions in the target's units: ``loss.inverse_link`` of the raw margins.

    ``model`` is a Booster (``data`` may be a DMatrix or anything DMatrix accepts) or an
    XGBoost scikit-learn estimator. A Booster trained with early stopping predicts with its
    best iteration unless ``iteration_range`` is given.
    """
    xgb = _xgb()
    if isinstance(model, xgb.Booster):
        if not isinstance(data, xgb.DMatrix):
            data = xgb.DMatrix(data)
        best = model.attr("best_iteration")
        if best is not None and "iteration_range" not in kwargs:
            kwargs["iteration_range"] = (0, int(best) + 1)
    raw = model.predict(data, output_margin=True, **kwargs)
    return get_loss(loss).inverse_link(raw)


def fit_estimator(estimator, loss, X, y, *, sample_weight=None, eval_set=None, eval_sample_weight=None,
                  eval_metric=None, early_stopping_rounds=None, **fit_params):
    """Fit an XGBoost scikit-learn estimator (in place) with ``loss``, started from its optimal
    constant, which is stored as ``base_score`` (for ``XGBClassifier`` on two classes, whose
    internal objective reads it as a probability, as its sigmoid). Used by
    ``boostloss.sklearn``. Early stopping, if asked, watches ``eval_metric`` (default: the loss)
    on the last evaluation set."""
    xgb = _xgb()
    loss = get_loss(loss)
    init = start_scores(loss, y, sample_weight, estimator.get_params().get("num_class"))
    if loss.is_multiclass:
        estimator.set_params(num_class=init.size)
    base = init
    if isinstance(estimator, xgb.XGBClassifier) and np.unique(y).size == 2:
        base = 1.0 / (1.0 + np.exp(-init))  # its internal binary:logistic reads base_score as a probability
    base = base.tolist() if loss.is_multiclass else float(base[0])
    scale = boosting_scale(loss, y, sample_weight, init, per_round=True)
    estimator.set_params(objective=objective(loss, scale), eval_metric=metric(eval_metric or loss, loss),
                         base_score=base, disable_default_eval_metric=True,
                         early_stopping_rounds=early_stopping_rounds)
    estimator.fit(X, y, sample_weight=sample_weight, eval_set=eval_set,
                  sample_weight_eval_set=eval_sample_weight, verbose=False, **fit_params)
    return init


def predict_raw(estimator, X) -> np.ndarray:
    """Raw margins of a fitted XGBoost estimator (best iteration after early stopping)."""
    return estimator.predict(X, output_margin=True)


def best_iteration(estimator):
    """The best iteration found by early stopping, or None."""
    return getattr(estimator, "best_iteration", None) if estimator.get_params().get("early_stopping_rounds") else None
