"""Binary classification losses: labels 0/1, logit link, raw score ``F`` = log-odds.

Notation: ``s = 2y - 1``, ``z = s F`` (the margin of the true class), ``p = sigmoid(z)``
(probability of the true class) and ``q = 1 - p = sigmoid(-z)``, ``log p = log_sigmoid(z)``,
all computed with ``scipy.special`` so saturated margins keep exact, non-zero gradients.
"""

from __future__ import annotations

import threading

import numpy as np
from scipy import optimize
from scipy.special import expit, log_expit

from . import kernels
from .base import (
    MAX_EXP,
    Interval,
    LogitLink,
    Loss,
    MarginLink,
    SignLink,
    check_open_interval,
    check_positive,
    check_soft_labels,
    weighted_mean,
)

BINARY = Interval(0.0, 1.0, True, True)


class BinaryLoss(Loss):
    """Shared pieces of the binary losses: the label check and the margin quantities."""

    link = LogitLink()
    domain = BINARY

    takes_probabilities = False  # True when the targets may be probabilities (soft labels), not 0/1

    def _check_domain(self, y):
        bad = (y != 0) & (y != 1)
        if bad.any():
            raise ValueError(f"{self}: labels must be 0 or 1; {int(bad.sum())} of {y.size} rows have other values")

    @staticmethod
    def _margin(y, raw):
        s = 2.0 * y - 1.0
        z = s * raw
        return s, z, expit(z), expit(-z), log_expit(z)

    def _init_guess(self, y, w):
        mean = min(max(weighted_mean(y, w), 1e-12), 1 - 1e-12)
        return float(np.log(mean / (1.0 - mean)))

    def _init_step(self, y, w):
        return 1.0

    def _check_both_classes(self, y, w):
        """The optimal constant is finite only if both classes carry positive weight."""
        positive = weighted_mean(y, w)
        if not 0 < positive < 1:
            raise ValueError(f"{self}: only class {int(round(positive))} has positive weight; "
                             "the optimal log-odds is infinite")

    def _numerical_init(self, y, w):
        self._check_both_classes(y, w)
        return super()._numerical_init(y, w)

    def multiclass_form(self):
        """The k-class loss this binary loss generalises, with its parameters mapped (what
        ``BoostClassifier`` trains on more than two classes); None if it has none. Raises
        ValueError for a parameter that has no k-class meaning."""
        return None

    def _no_multiclass_meaning(self, parameter: str, instead: str):
        return ValueError(f"{self}: {parameter} has no meaning for more than two classes; {instead}")

    def multilabel_form(self):
        """The loss of k labels per row this binary loss gives on each label (what ``BoostClassifier``
        trains on an indicator matrix); None if it has none."""
        return None


class Logistic(BinaryLoss):
    """Logistic loss (binary cross-entropy) with optional ``pos_weight`` and ``label_smoothing``.

    With the smoothed label ``t = y (1 - eps) + eps/2`` and ``pi = sigmoid(F)``:
    ``L = pos_weight t softplus(-F) + (1 - t) softplus(F)``,
    ``g = (1 - t) pi - pos_weight t (1 - pi)``, ``h = (pos_weight t + 1 - t) pi (1 - pi)``.
    Exact Hessian. Defaults equal XGBoost ``binary:logistic``, LightGBM ``binary`` and CatBoost
    ``Logloss``. Optimal constant: the log-odds of ``pos_weight sum(w t) / sum(w (pos_weight t + 1 - t))``.

    ``soft_labels=True`` takes targets anywhere in ``[0, 1]`` (distillation, pseudo-labels:
    LightGBM's ``cross_entropy``, CatBoost's ``CrossEntropy``); the loss is then the KL
    divergence from ``t`` to ``pi`` plus the entropy of ``t``, which does not depend on ``F``.
    Without it the 0/1 check stands, so a regression target passed by mistake is refused.
    Train it with the train helpers or ``BoostRegressor``, whose predictions are probabilities.
    """

    name = "logistic"
    kernel = staticmethod(kernels.logistic)

    def __init__(self, pos_weight=1.0, label_smoothing=0.0, soft_labels=False):
        self.pos_weight = pos_weight
        self.label_smoothing = label_smoothing
        self.soft_labels = soft_labels
        self._check_params()

    @property
    def takes_probabilities(self) -> bool:
        return bool(self.soft_labels)

    def _check_domain(self, y):
        inside = (y >= 0) & (y <= 1)
        if not self.soft_labels:
            try:
                return super()._check_domain(y)
            except ValueError as err:
                if inside.all():
                    raise ValueError(f"{err} (for probabilities as targets: soft_labels=True)") from None
                raise
        check_soft_labels(self, y)

    def _check_params(self):
        super()._check_params()
        name = type(self).__name__
        check_positive(name, "pos_weight", self.pos_weight)
        eps = check_positive(name, "label_smoothing", self.label_smoothing, allow_zero=True)
        if not eps < 1.0:
            raise ValueError(f"{name}: label_smoothing must be in [0, 1), got {self.label_smoothing!r}")

    def _target(self, y):
        eps = float(self.label_smoothing)
        return y * (1.0 - eps) + 0.5 * eps

    def _kernel_params(self, eps):
        return (float(self.pos_weight), float(self.label_smoothing))

    def multiclass_form(self):
        """``SoftmaxCrossEntropy`` with the same ``label_smoothing`` (on two classes they are the
        same loss); ``pos_weight`` other than 1 is refused (use ``class_weight``)."""
        from .multiclass import SoftmaxCrossEntropy

        if float(self.pos_weight) != 1.0:
            raise self._no_multiclass_meaning("pos_weight", "weight classes with class_weight instead")
        if self.soft_labels:
            raise self._no_multiclass_meaning("soft_labels", "train on class labels")
        return SoftmaxCrossEntropy(label_smoothing=self.label_smoothing)

    def multilabel_form(self):
        """``MultilabelLogistic`` with the same ``pos_weight``; label smoothing and soft labels are refused."""
        from .multioutput import MultilabelLogistic

        if float(self.label_smoothing) != 0.0 or self.soft_labels:
            raise ValueError(f"{self}: label_smoothing and soft_labels have no multi-label form here; "
                             "train on 0/1 labels")
        return MultilabelLogistic(pos_weight=self.pos_weight)

    def _loss(self, y, raw):
        t, pw = self._target(y), float(self.pos_weight)
        return pw * t * np.logaddexp(0.0, -raw) + (1.0 - t) * np.logaddexp(0.0, raw)

    def _closed_form_init(self, y, w):
        self._check_both_classes(y, w)
        t, pw = self._target(y), float(self.pos_weight)
        pos = weighted_mean(pw * t, w)
        total = weighted_mean(pw * t + 1.0 - t, w)
        return float(np.log(pos / (total - pos)))


class Focal(BinaryLoss):
    """Focal loss of Lin et al. (2017): ``L = -alpha_t q^gamma log p`` with ``alpha_t = alpha``
    for positives and ``1 - alpha`` for negatives.

    ``dL/dz = -alpha_t q^gamma (q - gamma p log p)``, ``g = s dL/dz``;
    ``h = alpha_t p q^gamma ((2 gamma + 1) q + gamma q log p - gamma^2 p log p)``, which is
    negative for badly misclassified rows (p below about 0.06 at gamma = 2).
    Hessian policy ``floor`` (default): ``max(h, p |g|)``. Focal re-weights the logistic
    gradient ``-q`` by ``W = alpha_t q^gamma (1 - gamma p log(p) / q)``; ``p |g| = W p q`` is
    the logistic curvature re-weighted the same way: always positive and of the same scale
    as ``h`` on easy rows. Or ``exact``. ``gamma = 0`` is the ``alpha_t``-weighted logistic loss.
    """

    name = "focal"
    kernel = staticmethod(kernels.focal)
    hessian_policies = ("floor", "exact")

    def __init__(self, alpha=0.25, gamma=2.0, hessian="floor"):
        self.alpha = alpha
        self.gamma = gamma
        self.hessian = hessian
        self._check_params()

    def _check_params(self):
        name = type(self).__name__
        check_open_interval(name, "alpha", self.alpha, 0.0, 1.0)
        check_positive(name, "gamma", self.gamma, allow_zero=True)
        super()._check_params()

    def _alpha_t(self, y):
        a = float(self.alpha)
        return np.where(y == 1, a, 1.0 - a)

    def _kernel_params(self, eps):
        return (float(self.alpha), float(self.gamma))

    def multiclass_form(self):
        """``MulticlassFocal`` with the same ``gamma``. ``alpha`` weights the positive class, which
        k classes do not have: the default 0.25 and 0.5 (both classes alike) map to equal class
        weights (``alpha=None``; use ``class_weight`` or ``MulticlassFocal(alpha=[...])`` to weight
        classes), other values are refused. ``hessian="floor"`` maps to the k-class default
        ``friedman`` (the floor scaled to the boosters' k-class step), ``exact`` to ``exact``."""
        from .multiclass import MulticlassFocal

        if float(self.alpha) not in (0.25, 0.5):
            raise self._no_multiclass_meaning(
                f"alpha={self.alpha!r} (the positive class's weight)",
                "give per-class weights as MulticlassFocal(alpha=[...]) or class_weight instead")
        return MulticlassFocal(gamma=self.gamma, hessian="exact" if self.hessian == "exact" else "friedman")

    def multilabel_form(self):
        """``MultilabelFocal`` with the same ``alpha``, ``gamma`` and ``hessian``."""
        from .multioutput import MultilabelFocal

        return MultilabelFocal(alpha=self.alpha, gamma=self.gamma, hessian=self.hessian)

    def _loss(self, y, raw):
        _, _, _, q, logp = self._margin(y, raw)
        return -self._alpha_t(y) * q ** float(self.gamma) * logp


class Exponential(BinaryLoss):
    """Exponential (AdaBoost) loss ``L = exp(-s F)``; ``g = -s exp(-s F)``, ``h = exp(-s F)``.

    Exact, positive Hessian; the exponent is clipped at 700 so it stays finite.
    Optimal constant: ``log(sum w y / sum w (1 - y)) / 2``.
    """

    name = "exponential"
    kernel = staticmethod(kernels.exponential)

    def __init__(self):
        self._check_params()

    def _loss(self, y, raw):
        return np.exp(np.minimum(-(2.0 * y - 1.0) * raw, MAX_EXP))

    def _closed_form_init(self, y, w):
        self._check_both_classes(y, w)
        pos, neg = weighted_mean(y, w), weighted_mean(1.0 - y, w)
        return float(0.5 * np.log(pos / neg))


class SymmetricCrossEntropy(BinaryLoss):
    """Symmetric cross-entropy of Wang et al. (2019) for noisy labels:
    ``L = alpha CE + beta RCE`` with ``CE = -log p`` and ``RCE = -A q`` (``A = log 0 := -4``).

    ``dL/dz = -alpha q + beta A p q``, ``g = s dL/dz``; ``h = p q (alpha + beta A (q - p))``,
    negative on hard rows when ``beta`` is large. Hessian policy ``floor`` (default):
    ``max(h, (alpha - beta A p) p q)``, the curvature of the logistic loss re-weighted the way
    the RCE term re-weights its gradient; or ``exact``.
    """

    name = "symmetric_cross_entropy"
    kernel = staticmethod(kernels.symmetric_cross_entropy)
    hessian_policies = ("floor", "exact")
    A = -4.0

    def __init__(self, alpha=0.1, beta=1.0, hessian="floor"):
        self.alpha = alpha
        self.beta = beta
        self.hessian = hessian
        self._check_params()

    def _check_params(self):
        name = type(self).__name__
        a = check_positive(name, "alpha", self.alpha, allow_zero=True)
        b = check_positive(name, "beta", self.beta, allow_zero=True)
        if a + b == 0:
            raise ValueError(f"{name}: alpha and beta cannot both be zero")
        super()._check_params()

    def _kernel_params(self, eps):
        return (float(self.alpha), float(self.beta), self.A)

    def multiclass_form(self):
        """``MulticlassSymmetricCrossEntropy`` with the same ``alpha`` and ``beta`` (``alpha`` > 0:
        its optimal constant is finite only then); ``hessian="floor"`` maps to the k-class default
        ``friedman`` (the floor scaled to the boosters' k-class step), ``exact`` to ``exact``."""
        from .multiclass import MulticlassSymmetricCrossEntropy

        if not float(self.alpha) > 0:
            raise self._no_multiclass_meaning("alpha=0", "the k-class optimal constant needs alpha > 0")
        return MulticlassSymmetricCrossEntropy(alpha=self.alpha, beta=self.beta,
                                               hessian="exact" if self.hessian == "exact" else "friedman")

    def _loss(self, y, raw):
        _, _, _, q, logp = self._margin(y, raw)
        return -float(self.alpha) * logp - float(self.beta) * self.A * q


class Dice(BinaryLoss):
    """Per-row Dice loss with the squared denominator (Milletari et al. 2016's V-Net form, Li et
    al. 2020's ``square_denominator``) on ``p = sigmoid(F)``:
    ``L = 1 - (2 p y + eps) / (p^2 + y^2 + eps)``, that is ``q^2 / (p^2 + 1 + eps)`` for positives
    and ``p^2 / (p^2 + eps)`` for negatives (``q = 1 - p``). Bounded in [0, 1]: a row's loss
    stops growing once it is badly wrong, so mislabelled rows pull less than in the logistic loss.

    Positives, ``D = p^2 + 1 + eps``, ``K = 1 + p + eps``: ``g = -2 p q^2 K / D^2``,
    ``h = 2 p q^2 ((p (2p + eps) - K (q - p)) / D^2 + 4 p^2 q K / D^3)``. Negatives,
    ``D = p^2 + eps``: ``g = 2 eps p^2 q / D^2``, ``h = g (q (eps - 3 p^2) / D + q - p)``. ``h`` is
    negative on badly wrong rows of both classes, where the loss saturates and ``g`` fades like
    the true class's probability. Hessian policy ``floor`` (default): ``max(h, |g|)``, so that a
    row's own Newton step is at most one unit of log-odds (focal's ``p_t |g|`` underflows with
    such a gradient, and ranked worse on 5 of 6 tables with XGBoost); or ``exact``.

    ``eps`` > 0 smooths the ratio; it sets where a negative's loss saturates (``p ~ sqrt(eps)``).
    The default 1 trains as ``logistic`` does (``benchmarks/margin.py``); at small ``eps`` the
    mean loss over constants has two minima and the rows saturate early. The optimal constant is
    the global minimum of ``P q^2 / (p^2 + 1 + eps) + N p^2 / (p^2 + eps)`` over ``F`` (``P``,
    ``N`` the weight of each class): a grid, then the root of the mean gradient beside its best
    point. ``sigmoid(F)`` ranks rows but is not calibrated in general: the constant's ``p`` is
    0.41 at a positive rate of 0.5 and 0.054 at 0.1 (``eps = 1``).

    Not here, by measurement: the linear denominator ``p + y + eps`` (its mean loss over
    constants has its infimum at ``F = -inf`` or ``+inf``, so there is no finite start, and from the
    log-odds start it drifts to one class) and the self-adjusting DSC's ``(1 - p) p`` factor
    (even in ``F``: it cannot tell a confident positive from a confident negative). See the README.
    """

    name = "dice"
    kernel = staticmethod(kernels.dice)
    hessian_policies = ("floor", "exact")

    def __init__(self, eps=1.0, hessian="floor"):
        self.eps = eps
        self.hessian = hessian
        self._check_params()

    def _check_params(self):
        check_positive(type(self).__name__, "eps", self.eps)
        super()._check_params()

    def _kernel_params(self, eps):
        return (float(self.eps),)

    def _loss(self, y, raw):
        p, q, eps = expit(raw), expit(-raw), float(self.eps)
        return np.where(y == 1, q * q / (p * p + 1.0 + eps), p * p / (p * p + eps))

    def _numerical_init(self, y, w):
        self._check_both_classes(y, w)
        share = np.array([weighted_mean(y, w), weighted_mean(1.0 - y, w)])
        classes = np.array([1.0, 0.0])
        reach = 40.0 + abs(np.log(share[0] / share[1])) + abs(np.log(float(self.eps)))
        grid = np.linspace(-reach, reach, 4001)
        both = self._loss(np.repeat(classes, grid.size), np.tile(grid, 2)).reshape(2, -1)
        best = int(np.argmin(share @ both))

        def mean_grad(c):
            return float(share @ self._derivatives(classes, np.full(2, c))[0])

        low, high = grid[max(best - 1, 0)], grid[min(best + 1, grid.size - 1)]
        if not mean_grad(low) < 0 < mean_grad(high):
            return float(grid[best])
        return float(optimize.brentq(mean_grad, low, high, xtol=1e-14, rtol=4 * np.finfo(float).eps))


class GHM(BinaryLoss):
    """Gradient harmonizing classification loss (GHM-C; Li, Liu & Wang, AAAI 2019): the logistic
    loss with each row weighted by the inverse density of its gradient norm ``u = |p - y|``, so
    that the many easy rows (``u`` near 0) and the few outliers (``u`` near 1) both count less.

    ``[0, 1]`` is cut into ``bins`` equal bins (``u = 1`` in the last); ``d_b`` is the share of the
    weight of the round's rows in bin ``b``, and ``n`` the number of bins holding rows. A row in
    bin ``b`` has weight ``beta_b = 1 / (n d_b)`` (the paper's ``N / GD(u)``, divided by ``n`` as
    its code does, so that the weights average 1), and ``L = beta_b CE``,
    ``g = beta_b (p - y)``, ``h = beta_b p q`` with the weights held fixed (as the paper treats
    them: taken from the predictions, not differentiated). The defaults are the paper's
    experiments' (30 bins, ``momentum`` 0.75; its code's defaults, 10 and 0, ranked a little
    worse in ``benchmarks/margin.py``). ``momentum``: each round's ``d_b`` is the moving
    average ``a_b <- momentum a_b + (1 - momentum) d_b`` over the
    rounds in which bin ``b`` held rows, divided by ``1 - momentum^k`` after ``k`` of them (as
    Adam's moments), so that a bin's first share is taken as it is rather than inflated by
    ``1 / (1 - momentum)`` (the paper's code starts ``a_b`` at 0).

    The density is a statistic of the whole round (``round_statistic``): ``loss``, ``grad_hess``
    and ``LossMetric(GHM())`` take it over the rows they are given (``get_metric`` gives the log
    loss for GHM, whose own mean does not compare rounds); in training it is over every training
    row: XGBoost and LightGBM hand them over in one call per round (in ``xgboost.dask`` the counts
    are summed over the workers), so each round is weighed by its own density, as in the paper.
    CatBoost hands them over in blocks of rows from several threads, so there each round is
    weighed by the average up to the round before (the first round by 1), every block alike, the
    counts of all its blocks added up at the round's end (``bl.catboost.train`` and the estimators
    end the rounds; a hand-built CatBoost objective is refused). LightGBM under Dask offers no
    all-reduce to a Python objective and is refused. Each run of the train helpers and the
    estimators starts a fresh average; an objective built by hand keeps its own while it is
    handed the same labels (build one per fit).

    The optimal constant: at a constant score each class shares one gradient norm; where the two
    norms fall in different bins the weights balance the classes and the mean loss is
    ``(CE_0 + CE_1) / 2``, above ``log 2`` but at ``p = 1/2``, where both norms are 1/2 and share
    a bin (mean loss ``log 2``). With an even
    number of bins the start is therefore ``F = 0``; with an odd one the middle bin holds both
    norms for ``p`` within ``1/(2 bins)`` of 1/2, and the start is the log-odds of the mean label
    clipped into it (for ``bins = 1``, the logistic loss's start). ``sigmoid(F)`` is not
    calibrated: the weights balance the classes, as class weights would.
    """

    name = "ghm"
    kernel = staticmethod(kernels.ghm)
    round_statistic = True

    def __init__(self, bins=30, momentum=0.75):
        self.bins = bins
        self.momentum = momentum
        self._check_params()

    def _check_params(self):
        name = type(self).__name__
        if isinstance(self.bins, bool) or not isinstance(self.bins, (int, np.integer)) or self.bins < 1:
            raise ValueError(f"{name}: bins must be a positive integer, got {self.bins!r}")
        momentum = check_positive(name, "momentum", self.momentum, allow_zero=True)
        if not momentum < 1.0:
            raise ValueError(f"{name}: momentum must be in [0, 1), got {self.momentum!r}")
        super()._check_params()

    def round_state(self, lagged=False):
        return GradientDensity(int(self.bins), float(self.momentum), lagged)

    def frozen_at(self, y, raw, sample_weight=None, reduce=None):
        """GHM with the bin weights of these rows' density (``reduce``: summed with the other
        workers') fixed (``table``): ``LossMetric`` takes its weighted mean."""
        return _FrozenGHM(self.bins, self.momentum, table=self._weights_of(self.counts(y, raw, sample_weight), reduce))

    def counts(self, y, raw, sample_weight=None) -> np.ndarray:
        """The (weighted) number of rows in each bin of the gradient norm ``|sigmoid(raw) - y|``."""
        y, raw = self._check_shapes(y, raw)
        w = _NO_WEIGHTS if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        return _counts(y, raw, w, int(self.bins))[0]

    def _weights_of(self, counts, reduce=None, state=None) -> np.ndarray:
        """The bin weights for bin counts (``reduce``: summed with the other workers'), through
        ``state`` (the run's moving average; default: these counts alone)."""
        counts = counts if reduce is None else np.asarray(reduce(counts), dtype=np.float64)
        return (state or self.round_state()).weigh(counts)

    def row_weights(self, y, raw, sample_weight=None) -> np.ndarray:
        """Each row's harmonizing weight ``beta``, from the density of these rows."""
        y, raw = self._check_shapes(y, raw)
        return kernels.ghm_rows(y, raw, self._weights_of(self.counts(y, raw, sample_weight)))

    def _batch_args(self, y, raw, w, policy, eps, state, reduce, dtype):
        counts, bins = _counts(y, raw, w, int(self.bins), dtype)
        return _GRADIENTS, self._weights_of(counts, reduce, state), bins

    def _loss(self, y, raw):
        return self.row_weights(y, raw) * _cross_entropy(y, raw)

    def _closed_form_init(self, y, w):
        self._check_both_classes(y, w)
        bins = int(self.bins)
        if bins % 2 == 0:
            return 0.0
        inside = 0.5 / bins * (1.0 - 1e-9)  # the middle bin, a hair inside its edges
        p = min(max(weighted_mean(y, w), 0.5 - inside), 0.5 + inside)
        return float(np.log(p) - np.log1p(-p))


class _FrozenGHM(GHM):
    """``GHM.frozen_at``: the bin weights ``table`` held fixed, whatever rows it is given."""

    round_statistic = False

    def __init__(self, bins=30, momentum=0.75, table=None):
        super().__init__(bins, momentum)
        self.table = np.asarray(table, dtype=np.float64)

    def _weights_of(self, counts, reduce=None, state=None):
        return self.table


def _counts(y, raw, w, bins, dtype=np.float64):
    """GHM's counting call of its kernel: the bin counts and each row's bin (``dtype``: of the
    gradient buffers the gradient call will have, so that both calls are one compiled function)."""
    counts, rows, unused = np.empty(bins), np.empty(y.shape[0], np.int32), np.empty(0, dtype)
    kernels.ghm(y, raw, w, _COUNTING, counts, rows, unused, unused)
    return counts, rows


def _cross_entropy(y, raw):
    return np.where(y == 1, np.logaddexp(0.0, -raw), np.logaddexp(0.0, raw))


_COUNTING, _GRADIENTS = np.array([kernels.EXACT, 0.0]), np.array([kernels.EXACT, 1.0])
_NO_WEIGHTS = np.empty(0)


class GradientDensity:
    """GHM's gradient density over a training run (see ``GHM``): ``weigh(counts)`` takes a
    batch's bin counts and returns the table of bin weights ``beta_b`` its rows are weighed with.
    Not lagged (XGBoost, LightGBM): the counts are the whole round's and advance the average
    first. Lagged (CatBoost's blocks): the table is the one of the rounds before; the counts are
    added up, and advance the average when ``end_round`` is called (from several threads: locked).
    A bin that never held rows takes the largest weight of those that did."""

    def __init__(self, bins: int, momentum: float, lagged: bool = False):
        self.bins, self.momentum, self.lagged = bins, momentum, lagged
        self.average, self.mass = np.zeros(bins), np.zeros(bins)  # mass: 1 - momentum^k, for each bin
        self.pending = np.zeros(bins)
        self.table = np.ones(bins)
        self._lock = threading.Lock()

    def weigh(self, counts) -> np.ndarray:
        if not self.lagged:
            return self._advance(counts)
        with self._lock:
            self.pending += counts
            return self.table

    def end_round(self) -> None:
        with self._lock:
            self.table = self._advance(self.pending)
            self.pending = np.zeros(self.bins)

    def _advance(self, counts) -> np.ndarray:
        counts = np.asarray(counts, dtype=np.float64)
        total = counts.sum()
        if not total > 0:  # no rows (a worker without rows is summed with the others first)
            return self.table
        held, mu = counts > 0, self.momentum
        self.average[held] = mu * self.average[held] + (1.0 - mu) * (counts[held] / total)
        self.mass[held] = mu * self.mass[held] + (1.0 - mu)
        known = self.mass > 0
        table = np.empty(self.bins)
        table[known] = self.mass[known] / (np.count_nonzero(held) * self.average[known])
        table[~known] = table[known].max()
        self.table = table
        return table

    def __getstate__(self):
        state = self.__dict__.copy()
        del state["_lock"]
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._lock = threading.Lock()


# --------------------------------------------------------------------------- margin losses
class _MarginLoss(BinaryLoss):
    """Shared pieces of the margin losses (functions of ``z = s F`` with a kink or a zero
    curvature): the balance ``b = (P - N) / (P + N)`` of the positive and negative weight. Their
    gradient is 0 on rows past the margin: on a separable training set every row settles."""

    gradient_can_vanish = True

    def _balance(self, y, w):
        return 2.0 * weighted_mean(y, w) - 1.0


class Hinge(_MarginLoss):
    """Hinge loss (the SVM loss) ``L = max(0, 1 - z)``; ``g = -s 1{z < 1}``, exact ``h = 0``.

    Hessian policy ``unit`` (default): ``h = 1`` on every row, gradient boosting on the hinge's
    subgradient, each leaf moving by the mean of its rows' ``-g`` (times the learning rate);
    ``active``: ``h = 1{z < 1}``, XGBoost's ``binary:hinge`` (the same trees from the same
    start: a leaf moves its violating rows by 1 on average, its settled rows counting for
    nothing, so a leaf needs a violating row to meet ``min_child_weight``); ``exact``. The
    minimiser of the expected hinge loss is the sign of ``2 P(y = 1) - 1``, not a probability:
    ``predict`` and ``decision_function`` work, the inverse link gives the label ``1{F > 0}``
    and ``BoostClassifier.predict_proba`` refuses. Optimal constant: ``sign(P - N)`` with ``P``,
    ``N`` the weight of the positives and negatives, taken ``2^-20`` inside the kink (its loss
    is ``2^-20 |P - N| / (P + N)`` above the minimum), where every row is active.
    """

    name = "hinge"
    kernel = staticmethod(kernels.hinge)
    link = SignLink()
    hessian_policies = ("unit", "active", "exact")
    _threshold, _closed = 1.0, False

    def __init__(self, hessian="unit"):
        self.hessian = hessian
        self._check_params()

    def _kernel_params(self, eps):
        return (self._threshold, float(self._closed))

    def multiclass_form(self):
        """``MulticlassHinge`` (its default Crammer-Singer form) with the same policy; the perceptron has none."""
        from .multiclass import MulticlassHinge

        return MulticlassHinge(hessian=self.hessian) if self.name == "hinge" else None

    def _loss(self, y, raw):
        return np.maximum(self._threshold - (2.0 * y - 1.0) * raw, 0.0)

    def _closed_form_init(self, y, w):
        # a hair inside the kink, so that no rounding of the start to float32 (XGBoost's
        # base_score, CatBoost's baseline) can move the whole majority class across it
        return self._threshold * (1.0 - 2.0**-20) * float(np.sign(self._balance(y, w)))


class Perceptron(Hinge):
    """Perceptron criterion ``L = max(0, -z)``; ``g = -s 1{z <= 0}`` (the kink counted as a
    mistake, as scikit-learn's ``Perceptron``, so training from ``F = 0`` moves), exact ``h = 0``.

    Hessian policies as ``Hinge``'s (``active``: ``h = 1{z <= 0}``, which ignores the settled
    rows a leaf step moves back across the kink: on imbalanced tables it oscillates, see
    ``benchmarks/margin.py``). The loss has no scale (any positive multiple of ``F`` scores the
    same), so only the sign of ``F`` means something; ``predict_proba`` refuses as for the
    hinge. Optimal constant: 0.
    """

    name = "perceptron"
    _threshold, _closed = 0.0, True


class SquaredHinge(_MarginLoss):
    """Squared hinge ``L = max(0, 1 - z)^2``; ``g = -2 s max(0, 1 - z)``, exact ``h = 2 1{z < 1}``.

    Hessian policy ``constant`` (default): ``h = 2`` on every row, the bound of the loss's
    curvature, so each Newton step minimises a quadratic majoriser (never overshoots) and rows
    past the margin still count in ``min_child_weight``; or ``exact`` (zero past the margin).
    The minimiser of the expected loss is ``F* = 2 P(y = 1) - 1``: the inverse link
    ``(clip(F, -1, 1) + 1) / 2`` estimates ``P(y = 1)``, what ``predict_proba`` returns.
    Optimal constant: ``(P - N) / (P + N)``.
    """

    name = "squared_hinge"
    kernel = staticmethod(kernels.squared_hinge)
    link = MarginLink()
    hessian_policies = ("constant", "exact")
    _knee = -np.inf

    def __init__(self, hessian="constant"):
        self.hessian = hessian
        self._check_params()

    def _kernel_params(self, eps):
        return (self._knee,)

    def multiclass_form(self):
        """``MulticlassSquaredHinge`` (its default Crammer-Singer form) with the same policy; modified
        Huber has none."""
        from .multiclass import MulticlassSquaredHinge

        return MulticlassSquaredHinge(hessian=self.hessian) if self.name == "squared_hinge" else None

    def _loss(self, y, raw):
        u = np.maximum(1.0 - (2.0 * y - 1.0) * raw, 0.0)
        top = 1.0 - self._knee  # the u where the quadratic part ends
        return np.where(u <= top, u * u, top * (2.0 * u - top))

    def _closed_form_init(self, y, w):
        return self._balance(y, w)


class ModifiedHuber(SquaredHinge):
    """Modified Huber (scikit-learn's ``SGDClassifier(loss="modified_huber")``): the squared
    hinge ``max(0, 1 - z)^2`` for ``z >= -1``, linear ``-4 z`` below; ``g = -2 s clip(1 - z, 0, 2)``,
    exact ``h = 2 1{-1 <= z < 1}``. It is twice the Huber loss of ``1 - z`` at ``delta = 2``
    where ``z < 1``, so robust to mislabelled rows. Hessian policies, ``predict_proba``
    (``(clip(F, -1, 1) + 1) / 2``, scikit-learn's estimate) and optimal constant as
    ``SquaredHinge``'s (the constant lies where both losses agree).
    """

    name = "modified_huber"
    _knee = -1.0
