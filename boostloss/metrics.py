"""Evaluation metrics: the ones that are not losses, and any loss used as a metric.

Most metrics are the weighted mean of a per-row value, optionally finalised (RMSE takes the
square root). Boosters hand custom metrics raw scores, which ``evaluate`` maps to predictions
with a link (the loss's link when the adapter knows the loss, else the metric's own default).
The other metrics (R2, F1, the median absolute error) are not means: each takes statistics of
the whole evaluation set. ``evaluate`` gets them on one machine, or across distributed workers
through ``reduce`` (the Dask XGBoost metric all-reduces them, so every worker reports the
metric of the whole set). CatBoost's additive ``evaluate`` gets ``sums``: ``(sum w v, sum w)``
for a mean, which ``final`` turns into the number; ``(value, 1)`` for the others, because
CatBoost hands a Python metric the whole evaluation set in one call (measured with CatBoost
1.2: one call per set and iteration at 200,000 rows), and ``final`` refuses a sum of blocks.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import expit, rel_entr, softmax

from .losses import kernels
from .losses.base import (
    IdentityLink,
    Link,
    Loss,
    Parametrized,
    as_float_array,
    check_finite,
    check_open_interval,
    check_sample_weight,
    check_soft_labels,
    weighted_quantile,
)
from .losses.binary import BinaryLoss


def _on_one_machine(values, op="sum"):
    """``reduce`` without workers: the local values are the whole set's."""
    return np.asarray(values, dtype=np.float64)


class ProbabilityLink(Link):
    """Sigmoid for one column of raw scores, softmax for several."""

    name = "probability"
    gives_probabilities = True

    def inverse(self, raw):
        raw = np.asarray(raw, dtype=np.float64)
        return softmax(raw, axis=1) if raw.ndim == 2 else expit(raw)


class Metric(Parametrized):
    """Base class: ``per_row(y, pred)`` values averaged with weights, then ``finalize``d; a
    metric that is not such a mean sets ``mean = False`` and computes ``_value`` itself."""

    name = ""
    higher_is_better = False
    default_link: Link = IdentityLink()
    uses_raw = False  # True when per_row takes raw scores (a loss used as a metric)
    task = "regression"  # or "classification": the predictions it scores
    mean = True  # the weighted mean of per-row values, so blocks' (sum w v, sum w) add up

    def per_row(self, y, pred) -> np.ndarray:
        raise NotImplementedError

    def finalize(self, mean: float) -> float:
        return mean

    def validate(self, y) -> np.ndarray:
        y = as_float_array(y, self, "targets")
        check_finite(y, self, "targets")
        return y

    def score(self, y, pred, sample_weight=None) -> float:
        """The metric on predictions in the target's units (like ``sklearn.metrics``)."""
        y = self.validate(y)
        w = check_sample_weight(sample_weight, y.shape[0], self)
        return self._value(y, np.asarray(pred, dtype=np.float64), w, _on_one_machine)

    def evaluate(self, y, raw, sample_weight=None, link: Link | None = None, reduce=None) -> float:
        """The metric of raw scores, ``link`` mapping them to predictions: what the boosters'
        metric adapters report. ``reduce(array, op)`` adds up (``op="sum"``) or takes the
        ``"min"``/``"max"`` of an array over distributed workers, each holding some rows (none
        at all is fine); None on one machine."""
        y, pred, w = self._inputs(y, raw, sample_weight, link)
        return self._value(y, pred, w, reduce or _on_one_machine)

    def sums(self, y, raw, sample_weight=None, link: Link | None = None) -> tuple[float, float]:
        """CatBoost's additive pair from raw scores: ``(sum w v, sum w)`` for a mean (zero rows
        give ``(0, 0)``), ``(value, 1)`` of the whole set for the other metrics."""
        if not self.mean:
            return self.evaluate(y, raw, sample_weight, link), 1.0
        return self._mean_sums(*self._inputs(y, raw, sample_weight, link))

    def final(self, weighted_sum: float, weight_sum: float) -> float:
        if not self.mean:
            if weight_sum != 1.0:
                raise RuntimeError(f"{self} is not a mean of rows, but was handed {weight_sum:g} blocks to add up")
            return float(weighted_sum)
        return float(self.finalize(weighted_sum / weight_sum))

    def _inputs(self, y, raw, sample_weight, link):
        """Targets, predictions and weights (None) from raw scores; zero rows stay zero rows."""
        raw = np.asarray(raw, dtype=np.float64)
        if np.size(y) == 0:
            return np.zeros(0), raw, None
        y = self.validate(y)
        pred = raw if self.uses_raw else (link or self.default_link).inverse(raw)
        return y, pred, check_sample_weight(sample_weight, y.shape[0], self)

    def _mean_sums(self, y, pred, w):
        if y.size == 0:
            return 0.0, 0.0
        values = self.per_row(y, pred)
        if w is None:
            return float(values.sum()), float(values.shape[0])
        return kernels.dot(w, values), float(w.sum())  # not np.dot: see kernels.dot

    def _value(self, y, pred, w, reduce) -> float:
        total, weight = reduce(np.array(self._mean_sums(y, pred, w)), "sum")
        return self.final(total, weight)


class MAE(Metric):
    """Mean absolute error ``|y - pred|``."""

    name = "mae"

    def __init__(self):
        pass

    def per_row(self, y, pred):
        return np.abs(y - pred)


class RMSE(Metric):
    """Root mean squared error ``sqrt(mean (y - pred)^2)``."""

    name = "rmse"

    def __init__(self):
        pass

    def per_row(self, y, pred):
        return (y - pred) ** 2

    def finalize(self, mean):
        return np.sqrt(mean)


class MAPE(Metric):
    """Mean absolute percentage error ``|y - pred| / |y|`` as a fraction (0.1 = 10%).

    Zero targets make it undefined: they raise ValueError (with their count), as the MAPE
    objective does, rather than being silently dropped or divided by a tiny epsilon.
    """

    name = "mape"

    def __init__(self):
        pass

    def validate(self, y):
        y = super().validate(y)
        zero = int(np.count_nonzero(y == 0))
        if zero:
            raise ValueError(f"{self}: {zero} of {y.size} targets are zero; MAPE divides by |y|")
        return y

    def per_row(self, y, pred):
        return np.abs(y - pred) / np.abs(y)


class SMAPE(Metric):
    """Symmetric MAPE ``2 |y - pred| / (|y| + |pred|)`` as a fraction in [0, 2].

    A row where both the target and the prediction are zero counts as a perfect 0; a zero
    target with a non-zero prediction counts the maximal 2.
    """

    name = "smape"

    def __init__(self):
        pass

    def per_row(self, y, pred):
        denom = np.abs(y) + np.abs(pred)
        safe = np.where(denom > 0, denom, 1.0)
        return np.where(denom > 0, 2.0 * np.abs(y - pred) / safe, 0.0)


class Pinball(Metric):
    """Pinball loss at quantile ``alpha``: ``max(alpha (y - pred), (alpha - 1)(y - pred))``."""

    name = "pinball"

    def __init__(self, alpha=0.5):
        self.alpha = alpha
        self._check_params()

    def _check_params(self):
        check_open_interval(type(self).__name__, "alpha", self.alpha, 0.0, 1.0)

    def per_row(self, y, pred):
        a = float(self.alpha)
        r = y - pred
        return np.maximum(a * r, (a - 1.0) * r)


class R2(Metric):
    """Coefficient of determination ``1 - sum w (y - pred)^2 / sum w (y - ybar)^2`` (``ybar``
    the weighted mean), as ``sklearn.metrics.r2_score`` (``force_finite``: constant targets
    score 1 if predicted exactly, else 0). Two passes (the mean, then both sums), so a target
    with a large mean and a small spread keeps its precision."""

    name = "r2"
    higher_is_better = True
    mean = False

    def __init__(self):
        pass

    def _value(self, y, pred, w, reduce):
        w = np.ones(y.size) if w is None else w
        weight, total = reduce(np.array([w.sum(), kernels.dot(w, y)]), "sum")
        centred = y - total / weight
        residual, spread = reduce(np.array([kernels.dot(w, (y - pred) ** 2), kernels.dot(w, centred**2)]), "sum")
        if spread == 0:
            return 1.0 if residual == 0 else 0.0
        return float(1.0 - residual / spread)


class MSLE(Metric):
    """Mean squared logarithmic error ``(log1p(y) - log1p(pred))^2`` (``sklearn.metrics``'
    ``mean_squared_log_error``): targets must exceed -1; a prediction at or below -1 scores inf."""

    name = "msle"

    def __init__(self):
        pass

    def validate(self, y):
        y = super().validate(y)
        low = int(np.count_nonzero(y <= -1))
        if low:
            raise ValueError(f"{self}: {low} of {y.size} targets are <= -1; log1p needs y > -1")
        return y

    def per_row(self, y, pred):
        with np.errstate(divide="ignore", invalid="ignore"):
            logs = np.where(pred > -1, np.log1p(np.maximum(pred, -1.0)), -np.inf)
        return (np.log1p(y) - logs) ** 2


class RMSLE(MSLE):
    """Root mean squared logarithmic error, ``sqrt`` of ``msle``."""

    name = "rmsle"

    def finalize(self, mean):
        return np.sqrt(mean)


class MedianAbsoluteError(Metric):
    """Median of ``|y - pred|``, weighted as ``sklearn.metrics.median_absolute_error`` (the
    averaged weighted percentile: the midpoint where the cumulative weight hits half exactly).
    Across workers, a bisection on the bits of the value with one all-reduce per step."""

    name = "median_absolute_error"
    mean = False

    def __init__(self):
        pass

    def _value(self, y, pred, w, reduce):
        errors = np.abs(y - pred)
        if reduce is _on_one_machine:
            return weighted_quantile(errors, 0.5, w)
        return _bisected_median(errors, np.ones(errors.size) if w is None else w, reduce)


def _bisected_median(values, w, reduce) -> float:
    """``weighted_quantile(values, 0.5, w)`` of non-negative ``values`` held by several workers:
    the smallest value whose cumulative weight reaches half the total, by bisection over the
    ordered bits of non-negative floats (at most 64 steps), averaged with the next value when
    the cumulative weight there is half exactly."""
    keep = w > 0
    values, w = values[keep], w[keep]
    weight, top = reduce(np.array([w.sum()]), "sum")[0], reduce(np.array([values.max(initial=0.0)]), "max")[0]
    target = 0.5 * weight
    low, high = 0, int(np.float64(top).view(np.int64))

    def below(bits):
        return reduce(np.array([w[values <= np.int64(bits).view(np.float64)].sum()]), "sum")[0]

    while low < high:
        middle = (low + high) // 2
        if below(middle) >= target:
            high = middle
        else:
            low = middle + 1
    value = float(np.int64(low).view(np.float64))
    if math.isclose(below(low), target, rel_tol=1e-12):
        following = reduce(np.array([values[values > value].min(initial=np.inf)]), "min")[0]
        if np.isfinite(following):
            return 0.5 * (value + float(following))
    return value


def _binary_labels(metric, y):
    if ((y != 0) & (y != 1)).any():
        raise ValueError(f"{metric}: binary labels must be 0 or 1")
    return y


def _class_labels(metric, y, k):
    labels = y.astype(np.intp)
    if (labels != y).any() or labels.min() < 0 or labels.max() >= k:
        raise ValueError(f"{metric}: labels must be classes 0..{k - 1}")
    return labels


class LogLoss(Metric):
    """Log loss on probabilities: binary (``pred`` of shape (n,), labels 0/1) or multiclass
    (``pred`` of shape (n, k), labels 0..k-1). Probabilities are clipped to [1e-15, 1 - 1e-15].
    From raw scores it applies the sigmoid (one column) or the softmax (several).
    """

    name = "log_loss"
    default_link = ProbabilityLink()
    task = "classification"

    def __init__(self):
        pass

    def per_row(self, y, pred):
        pred = np.clip(pred, 1e-15, 1 - 1e-15)
        if pred.ndim == 2:
            return -np.log(pred[np.arange(y.size), _class_labels(self, y, pred.shape[1])])
        y = _binary_labels(self, y)
        return -(y * np.log(pred) + (1 - y) * np.log1p(-pred))


class Brier(Metric):
    """Brier score as ``sklearn.metrics.brier_score_loss``: ``(p - y)^2`` on the positive
    class's probability (shape (n,), labels 0/1); on class probabilities (n, k) with labels
    0..k-1, ``sum_j (p_j - 1{y = j})^2``, halved for k = 2 (the binary score again)."""

    name = "brier"
    default_link = ProbabilityLink()
    task = "classification"

    def __init__(self):
        pass

    def per_row(self, y, pred):
        if pred.ndim == 2:
            k = pred.shape[1]
            onehot = np.eye(k)[_class_labels(self, y, k)]
            return np.sum((pred - onehot) ** 2, axis=1) * (0.5 if k == 2 else 1.0)
        return (pred - _binary_labels(self, y)) ** 2


class F1(Metric):
    """F1 score, the Dice coefficient of the predicted labels: ``2 TP / (2 TP + FP + FN)`` with
    weighted counts, 0 when there are none (``sklearn.metrics.f1_score``, ``zero_division=0``).
    On the positive class's probability (shape (n,), labels 0/1) the label is ``p > threshold``.
    On class scores (n, k) it is the class with the largest score: for k = 2 the positive
    class's F1, for more the mean over the classes that occur among labels or predictions
    (``average="macro"``)."""

    name = "f1"
    higher_is_better = True
    default_link = ProbabilityLink()
    task = "classification"
    mean = False

    def __init__(self, threshold=0.5):
        self.threshold = threshold
        self._check_params()

    def _check_params(self):
        check_open_interval(type(self).__name__, "threshold", self.threshold, 0.0, 1.0)

    def _value(self, y, pred, w, reduce):
        w = np.ones(y.size) if w is None else w
        if pred.ndim == 1:
            truth = _binary_labels(self, y)[:, None]
            guess = (pred > float(self.threshold))[:, None].astype(np.float64)
        else:
            k = pred.shape[1]
            truth, guess = np.eye(k)[_class_labels(self, y, k)], np.eye(k)[np.argmax(pred, axis=1)]
            if k == 2:
                truth, guess = truth[:, 1:], guess[:, 1:]
        counts = reduce(np.concatenate([w @ (truth * guess), w @ ((1 - truth) * guess), w @ (truth * (1 - guess))]),
                        "sum").reshape(3, -1)
        scored = counts.sum(axis=0) > 0
        if truth.shape[1] == 1:  # binary: the positive class's F1, 0 when it never occurs
            scored[:] = True
        tp, fp, fn = counts[:, scored]
        denominator = 2 * tp + fp + fn
        return float(np.mean(np.where(denominator > 0, 2 * tp / np.where(denominator > 0, denominator, 1), 0.0)))


class KLDivergence(Metric):
    """KL divergence from soft labels ``t`` in [0, 1] to the predicted probability ``p``:
    ``t log(t / p) + (1 - t) log((1 - t) / (1 - p))`` (``scipy.special.rel_entr``), ``p``
    clipped to [1e-15, 1 - 1e-15] (shape (n,), or column 1 of (n, 2)); the soft-label
    logistic loss less the targets' entropy."""

    name = "kl_div"
    default_link = ProbabilityLink()
    task = "classification"

    def __init__(self):
        pass

    def validate(self, y):
        y = super().validate(y)
        check_soft_labels(self, y)
        return y

    def per_row(self, y, pred):
        if pred.ndim == 2 and pred.shape[1] != 2:
            raise ValueError(f"{self}: is for two classes; got {pred.shape[1]} probabilities per row")
        p = np.clip(pred[:, 1] if pred.ndim == 2 else pred, 1e-15, 1 - 1e-15)
        return rel_entr(y, p) + rel_entr(1.0 - y, 1.0 - p)


class LossMetric(Metric):
    """A loss used as a metric: the weighted mean of ``loss.loss(y, raw)`` on raw scores."""

    uses_raw = True

    @property
    def task(self):
        return "classification" if self.loss.is_multiclass or isinstance(self.loss, BinaryLoss) else "regression"

    def __init__(self, loss: Loss):
        self.loss = loss

    @property
    def name(self):
        return self.loss.name

    def validate(self, y):
        return self.loss.validate(y)

    @property
    def mean(self):
        """False for a loss whose row weights are a statistic of the whole set (GHM)."""
        return not self.loss.round_statistic

    def per_row(self, y, raw):
        return self.loss.loss(y, raw)

    def _value(self, y, raw, w, reduce):
        if self.mean:
            return super()._value(y, raw, w, reduce)
        # GHM: the weights of the whole set's density (summed over the workers), then their mean
        frozen = self.loss.frozen_at(y, raw, w, None if reduce is _on_one_machine else reduce)
        return LossMetric(frozen)._value(y, raw, w, reduce)

    def score(self, y, pred, sample_weight=None):
        """The loss on predictions in the target's units (mapped back through the link); for the
        margin losses, whose link loses information (a clip, a sign), on the decision values
        (raw scores), as scikit-learn's ``hinge_loss``."""
        return super().score(y, self.loss.link(pred) if self.loss.link.invertible else pred, sample_weight)
