"""Which loss on this data? Cross-validate several losses with one booster and compare them.

::

    result = compare_losses(X, y, ["squared_error", "huber:delta=30", "log_cosh"], booster="lightgbm", cv=5)
    result.summary()        # one row per loss: mean and spread of each metric, mean fit time
    result.best()           # the best loss on the first metric

Each loss is fitted through ``boostloss.sklearn.BoostRegressor`` / ``BoostClassifier`` on the
same ``KFold`` (regression) or ``StratifiedKFold`` (classification) splits. Regression metrics
are ``boostloss`` metrics (``bl.get_metric(name).score(y, pred)``: ``mae``, ``rmse``, ``r2``,
``smape``, ``pinball:alpha=0.9``, any loss by name) of ``predict``, and for the losses that predict
a distribution or quantiles (``gaussian_nll``, ``multi_quantile``, ...) the scores of
``DISTRIBUTION_SCORES`` (``nll``, ``crps``, ``coverage:level=0.9``, ``interval_width:level=0.9``);
classification metrics are scikit-learn's on the predicted probabilities (``log_loss``,
``roc_auc``, ``accuracy``, ...), boostloss's (``brier``, ``f1``, ``kl_div``) and any
classification loss by name.

Categorical features: pandas ``category`` columns go to the booster natively (LightGBM reads
them itself; XGBoost gets ``enable_categorical=True``; CatBoost gets them as ``cat_features``,
as strings with missing values spelled ``"NA"``). This module is the engine of ``boostloss
compare``; it does no printing.
"""

from __future__ import annotations

import inspect
import math
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
from sklearn import metrics as skm
from sklearn.model_selection import KFold, StratifiedKFold

from ._booster import categorical_columns
from .losses.base import Loss
from .losses.binary import BinaryLoss
from .losses.multioutput import DistributionLoss, MultiQuantile
from .metrics import LossMetric
from .registry import get_loss, get_metric, parse_spec, spec

TASKS = ("regression", "binary", "multiclass")
BOOSTERS = ("lightgbm", "xgboost", "catboost")
DEFAULT_METRICS = {
    "regression": ("mae", "rmse", "smape"),
    "binary": ("log_loss", "roc_auc", "accuracy"),
    "multiclass": ("log_loss", "accuracy"),
}
# regression metrics when a loss predicts a distribution or quantiles (``predictive``)
DISTRIBUTION_METRICS = ("mae", "rmse", "nll", "crps", "coverage:level=0.8", "interval_width:level=0.8")
# Booster threads: on small data one thread per fit is several times faster than many
# (thread start-up dominates); above this many rows the booster's own default applies.
SINGLE_THREAD_ROWS = 20_000


# --------------------------------------------------------------------------- tasks and losses
def loss_task(loss: Loss) -> str:
    """``"regression"``, ``"binary"``, ``"multiclass"``, ``"multilabel"`` or ``"soft labels"``: the task
    a loss is made for."""
    if loss.is_multiclass:
        return "multiclass"
    if loss.multi_output and loss.target_columns:
        return "soft labels" if loss.link.name == "softmax" else "multilabel"
    return "binary" if isinstance(loss, BinaryLoss) else "regression"


def infer_task(y) -> str:
    """Classification for non-numeric, boolean or two-valued targets (binary on two classes), else regression."""
    y = np.asarray(y)
    n_values = len(_unique(y))
    if y.dtype.kind in "OUSb" or n_values == 2:
        return "binary" if n_values == 2 else "multiclass"
    return "regression"


def robust_scale(y) -> float:
    """``1.4826 * MAD(y)``, the standard deviation of normal data, unmoved by outliers
    (the standard deviation when more than half the targets are equal, then 1)."""
    y = np.asarray(y, dtype=np.float64)
    scale = 1.4826 * float(np.median(np.abs(y - np.median(y))))
    if not scale > 0:
        scale = float(np.std(y))
    return scale if scale > 0 else 1.0


# Losses whose parameter is a scale in target units: parameter, and its multiple of robust_scale(y)
# (the 95%-efficiency tunings at the normal: Huber's classic 1.345, Fair 1.3998, log-cosh 1.205)
SCALE_RULES = {"huber": ("delta", 1.345), "pseudo_huber": ("delta", 1.345), "fair": ("c", 1.3998),
               "log_cosh": ("scale", 1.205)}


def with_target_scale(item, y):
    """A loss named without its scale parameter (``"huber"``, ``"fair:hessian=unit"``) with it
    set from the targets by ``SCALE_RULES`` (rounded to two digits), as a spec string; anything
    else (a Loss object, a loss given its scale, a loss without one) unchanged. The class's
    default of 1 is in target units: on a target in grams Huber would be absolute error."""
    if not isinstance(item, str) or y is None:
        return item
    name, params = parse_spec(item)
    rule = SCALE_RULES.get(name)
    if rule is None or rule[0] in params:
        return item
    value = _round_significant(rule[1] * robust_scale(y), 2)
    return f"{item.strip()}{',' if ':' in item else ':'}{rule[0]}={value:g}"


def default_losses(task: str, y=None) -> list[str]:
    """Sensible candidates for a task. Regression: squared error, Huber with ``delta = 1.345 *
    robust_scale(y)`` and log-cosh with ``scale = 1.205 * robust_scale(y)`` (the 95%-efficiency
    tunings, rounded to two digits; 1 without ``y``) and the median (quantile 0.5); binary:
    logistic and focal; multiclass: softmax cross-entropy and multiclass focal."""
    if task == "regression":
        if y is None:
            return ["squared_error", "huber:delta=1", "log_cosh:scale=1", "quantile:alpha=0.5"]
        return ["squared_error", with_target_scale("huber", y), with_target_scale("log_cosh", y), "quantile:alpha=0.5"]
    if task == "binary":
        return ["logistic", "focal"]
    if task == "multiclass":
        return ["softmax_cross_entropy", "multiclass_focal"]
    raise ValueError(f"unknown task {task!r}; choose from {', '.join(TASKS)}")


def _round_significant(value: float, digits: int) -> float:
    return round(value, digits - 1 - int(math.floor(math.log10(abs(value))))) if value else value


def _unique(y):
    try:
        return np.unique(y)
    except TypeError:  # mixed types, e.g. strings and NaN
        return np.unique(y.astype(str))


def check_loss_for_task(loss: Loss, task: str, n_classes: int | None = None) -> None:
    """ValueError unless ``loss`` can be trained on ``task`` (with ``n_classes`` classes)."""
    kind = loss_task(loss)
    name = spec(loss)
    if kind in ("multilabel", "soft labels"):
        raise ValueError(f"loss {name!r} is a {kind} loss, trained on (n, k) targets; compare takes one target "
                         "column (fit BoostClassifier on the indicator or probability matrix instead)")
    if task == "regression" and kind != "regression":
        raise ValueError(f"loss {name!r} is a {kind} classification loss; the task is regression")
    if task in ("binary", "multiclass") and kind == "regression":
        raise ValueError(f"loss {name!r} is a regression loss; the task is {task} classification")
    if task == "multiclass" and kind == "binary":
        classes = f"the target has {n_classes} classes" if n_classes else "the task is multiclass"
        raise ValueError(f"loss {name!r} is a binary loss and needs exactly two classes; {classes} "
                         "(use softmax_cross_entropy or multiclass_focal)")


def predictive(loss: Loss) -> bool:
    """Whether a regression loss predicts a distribution or quantiles (its regressor has
    ``predict_interval``), so ``DISTRIBUTION_SCORES`` apply."""
    return isinstance(loss, (DistributionLoss, MultiQuantile))


# --------------------------------------------------------------------------- metrics
@dataclass(frozen=True)
class Scorer:
    """A named score of predictions (regression) or class probabilities ``(n, k)`` (classification);
    ``needs`` ``"distribution"`` scores a ``Predictive``, ``"interval"`` the ``(lower, upper)``
    central interval of ``level``. ``best_at``: the value that is best (coverage: its level),
    where neither higher nor lower is."""

    name: str
    higher_is_better: bool
    func: object = field(repr=False, compare=False)
    # False when class scores in the columns serve as well as probabilities (ranks, argmax), so
    # the score exists for a margin loss that gives no probabilities (hinge, perceptron)
    needs_probabilities: bool = True
    needs: str = "prediction"
    level: float | None = None
    best_at: float | None = None

    def __call__(self, y, pred) -> float:
        return float(self.func(y, pred))


def _negative_log_likelihood(y, dist):
    return -float(np.mean(dist.logpdf(y)))


def _crps(y, dist):
    try:
        return float(np.mean(dist.crps(y)))
    except ValueError:  # no closed form (negative binomial)
        return np.nan


def _coverage(y, bounds):
    return float(np.mean((bounds[0] <= y) & (y <= bounds[1])))


def _width(y, bounds):
    return float(np.mean(bounds[1] - bounds[0]))


# scores of a predicted distribution or central interval: name -> (higher is better, needs, score, formula);
# a loss that predicts neither (or, for multi_quantile, not the interval's levels) scores n/a
DISTRIBUTION_SCORES = {
    "nll": (False, "distribution", _negative_log_likelihood,
            "mean negative log-density (log-probability for counts) of y under the predicted distribution"),
    "crps": (False, "distribution", _crps,
             "mean continuous ranked probability score, closed form (gaussian, lognormal, gamma, student t)"),
    "coverage": (None, "interval", _coverage,
                 "share of y inside the central interval of level=0.9 (best: closest to level)"),
    "interval_width": (False, "interval", _width,
                       "mean width of the central interval of level=0.9 (narrower is better at the same coverage)"),
}


def _distribution_scorer(name: str) -> Scorer:
    base, params = parse_spec(name)
    higher, needs, func, _ = DISTRIBUTION_SCORES[base]
    level = None
    if needs == "interval":
        level = params.pop("level", 0.9)
        if isinstance(level, bool) or not isinstance(level, (int, float)) or not 0 < level < 1:
            raise ValueError(f"metric {name!r}: level must be a number in (0, 1), got {level!r}")
    if params:
        raise ValueError(f"metric {base!r} has no parameter {', '.join(map(repr, params))}"
                         + ("; it takes level" if needs == "interval" else ""))
    return Scorer(name, bool(higher), func, needs=needs, level=None if level is None else float(level),
                  best_at=float(level) if higher is None else None)


def _positive(proba):
    return proba[:, 1]


def _roc_auc(y, proba):
    if proba.shape[1] == 2:
        return skm.roc_auc_score(y, _positive(proba))
    return skm.roc_auc_score(y, proba, multi_class="ovr", labels=np.arange(proba.shape[1]))


# name -> (higher is better, score(y, proba), binary only); _RANKS also take class scores
_RANKS = ("accuracy", "balanced_accuracy", "roc_auc", "average_precision")
_CLASSIFICATION = {
    "log_loss": (False, lambda y, p: skm.log_loss(y, p, labels=np.arange(p.shape[1])), False),
    "accuracy": (True, lambda y, p: skm.accuracy_score(y, p.argmax(axis=1)), False),
    "balanced_accuracy": (True, lambda y, p: skm.balanced_accuracy_score(y, p.argmax(axis=1)), False),
    "roc_auc": (True, _roc_auc, False),
    "average_precision": (True, lambda y, p: skm.average_precision_score(y, _positive(p)), True),
}


# scores ``compare`` takes from scikit-learn besides boostloss's metrics: name -> (tasks, formula)
SCIKIT_LEARN_SCORES = {
    "accuracy": ("binary, multiclass", "share of rows whose most probable class is the label"),
    "balanced_accuracy": ("binary, multiclass", "mean over classes of the share predicted right"),
    "roc_auc": ("binary, multiclass", "area under the ROC curve (multiclass: one-vs-rest mean)"),
    "average_precision": ("binary", "area under the precision-recall curve"),
}


def scikit_learn_score_direction(name: str) -> bool:
    """Whether a score of ``SCIKIT_LEARN_SCORES`` is better when higher."""
    return _CLASSIFICATION[name][0]


def get_scorer(name: str, task: str) -> Scorer:
    """The scorer for a metric name on a task; ValueError naming the choices otherwise."""
    if task == "regression" and parse_spec(name)[0] in DISTRIBUTION_SCORES:
        return _distribution_scorer(name)
    if task == "regression":
        metric = get_metric(name)
        if isinstance(metric, LossMetric) and loss_task(metric.loss) != "regression":
            raise ValueError(f"metric {name!r} is a classification loss; the task is regression")
        if metric.task == "classification":
            raise ValueError(f"metric {name!r} is for classification; the task is regression")
        return Scorer(name, metric.higher_is_better, metric.score)
    if name in _CLASSIFICATION:
        higher, func, binary_only = _CLASSIFICATION[name]
        if binary_only and task != "binary":
            raise ValueError(f"metric {name!r} is for binary classification; the task is {task}")
        return Scorer(name, higher, func, needs_probabilities=name not in _RANKS)
    choices = ", ".join([*_CLASSIFICATION, "or a classification loss"])
    try:
        metric = get_metric(name)
    except ValueError:
        raise ValueError(f"unknown metric {name!r} for {task} classification; available: {choices}") from None
    if metric.task != "classification":
        raise ValueError(f"metric {name!r} is not a classification metric; available: {choices}")
    if not isinstance(metric, LossMetric):  # boostloss's brier, f1, kl_div: on the class scores
        return Scorer(name, metric.higher_is_better, metric.score, needs_probabilities=metric.name != "f1")
    check_loss_for_task(metric.loss, task)

    def score(y, proba):
        return metric.score(y, proba[:, 1] if proba.shape[1] == 2 and not metric.loss.is_multiclass else proba)

    return Scorer(name, metric.higher_is_better, score)


# --------------------------------------------------------------------------- estimators
def make_estimator(booster: str, task: str, X, *, n_estimators=200, learning_rate=0.05, random_state=0,
                   n_jobs=None, params=None):
    """An unfitted booster estimator for ``task``, set up for the categorical columns of ``X``,
    and ``X`` as that booster wants it. ``n_jobs=None`` uses one thread below
    ``SINGLE_THREAD_ROWS`` rows, else the booster's default; ``params`` go to the estimator."""
    if booster not in BOOSTERS:
        raise ValueError(f"unknown booster {booster!r}; choose from {', '.join(BOOSTERS)}")
    regression = task == "regression"
    categorical = categorical_columns(X)
    if n_jobs is None and len(X) < SINGLE_THREAD_ROWS:
        n_jobs = 1
    common = {"n_estimators": n_estimators, "learning_rate": learning_rate, "random_state": random_state}
    if n_jobs is not None:
        common["n_jobs"] = n_jobs
    if booster == "lightgbm":
        lgb = _import(booster)
        cls = lgb.LGBMRegressor if regression else lgb.LGBMClassifier
        estimator = cls(verbose=-1, **common)
    elif booster == "xgboost":
        xgb = _import(booster)
        cls = xgb.XGBRegressor if regression else xgb.XGBClassifier
        estimator = cls(enable_categorical=bool(categorical), **common)
    else:
        cb = _import(booster)
        cls = cb.CatBoostRegressor if regression else cb.CatBoostClassifier
        threads = {"thread_count": common.pop("n_jobs")} if "n_jobs" in common else {}
        estimator = cls(iterations=common.pop("n_estimators"), random_seed=common.pop("random_state"), verbose=0,
                        allow_writing_files=False, cat_features=categorical or None, **common, **threads)
        X = _strings_for_catboost(X, categorical)
    if params:
        check_estimator_params(booster, estimator, params)
        estimator.set_params(**params)
    return estimator, X


def check_estimator_params(booster: str, estimator, params: dict) -> None:
    """Refuse parameter names the booster does not know, before any fit: a misspelt name would
    otherwise be ignored (LightGBM and XGBoost only warn, if at all). Known: the estimator's
    constructor parameters and those it holds, and every native LightGBM parameter and alias.
    LightGBM and CatBoost: any other name is refused; XGBoost: a name close to a known one (a
    misspelling), as its native names are not listed in Python (it validates them in training)."""
    import difflib

    known = set(estimator.get_params())
    for cls in type(estimator).__mro__:  # CatBoost's get_params holds only the parameters set
        if "__init__" in vars(cls):
            known |= {name for name, p in inspect.signature(cls.__init__).parameters.items()
                      if p.kind is p.KEYWORD_ONLY or p.kind is p.POSITIONAL_OR_KEYWORD} - {"self"}
    complete = booster == "catboost"  # which refuses any other name itself, when fitting
    if booster == "lightgbm":
        try:  # LightGBM's table of its native parameters and aliases (not a public API: used if there)
            from lightgbm.basic import _ConfigAliases

            known |= {alias for aliases in _ConfigAliases._get_all_param_aliases().values() for alias in aliases}
            complete = True
        except (ImportError, AttributeError):
            pass
    for key in params:
        if key in known:
            continue
        close = difflib.get_close_matches(key, sorted(known), n=3, cutoff=0.8)
        if complete or close:
            hint = f"; did you mean {' or '.join(close)}?" if close else ""
            raise ValueError(f"{booster} has no parameter {key!r}{hint}")


def _import(booster):
    from ._booster import import_booster

    return import_booster(booster, booster)


def _strings_for_catboost(X, categorical):
    """CatBoost wants categorical values as strings (or ints), with no NaN."""
    if not categorical:
        return X
    X = X.copy()
    for name in categorical:
        column = X[name]
        X[name] = column.astype(object).where(column.notna(), "NA").astype(str)
    return X


# --------------------------------------------------------------------------- the comparison
@dataclass
class Comparison:
    """Per-fold scores of each loss. ``scores[loss][metric]`` and ``fit_times[loss]`` are
    arrays over the folds; losses and metrics keep the order they were given in."""

    task: str
    booster: str
    n_splits: int
    losses: list[str]
    metrics: list[str]
    higher_is_better: dict[str, bool]
    scores: dict[str, dict[str, np.ndarray]]
    fit_times: dict[str, np.ndarray]
    best_at: dict[str, float] = field(default_factory=dict)  # metrics best at a value (coverage: its level)

    def mean(self, loss: str, metric: str) -> float:
        return float(np.mean(self.scores[loss][metric]))

    def std(self, loss: str, metric: str) -> float:
        values = self.scores[loss][metric]
        return float(np.std(values, ddof=1)) if values.size > 1 else 0.0

    def best(self, metric: str | None = None) -> str:
        """The loss with the best mean on ``metric`` (default: the first metric)."""
        metric = metric or self.metrics[0]
        target = self.best_at.get(metric)
        sign = -1.0 if self.higher_is_better[metric] else 1.0
        scored = [loss for loss in self.losses if np.isfinite(self.mean(loss, metric))]
        if target is not None:
            return min(scored or self.losses, key=lambda loss: abs(self.mean(loss, metric) - target))
        return min(scored or self.losses, key=lambda loss: sign * self.mean(loss, metric))

    def direction(self, metric: str) -> str:
        """``"higher"``, ``"lower"`` or ``"closest to <value>"``: which mean of ``metric`` is better."""
        if metric in self.best_at:
            return f"closest to {self.best_at[metric]:g}"
        return "higher" if self.higher_is_better[metric] else "lower"

    def summary(self) -> list[dict]:
        """One dict per loss: ``{"loss", "<metric>_mean", "<metric>_std", ..., "fit_time"}``; None
        for a score the loss has not (a probability score of a loss without probabilities)."""
        rows = []
        for loss in self.losses:
            row = {"loss": loss}
            for metric in self.metrics:
                scored = bool(np.isfinite(self.scores[loss][metric]).all())
                row[f"{metric}_mean"] = self.mean(loss, metric) if scored else None
                row[f"{metric}_std"] = self.std(loss, metric) if scored else None
            row["fit_time"] = float(np.mean(self.fit_times[loss]))
            rows.append(row)
        return rows

    def to_frame(self):
        """``summary()`` as a pandas DataFrame indexed by loss."""
        import pandas as pd

        return pd.DataFrame(self.summary()).set_index("loss")


def compare_losses(X, y, losses=None, *, task=None, booster="lightgbm", cv=5, metrics=None, n_estimators=200,
                   learning_rate=0.05, random_state=0, n_jobs=None, params=None, progress=None) -> Comparison:
    """Cross-validate each loss on ``X, y`` with the same folds and booster settings.

    ``losses``: names or Loss objects (default ``default_losses(task, y)``); a name without its
    scale parameter (``huber``, ``pseudo_huber``, ``fair``, ``log_cosh``) gets it from the targets
    (``with_target_scale``), and the results name it with that value; ``task``:
    ``"regression"``, ``"binary"``, ``"multiclass"`` or None to infer it from ``y``; ``cv``: the
    number of folds; ``metrics``: names (default ``DEFAULT_METRICS[task]``, or
    ``DISTRIBUTION_METRICS`` when a loss predicts a distribution or quantiles); ``params``: extra
    booster estimator parameters. ``progress``: None shows a tqdm bar over the fits when stderr
    is a terminal and the run takes over a second, True always, False never.
    Everything is checked before the first fit: a bad loss, metric, task or fold count is a ValueError.
    """
    task = task or infer_task(y)
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; choose from {', '.join(TASKS)}")
    y, classes = _prepare_target(y, task)
    if len(y) != len(X):
        raise ValueError(f"X has {len(X)} rows but y has {len(y)}")
    n_classes = None if classes is None else len(classes)
    items = list(losses or default_losses(task, y))
    if task == "regression":
        items = [with_target_scale(item, y) for item in items]
    if not items:
        raise ValueError("no losses to compare")
    losses = [get_loss(item) for item in items]
    for loss in losses:
        check_loss_for_task(loss, task, n_classes)
        if task == "regression":
            loss.validate(y)
    names = _unique_names([item.strip() if isinstance(item, str) else spec(item) for item in items])
    if not metrics:
        metrics = DISTRIBUTION_METRICS if any(map(predictive, losses)) else DEFAULT_METRICS[task]
    scorers = [get_scorer(name, task) for name in metrics]
    if not scorers:
        raise ValueError("no metrics to compute")
    _check_scorers(scorers, y, n_classes)
    splitter = _splitter(task, y, cv, random_state)
    estimator, X = make_estimator(booster, task, X, n_estimators=n_estimators, learning_rate=learning_rate,
                                  random_state=random_state, n_jobs=n_jobs, params=params)
    folds = list(splitter.split(np.zeros((len(y), 1)), y))
    scores = {name: {s.name: np.empty(len(folds)) for s in scorers} for name in names}
    fit_times = {name: np.empty(len(folds)) for name in names}
    bar = _progress_bar(len(names) * len(folds), progress)
    try:
        for name, loss in zip(names, losses, strict=True):
            for i, (train, test) in enumerate(folds):
                if bar is not None:
                    bar.set_description(f"{name} fold {i + 1}/{len(folds)}", refresh=False)
                model = _wrapper(task, estimator, loss)
                start = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", UserWarning)  # boosters' chatter about feature names
                    model.fit(_rows(X, train), y[train])
                    fit_times[name][i] = time.perf_counter() - start
                    X_test = _rows(X, test)
                    pred, has_proba = _test_predictions(model, task, X_test)
                    forecasts = {}  # the distribution and intervals, once per fold
                    for scorer in scorers:
                        scored = _scored(scorer, model, X_test, pred, forecasts)
                        scores[name][scorer.name][i] = (scorer(y[test], scored) if scored is not None and (
                            has_proba or not scorer.needs_probabilities) else np.nan)
                if bar is not None:
                    bar.update()
    finally:
        if bar is not None:
            bar.close()
    return Comparison(task, booster, len(folds), names, [s.name for s in scorers],
                      {s.name: s.higher_is_better for s in scorers}, scores, fit_times,
                      {s.name: s.best_at for s in scorers if s.best_at is not None})


def _scored(scorer, model, X, pred, forecasts):
    """What ``scorer`` scores: the predictions, the predicted distribution, or the central
    interval of its level; None where the model predicts no such thing (a point loss, a
    ``multi_quantile`` not trained on the interval's levels)."""
    if scorer.needs == "prediction":
        return pred
    key = (scorer.needs, scorer.level)
    if key not in forecasts:
        try:
            forecasts[key] = (model.predict_dist(X) if scorer.needs == "distribution"
                              else model.predict_interval(X, scorer.level))
        except (AttributeError, ValueError):
            forecasts[key] = None
    return forecasts[key]


def _test_predictions(model, task, X):
    """Predictions (regression) or class probabilities, and whether they are probabilities: a
    margin loss without them (hinge) gives its decision values ``[-F, F]`` as class scores,
    which rank and argmax as probabilities would; its probability scores are then NaN."""
    if task == "regression":
        return model.predict(X), True
    if hasattr(model, "predict_proba"):
        return model.predict_proba(X), True
    raw = model.decision_function(X)
    return np.column_stack([-raw, raw]), False


def _prepare_target(y, task):
    """Regression: float targets. Classification: labels encoded 0..k-1 (and the classes)."""
    y = np.asarray(y)
    if y.ndim != 1:
        y = y.ravel() if y.ndim == 2 and 1 in y.shape else y
    if y.ndim != 1:
        raise ValueError(f"the target must be one column, got shape {y.shape}")
    if task == "regression":
        if y.dtype.kind not in "biuf":
            raise ValueError("the target is not numeric; for classification use task binary or multiclass")
        return y.astype(np.float64), None
    classes, encoded = np.unique(y.astype(str) if y.dtype.kind == "O" else y, return_inverse=True)
    if task == "binary" and len(classes) != 2:
        raise ValueError(f"binary classification needs exactly two classes; the target has {len(classes)}")
    if len(classes) < 2:
        raise ValueError(f"classification needs at least two classes; the target has {len(classes)}")
    return encoded.astype(np.intp), classes


def _unique_names(names):
    seen, out = {}, []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name} #{seen[name]}")
    return out


def _check_scorers(scorers, y, n_classes):
    """Score a trivial prediction once so a metric that cannot apply fails before any fit."""
    if n_classes is None:
        trivial = np.full(len(y), float(np.mean(y)))
    else:
        trivial = np.tile(np.bincount(y, minlength=n_classes) / len(y), (len(y), 1))
    for scorer in (s for s in scorers if s.needs == "prediction"):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                scorer(y, trivial)
        except ValueError as err:
            raise ValueError(f"metric {scorer.name!r} cannot be computed on this target: {err}") from None


def _splitter(task, y, cv, random_state):
    if isinstance(cv, bool) or not isinstance(cv, (int, np.integer)) or cv < 2:
        raise ValueError(f"cv must be a whole number of folds >= 2, got {cv!r}")
    if cv > len(y):
        raise ValueError(f"cv={cv} folds need at least {cv} rows; the data has {len(y)}")
    if task == "regression":
        return KFold(cv, shuffle=True, random_state=random_state)
    counts = np.bincount(y)
    if counts.min() < cv:
        raise ValueError(f"cv={cv} stratified folds need at least {cv} rows of each class; the smallest class has "
                         f"{counts.min()}")
    return StratifiedKFold(cv, shuffle=True, random_state=random_state)


def _wrapper(task, estimator, loss):
    from .sklearn import BoostClassifier, BoostRegressor

    cls = BoostRegressor if task == "regression" else BoostClassifier
    return cls(estimator=estimator, loss=loss)  # fit copies both


def _rows(X, index):
    return X.iloc[index] if hasattr(X, "iloc") else X[index]


def _progress_bar(total, progress):
    if progress is False:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    if progress:  # asked for: shown at once, refreshed after every fit
        return tqdm(total=total, unit="fit", mininterval=0, leave=False, dynamic_ncols=True)
    return tqdm(total=total, unit="fit", delay=1.0, disable=None, leave=False, dynamic_ncols=True)
