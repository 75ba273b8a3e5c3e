"""LightGBM adapter: a Loss as a LightGBM objective and metric, started from its optimal constant.

Train API::

    model = bl.lightgbm.train(loss, params, train_set, 100, valid_sets=[valid_set])
    pred = bl.lightgbm.predict(model, X_test, loss)          # target units

``train`` sets each dataset's ``init_score`` to ``loss.init_score`` (replacing any it had),
installs ``objective(loss)`` and ``metric(loss)`` (and ``metric="None"``, since LightGBM's
built-in metrics misread raw scores under a custom objective), and after the first iteration
adds the start score to the leaves of the first trees, so the saved model predicts from it
by itself (LightGBM's ``predict`` never adds a dataset's ``init_score`` back).

``lgb.train({"objective": bl.lightgbm.objective(loss)}, ...)`` and
``LGBMRegressor(objective=bl.lightgbm.objective(loss))`` work directly too (weights are
applied in both); they start from 0 unless you give ``init_score`` and add it back.
"""

from __future__ import annotations

import inspect
from contextlib import contextmanager

import numpy as np

from ._booster import (
    LeafRefit,
    Refitted,
    RoundInputs,
    boosting_scale,
    check_feature_counts,
    end_refit,
    import_booster,
    nonempty,
    per_row,
    resolve_metric,
    start_scores,
)
from .registry import get_loss


def _lgb():
    return import_booster("lightgbm", "lightgbm")


class LightGBMObjective:
    """``fobj(preds, train_data)`` for ``lgb.train`` and ``fobj(y_true, y_pred, weight)`` for
    the scikit-learn API (which passes weights to 3-argument objectives). Returns weighted
    ``(grad, hess)`` shaped like ``preds``, in buffers that the next call overwrites (LightGBM
    copies them first)."""

    def __init__(self, loss, scale=None, rows=None):
        self.loss = get_loss(loss)
        self.scale = scale  # a BoostingScale fixed for the training run; None: the first round's
        self.rows = rows  # see targets_of
        self.inputs = RoundInputs(self.loss)
        self.refit = None  # a LeafRefit while train() or fit_estimator() runs

    def __call__(self, first, second, sample_weight=None):
        if isinstance(second, _lgb().Dataset):
            raw, labels, weights = first, targets_of(second), second.get_weight()  # the Dataset's own arrays
        else:
            raw, labels, weights = second, targets_of(first, self.rows), sample_weight
        if self.refit is not None:
            raw = self.refit.train_scores(raw)
        return self.inputs.grad_hess(labels, weights, raw, self.scale)

    def __repr__(self):
        return f"bl.lightgbm.objective({self.loss!r})"


class LightGBMMetric:
    """``feval(preds, eval_data)`` and ``eval_metric(y_true, y_pred, weight)``, both returning
    ``(name, value, is_higher_better)``. ``rows``: see ``targets_of``."""

    def __init__(self, metric, loss=None, rows=None):
        self.metric, self.link = resolve_metric(metric, loss)
        self.rows = rows

    def __call__(self, first, second, sample_weight=None):
        if isinstance(second, _lgb().Dataset):
            raw, y, w = first, targets_of(second), nonempty(second.get_weight())
        else:
            y, raw, w = targets_of(first, self.rows), second, nonempty(sample_weight)
        value = self.metric.evaluate(y, raw, w, self.link)
        return self.metric.name, value, self.metric.higher_is_better


def dataset(data, label=None, *, weight=None, **kwargs):
    """An ``lgb.Dataset`` for targets of any shape. LightGBM's labels are one column; for (n, k)
    targets (``multilabel_*``, ``soft_cross_entropy``) the Dataset's label is their first column
    and the matrix is kept on the Dataset, where boostloss's objective and metric read it
    (``targets_of``). Other arguments go to ``lgb.Dataset``."""
    target = None if label is None else np.asarray(label, dtype=np.float64)
    if target is None or target.ndim == 1 or (target.ndim == 2 and target.shape[1] == 1):
        return _lgb().Dataset(data, label if target is None else target.reshape(-1), weight=weight, **kwargs)
    made = _lgb().Dataset(data, target[:, 0], weight=weight, **kwargs)
    made.boostloss_targets = target
    return made


def targets_of(labels, rows=None):
    """The targets a LightGBM label column stands for: a Dataset's own labels, or the (n, k) matrix
    ``dataset`` kept on it; in the scikit-learn API, which hands the labels themselves, with
    ``rows`` (the (n, k) targets of the training and evaluation sets, stacked) the labels are row
    numbers into ``rows`` (as ``fit_estimator`` passes them for (n, k) targets)."""
    if isinstance(labels, _lgb().Dataset):
        kept = getattr(labels, "boostloss_targets", None)
        return labels.get_label() if kept is None else kept
    return labels if rows is None else rows[np.asarray(labels).astype(np.intp)]


_THREADS = ("num_threads", "num_thread", "nthread", "nthreads", "n_jobs")  # LightGBM's aliases


class _LightGBMTrees:
    """LightGBM's side of a ``LeafRefit``: leaf indices by prediction on the raw features, leaf
    values and shrinkage from the tree's dump, new values through ``set_leaf_output``."""

    before_iteration = True  # also the callback that hands over the Booster

    def __init__(self, outputs=1):
        self.booster = None
        self.outputs = outputs  # trees per iteration: tree t is output t % outputs of iteration t // outputs

    def __call__(self, env):
        self.booster = env.model

    def count(self) -> int:
        return self.booster.current_iteration() * self.outputs

    def leaves(self, data, tree):
        # with the booster's own thread count: OpenMP's default (all cores) would leave idle
        # threads spinning beside the training threads (measured 50x slower rounds)
        threads = {k: v for k, v in self.booster.params.items() if k in _THREADS}
        key = (id(data), tree // self.outputs)  # one prediction per iteration serves its trees
        if getattr(self, "_leaves", (None,))[0] != key:
            leaves = self.booster.predict(data, pred_leaf=True, start_iteration=tree // self.outputs, num_iteration=1,
                                          **threads)
            self._leaves = (key, leaves.reshape(leaves.shape[0], -1))
        return self._leaves[1][:, tree % self.outputs]

    def leaf_table(self, tree):
        info = self.booster.dump_model(start_iteration=tree // self.outputs,
                                       num_iteration=1)["tree_info"][tree % self.outputs]
        values, nodes = np.empty(info["num_leaves"]), [info["tree_structure"]]
        while nodes:
            node = nodes.pop()
            if "leaf_value" in node:
                values[node.get("leaf_index", 0)] = node["leaf_value"]
            else:
                nodes += [node["left_child"], node["right_child"]]
        return values, float(info["shrinkage"])

    def store(self, tree, values) -> None:
        for leaf, value in enumerate(values.tolist()):
            self.booster.set_leaf_output(tree, leaf, value)


class _SyncRefit:
    """Callback: refit the newest tree after each iteration (if no metric has yet); it goes before
    ``_AddStartToFirstTrees`` in the list of callbacks, which LightGBM runs in that order."""

    before_iteration = False

    def __init__(self, refit):
        self.refit = refit

    def __call__(self, env):
        self.refit.sync()


def _leaf_refit(loss, params, labels, weights, train, evals):
    """The ``LeafRefit`` of a run and its callbacks, or (None, []) where leaves are not refitted:
    losses without refits, boosting other than gbdt (dart, rf), linear trees, or a data set
    whose raw features are gone (LightGBM frees them once a Dataset is constructed). ``train``
    and each of ``evals`` are ``(raw features, key, labels)`` (see ``LeafRefit.add``)."""
    boosting = next((params[k] for k in ("boosting", "boosting_type", "boost") if k in params), "gbdt")
    if (not loss.refits_leaves or boosting != "gbdt" or params.get("linear_tree")
            or any(data is None or isinstance(data, (str, bytes)) or hasattr(data, "__fspath__")
                   for data, _, _ in [train, *evals])):
        return None, []
    trees = _LightGBMTrees(int(params.get("num_class") or 1))
    refit = LeafRefit(loss, trees, train[0], labels, weights, key=train[1])
    for data, key, eval_labels in evals:
        refit.add(data, key, eval_labels)
    return refit, [trees, _SyncRefit(refit)]


class _AddStartToFirstTrees:
    """Callback: after the first iteration, add the start score to every leaf of its trees.

    LightGBM keeps its own running scores (which already include the datasets' init_score),
    so shifting the saved trees changes only what the model predicts on new data.
    """

    before_iteration = False
    order = 0

    def __init__(self, init: np.ndarray):
        self.init = init

    def __call__(self, env):
        if env.iteration != env.begin_iteration:
            return
        booster = env.model
        trees = booster.dump_model(num_iteration=1)["tree_info"]
        for tree, start in zip(trees[: self.init.size], self.init, strict=True):
            for leaf in range(tree["num_leaves"]):
                index = tree["tree_index"]
                booster.set_leaf_output(index, leaf, booster.get_leaf_output(index, leaf) + start)


def _no_usable_feature(err) -> bool:
    """LightGBM aborts with an internal check when a custom objective meets a dataset in which
    no feature can be split (LightGBM issue #5667: too few rows for ``min_data_in_leaf``, or
    constant features); its own objectives train a constant model there."""
    return isinstance(err, _lgb().basic.LightGBMError) and "num_features()) > (0)" in str(err)


def _constant_objective(n_outputs: int) -> dict:
    """A built-in objective of ``n_outputs`` outputs, which LightGBM trains on a dataset without
    usable features (one iteration of one-leaf trees, then it stops)."""
    return {"objective": "multiclass", "num_class": n_outputs} if n_outputs > 1 else {"objective": "regression"}


@contextmanager
def _class_labels(dataset, loss):
    """For ``_constant_objective``'s built-in multiclass, whose labels must be classes: a multi-output
    loss's dataset labelled 0 inside the block (the model's leaves are set to the start after)."""
    if not loss.multi_output:
        yield
        return
    labels = dataset.get_label()
    dataset.set_label(np.zeros(len(labels)))
    try:
        yield
    finally:
        dataset.set_label(labels)


def _set_constant(booster, init: np.ndarray):
    """Set the one leaf of each of the first iteration's trees to the start score: the model
    predicts the loss's optimal constant, as every tree of boostloss's objective would have
    added nothing to it. Returns ``booster``."""
    for tree, start in enumerate(init.tolist()):
        booster.set_leaf_output(tree, 0, start)
    return booster


def objective(loss, scale=None) -> LightGBMObjective:
    """The LightGBM objective for ``loss`` (a Loss or a registry name); ``scale`` as for
    ``bl.xgboost.objective``."""
    return LightGBMObjective(loss, scale)


def metric(metric_or_loss, loss=None) -> LightGBMMetric:
    """The LightGBM custom metric for a Metric, a Loss or a name; ``loss`` supplies the link
    for a plain metric (see ``boostloss.xgboost.metric``)."""
    return LightGBMMetric(metric_or_loss, loss)


def _feature_count(dataset):
    """Columns of a Dataset's raw data, or of the constructed Dataset; None if unknown yet."""
    if getattr(dataset.data, "shape", None) is not None and len(dataset.data.shape) == 2:
        return int(dataset.data.shape[1])
    return dataset.num_feature() if dataset._handle is not None else None


def _labels(dataset):
    """Targets (``targets_of``) and weights of a Dataset, constructed or not (a file-backed one is
    constructed)."""
    if dataset.label is None:
        dataset.construct()
    return targets_of(dataset), nonempty(dataset.weight)


def train(loss, params, train_set, num_boost_round=100, *, valid_sets=None, feval=None,
          init_model=None, callbacks=None, **kwargs):
    """``lgb.train`` with ``loss`` as objective and metric, started from ``loss.init_score``.

    Labels and weights of every dataset are validated first. With ``init_model`` training
    continues from that model's scores instead. For losses with leaf refits
    (``loss.refits_leaves``: absolute error, quantile, MAPE) each new tree's leaves are set to
    ``loss.leaf_values`` (as LightGBM's own objectives renew them) when the datasets still hold
    their raw features (not built from files or constructed beforehand) and boosting is gbdt;
    every ``feval`` then sees the refitted scores. Other keyword arguments go to ``lgb.train``.
    Returns the Booster, whose own predictions include the start score.
    """
    lgb = _lgb()
    loss = get_loss(loss)
    params.setdefault("metric", "None")
    valid_sets = list(valid_sets or [])
    callbacks = list(callbacks or [])
    labels, weights = _labels(train_set)
    init = start_scores(loss, labels, weights, params.get("num_class"))
    obj = objective(loss, boosting_scale(loss, labels, weights, init, per_round=True))
    params = {**params, "objective": obj}
    if init.size > 1:
        params.setdefault("num_class", init.size)
    check_feature_counts(loss, _feature_count(train_set), [_feature_count(d) for d in valid_sets])
    for dataset in [train_set, *valid_sets]:
        y, w = _labels(dataset) if dataset is not train_set else (labels, weights)
        loss.validate(y, w)
        if init_model is None:
            dataset.set_init_score(per_row(init, len(y)))
    evals = [(data.data, data, None) for data in valid_sets if data is not train_set]
    obj.refit, extra = _leaf_refit(loss, params, labels, weights, (train_set.data, train_set, None), evals)
    callbacks += extra  # LightGBM runs callbacks in list order: refits before the start is added
    if init_model is None:
        callbacks.append(_AddStartToFirstTrees(init))
    fevals = [metric(loss)] if feval is None else list(feval) if isinstance(feval, (list, tuple)) else [feval]
    if obj.refit is not None:
        fevals = [Refitted(f, obj.refit, lgb.Dataset) for f in fevals]
    try:
        booster = lgb.train(params, train_set, num_boost_round, valid_sets=valid_sets, feval=fevals,
                            init_model=init_model, callbacks=callbacks, **kwargs)
    except lgb.basic.LightGBMError as err:
        if not _no_usable_feature(err) or init_model is not None:
            raise
        constant = {key: value for key, value in params.items() if key not in ("objective", "num_class")}
        with _class_labels(train_set, loss):
            booster = _set_constant(lgb.train({**constant, **_constant_objective(init.size)}, train_set, 1), init)
    finally:
        end_refit(obj)
    return declare_objective(booster, loss)


def _objective_line(loss, n_classes: int) -> str | None:
    """The model file's ``objective=`` line of the built-in objective whose prediction transform
    is the loss's inverse link (LightGBM writes none for a custom objective; the multiclass
    hinge too declares ``multiclass``, which converters read: softmax(F), whose argmax is the class;
    soft labels too; the multi-label losses ``multiclassova``, a sigmoid per output). None for the
    other multi-output losses, which have no built-in twin: the file predicts their raw scores."""
    if loss.is_multiclass or loss.link.name == "softmax":
        return f"objective=multiclass num_class:{n_classes}"
    if loss.multi_output:
        return f"objective=multiclassova num_class:{n_classes} sigmoid:1" if loss.link.name == "logit" else None
    log_link = loss.name if loss.name in ("gamma", "tweedie") else "poisson"  # all three: exp
    return {"logit": "objective=binary sigmoid:1", "log": f"objective={log_link}"}.get(loss.link.name,
                                                                                       "objective=regression")


def declare_objective(booster, loss):
    """Record in ``booster`` (in place) the built-in objective whose prediction transform is the
    loss's inverse link (``regression`` for identity links): saved and reloaded without boostloss
    (``lgb.Booster(model_file=...)``), ``predict`` gives boostloss's predictions (probabilities,
    means; the start is in the first trees), ``raw_score=True`` its raw scores; converters that
    read the objective (onnxmltools, treelite, lleaves) convert it. Called at the end of ``train``
    and ``fit_estimator``. Returns ``booster``."""
    line = _objective_line(get_loss(loss), booster.num_model_per_iteration())
    if line is None:
        return booster
    booster.params["objective"] = line.split("=")[1].split()[0]  # what onnxmltools reads of a live Booster
    head, sep, rest = booster.model_to_string().partition("\nfeature_names=")
    if not sep or f"\n{line}\n" in f"{head}\n":
        return booster
    head = "\n".join(row for row in head.split("\n") if not row.startswith("objective="))  # a built-in's
    return booster.model_from_string(f"{head}\n{line}{sep}{rest}")


def predict(model, data, loss, **kwargs) -> np.ndarray:
    """Predictions in the target's units: ``loss.inverse_link`` of the raw scores.

    ``model`` is a Booster or a LightGBM scikit-learn estimator (both predict with their best
    iteration after early stopping). The start score is part of a model from ``train``.
    """
    raw = model.predict(data, raw_score=True, **kwargs)
    return get_loss(loss).inverse_link(raw)


def fit_estimator(estimator, loss, X, y, *, sample_weight=None, eval_set=None, eval_sample_weight=None,
                  eval_metric=None, early_stopping_rounds=None, **fit_params):
    """Fit a LightGBM scikit-learn estimator (in place) with ``loss``, started from its optimal
    constant on the training and evaluation sets, the start added into the first trees so
    the fitted model predicts from it, leaves refitted as in ``train``. Used by
    ``boostloss.sklearn``. Early stopping, if asked, watches ``eval_metric`` (default: the loss)."""
    lgb = _lgb()
    loss = get_loss(loss)
    init = start_scores(loss, y, sample_weight, estimator.get_params().get("num_class"))
    scale = boosting_scale(loss, y, sample_weight, init, per_round=True)
    y, eval_set, rows = _as_row_numbers(loss, y, eval_set)
    obj = LightGBMObjective(loss, scale, rows)
    n_estimators = estimator.get_params()["n_estimators"]
    estimator.set_params(objective=obj, metric="None")
    if init.size > 1:
        estimator.set_params(num_class=init.size)  # LGBMClassifier sets it only beyond two classes
    obj.refit, extra = _leaf_refit(loss, estimator.get_params(), y, sample_weight, (X, None, None),
                                   [(xe, None, ye) for xe, ye in eval_set or []])
    callbacks = [*fit_params.pop("callbacks", []), *extra, _AddStartToFirstTrees(init)]  # run in this order
    if early_stopping_rounds:
        callbacks.append(lgb.early_stopping(early_stopping_rounds, first_metric_only=True, verbose=False))
    if eval_set:
        watched = LightGBMMetric(eval_metric or loss, loss, rows)
        fit_params.update(eval_sample_weight=eval_sample_weight,
                          eval_metric=watched if obj.refit is None else Refitted(watched, obj.refit, lgb.Dataset),
                          eval_init_score=[per_row(init, len(ye)) for _, ye in eval_set])
        if "eval_X" in inspect.signature(estimator.fit).parameters:  # LightGBM >= 4.7
            fit_params.update(eval_X=tuple(x for x, _ in eval_set), eval_y=tuple(ye for _, ye in eval_set))
        else:
            fit_params["eval_set"] = list(eval_set)
    try:
        estimator.fit(X, y, sample_weight=sample_weight, init_score=per_row(init, len(y)), callbacks=callbacks,
                      **fit_params)
    except lgb.basic.LightGBMError as err:
        if not _no_usable_feature(err):
            raise
        estimator.set_params(**_constant_objective(init.size), n_estimators=1)
        labels = np.zeros(len(y)) if loss.multi_output else y  # targets that are no classes of its multiclass
        estimator.fit(X, labels, sample_weight=sample_weight, init_score=per_row(init, len(y)))
        _set_constant(estimator.booster_, init)
        estimator.set_params(objective=obj, n_estimators=n_estimators)
    finally:
        end_refit(obj)
    declare_objective(estimator.booster_, loss)
    return init


def _as_row_numbers(loss, y, eval_set):
    """For (n, k) targets, which LightGBM's scikit-learn API refuses: labels that number the rows
    of the training set and then of each evaluation set, and the stacked targets they index (the
    objective's and metric's ``rows``). Other targets come back as they are, with ``rows`` None."""
    if not (loss.multi_output and loss.target_columns):
        return y, eval_set, None
    sets = [np.asarray(y, dtype=np.float64)] + [np.asarray(ye, dtype=np.float64) for _, ye in eval_set or []]
    bounds = np.cumsum([0] + [len(t) for t in sets])
    numbers = [np.arange(low, high, dtype=np.float64) for low, high in zip(bounds[:-1], bounds[1:], strict=True)]
    return numbers[0], [(xe, ye) for (xe, _), ye in zip(eval_set or [], numbers[1:], strict=True)] or eval_set, \
        np.vstack(sets)


def predict_raw(estimator, X) -> np.ndarray:
    """Raw scores of a fitted LightGBM estimator (best iteration after early stopping)."""
    return estimator.predict(X, raw_score=True)


def best_iteration(estimator):
    """The best iteration found by early stopping (0-based), or None."""
    best = getattr(estimator, "best_iteration_", 0)
    return best - 1 if best else None
