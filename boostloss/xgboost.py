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

import ctypes
import json

import numpy as np

from ._booster import (
    LeafRefit,
    Refitted,
    RoundInputs,
    boosting_scale,
    categorical_columns,
    check_feature_counts,
    end_refit,
    import_booster,
    nonempty,
    resolve_metric,
    start_scores,
)
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


def _info(dmatrix, field):
    """The DMatrix's own ``label`` or ``weight`` array, read in place where XGBoost lets it be
    (``get_label`` copies it every round: 4 MB at 1,000,000 rows); valid while the DMatrix is
    unchanged, so only read before the call returns. The array made of XGBoost's description of
    its buffer is reused while the description is the same (parsing it took 20 us a call)."""
    try:
        from xgboost._data_utils import from_array_interface

        reference = ctypes.c_char_p()
        xgb = _xgb()
        xgb.core._check_call(xgb.core._LIB.XGDMatrixGetInfoRef(dmatrix.handle, xgb.core.c_str(field),
                                                                 ctypes.byref(reference)))
        described = reference.value
        known = _INFO.get(field)
        if known is None or known[0] != described:
            known = _INFO[field] = (described, from_array_interface(json.loads(described), zero_copy=True))
        return known[1]
    except (AttributeError, ImportError, TypeError):  # an XGBoost without these (3.1): a copy every round
        return dmatrix.get_float_info(field)


_INFO: dict = {}  # field -> (XGBoost's description of a buffer, the array on it)


def _labels(dmatrix) -> np.ndarray:
    """A DMatrix's labels, (n,) or (n, k) for several targets (XGBoost 3.1 returns those flattened)."""
    labels = dmatrix.get_label()
    labels = labels.reshape(dmatrix.num_row(), -1) if labels.size else labels
    return labels[:, 0] if labels.ndim == 2 and labels.shape[1] == 1 else labels


class XGBoostObjective:
    """``obj(predt, dtrain)`` for ``xgb.train`` and ``obj(y_true, y_pred, *, sample_weight)``
    for the scikit-learn API. Returns ``(grad, hess)``, weighted, shaped like the margins, in
    buffers that the next call overwrites (XGBoost copies them first)."""

    def __init__(self, loss, scale=None):
        self.loss = get_loss(loss)
        self.scale = scale  # a BoostingScale fixed for the training run; None: the first round's
        self.inputs = RoundInputs(self.loss)
        self.refit = None  # a LeafRefit while train() or fit_estimator() runs

    def __call__(self, first, second, *, sample_weight=None):
        if isinstance(second, _xgb().DMatrix):
            raw, labels, weights = first, _info(second, "label"), _info(second, "weight")  # in place
        else:
            raw, labels, weights = second, first, sample_weight
        if self.refit is not None:
            raw = self.refit.train_scores(raw)
        return self.inputs.grad_hess(labels, weights, raw, self.scale, _sum_over_workers())

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
            raw, y, w = first, _info(second, "label"), nonempty(_info(second, "weight"))
            return self.metric.name, self._value(y, raw, w)
        return self._value(first, second, nonempty(sample_weight))

    def _value(self, y, raw, w):
        y, raw = np.asarray(y), np.asarray(raw)
        if y.ndim == 1 and raw.ndim == 2 and raw.shape[1] > 1 and y.size == raw.size:  # (n, k) targets that
            y = y.reshape(raw.shape)  # XGBoost 3.1 hands over flattened
        return self.metric.evaluate(y, raw, w, self.link)


class _XGBoostTrees:
    """XGBoost's side of a ``LeafRefit``: leaf indices by predicting with a one-tree slice of the
    model, its leaf values from the slice's JSON, the shrinkage from the training configuration.
    XGBoost has no setter for leaf values: ``write`` puts the new ones into the model's JSON
    once, after training (the scores of the rounds come from ``LeafRefit``)."""

    def __init__(self, outputs=1):
        self.booster, self.values, self._slice = None, {}, (None, None)
        self.outputs = outputs  # trees per round: tree t is output t % outputs of round t // outputs

    def count(self) -> int:
        return self.booster.num_boosted_rounds() * self.outputs

    def _round(self, tree):
        """The one-round slice of the model holding ``tree``."""
        round_ = tree // self.outputs
        if self._slice[0] != round_:
            self._slice = (round_, self.booster[round_:round_ + 1])
        return self._slice[1]

    def leaves(self, data, tree):
        key = (id(data), tree // self.outputs)  # one prediction per round serves its trees
        if getattr(self, "_leaves", (None,))[0] != key:
            leaves = self._round(tree).predict(data, pred_leaf=True)
            self._leaves = (key, leaves.reshape(leaves.shape[0], -1))
        return self._leaves[1][:, tree % self.outputs]

    def leaf_table(self, tree):
        model = json.loads(self._round(tree).save_raw("json"))["learner"]["gradient_booster"]["model"]
        nodes = model["trees"][tree % self.outputs]
        config = json.loads(self.booster.save_config())["learner"]["gradient_booster"]["tree_train_param"]
        return np.asarray(nodes["split_conditions"], dtype=np.float64), float(config["eta"])

    def store(self, tree, values) -> None:
        self.values[tree] = values

    def write(self, booster):
        """``booster`` with the new leaf values of its trees (in place); trees cut off by early
        stopping's ``save_best`` are skipped."""
        if not self.values:
            return booster
        model = json.loads(booster.save_raw("json"))
        trees = model["learner"]["gradient_booster"]["model"]["trees"]
        for tree, values in self.values.items():
            if tree < len(trees):
                nodes = trees[tree]
                for node, child in enumerate(nodes["left_children"]):
                    if child == -1:
                        nodes["split_conditions"][node] = nodes["base_weights"][node] = float(np.float32(values[node]))
        booster.load_model(bytearray(json.dumps(model), "utf-8"))
        return booster


def _leaf_refit(loss, params, labels, weights, train, evals):
    """The ``LeafRefit`` of a run and its callback, or (None, None) where leaves are not refitted:
    losses without refits, boosters other than gbtree (dart, gblinear), with a forest per round
    (``num_parallel_tree``) or vector leaves (``multi_strategy="multi_output_tree"``). ``train``
    and each of ``evals`` are ``(DMatrix, key, labels)`` (``LeafRefit.add``)."""
    xgb = _xgb()
    if (not loss.refits_leaves or (params.get("booster") or "gbtree") != "gbtree"
            or int(params.get("num_parallel_tree") or 1) != 1
            or params.get("multi_strategy") not in (None, "one_output_per_tree")):
        return None, None
    trees = _XGBoostTrees(int(params.get("num_target") or 1))
    refit = LeafRefit(loss, trees, train[0], labels, weights, key=train[1])
    for data, key, eval_labels in evals:
        refit.add(data, key, eval_labels)

    class RefitLeaves(xgb.callback.TrainingCallback):
        """Hands the Booster over, refits each tree after its round, writes the leaves at the end."""

        def before_training(self, model):
            trees.booster = model
            return model

        def after_iteration(self, model, epoch, evals_log):
            refit.sync()
            return False

        def after_training(self, model):
            refit.sync()
            model = trees.write(model)
            refit.close()
            return model

    return refit, RefitLeaves()


def objective(loss, scale=None) -> XGBoostObjective:
    """The XGBoost objective for ``loss`` (a Loss or a registry name). ``scale``: the
    ``BoostingScale`` ``train()`` passes; without it (an objective built by hand) a secant policy's
    residual scale is taken from the first round's scores and kept, its factor each round, as
    ``train()`` does: the model is ``train()``'s for the same start, and no round pays an extra pass."""
    return XGBoostObjective(loss, scale)


def metric(metric_or_loss, loss=None) -> XGBoostMetric:
    """The XGBoost custom metric for a Metric, a Loss or a name. ``loss`` supplies the link
    that turns raw margins into predictions for a plain metric (for example SMAPE after a
    log-link loss); without it the metric's own default applies (identity, or
    sigmoid/softmax for log loss)."""
    return XGBoostMetric(metric_or_loss, loss)


def _higher_is_better(custom_metric) -> bool:
    """Whether a custom metric is one of ours (an ``XGBoostMetric``) that is better when higher (R2, F1)."""
    return bool(getattr(getattr(custom_metric, "metric", None), "higher_is_better", False))


def train(loss, params, dtrain, num_boost_round=10, *, evals=(), custom_metric=None, **kwargs):
    """``xgb.train`` with ``loss`` as objective and metric, started from ``loss.init_score``.

    Labels and weights of ``dtrain`` and of every evaluation set are validated first, so bad
    targets raise ValueError before any tree is built. Other keyword arguments go to
    ``xgb.train``. For losses with leaf refits (``loss.refits_leaves``: absolute error, quantile,
    MAPE) each tree's leaves are set to ``loss.leaf_values`` (as XGBoost's own L1 and quantile
    objectives did up to 3.3), with every metric computed on the refitted scores, on gbtree
    boosters with one tree per round. Returns the Booster; ``predict`` gives predictions in the
    target's units.
    """
    xgb = _xgb()
    loss = get_loss(loss)
    params = dict(params)
    labels, weights = _labels(dtrain), dtrain.get_weight()
    init = start_scores(loss, labels, weights, params.get("num_class"))
    check_feature_counts(loss, dtrain.num_col(), [data.num_col() for data, _ in evals])
    for data, _ in evals:
        loss.validate(_labels(data), nonempty(data.get_weight()))
    params.update(_outputs(loss, init, params))
    params.setdefault("disable_default_eval_metric", True)
    obj = objective(loss, boosting_scale(loss, labels, weights, init, per_round=True))
    obj.refit, callback = _leaf_refit(loss, params, labels, weights, (dtrain, dtrain, None),
                                      [(data, data, None) for data, _ in evals if data is not dtrain])
    custom_metric = custom_metric or metric(loss)
    if _higher_is_better(custom_metric):  # XGBoost reads a custom metric as lower-is-better
        kwargs.setdefault("maximize", True)
    if callback is not None:
        custom_metric = Refitted(custom_metric, obj.refit, xgb.DMatrix)
        kwargs["callbacks"] = [*(kwargs.get("callbacks") or []), callback]
    if isinstance(kwargs.get("xgb_model"), xgb.Booster):
        kwargs["xgb_model"] = _trainable(kwargs["xgb_model"])
    try:
        booster = xgb.train(params, dtrain, num_boost_round, evals=evals, obj=obj, custom_metric=custom_metric,
                            **kwargs)
    finally:
        end_refit(obj)
    declare_objective(booster, loss)
    return booster


# the output space of XGBoost's objectives, for base_score: raw margin -> stored value, and back
_TO_OUTPUT = {"logit": lambda m: 1.0 / (1.0 + np.exp(-m)), "log": np.exp}
_TO_MARGIN = {"binary:logistic": lambda p: np.log(p) - np.log1p(-p), "count:poisson": np.log, "reg:gamma": np.log,
              "reg:tweedie": np.log, "binary:hinge": lambda m: m}


def _outputs(loss, init, params) -> dict:
    """The parameters that make XGBoost fit ``init.size`` outputs from the start ``init``: its
    ``num_class`` for multiclass losses, ``num_target`` for other multi-output ones (with targets
    of shape (n,): XGBoost infers it from (n, k) labels), and ``base_score``, a list of k values
    (XGBoost saves it with the model)."""
    if init.size == 1:
        return {"base_score": float(init[0])}
    outputs = "num_class" if loss.is_multiclass else "num_target"
    return {outputs: params.get(outputs) or init.size, "base_score": init.tolist()}


def _serving_objective(loss, n_classes: int):
    """The built-in objective whose prediction transform is the loss's inverse link, as XGBoost's
    model JSON records it, and the link's name; None for the identity link, the margin link
    of the squared hinge and modified Huber (kept as trained: the served value is the raw ``F``)
    and the multi-output links without a built-in twin (distributions, sorted quantiles). The
    logit link of the multi-label losses is ``binary:logistic`` on each of the model's targets."""
    if loss.is_multiclass or loss.link.name == "softmax":  # the multiclass hinge too: converters read only
        # this (softmax(F): its argmax the class); soft labels: see declare_objective
        return {"name": "multi:softprob", "softmax_multiclass_param": {"num_class": str(n_classes)}}, None
    if loss.link.name == "logit":
        return {"name": "binary:logistic", "reg_loss_param": {"scale_pos_weight": "1"}}, "logit"
    if loss.link.name == "sign":  # hinge, perceptron: predict gives the label 1{F > 0}, as boostloss
        return {"name": "binary:hinge"}, None
    if loss.link.name == "log":
        if loss.name == "tweedie":
            power = {"tweedie_variance_power": repr(float(loss.power))}
            return {"name": "reg:tweedie", "tweedie_regression_param": power}, "log"
        if loss.name == "gamma":
            return {"name": "reg:gamma", "reg_loss_param": {"scale_pos_weight": "1"}}, "log"
        return {"name": "count:poisson", "poisson_regression_param": {"max_delta_step": "0.7"}}, "log"
    return None


def declare_objective(booster, loss) -> str:
    """Record in ``booster`` (in place) the built-in objective whose prediction transform is the
    loss's inverse link, the start kept: saved and reloaded without boostloss, ``predict`` gives
    boostloss's predictions (probabilities, means), ``output_margin=True`` its raw scores. Called
    at the end of ``train`` and ``fit_estimator``; ``train`` resets it for continued training.
    Returns the name of the objective the model declares."""
    loss = get_loss(loss)
    config = json.loads(booster.save_config())["learner"]  # small: the trees are read only to change them
    shape = config["learner_model_param"]
    classes = int(shape.get("num_class", "0"))
    if loss.multi_output and loss.link.name == "softmax":  # soft labels: k targets become k classes, where
        trees = config.get("learner_train_param", {}).get("multi_strategy")  # with one tree per output
        classes = int(shape.get("num_target", "1")) if trees in (None, "one_output_per_tree") else 0
    target = _serving_objective(loss, classes) if classes or not loss.link.name == "softmax" else None
    if target is None or config["objective"]["name"] == target[0]["name"]:
        return config["objective"]["name"]
    model = json.loads(booster.save_raw("json"))
    if target[0]["name"] == "multi:softprob":
        model["learner"]["learner_model_param"].update(num_class=str(classes), num_target="1")
    _set_objective(model["learner"], *target)
    booster.load_model(bytearray(json.dumps(model).encode()))
    if target[0]["name"] == "multi:softprob" and not loss.is_multiclass:
        booster.set_param({"num_target": "1", "num_class": str(classes)})  # the training parameters' too
    return target[0]["name"]


def _base_scores(param) -> np.ndarray:
    """The base_score of a model's ``learner_model_param`` (a string such as ``"[5E-1]"``)."""
    return np.array([float(v) for v in param["base_score"].strip("[]").split(",")])


def _set_objective(learner, objective, link):
    """Replace the objective in a model's learner JSON, converting base_score to its output space."""
    param = learner["learner_model_param"]
    stored = _base_scores(param)
    margin = _TO_MARGIN.get(learner["objective"]["name"], lambda v: v)(stored)
    value = _TO_OUTPUT[link](margin) if link else margin
    learner["objective"] = objective
    param["base_score"] = "[" + ",".join(f"{v!r}" for v in value.tolist()) + "]"


def _trainable(booster):
    """A copy of ``booster`` whose objective is the identity one ``train`` trains with (for
    ``xgb_model=``: a declared objective would otherwise also change the trees, e.g.
    count:poisson's max_delta_step)."""
    name = json.loads(booster.save_config())["learner"]["objective"]["name"]
    if name not in _TO_MARGIN and name != "multi:softprob":
        return booster
    model = json.loads(booster.save_raw("json"))
    learner = model["learner"]
    if name in _TO_MARGIN:
        _set_objective(learner, {"name": "reg:squarederror", "reg_loss_param": {"scale_pos_weight": "1"}}, None)
    else:
        learner["objective"]["name"] = "multi:softmax"
    return _xgb().Booster(model_file=bytearray(json.dumps(model).encode()))


def predict(model, data, loss, **kwargs) -> np.ndarray:
    """Predictions in the target's units: ``loss.inverse_link`` of the raw margins.

    ``model`` is a Booster (``data`` may be a DMatrix or anything DMatrix accepts) or an
    XGBoost scikit-learn estimator. A DataFrame with ``category`` columns is read with
    ``enable_categorical=True``, as it was for training. A Booster trained with early stopping
    predicts with its best iteration unless ``iteration_range`` is given.
    """
    xgb = _xgb()
    if isinstance(model, xgb.Booster):
        if not isinstance(data, xgb.DMatrix):
            data = xgb.DMatrix(data, enable_categorical=bool(categorical_columns(data)))
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
    ``boostloss.sklearn``. Leaves are refitted as in ``train``. Early stopping, if asked, watches
    ``eval_metric`` (default: the loss) on the last evaluation set. A DataFrame with ``category``
    columns sets ``enable_categorical=True`` (XGBoost refuses it otherwise)."""
    xgb = _xgb()
    loss = get_loss(loss)
    if categorical_columns(X) and not estimator.get_params().get("enable_categorical"):
        estimator.set_params(enable_categorical=True)
    init = start_scores(loss, y, sample_weight, estimator.get_params().get("num_class"))
    outputs = _outputs(loss, init, estimator.get_params())
    base = outputs.pop("base_score")
    estimator.set_params(**outputs)
    if isinstance(estimator, xgb.XGBClassifier) and init.size == 1 and np.unique(y).size == 2:
        base = float(1.0 / (1.0 + np.exp(-init[0])))  # its internal binary:logistic reads base_score as a probability
    scale = boosting_scale(loss, y, sample_weight, init, per_round=True)
    obj, watched = objective(loss, scale), metric(eval_metric or loss, loss)
    maximize = _higher_is_better(watched)  # before a refit wraps it
    params = estimator.get_params()
    callbacks = params.get("callbacks")
    if loss.refits_leaves:
        def matrix(data):  # the features as the estimator reads them, for leaf lookups
            return xgb.DMatrix(data, missing=params.get("missing", np.nan),
                               enable_categorical=bool(params.get("enable_categorical")),
                               feature_types=params.get("feature_types"))

        obj.refit, callback = _leaf_refit(loss, params, y, sample_weight, (matrix(X), None, None),
                                          [(matrix(xe), None, ye) for xe, ye in eval_set or []])
        if callback is not None:
            watched = Refitted(watched, obj.refit, xgb.DMatrix)
            estimator.set_params(callbacks=[*(callbacks or []), callback])
    stopping = {"early_stopping_rounds": early_stopping_rounds}
    if early_stopping_rounds and maximize:  # the estimator would minimise it
        stopping = {"early_stopping_rounds": None, "callbacks": [
            *(estimator.get_params().get("callbacks") or []),
            xgb.callback.EarlyStopping(rounds=early_stopping_rounds, maximize=True)]}
    estimator.set_params(objective=obj, eval_metric=watched, base_score=base, disable_default_eval_metric=True,
                         **stopping)
    try:
        estimator.fit(X, y, sample_weight=sample_weight, eval_set=eval_set,
                      sample_weight_eval_set=eval_sample_weight, verbose=False, **fit_params)
    finally:
        end_refit(obj)
        estimator.set_params(callbacks=callbacks, eval_metric=metric(eval_metric or loss, loss),
                             early_stopping_rounds=early_stopping_rounds)
    # as XGBoost does after fitting a named objective: the estimator names what its model
    # declares, so that converters reading it (onnxmltools) convert the model; and its base_score
    # is the model's, in that objective's output space, since XGBoost's set_params writes every
    # estimator parameter into the booster (the margin start read as a Poisson mean, otherwise)
    booster = estimator.get_booster()
    name = declare_objective(booster, loss)
    stored = _base_scores(json.loads(booster.save_config())["learner"]["learner_model_param"])
    declared = {"objective": name, "base_score": stored.tolist() if stored.size > 1 else float(stored[0])}
    if name == "multi:softprob" and not loss.is_multiclass:  # soft labels: the model's k targets are now classes
        declared.update(num_target=None, num_class=stored.size)
    estimator.set_params(**declared)
    return init


def predict_raw(estimator, X) -> np.ndarray:
    """Raw margins of a fitted XGBoost estimator (best iteration after early stopping)."""
    return estimator.predict(X, output_margin=True)


def best_iteration(estimator):
    """The best iteration found by early stopping, or None."""
    return getattr(estimator, "best_iteration", None) if estimator.get_params().get("early_stopping_rounds") else None
