"""scikit-learn meta-estimators around an XGBoost, LightGBM or CatBoost estimator.

``BoostRegressor(estimator, loss)`` and ``BoostClassifier(estimator, loss)`` clone the inner
booster estimator at ``fit``, install the loss as its objective and evaluation metric, start
training (and evaluation sets) from ``loss.init_score``, apply sample weights, and return
predictions in the target's units. Booster hyper-parameters stay on the inner estimator
(``estimator__max_depth``), loss parameters on the loss (``loss__delta``).
"""

from __future__ import annotations

import copy
import inspect
from importlib import import_module

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, clone, is_classifier
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from .losses.base import check_sample_weight
from .losses.binary import BinaryLoss
from .losses.multiclass import SoftmaxCrossEntropy, TwoClassView, class_balanced_weights
from .losses.multioutput import DistributionLoss, MultiQuantile, Predictive, SoftCrossEntropy
from .registry import get_loss, multiclass_names

BOOSTERS = ("xgboost", "lightgbm", "catboost")


def _adapter(estimator):
    """The boostloss adapter module for a booster's scikit-learn estimator."""
    package = type(estimator).__module__.partition(".")[0]
    if package not in BOOSTERS:
        raise TypeError(
            f"estimator must be an XGBoost, LightGBM or CatBoost scikit-learn estimator, got {type(estimator).__name__}"
        )
    return import_module(f"boostloss.{package}")


def _unfitted_copy(estimator):
    """``sklearn.base.clone``; CatBoost estimators holding list parameters (``cat_features``)
    fail clone's identity check, so they are copied with CatBoost's own ``copy``."""
    try:
        return clone(estimator)
    except RuntimeError:
        if _adapter(estimator).__name__ != "boostloss.catboost":
            raise
        return estimator.copy()


def _sample_weight(sample_weight, n: int, owner: str):
    """Weights as float64 of shape (n,) (a scalar for every row), checked; None stays None."""
    if sample_weight is None:
        return None
    sample_weight = np.asarray(sample_weight, dtype=np.float64)
    if sample_weight.ndim == 0:
        sample_weight = np.full(n, float(sample_weight))
    return check_sample_weight(sample_weight, n, owner)


def _native_wanted(prefer_native, loss) -> bool:
    """``prefer_native``: True, False, or "auto": the booster's own loss for multiclass and other
    multi-output losses only (where CatBoost calls a Python objective once per row, its slowest
    path: 36x its own MultiQuantile measured; its regression twins differ in leaf estimation and
    smoothing, e.g. its quantile is not equivariant under a change of the target's units, and its
    ONNX export of its own binary losses does not reproduce the model)."""
    if prefer_native == "auto":
        return loss.is_multiclass or loss.multi_output
    if not isinstance(prefer_native, bool):
        raise ValueError(f"prefer_native must be True, False or 'auto', got {prefer_native!r}")
    return prefer_native


def _regressor_twin(estimator):
    """The booster's regressor with the parameters of ``estimator`` (a classifier's that the regressor
    takes): (n, k) targets (multi-label, soft labels) are fitted as k regression outputs, since the
    classifiers encode 1-D class labels (LightGBM's and CatBoost's take no matrix of them)."""
    if not is_classifier(estimator):
        return estimator
    module = import_module(type(estimator).__module__.partition(".")[0])
    twin = getattr(module, type(estimator).__name__.replace("Classifier", "Regressor"))
    accepted = set(inspect.signature(twin.__init__).parameters) | set(getattr(estimator, "kwargs", None) or {})
    params = {key: value for key, value in estimator.get_params().items() if key in accepted}
    return twin(**params)


def _default_estimator(kind: str):
    lgb = import_module("boostloss._booster").import_booster("lightgbm", "lightgbm")
    return lgb.LGBMRegressor(verbose=-1) if kind == "regressor" else lgb.LGBMClassifier(verbose=-1)


def _sparse_for_boosters(X):
    """A scipy sparse matrix (not array) with 32-bit indices when they fit: what all three accept."""
    X = sparse.csr_matrix(X) if not sparse.isspmatrix_csc(X) else sparse.csc_matrix(X)
    if X.indices.dtype != np.int32 and max(X.shape) < np.iinfo(np.int32).max and X.nnz < np.iinfo(np.int32).max:
        X.indices, X.indptr = X.indices.astype(np.int32), X.indptr.astype(np.int32)
    return X


class _BoostBase(BaseEstimator):
    """Shared fitting and prediction; subclasses prepare the targets."""

    _kind = "regressor"

    def __init__(self, estimator=None, loss="squared_error", early_stopping_rounds=None, eval_metric=None,
                 prefer_native="auto"):
        self.estimator = estimator
        self.loss = loss
        self.early_stopping_rounds = early_stopping_rounds
        self.eval_metric = eval_metric
        self.prefer_native = prefer_native

    # ---- parameters: nested ones whatever form ``loss`` and ``estimator`` take ----------------
    def _materialised(self, name, value):
        """The object nested parameters (``loss__delta``, ``estimator__num_leaves``) are read from
        and set on: ``loss`` given by name as its Loss, ``estimator=None`` as the default LightGBM
        estimator; other values unchanged."""
        if name == "loss" and isinstance(value, str):
            return get_loss(value)
        if name == "estimator" and value is None:
            return _default_estimator(self._kind)
        return value

    def get_params(self, deep=True):
        """As scikit-learn's, and with ``deep`` also the nested parameters of a loss given by
        name and of the default estimator (what ``set_params`` accepts)."""
        params = super().get_params(deep=deep)
        if deep:
            for name in ("estimator", "loss"):
                try:
                    value = self._materialised(name, params[name])
                except (ValueError, KeyError, ImportError):  # an unknown name, a missing booster: fit says so
                    continue
                if value is not params[name]:
                    params.update({f"{name}__{key}": item for key, item in value.get_params(deep=True).items()})
        return params

    def set_params(self, **params):
        """As scikit-learn's; a nested parameter of a loss given by name, or of the default
        estimator, first replaces it by its object (``loss="huber"`` becomes ``Huber(...)``)."""
        for name in ("estimator", "loss"):
            if any(key.startswith(f"{name}__") for key in params):
                params[name] = self._materialised(name, params.get(name, getattr(self, name)))
        return super().set_params(**params)

    def __sklearn_clone__(self):
        """``sklearn.base.clone``: parameters cloned, the booster estimator copied unfitted by
        ``_unfitted_copy`` (a CatBoost estimator with ``cat_features`` fails clone's own check)."""
        params = {name: _unfitted_copy(value) if name == "estimator" and value is not None else clone(value, safe=False)
                  for name, value in self.get_params(deep=False).items()}
        twin = type(self)(**params)
        for attribute in ("_metadata_request", "_sklearn_output_config"):  # as clone copies them
            if attribute in self.__dict__:
                setattr(twin, attribute, copy.deepcopy(self.__dict__[attribute]))
        return twin

    def _check_X(self, X, y=None, reset=False, multi_output=False):
        """Validate ``X`` (and ``y``, ``(n, k)`` with ``multi_output``): shapes, lengths, feature names.
        DataFrames reach the booster unchanged so their categorical columns keep their meaning."""
        kwargs = dict(reset=reset, accept_sparse=["csr", "csc"], dtype=None, ensure_all_finite="allow-nan")
        if reset and y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None")
        if y is None:
            checked = validate_data(self, X, **kwargs)
        else:
            checked, y = validate_data(self, X, y, y_numeric=self._kind == "regressor" or multi_output,
                                       multi_output=multi_output, **kwargs)
        if hasattr(X, "columns"):
            checked = X
        elif sparse.issparse(checked):
            checked = _sparse_for_boosters(checked)
        elif getattr(checked, "dtype", None) is np.dtype(object):
            checked = checked.astype(np.float64)
        return checked if y is None else (checked, y)

    def _fit(self, X, y, sample_weight, eval_set, fit_params):
        sample_weight = _sample_weight(sample_weight, len(y), type(self).__name__)
        self.loss_ = self._loss_for_booster(clone(get_loss(self.loss)))
        self.loss_.validate(y, sample_weight)
        estimator = self.estimator if self.estimator is not None else _default_estimator(self._kind)
        adapter = _adapter(estimator)
        self._check_estimator_kind(estimator)
        self.estimator_ = _unfitted_copy(estimator)
        if self.loss_.multi_output and self.loss_.target_columns:  # (n, k) targets: the booster's regressor
            self.estimator_ = _regressor_twin(self.estimator_)
        eval_pairs, eval_weights = self._eval_sets(eval_set)
        native = _native_wanted(self.prefer_native, self.loss_) and hasattr(adapter, "native_loss")  # CatBoost's
        self.native_loss_ = adapter.native_loss(self.loss_) if native else None
        self.init_score_ = adapter.fit_estimator(
            self.estimator_, self.loss_, X, y, sample_weight=sample_weight, eval_set=eval_pairs,
            eval_sample_weight=eval_weights, eval_metric=self.eval_metric,
            early_stopping_rounds=self.early_stopping_rounds, **({"prefer_native": True} if native else {}),
            **fit_params)
        self.best_iteration_ = adapter.best_iteration(self.estimator_) if eval_pairs else None
        return self

    def _eval_sets(self, eval_set):
        """``[(X, y)]`` or ``[(X, y, w)]`` -> checked pairs with targets encoded like ``y``, and weights."""
        if not eval_set:
            return None, None
        pairs, weights = [], []
        for item in eval_set:
            Xe, ye, *we = item
            ye = self._encode_eval(ye)
            self.loss_.validate(ye, we[0] if we else None)
            pairs.append((self._check_X(Xe), ye))
            weights.append(np.asarray(we[0], dtype=np.float64) if we else np.ones(len(ye)))
        return pairs, weights

    def _encode_eval(self, y):
        return column_or_1d(y).astype(np.float64)

    def _check_estimator_kind(self, estimator):
        pass

    def _loss_for_booster(self, loss):
        return loss

    def _raw(self, X):
        check_is_fitted(self, "estimator_")
        X = self._check_X(X)
        return np.asarray(_adapter(self.estimator_).predict_raw(self.estimator_, X), dtype=np.float64)

    @property
    def feature_importances_(self):
        check_is_fitted(self, "estimator_")
        return self.estimator_.feature_importances_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.sparse = True
        return tags


class BoostRegressor(RegressorMixin, _BoostBase):
    """A booster trained with a boostloss regression loss.

    Parameters
    ----------
    estimator : XGBRegressor, LGBMRegressor or CatBoostRegressor (unfitted), default LGBMRegressor().
    loss : Loss or registry name, default "squared_error". Not a binary or multiclass loss.
    early_stopping_rounds : int or None. Stop when ``eval_metric`` has not improved on the
        last evaluation set for this many rounds; ``predict`` then uses the best iteration.
    eval_metric : Metric, Loss, name or None (the loss itself).
    prefer_native : "auto" (default), True or False. On CatBoost, train with CatBoost's own loss
        function where it is the same loss with the same parameters (``boostloss.catboost.
        native_loss``), at the built-in's speed, started from ``loss.init_score`` all the same;
        ``native_loss_`` names it (None: boostloss's objective trained). "auto": for multiclass
        losses only (``MultiClass``: CatBoost calls a Python multiclass objective once per row,
        ~7x slower) and multi_quantile (``MultiQuantile``, started from CatBoost's own quantiles;
        CatBoost calls a Python multi-output objective once per row too). True: also Logloss, Focal and
        the regression twins (RMSE, MAE, Quantile,
        Expectile, Huber, LogCosh, Poisson, Tweedie), the same losses but not the same training
        (CatBoost's quantile is not equivariant under a change of the target's units; its ONNX
        export of its binary losses does not reproduce the model). False: always boostloss's
        objective. No effect on XGBoost and LightGBM.

    Attributes: ``estimator_`` (the fitted booster estimator), ``loss_``, ``native_loss_``,
    ``init_score_``, ``best_iteration_``, ``feature_importances_``, ``n_features_in_``,
    ``feature_names_in_``.
    """

    def fit(self, X, y, sample_weight=None, eval_set=None, **fit_params):
        """Fit on ``X, y``; ``eval_set`` is a list of ``(X, y)`` or ``(X, y, sample_weight)``;
        other keyword arguments go to the booster's ``fit``."""
        loss = get_loss(self.loss)
        check_regression_loss(loss)
        X, y = self._check_X(X, y, reset=True)
        return self._fit(X, y.astype(np.float64), sample_weight, eval_set, fit_params)

    def _check_estimator_kind(self, estimator):
        if is_classifier(estimator):
            raise ValueError(f"BoostRegressor needs a regressor as estimator, got {type(estimator).__name__}")

    def predict(self, X):
        """Predictions in the target's units: for a distribution loss its mean, for ``multi_quantile``
        the quantile nearest the median (all of them: ``predict_quantiles``)."""
        raw = self._raw(X)  # first: NotFittedError before fit
        return point_predictions(self.loss_, raw)

    @available_if(lambda self: _predicts(self, "distribution"))
    def predict_dist(self, X) -> Predictive:
        """The predicted distribution of each row (distribution losses: ``gaussian_nll``, ...), with
        ``mean``, ``std``, ``quantile(q)``, ``interval(level)``, ``logpdf(y)``, ``cdf(y)``, ``crps(y)``."""
        raw = self._raw(X)
        return self.loss_.predict_distribution(raw)

    @available_if(lambda self: _predicts(self, "quantiles"))
    def predict_quantiles(self, X, alphas=None) -> np.ndarray:
        """The ``alphas``-quantiles of each row, ``(n, len(alphas))``, never crossing: for
        ``multi_quantile`` (default: its own ``alphas``) some of the levels it was trained on, for a
        distribution loss any levels (default ``(0.1, 0.5, 0.9)``)."""
        raw = self._raw(X)
        return quantile_predictions(self.loss_, raw, quantile_levels(self.loss_, alphas))

    @available_if(lambda self: _predicts(self, "quantiles"))
    def predict_interval(self, X, level=0.9) -> tuple[np.ndarray, np.ndarray]:
        """The central interval holding ``level`` of each row's probability: ``(lower, upper)``, the
        ``(1 -+ level) / 2``-quantiles (for ``multi_quantile``, levels it was trained on)."""
        bounds = self.predict_quantiles(X, [(1.0 - level) / 2.0, (1.0 + level) / 2.0])
        return bounds[:, 0], bounds[:, 1]


def point_predictions(loss, raw) -> np.ndarray:
    """``BoostRegressor.predict`` of raw scores: the loss's predictions in the target's units,
    for ``multi_quantile`` the column of the level nearest the median."""
    prediction = loss.inverse_link(raw)
    if isinstance(loss, MultiQuantile):
        return prediction[:, int(np.argmin(np.abs(np.asarray(loss.alphas, dtype=np.float64) - 0.5)))]
    return prediction


def quantile_levels(loss, alphas) -> np.ndarray:
    """The levels ``predict_quantiles`` gives (default: ``multi_quantile``'s own, else 0.1, 0.5,
    0.9); ValueError for a level ``multi_quantile`` was not trained on."""
    if not isinstance(loss, MultiQuantile):
        return np.atleast_1d(np.asarray((0.1, 0.5, 0.9) if alphas is None else alphas, dtype=np.float64))
    trained = np.asarray(loss.alphas, dtype=np.float64)
    wanted = trained if alphas is None else np.atleast_1d(np.asarray(alphas, dtype=np.float64))
    missing = [float(a) for a in wanted if not np.isclose(trained, a).any()]
    if missing:
        raise ValueError(f"BoostRegressor: {loss!r} was trained on the levels {trained.tolist()}, not {missing}")
    return wanted


def quantile_predictions(loss, raw, levels) -> np.ndarray:
    """The ``levels``-quantiles of raw scores' predictions, ``(n, len(levels))``: a distribution's,
    or ``multi_quantile``'s sorted columns of those levels (``quantile_levels``)."""
    if isinstance(loss, MultiQuantile):
        trained = np.asarray(loss.alphas, dtype=np.float64)
        return loss.inverse_link(raw)[:, [int(np.argmin(np.abs(trained - a))) for a in levels]]
    return loss.predict_distribution(raw).quantile(levels)


def _predicts(regressor, what) -> bool:
    """Whether a regressor's loss (``loss_`` once fitted, else ``loss``) predicts a distribution
    (``"distribution"``) or quantiles (``"quantiles"``: a distribution or ``multi_quantile``);
    AttributeError otherwise, so the method is absent (``available_if``)."""
    loss = getattr(regressor, "loss_", None)
    if loss is None:
        try:
            loss = get_loss(regressor.loss)
        except (TypeError, ValueError):
            return True
    if isinstance(loss, DistributionLoss) or (what == "quantiles" and isinstance(loss, MultiQuantile)):
        return True
    alternatives = "gaussian_nll, lognormal_nll, gamma_nll, negative_binomial_nll, student_t_nll"
    alternatives += " or multi_quantile" if what == "quantiles" else ""
    raise AttributeError(f"BoostRegressor: loss {loss.name!r} predicts no {what}; use {alternatives}")


def check_regression_loss(loss) -> None:
    """ValueError for a loss ``BoostRegressor`` cannot train: a classification loss on labels
    (a binary loss taking probabilities as targets, soft-label logistic, is a regression), or a
    loss of (n, k) label or probability targets."""
    if loss.is_multiclass or (isinstance(loss, BinaryLoss) and not loss.takes_probabilities):
        raise ValueError(f"BoostRegressor: {loss!r} is a classification loss; use BoostClassifier "
                         "(or, for targets that are probabilities, logistic:soft_labels=True)")
    if loss.multi_output and loss.target_columns:
        raise ValueError(f"BoostRegressor: {loss!r} takes (n, k) labels or class probabilities; use BoostClassifier")


def margin_labels(raw, classes):
    """The predicted labels of raw scores: the highest of k columns, else the side of the
    margin (``F > 0``; for the log-odds losses, ``p > 1/2``)."""
    if raw.ndim == 2:
        return classes[np.argmax(raw, axis=1)]
    return classes[(raw > 0).astype(np.intp)]


def estimates_probabilities(classifier) -> bool:
    """True when a classifier's loss (``loss_`` once fitted, else ``loss``) estimates class
    probabilities; AttributeError naming the loss otherwise, so ``predict_proba`` is absent
    (``available_if``) for the losses whose minimiser is only the sign of the margin."""
    loss = getattr(classifier, "loss_", None)
    if loss is None:
        try:
            loss = get_loss(classifier.loss)
        except (TypeError, ValueError):  # fit reports a bad loss
            return True
    if not loss.link.gives_probabilities:
        raise AttributeError(f"{type(classifier).__name__}: loss {loss.name!r} estimates no probabilities (its "
                             "minimiser is the sign of the margin); use predict or decision_function, or a loss "
                             "such as 'logistic' or 'modified_huber'")
    return True


def _column_target_loss(loss, kind):
    """The loss ``BoostClassifier`` trains on an (n, k) target of ``kind`` ("labels": 0/1 multi-label,
    "probabilities": soft labels) when given ``loss``; ValueError where it has none."""
    if loss.multi_output and loss.target_columns:
        if (kind == "probabilities") != isinstance(loss, SoftCrossEntropy):
            raise ValueError(f"BoostClassifier: {loss!r} does not take {kind} as targets")
        return loss
    if kind == "labels":
        form = loss.multilabel_form() if isinstance(loss, BinaryLoss) else None
        if form is None:
            raise ValueError(f"BoostClassifier: {loss!r} has no multi-label form; for an (n, k) 0/1 target use "
                             "logistic, focal, multilabel_logistic or multilabel_focal")
        return form
    if loss in (get_loss("logistic"), SoftmaxCrossEntropy()):
        return SoftCrossEntropy()
    raise ValueError(f"BoostClassifier: class probabilities as targets train soft_cross_entropy (from logistic or "
                     f"softmax_cross_entropy at their defaults), not {loss!r}")


class BoostClassifier(ClassifierMixin, _BoostBase):
    """A booster trained with a boostloss binary or multiclass loss.

    Parameters
    ----------
    estimator : XGBClassifier, LGBMClassifier or CatBoostClassifier (unfitted; their regressor
        counterparts work too), default LGBMClassifier().
    loss : Loss or registry name, default "logistic". On more than two classes a binary loss
        trains its k-class form (logistic: softmax cross-entropy, focal: multiclass focal; see
        ``BinaryLoss.multiclass_form``), which ``loss_`` then holds.
    class_weight : None, "balanced", "effective_number" (weights ``(1-beta)/(1-beta^n_c)``, see
        ``boostloss.class_balanced_weights``) or a dict {label: weight}; multiplies sample weights.
    beta : float, the ``beta`` of the effective-number weighting.
    early_stopping_rounds, eval_metric, prefer_native : as for ``BoostRegressor``.

    Labels may be of any type; ``classes_`` holds them sorted. ``predict_proba`` returns
    probabilities whose rows sum to 1, ``decision_function`` the raw margins. A loss whose
    minimiser is no probability (``hinge``, ``perceptron``) has no ``predict_proba`` (it raises
    ``AttributeError``, so ``hasattr`` says False); ``predict`` then takes the sign of the margin.
    """

    _kind = "classifier"

    def __init__(self, estimator=None, loss="logistic", class_weight=None, beta=0.999,
                 early_stopping_rounds=None, eval_metric=None, prefer_native="auto"):
        super().__init__(estimator=estimator, loss=loss, early_stopping_rounds=early_stopping_rounds,
                         eval_metric=eval_metric, prefer_native=prefer_native)
        self.class_weight = class_weight
        self.beta = beta

    def fit(self, X, y, sample_weight=None, eval_set=None, **fit_params):
        """Fit on ``X, y``; see ``BoostRegressor.fit``. ``y``: labels, or an ``(n, k)`` matrix: 0/1 of
        k labels per row (multi-label), or class probabilities (soft labels, rows summing to 1)."""
        self._columns = None
        shape = np.asarray(y).shape  # not np.ndim: objects that only convert (scikit-learn's _NotAnArray)
        if len(shape) == 2 and shape[1] > 1:
            return self._fit_columns(X, y, sample_weight, eval_set, fit_params)
        X, y = self._check_X(X, y, reset=True)
        check_classification_targets(y)
        self._encoder = LabelEncoder().fit(y)
        self.classes_ = self._encoder.classes_
        encoded = self._encoder.transform(y)
        loss = get_loss(self.loss)
        n_classes = len(self.classes_)
        if loss.multi_output and loss.target_columns:
            raise ValueError(f"BoostClassifier: {loss!r} takes an (n, k) matrix of labels or probabilities; "
                             "y has one label per row")
        if not (loss.is_multiclass or isinstance(loss, BinaryLoss)):
            raise ValueError(f"BoostClassifier: {loss!r} is a regression loss; use BoostRegressor")
        if isinstance(loss, BinaryLoss) and n_classes > 2:
            if loss.multiclass_form() is None:
                raise ValueError(f"BoostClassifier: {loss!r} is a binary loss with no k-class form, but y has "
                                 f"{n_classes} classes; use one of {', '.join(multiclass_names())}")
        if n_classes < 2:
            raise ValueError(f"BoostClassifier: y has 1 class ({self.classes_[0]!r}); need at least two")
        if sample_weight is not None:
            sample_weight = _sample_weight(sample_weight, len(encoded), "BoostClassifier")
        sample_weight = self._class_weighted(encoded, sample_weight, len(encoded))
        if sample_weight is not None and np.unique(encoded[sample_weight > 0]).size < 2:
            raise ValueError("BoostClassifier: only 1 class has positive sample weight; need at least two")
        return self._fit(X, encoded.astype(np.float64), sample_weight, eval_set, fit_params)

    def _fit_columns(self, X, y, sample_weight, eval_set, fit_params):
        """``fit`` on an (n, k) matrix: k labels per row when it holds 0/1 only (unless the loss is
        ``soft_cross_entropy``), else class probabilities; ``classes_`` is ``0..k-1``."""
        X, y = self._check_X(X, y, reset=True, multi_output=True)
        y = np.asarray(y, dtype=np.float64)
        soft = isinstance(get_loss(self.loss), SoftCrossEntropy) or not np.isin(y, (0.0, 1.0)).all()
        self._columns = "probabilities" if soft else "labels"
        if self.class_weight is not None:
            raise ValueError("BoostClassifier: class_weight weighs the classes of one label per row; for an "
                             "(n, k) target give sample_weight, or the loss's own weights (pos_weight, alpha)")
        self.classes_ = np.arange(y.shape[1])
        return self._fit(X, y, sample_weight, eval_set, fit_params)

    def _loss_for_booster(self, loss):
        """Two classes with a multiclass loss train one score per row, as boosters do for binary
        tasks; more than two with a binary loss train its k-class form (``multiclass_form``). An
        (n, k) target trains a binary loss's multi-label form (``multilabel_form``), or for class
        probabilities ``soft_cross_entropy`` (from logistic or softmax cross-entropy at their defaults)."""
        if self._columns is not None:
            return _column_target_loss(loss, self._columns)
        if isinstance(loss, BinaryLoss) and len(self.classes_) > 2:
            return loss.multiclass_form()
        return TwoClassView(loss) if loss.is_multiclass and len(self.classes_) == 2 else loss

    def _class_weighted(self, encoded, sample_weight, n):
        if self.class_weight is None:
            return sample_weight
        per_class = self._class_weight_vector(encoded)
        base = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        return base * per_class[encoded]

    def _class_weight_vector(self, encoded):
        k = len(self.classes_)
        if isinstance(self.class_weight, dict):
            unknown = set(self.class_weight) - set(self.classes_.tolist())
            if unknown:
                raise ValueError(f"BoostClassifier: class_weight names labels not in y: {sorted(unknown)}")
            return np.array([float(self.class_weight.get(c, 1.0)) for c in self.classes_.tolist()])
        if self.class_weight == "balanced":
            return compute_class_weight("balanced", classes=np.arange(k), y=encoded)
        if self.class_weight == "effective_number":
            weights = class_balanced_weights(encoded, self.beta)
            return np.array([weights[i] for i in range(k)])
        raise ValueError(f"BoostClassifier: class_weight must be None, 'balanced', 'effective_number' or a dict, "
                         f"got {self.class_weight!r}")

    def _encode_eval(self, y):
        if self._columns is not None:
            return np.asarray(y, dtype=np.float64)
        y = column_or_1d(y)
        unknown = set(np.unique(y).tolist()) - set(self.classes_.tolist())
        if unknown:
            raise ValueError(f"BoostClassifier: eval_set has labels not seen in training: {sorted(unknown)}")
        return self._encoder.transform(y).astype(np.float64)

    def decision_function(self, X):
        """Raw margins: ``(n,)`` log-odds of the second class on two classes, else ``(n, k)`` scores."""
        return self._raw(X)

    @available_if(estimates_probabilities)
    def predict_proba(self, X):
        """Class probabilities, shape ``(n, n_classes)``, rows summing to 1; for multi-label
        targets each label's probability, shape ``(n, k)`` (as ``MLPClassifier``)."""
        raw = self._raw(X)
        proba = self.loss_.inverse_link(raw)
        return proba if proba.ndim == 2 else np.column_stack([1.0 - proba, proba])

    def predict(self, X):
        """The most probable class label (for a margin loss, the side of the margin); for multi-label
        targets the (n, k) 0/1 matrix of the labels of probability at least 1/2."""
        if getattr(self, "_columns", None) == "labels":
            return (self.predict_proba(X) >= 0.5).astype(np.int64)
        return margin_labels(self._raw(X), self.classes_)
