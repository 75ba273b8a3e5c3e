"""scikit-learn meta-estimators around an XGBoost, LightGBM or CatBoost estimator.

``BoostRegressor(estimator, loss)`` and ``BoostClassifier(estimator, loss)`` clone the inner
booster estimator at ``fit``, install the loss as its objective and evaluation metric, start
training (and evaluation sets) from ``loss.init_score``, apply sample weights, and return
predictions in the target's units. Booster hyper-parameters stay on the inner estimator
(``estimator__max_depth``), loss parameters on the loss (``loss__delta``).
"""

from __future__ import annotations

import copy
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
from .losses.multiclass import TwoClassView, class_balanced_weights
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
    """``prefer_native``: True, False, or "auto": the booster's own loss for multiclass losses only
    (where CatBoost's per-row Python objective is slowest; its regression twins differ in leaf
    estimation and smoothing, e.g. its quantile is not equivariant under a change of the target's
    units, and its ONNX export of its own binary losses does not reproduce the model)."""
    if prefer_native == "auto":
        return loss.is_multiclass
    if not isinstance(prefer_native, bool):
        raise ValueError(f"prefer_native must be True, False or 'auto', got {prefer_native!r}")
    return prefer_native


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

    def _check_X(self, X, y=None, reset=False):
        """Validate ``X`` (and ``y``): shapes, lengths, feature names. DataFrames reach the booster
        unchanged so their categorical columns keep their meaning."""
        kwargs = dict(reset=reset, accept_sparse=["csr", "csc"], dtype=None, ensure_all_finite="allow-nan")
        if reset and y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None")
        if y is None:
            checked = validate_data(self, X, **kwargs)
        else:
            checked, y = validate_data(self, X, y, y_numeric=self._kind == "regressor", **kwargs)
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
        ~7x slower). True: also Logloss, Focal and the regression twins (RMSE, MAE, Quantile,
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
        """Predictions in the target's units."""
        raw = self._raw(X)
        return self.loss_.inverse_link(raw)


def check_regression_loss(loss) -> None:
    """ValueError for a loss ``BoostRegressor`` cannot train: a classification loss on labels
    (a binary loss taking probabilities as targets, soft-label logistic, is a regression)."""
    if loss.is_multiclass or (isinstance(loss, BinaryLoss) and not loss.takes_probabilities):
        raise ValueError(f"BoostRegressor: {loss!r} is a classification loss; use BoostClassifier "
                         "(or, for targets that are probabilities, logistic:soft_labels=True)")


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
        """Fit on ``X, y``; see ``BoostRegressor.fit``."""
        X, y = self._check_X(X, y, reset=True)
        check_classification_targets(y)
        self._encoder = LabelEncoder().fit(y)
        self.classes_ = self._encoder.classes_
        encoded = self._encoder.transform(y)
        loss = get_loss(self.loss)
        n_classes = len(self.classes_)
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

    def _loss_for_booster(self, loss):
        """Two classes with a multiclass loss train one score per row, as boosters do for binary
        tasks; more than two with a binary loss train its k-class form (``multiclass_form``)."""
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
        """Class probabilities, shape ``(n, n_classes)``, rows summing to 1."""
        raw = self._raw(X)
        proba = self.loss_.inverse_link(raw)
        return proba if proba.ndim == 2 else np.column_stack([1.0 - proba, proba])

    def predict(self, X):
        """The most probable class label (for a margin loss, the side of the margin)."""
        return margin_labels(self._raw(X), self.classes_)
