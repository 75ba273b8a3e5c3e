"""The Loss model: parameters, links, target domains, Hessian policies, input checks.

A loss maps a target ``y`` and a raw score ``raw`` (the booster's margin) to a per-row
value. Subclasses implement four small pieces:

* ``_loss(y, raw)``            per-row loss values;
* ``_derivatives(y, raw)``     exact first and second derivatives with respect to ``raw``;
* ``_policy_hessian(...)``     the Hessian handed to boosters (defaults to the exact one);
* ``_closed_form_init(y, w)``  the optimal constant raw score, if a closed form exists.

Everything else (conversion, shape checks, weights, validation, the numerical
``init_score`` fallback, scikit-learn style parameters) lives here, once.
"""

from __future__ import annotations

import inspect
import math
import numbers
from dataclasses import dataclass

import numpy as np
from scipy import optimize, special

from . import kernels

# exp() of anything above this overflows float64; log-link losses clip their exponents here.
MAX_EXP = 700.0
SECANT_FLOOR = 0.1  # eps = SECANT_FLOOR * mean |r| for the piecewise-linear losses' secant Hessians


# --------------------------------------------------------------------------- parameters
class Parametrized:
    """scikit-learn style parameters: ``get_params``/``set_params``, equality, repr, pickle.

    Parameters are the keyword arguments of ``__init__``, stored under the same names.
    Subclasses validate them in ``_check_params`` (called by ``__init__`` and ``set_params``).
    """

    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [p.name for p in sig.parameters.values() if p.name != "self"]

    def get_params(self, deep: bool = True) -> dict:
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params):
        valid = self._param_names()
        for key in params:
            if key not in valid:
                raise ValueError(f"{type(self).__name__} has no parameter {key!r}; it has {valid}")
        previous = self.get_params()
        for key, value in params.items():
            setattr(self, key, value)
        try:
            self._check_params()
        except Exception:
            for key, value in previous.items():  # a rejected value leaves the object as it was
                setattr(self, key, value)
            raise
        return self

    def _check_params(self) -> None:
        pass

    def __eq__(self, other):
        if type(self) is not type(other):
            return NotImplemented
        return _freeze(self.get_params()) == _freeze(other.get_params())

    def __hash__(self):
        return hash((type(self).__name__, _freeze(self.get_params())))

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"


def _freeze(value):
    if isinstance(value, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple, np.ndarray)):
        return tuple(_freeze(v) for v in np.asarray(value).tolist())
    return value


def as_number(owner, name: str, value) -> float:
    """``value`` as a float if it is a real number (not a string, not a bool), else ValueError."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ValueError(f"{owner}: {name} must be a number, got {value!r} ({type(value).__name__})")
    return float(value)


def check_positive(owner, name: str, value, *, allow_zero: bool = False) -> float:
    """Return ``value`` as a float, or raise ValueError naming ``owner`` and the parameter."""
    number = as_number(owner, name, value)
    if not math.isfinite(number) or number < 0 or (number == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{owner}: {name} must be finite and {bound}, got {value!r}")
    return number


def check_open_interval(owner, name: str, value, low: float, high: float) -> float:
    """Return ``value`` as a float if ``low < value < high``, else raise ValueError."""
    number = as_number(owner, name, value)
    if not low < number < high:
        raise ValueError(f"{owner}: {name} must lie strictly between {low} and {high}, got {value!r}")
    return number


# --------------------------------------------------------------------------- links
class Link:
    """An invertible map between the prediction (target units) and the raw score."""

    name = "identity"
    gives_probabilities = False  # True when ``inverse`` gives class probabilities
    invertible = True  # False when ``inverse`` loses information (the margin losses' clip or sign)

    def inverse(self, raw):
        return np.asarray(raw, dtype=np.float64)

    def __call__(self, prediction):
        return np.asarray(prediction, dtype=np.float64)

    def __repr__(self):
        return f"{self.name} link"

    def __reduce__(self):
        return (type(self), ())

    def __eq__(self, other):
        return type(self) is type(other)

    def __hash__(self):
        return hash(type(self))


class IdentityLink(Link):
    """raw = prediction."""


class LogLink(Link):
    """raw = log(prediction); the inverse clips raw to +-MAX_EXP so it stays finite."""

    name = "log"

    def inverse(self, raw):
        return np.exp(np.clip(np.asarray(raw, dtype=np.float64), -MAX_EXP, MAX_EXP))

    def __call__(self, prediction):
        with np.errstate(divide="ignore"):
            return np.log(np.asarray(prediction, dtype=np.float64))


class LogitLink(Link):
    """raw = log(p / (1 - p)); the inverse is the stable sigmoid ``scipy.special.expit``."""

    name = "logit"
    gives_probabilities = True

    def inverse(self, raw):
        return special.expit(np.asarray(raw, dtype=np.float64))

    def __call__(self, prediction):
        return special.logit(np.asarray(prediction, dtype=np.float64))


class SoftmaxLink(Link):
    """raw[:, k] = log(p[:, k]) up to a per-row constant; the inverse is the softmax."""

    name = "softmax"
    gives_probabilities = True

    def inverse(self, raw):
        return special.softmax(np.asarray(raw, dtype=np.float64), axis=-1)

    def __call__(self, prediction):
        with np.errstate(divide="ignore"):
            logp = np.log(np.asarray(prediction, dtype=np.float64))
        return logp - logp.mean(axis=-1, keepdims=True)


class MarginLink(Link):
    """Margin losses whose minimiser is ``F* = 2 P(y = 1) - 1`` (squared hinge, modified Huber;
    Zhang 2004): the inverse ``(clip(F, -1, 1) + 1) / 2`` is that probability; raw = ``2 p - 1``."""

    name = "margin"
    gives_probabilities = True
    invertible = False

    def inverse(self, raw):
        return 0.5 * (np.clip(np.asarray(raw, dtype=np.float64), -1.0, 1.0) + 1.0)

    def __call__(self, prediction):
        return 2.0 * np.clip(np.asarray(prediction, dtype=np.float64), 0.0, 1.0) - 1.0


class SignLink(Link):
    """Margin losses whose minimiser is only the sign of ``2 P(y = 1) - 1`` (hinge, perceptron):
    the inverse is the predicted label ``1{F > 0}`` (no probability); raw = ``2 y - 1``."""

    name = "sign"
    invertible = False

    def inverse(self, raw):
        return (np.asarray(raw, dtype=np.float64) > 0).astype(np.float64)

    def __call__(self, prediction):
        return 2.0 * np.asarray(prediction, dtype=np.float64) - 1.0


class ArgmaxLink(Link):
    """Multiclass margin losses (the multiclass hinge), whose minimiser only orders the classes:
    the inverse is the predicted class, the column of the largest score (no probabilities);
    raw = the one-hot label (of ``max(label) + 1`` classes)."""

    name = "argmax"
    invertible = False

    def inverse(self, raw):
        return np.argmax(np.asarray(raw, dtype=np.float64), axis=1).astype(np.float64)

    def __call__(self, prediction):
        labels = np.asarray(prediction, dtype=np.intp)
        return np.eye(int(labels.max()) + 1)[labels]


# --------------------------------------------------------------------------- target domains
@dataclass(frozen=True)
class Interval:
    """The set of valid targets, with a phrase used in error messages."""

    low: float = -np.inf
    high: float = np.inf
    low_inclusive: bool = False
    high_inclusive: bool = False

    def contains(self, y: np.ndarray) -> np.ndarray:
        low = y >= self.low if self.low_inclusive else y > self.low
        high = y <= self.high if self.high_inclusive else y < self.high
        return low & high

    def describe(self) -> str:
        left = "[" if self.low_inclusive else "("
        right = "]" if self.high_inclusive else ")"
        return f"{left}{self.low:g}, {self.high:g}{right}"


REAL = Interval()
NON_NEGATIVE = Interval(0.0, np.inf, True, False)
POSITIVE = Interval(0.0, np.inf, False, False)


# --------------------------------------------------------------------------- input checks
def as_float_array(values, owner, what: str) -> np.ndarray:
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{owner}: {what} must be numeric ({err})") from None
    return array


def as_booster_floats(values, owner, what: str) -> np.ndarray:
    """``values`` as a float32 or float64 array: the boosters' own dtypes are kept (the kernels
    read both, computing in float64), anything else becomes float64."""
    array = np.asarray(values)
    return array if array.dtype in (np.float32, np.float64) else as_float_array(array, owner, what)


def _widened(y):
    """Float32 targets (boosters' labels) as float64 for NumPy formulas, which would compute in float32."""
    return y.astype(np.float64) if y.dtype == np.float32 else y


def as_raw_scores(values, owner) -> np.ndarray:
    """Raw scores as a float32 or float64 array (``as_booster_floats``), contiguous in either
    memory order."""
    array = as_booster_floats(values, owner, "raw scores")
    if not (array.flags.c_contiguous or array.flags.f_contiguous):
        array = np.ascontiguousarray(array)
    return array


def check_finite(values: np.ndarray, owner, what: str) -> None:
    bad = ~np.isfinite(values)
    if bad.any():
        count = int(np.count_nonzero(bad))
        raise ValueError(f"{owner}: {count} of {values.size} {what} are NaN or infinite")


def check_soft_labels(owner, y: np.ndarray) -> None:
    """Targets that are probabilities (soft labels) must lie in [0, 1]: ValueError with the count."""
    outside = int(np.count_nonzero((y < 0) | (y > 1)))
    if outside:
        raise ValueError(f"{owner}: soft labels must lie in [0, 1]; {outside} of {y.size} rows are outside")


def check_sample_weight(sample_weight, n: int, owner) -> np.ndarray | None:
    """Validate weights: shape (n,), finite, non-negative, positive sum. None stays None."""
    if sample_weight is None:
        return None
    w = as_float_array(sample_weight, owner, "sample weights")
    if w.size == 0:
        return None
    if w.shape != (n,):
        raise ValueError(f"{owner}: sample_weight has shape {w.shape}, expected ({n},) to match the targets")
    check_finite(w, owner, "sample weights")
    negative = int(np.count_nonzero(w < 0))
    if negative:
        raise ValueError(f"{owner}: {negative} of {n} sample weights are negative")
    if not w.sum() > 0:
        raise ValueError(f"{owner}: sample weights sum to zero")
    return w


def weighted_quantile(values: np.ndarray, quantile: float, sample_weight=None) -> float:
    """The weighted ``quantile`` of ``values``: the minimiser of the weighted pinball loss.

    Takes the smallest value whose cumulative weight reaches ``quantile`` of the total,
    averaging with the next value when the cumulative weight hits the quantile exactly
    (so the unweighted median of an even sample is the midpoint).
    """
    values = np.asarray(values, dtype=np.float64).ravel()
    if sample_weight is None:  # cumulative weights 1, 2, ..., n: select instead of sorting (O(n))
        n = values.size
        target = quantile * n
        i = min(max(math.ceil(target) - 1, 0), n - 1)
        both = math.isclose(i + 1, target, rel_tol=1e-12) and i + 1 < n
        picked = np.partition(values, [i, i + 1] if both else i)
        return float(0.5 * (picked[i] + picked[i + 1])) if both else float(picked[i])
    w = np.asarray(sample_weight, dtype=np.float64)
    keep = w > 0
    values, w = values[keep], w[keep]
    order = np.argsort(values, kind="stable")
    values, cum = values[order], np.cumsum(w[order])
    target = quantile * cum[-1]
    i = int(np.searchsorted(cum, target, side="left"))
    i = min(i, values.size - 1)
    if math.isclose(cum[i], target, rel_tol=1e-12) and i + 1 < values.size:
        return float(0.5 * (values[i] + values[i + 1]))
    return float(values[i])


def weighted_mean(values: np.ndarray, sample_weight=None) -> float:
    return float(np.average(values, weights=sample_weight))


_NO_WEIGHTS = np.empty(0)


def secant_floor(y, raw, residual_scale=None) -> float:
    """``eps`` of the piecewise-linear losses' secant Hessians: ``SECANT_FLOOR`` times
    ``residual_scale`` (default: the batch's mean ``|raw - y|``), at least 1e-12."""
    if residual_scale is None:
        residual_scale = (kernels.mean_abs_residual(y, raw, _NO_WEIGHTS) if raw.ndim == 1
                          else float(np.sum(np.abs(raw - y) / raw.size)))  # divided first: no overflow
    return max(SECANT_FLOOR * residual_scale, 1e-12)


def write_pair(out, grad, hess):
    """Copy a gradient and Hessian into the ``out`` pair, saturating at the largest finite value of
    its dtype (float32 buffers: as the kernels do, a value beyond float32's range is not inf)."""
    for target, values in zip(out, (grad, hess), strict=True):
        top = np.finfo(target.dtype).max
        np.clip(values, -top, top, out=target, casting="unsafe")
    return out


# --------------------------------------------------------------------------- the Loss
@dataclass(frozen=True)
class BoostingScale:
    """Fixed for a training run (see ``Loss.boosting_scale``): the residual scale that sets the
    secant floor, and the factor multiplying gradient and Hessian for the boosters, or None to
    take the factor afresh each round from the rows handed over (all of them, or reduced over
    all of them)."""

    residual: float
    factor: float | None


class Loss(Parametrized):
    """Base class of every loss. See the module docstring for what subclasses provide.

    Class attributes: ``name`` (registry name), ``link``, ``domain`` (valid targets),
    ``hessian_policies`` (accepted values of the ``hessian`` parameter, the first being the
    default) and ``is_multiclass``.
    """

    name: str = ""
    link: Link = IdentityLink()
    domain: Interval = REAL
    hessian_policies: tuple[str, ...] = ("exact",)
    is_multiclass = False
    multi_output = False  # True for losses of several raw scores per row other than the classes' (multioutput.py)
    target_columns = False  # True for losses of (n, k) targets, one column per output (multioutput.py)
    gradient_can_vanish = False  # True when g is exactly 0 on rows past a margin (the margin losses)
    round_statistic = False  # True when the gradients depend on a statistic of the whole round (GHM)
    __array_ufunc__ = None  # so that ``np.float64(0.7) * loss`` is ``Loss.__rmul__``, not an object array

    # ---- public API -------------------------------------------------------------
    def loss(self, y, raw) -> np.ndarray:
        """Per-row loss values (unweighted)."""
        y, raw = self._check_shapes(y, raw)
        return self._loss(_widened(y), raw.astype(np.float64, copy=False))

    def grad_hess(self, y, raw, sample_weight=None, *, residual_scale=None, out=None) -> tuple[np.ndarray, np.ndarray]:
        """Per-row gradient and Hessian w.r.t. ``raw`` as boosters use them.

        The gradient is exact; the Hessian follows the loss's Hessian policy (see
        ``exact_grad_hess`` for the exact pair). Both are multiplied by ``sample_weight``.
        ``residual_scale`` sets the floor of the piecewise-linear losses' secant Hessians
        (default: the mean absolute residual of this batch). ``out``: a pair of float64 (or
        float32) arrays shaped like ``raw`` to write into (returned), instead of new ones.
        """
        y, raw = self._check_shapes(y, raw)
        w = None if sample_weight is None else check_sample_weight(sample_weight, y.shape[0], self)
        return self._pair(y, raw, w, False, residual_scale, out)[:2]

    def boosting_grad_hess(self, y, raw, sample_weight=None, scale=None, reduce=None, out=None, fingerprint=False,
                           state=None):
        """``grad_hess`` as the adapters hand it to boosters, for targets and weights already
        checked by ``validate`` (they are not checked again: this runs every boosting round).

        Boosters' regularisers (XGBoost ``reg_lambda`` and ``min_child_weight``, CatBoost
        ``l2_leaf_reg``) are calibrated for Hessians of order one per row, as squared error has.
        A surrogate Hessian measured in target units (the ``secant`` policies, ~1/|r|) is tiny
        for targets of scale 1e4 and lets the regulariser stall training. For such losses both
        gradient and Hessian are multiplied by ``scale.factor``: each Newton step
        ``-sum(g)/sum(h)`` is unchanged, and the regularisers see Hessians of order one.

        ``scale`` is a ``BoostingScale`` fixed for the whole training (see ``boosting_scale``),
        so that every row, batch, block (CatBoost) or worker (Dask) is treated alike; without
        it, the one of this batch is used. A scale whose ``factor`` is None takes the factor
        ``sum(w) / sum(w h)`` each round: keeping the mean Hessian at one as residuals shrink
        keeps the regularisers' strength, but needs every row of the round, which ``reduce``
        (summing ``[sum w, sum w h]`` over all workers) provides in distributed training.

        ``fingerprint=True`` returns ``(grad, hess, fingerprint)``, the last the fingerprint of
        ``y`` and the weights as read (``kernels.fingerprint``; taken in the kernel's own pass),
        for an objective that computes with the booster's own labels to tell that they changed.

        ``state``: for a loss with a ``round_statistic`` (GHM), the training run's ``round_state()``;
        the statistic of these rows (summed over all workers by ``reduce``) advances it.
        """
        y, raw = self._check_shapes(y, raw)
        w = None if sample_weight is None else as_booster_floats(sample_weight, self, "sample weights")
        if not self._rescales_hessian():
            pair = self._pair(y, raw, w, False, None, out, fingerprint, state, reduce)
            return pair if fingerprint else pair[:2]
        scale = scale or self.boosting_scale(y, raw, sample_weight)
        grad, hess, seen = self._pair(y, raw, w, False, scale.residual, out, fingerprint)
        factor = scale.factor
        if factor is None:
            weight = float(np.sum(w)) if w is not None else float(hess.shape[0])
            total = kernels.total(hess)
            weight, total = reduce(np.array([weight, total])) if reduce else (weight, total)
            factor = weight / total if np.isfinite(total) and total > 0 else 1.0
        kernels.scale_pair(grad, hess, factor)  # one output (multiclass losses are not rescaled)
        return (grad, hess, seen) if fingerprint else (grad, hess)

    def boosting_scale(self, y, raw, sample_weight=None, with_factor=True):
        """The ``BoostingScale`` of a batch: the weighted mean absolute residual ``|raw - y|``
        (the secant floor is a tenth of it; 1 for losses without a floor, which do not read it)
        and ``factor = sum(w) / sum(w h)`` with the policy Hessian ``h`` at that floor (None
        without ``with_factor``: for boosters that take it each round). None for losses whose
        Hessian is not rescaled. Computed by the adapters once, at the start of training, on all
        the training rows. What is not needed is not computed: that spares a first fit
        compiling the kernels it would take (the start's float64 ones)."""
        if not self._rescales_hessian():
            return None
        y, raw = self._check_shapes(y, raw)
        w = np.ones_like(y) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        residual = (kernels.mean_abs_residual(y, raw, w) or 1.0) if self.uses_secant_floor else 1.0
        if not with_factor:
            return BoostingScale(residual, None)
        hess = self.grad_hess(y, raw, w, residual_scale=residual)[1]
        total = float(hess.sum())
        factor = float(w.sum()) / total if np.isfinite(total) and total > 0 else 1.0
        return BoostingScale(residual, factor)

    def _rescales_hessian(self) -> bool:
        """True when the Hessian policy is a residual-scale surrogate (see ``boosting_grad_hess``)."""
        return False

    def frozen_at(self, y, raw, sample_weight=None, reduce=None):
        """This loss with its round statistic held at these rows' value (``reduce``: and the other
        workers'), which finite differences differentiate, as the weights of GHM are held in its
        derivatives; itself for losses without a ``round_statistic``."""
        return self

    def round_state(self, lagged: bool = False):
        """What a loss with a ``round_statistic`` keeps over a training run (GHM: the moving
        average of its gradient density), fresh; None for every other loss. ``lagged``: for a
        booster that hands the rows of a round over in blocks (CatBoost), each round weighs its
        rows with the statistic of the rounds before it, the round's own being complete only at
        its end (``end_round``)."""
        return None

    # ---- leaf refits: the boosters' own treatment of piecewise-linear losses ----------------
    @property
    def refits_leaves(self) -> bool:
        """Whether the adapters set each new tree's leaves to ``leaf_values`` (the ``refit``
        parameter of the piecewise-linear losses; False for every other loss)."""
        return bool(getattr(self, "refit", False)) and self._leaf_quantile(np.ones(1), None) is not None

    def _leaf_quantile(self, y, w):
        """``(q, weights)`` when the optimal shift of a set of rows is the weighted ``q``-quantile
        of their residuals ``y - raw`` with these weights; None for other losses."""
        return None

    def leaf_values(self, y, raw, leaves, n_leaves: int, sample_weight=None) -> np.ndarray:
        """The optimal raw-score shift of each leaf: ``argmin_c sum_i w_i L(y_i, raw_i + c)`` over
        the rows ``i`` with ``leaves[i] == leaf`` (the weighted quantile of their residuals, as
        LightGBM's ``RenewTreeOutput`` and XGBoost's ``UpdateTreeLeaf`` compute it); NaN for a
        leaf without rows of positive weight. ``leaves``: integers ``0 <= leaf < n_leaves``."""
        y, raw = self._check_shapes(y, raw)
        w = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        q, weights = self._leaf_quantile(y, w)
        residual = y - raw.astype(np.float64)  # not in float32 when both are
        n_leaves = int(n_leaves)
        order, starts = kernels.group_rows(np.asarray(leaves, dtype=np.int64), n_leaves)
        values = np.full(n_leaves, np.nan)
        for leaf in range(n_leaves):
            rows = order[starts[leaf]:starts[leaf + 1]]
            if rows.size and (weights is None or weights[rows].sum() > 0):
                values[leaf] = weighted_quantile(residual[rows], q, None if weights is None else weights[rows])
        return values

    def exact_grad_hess(self, y, raw) -> tuple[np.ndarray, np.ndarray]:
        """Exact per-row first and second derivatives w.r.t. ``raw`` (no Hessian policy)."""
        y, raw = self._check_shapes(y, raw)
        return self._pair(y, raw, None, True, None, None)[:2]

    def inverse_link(self, raw) -> np.ndarray:
        """Predictions in the target's units (probabilities for classifiers)."""
        return self.link.inverse(raw)

    def validate(self, y, sample_weight=None) -> np.ndarray:
        """Return ``y`` as float64 after checking it is finite and inside the loss's domain.

        Raises ValueError naming the loss, the problem and how many rows are affected.
        Also validates ``sample_weight`` when given.
        """
        y = as_float_array(y, self, "targets")
        if y.ndim != 1:
            y = y.ravel() if y.ndim == 2 and 1 in y.shape else y
        if y.ndim != 1:
            raise ValueError(f"{self}: targets must be one-dimensional, got shape {y.shape}")
        if y.size == 0:
            raise ValueError(f"{self}: no targets given")
        check_finite(y, self, "targets")
        self._check_domain(y)
        check_sample_weight(sample_weight, y.size, self)
        return y

    def init_score(self, y, sample_weight=None):
        """The constant raw score minimising the weighted mean loss over ``y``."""
        y = self.validate(y, sample_weight)
        w = check_sample_weight(sample_weight, y.size, self)
        closed = self._closed_form_init(y, w)
        if closed is not None:
            return closed
        return self._numerical_init(y, w)

    # ---- arithmetic: ``0.7 * Huber(1) + 0.3 * Quantile(0.9)`` is a WeightedSum loss ---------
    def __add__(self, other):
        if not isinstance(other, Loss):
            return NotImplemented
        from .arithmetic import WeightedSum

        return WeightedSum.of(self, other)

    def __radd__(self, other):  # ``sum(losses)`` starts from 0
        return self if isinstance(other, numbers.Number) and other == 0 else NotImplemented

    def __mul__(self, factor):
        if not isinstance(factor, numbers.Real):
            return NotImplemented
        from .arithmetic import WeightedSum

        return WeightedSum.of(self, factor=factor)

    __rmul__ = __mul__

    def __truediv__(self, divisor):
        if not isinstance(divisor, numbers.Real):
            return NotImplemented
        if divisor == 0 or not math.isfinite(divisor):
            raise ValueError(f"cannot divide {self!r} by {divisor!r}: a weight must be finite and > 0")
        return self * (1.0 / divisor)

    # ---- pieces for subclasses -----------------------------------------------------
    # A loss either names a compiled ``kernel`` (``losses.kernels``) with its ``_kernel_args``,
    # or implements ``_derivatives`` and ``_policy_hessian`` with NumPy (losses built from
    # parts, users' own losses).
    kernel = None
    uses_secant_floor = False  # True for the piecewise-linear losses, whose secant Hessian needs ``eps``

    def _kernel_args(self, policy: str, eps: float, raw) -> tuple:
        """The arguments between the weights and the outputs: ``(params,)`` by default, with
        ``params = [policy code, *self._kernel_params()]``; ``eps`` is the secant floor."""
        return (np.array([kernels.POLICY[policy], *self._kernel_params(eps)], dtype=np.float64),)

    def _kernel_params(self, eps: float) -> tuple:
        return ()

    def _batch_args(self, y, raw, w, policy: str, eps: float, state, reduce, dtype) -> tuple:
        """The kernel's arguments for this batch: ``_kernel_args``, but for a loss whose arguments
        are a statistic of the round's rows (GHM), taken from the batch, ``reduce`` and ``state``
        (``dtype``: the outputs')."""
        return self._kernel_args(policy, eps, raw)

    def _pair(self, y, raw, w, exact, residual_scale, out, fingerprint=False, state=None, reduce=None):
        """Weighted gradient and Hessian (the exact one, or the policy's), into ``out`` if given,
        and the fingerprint of ``y`` and ``w`` (``kernels.fingerprint``: a kernel returns it; for
        NumPy formulas it is a pass of its own, taken only when ``fingerprint`` asks for it)."""
        if self.kernel is None:
            seen = kernels.fingerprint(y.reshape(-1), _NO_WEIGHTS if w is None else w) if fingerprint else None
            y = _widened(y)
            if exact:
                grad, hess = self._derivatives(y, raw)
            else:
                grad, hess = self._grad_policy_hessian(y, raw, residual_scale)
            if w is not None:
                wb = w[:, None] if grad.ndim == 2 else w
                grad, hess = grad * wb, hess * wb
            if out is not None:
                grad, hess = write_pair(out, grad, hess)
            return grad, hess, None if seen is None else (int(seen[0]), int(seen[1]))
        grad, hess = out if out is not None else (np.empty_like(raw, np.float64), np.empty_like(raw, np.float64))
        if grad.shape != raw.shape or hess.shape != raw.shape:
            raise ValueError(f"{self}: out arrays have shapes {grad.shape}, {hess.shape}; expected {raw.shape}")
        policy = "exact" if exact else getattr(self, "hessian", "exact")
        eps = secant_floor(y, raw, residual_scale) if policy == "secant" and self.uses_secant_floor else 0.0
        weights = _NO_WEIGHTS if w is None else w
        args = self._batch_args(y, raw, weights, policy, eps, state, reduce, grad.dtype)
        seen = kernels.run(self.kernel, y, raw, weights, args, grad, hess)
        return grad, hess, seen

    def _derivatives(self, y, raw):
        if self.kernel is None:
            raise NotImplementedError
        return self._pair(y, raw, None, True, None, None)[:2]

    def _policy_hessian(self, y, raw, grad, hess, residual_scale=None):
        return hess

    def _grad_policy_hessian(self, y, raw, residual_scale=None):
        """The exact gradient and the policy's Hessian (a weighted sum adds up its parts' pairs)."""
        if self.kernel is not None:
            return self._pair(y, raw, None, False, residual_scale, None)[:2]
        grad, hess = self._derivatives(y, raw)
        return grad, self._policy_hessian(y, raw, grad, hess, residual_scale)

    def _closed_form_init(self, y, w):
        return None

    def _check_domain(self, y: np.ndarray) -> None:
        outside = ~self.domain.contains(y)
        if outside.any():
            count = int(np.count_nonzero(outside))
            raise ValueError(
                f"{self}: {count} of {y.size} targets lie outside the loss's domain "
                f"{self.domain.describe()}"
            )

    def _check_params(self) -> None:
        policy = getattr(self, "hessian", None)
        if policy is not None and policy not in self.hessian_policies:
            raise ValueError(f"{type(self).__name__}: hessian must be one of {self.hessian_policies}, got {policy!r}")
        for flag in ("refit", "soft_labels"):
            value = getattr(self, flag, None)
            if value is not None and not isinstance(value, (bool, np.bool_)):
                raise ValueError(f"{type(self).__name__}: {flag} must be True or False, got {value!r}")

    def _check_shapes(self, y, raw):
        y = as_booster_floats(y, self, "targets").reshape(-1)
        raw = as_raw_scores(raw, self)
        if raw.ndim == 2 and raw.shape[1] == 1:
            raw = raw[:, 0]
        if raw.ndim != 1 or raw.shape[0] != y.shape[0]:
            raise ValueError(f"{self}: raw scores have shape {raw.shape}, expected ({y.shape[0]},) like the targets")
        return y, raw

    def _numerical_init(self, y, w):
        """Root of the weighted mean gradient: bracket from a link-space guess, then brentq."""
        guess = self._init_guess(y, w)

        def mean_grad(c):
            return weighted_mean(self._derivatives(y, np.full_like(y, c))[0], w)

        return bracketed_root(mean_grad, guess, self._init_step(y, w))

    def _init_guess(self, y, w) -> float:
        return weighted_quantile(y, 0.5, w)

    def _init_step(self, y, w) -> float:
        return max(weighted_mean(np.abs(y - weighted_quantile(y, 0.5, w)), w), 1e-3)


def bracketed_root(func, guess: float, step: float) -> float:
    """Root of a non-decreasing ``func`` near ``guess``: expand a bracket, then brentq."""
    f0 = func(guess)
    if f0 == 0:
        return float(guess)
    direction = -1.0 if f0 > 0 else 1.0
    low = high = guess
    for _ in range(200):
        nxt = high + direction * step if direction > 0 else low + direction * step
        f = func(nxt)
        if direction > 0:
            low, high = high, nxt
        else:
            low, high = nxt, low
        if np.sign(f) != np.sign(f0):
            break
        step *= 2.0
    else:
        raise RuntimeError("init_score: could not bracket the optimum")
    return float(optimize.brentq(func, low, high, xtol=1e-14, rtol=4 * np.finfo(float).eps, maxiter=500))
