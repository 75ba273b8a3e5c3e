"""Evaluation metrics: the ones that are not losses, and any loss used as a metric.

A metric is the weighted mean of a per-row value, optionally finalised (RMSE takes the
square root). Boosters hand custom metrics raw scores; ``sums`` takes raw scores and maps
them to predictions with a link (the loss's link when the adapter knows the loss, else the
metric's own default), and returns the additive pair ``(sum w v, sum w)`` that CatBoost
wants; ``final`` turns that pair into the reported number.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit, softmax

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
)


class ProbabilityLink(Link):
    """Sigmoid for one column of raw scores, softmax for several."""

    name = "probability"
    gives_probabilities = True

    def inverse(self, raw):
        raw = np.asarray(raw, dtype=np.float64)
        return softmax(raw, axis=1) if raw.ndim == 2 else expit(raw)


class Metric(Parametrized):
    """Base class: ``per_row(y, pred)`` values averaged with weights, then ``finalize``d."""

    name = ""
    higher_is_better = False
    default_link: Link = IdentityLink()
    uses_raw = False  # True when per_row takes raw scores (a loss used as a metric)

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
        return self.final(*self._sums(self.validate(y), np.asarray(pred, dtype=np.float64), sample_weight))

    def sums(self, y, raw, sample_weight=None, link: Link | None = None) -> tuple[float, float]:
        """``(sum w v, sum w)`` from raw scores; ``link`` maps raw scores to predictions. Zero
        rows (a distributed worker without rows of this set) give ``(0, 0)``."""
        if np.size(y) == 0:
            return 0.0, 0.0
        y = self.validate(y)
        raw = np.asarray(raw, dtype=np.float64)
        pred = raw if self.uses_raw else (link or self.default_link).inverse(raw)
        return self._sums(y, pred, sample_weight)

    def final(self, weighted_sum: float, weight_sum: float) -> float:
        return float(self.finalize(weighted_sum / weight_sum))

    def _sums(self, y, pred, sample_weight):
        values = self.per_row(y, pred)
        w = check_sample_weight(sample_weight, y.shape[0], self)
        if w is None:
            return float(values.sum()), float(values.shape[0])
        return kernels.dot(w, values), float(w.sum())  # not np.dot: see kernels.dot


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


class LogLoss(Metric):
    """Log loss on probabilities: binary (``pred`` of shape (n,), labels 0/1) or multiclass
    (``pred`` of shape (n, k), labels 0..k-1). Probabilities are clipped to [1e-15, 1 - 1e-15].
    From raw scores it applies the sigmoid (one column) or the softmax (several).
    """

    name = "log_loss"
    default_link = ProbabilityLink()

    def __init__(self):
        pass

    def per_row(self, y, pred):
        pred = np.clip(pred, 1e-15, 1 - 1e-15)
        if pred.ndim == 2:
            labels = y.astype(np.intp)
            if (labels != y).any() or labels.min() < 0 or labels.max() >= pred.shape[1]:
                raise ValueError(f"{self}: labels must be classes 0..{pred.shape[1] - 1}")
            return -np.log(pred[np.arange(y.size), labels])
        if ((y != 0) & (y != 1)).any():
            raise ValueError(f"{self}: binary labels must be 0 or 1")
        return -(y * np.log(pred) + (1 - y) * np.log1p(-pred))


class LossMetric(Metric):
    """A loss used as a metric: the weighted mean of ``loss.loss(y, raw)`` on raw scores."""

    uses_raw = True

    def __init__(self, loss: Loss):
        self.loss = loss

    @property
    def name(self):
        return self.loss.name

    def validate(self, y):
        return self.loss.validate(y)

    def per_row(self, y, raw):
        return self.loss.loss(y, raw)

    def score(self, y, pred, sample_weight=None):
        """The loss on predictions in the target's units (mapped back through the link); for the
        margin losses, whose link loses information (a clip, a sign), on the decision values
        (raw scores), as scikit-learn's ``hinge_loss``."""
        return super().score(y, self.loss.link(pred) if self.loss.link.invertible else pred, sample_weight)
