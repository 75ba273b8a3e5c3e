"""Losses with several raw scores per row: raw scores of shape ``(n, k)``.

* Distributional regression: the ``k`` scores are the parameters of a distribution of ``y``
  (targets ``(n,)``), the loss its negative log-likelihood. ``predict_distribution(raw)``
  gives the predicted distribution of each row (``Predictive``: mean, std, quantiles,
  intervals, log-density, CDF, CRPS).
* Stacks of one-output losses, one per column: ``MultiQuantile`` (k quantiles of one target),
  ``MultilabelLogistic`` and ``MultilabelFocal`` (an ``(n, k)`` 0/1 target).
* ``SoftCrossEntropy``: the softmax cross-entropy to an ``(n, k)`` matrix of probabilities.

Each output is a booster's tree (or a vector leaf's entry); the Hessian handed over is the
diagonal of the per-row Hessian (for the distributions, of the Fisher information: the
natural-gradient step). Where it is measured in target units its columns are rescaled as the
secant losses' are (``Loss.boosting_grad_hess``): each round's mean Hessian of each column is
one, so boosters' regularisers see Hessians of order one and the Newton steps are unchanged.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import optimize, special, stats

from . import kernels
from .base import (
    MAX_EXP,
    NON_NEGATIVE,
    POSITIVE,
    REAL,
    BoostingScale,
    Link,
    Loss,
    as_booster_floats,
    as_float_array,
    as_raw_scores,
    check_finite,
    check_open_interval,
    check_positive,
    check_sample_weight,
    weighted_mean,
    weighted_quantile,
    write_pair,
)
from .binary import BINARY, Focal, Logistic
from .regression import Quantile

LOG_SCALE_BOUND = 100.0  # log-scale parameters are clipped to +-100 (scales 4e-44 .. 3e43): no overflow


class OutputsLink(Link):
    """The map from a row's ``k`` raw scores to the prediction in the target's units, named by the
    loss (the mean of a distribution, sorted quantiles, per-label probabilities); not invertible."""

    invertible = False

    def __init__(self, name, inverse, probabilities=False):
        self.name, self._inverse, self.gives_probabilities = name, inverse, probabilities

    def inverse(self, raw):
        return self._inverse(np.asarray(raw, dtype=np.float64))

    def __call__(self, prediction):
        raise ValueError(f"the {self.name} link maps k raw scores to one prediction: it has no inverse")

    def __reduce__(self):
        return type(self), (self.name, self._inverse, self.gives_probabilities)

    def __eq__(self, other):
        return type(self) is type(other) and self.name == other.name

    def __hash__(self):
        return hash((type(self), self.name))


class MultiOutputLoss(Loss):
    """Shared pieces: shapes, validation, the ``(k,)`` start, per-column Hessian rescaling.

    ``target_columns``: False for targets of shape ``(n,)`` shared by the ``k`` outputs, True
    for targets of shape ``(n, k)``, one column per output. ``output_names``: what each raw
    score is (``n_outputs`` of them; for column targets, the number of columns).
    """

    multi_output = True
    target_columns = False
    output_names: tuple[str, ...] = ()

    def n_outputs(self, y=None) -> int:
        """``k``, the number of raw scores per row (for column targets, the columns of ``y``)."""
        if self.target_columns:
            if y is None:
                raise ValueError(f"{self}: the number of outputs is the number of target columns; give y")
            return int(np.shape(y)[1]) if np.ndim(y) == 2 else 1
        return len(self.output_names)

    def validate(self, y, sample_weight=None) -> np.ndarray:
        """``y`` as float64 (``(n,)``, or ``(n, k)`` for column targets), finite, in the domain."""
        y = as_float_array(y, self, "targets")
        if self.target_columns:
            if y.ndim != 2 or y.shape[1] < 1:
                raise ValueError(f"{self}: targets must be a matrix of shape (n, k) with one column per "
                                 f"output, got shape {y.shape}")
        elif y.ndim != 1:
            y = y.ravel() if y.ndim == 2 and 1 in y.shape else y
            if y.ndim != 1:
                raise ValueError(f"{self}: targets must be one-dimensional, got shape {y.shape}")
        if y.shape[0] == 0:
            raise ValueError(f"{self}: no targets given")
        check_finite(y, self, "targets")
        self._check_domain(y)
        check_sample_weight(sample_weight, y.shape[0], self)
        return y

    def _check_domain(self, y):
        outside = ~self.domain.contains(y)
        if outside.any():
            rows = int(np.count_nonzero(outside.reshape(y.shape[0], -1).any(axis=1)))
            raise ValueError(f"{self}: {rows} of {y.shape[0]} rows have targets outside the loss's domain "
                             f"{self.domain.describe()}")

    def _check_shapes(self, y, raw):
        raw = as_raw_scores(raw, self)
        y = as_booster_floats(y, self, "targets")
        if raw.ndim != 2:
            raise ValueError(f"{self}: raw scores have shape {raw.shape}; it takes one column per output")
        y = y.reshape(raw.shape[0], -1) if self.target_columns and y.size else y.reshape(-1)
        k = self.n_outputs(y)
        if raw.shape != (y.shape[0], k):
            raise ValueError(f"{self}: raw scores have shape {raw.shape}, expected ({y.shape[0]}, {k}): "
                             f"one column per output ({', '.join(self._names(k))})")
        return y, raw

    def _names(self, k):
        return self.output_names or tuple(f"output {j}" for j in range(k))

    def init_score(self, y, sample_weight=None) -> np.ndarray:
        """The constant ``(k,)`` raw score minimising the weighted mean loss over ``y``."""
        y = self.validate(y, sample_weight)
        return np.asarray(self._init(y, check_sample_weight(sample_weight, y.shape[0], self)), dtype=np.float64)

    def _init(self, y, w):
        raise NotImplementedError

    # ---- per-column rescaling (see the module docstring) ------------------------------
    rescaled = True  # whether the Hessian is measured in target units and each column is rescaled

    def _rescales_hessian(self) -> bool:
        return self.rescaled

    def boosting_scale(self, y, raw, sample_weight=None, with_factor=True):
        """``BoostingScale(1, factor)`` with ``factor[j] = sum(w) / sum(w h_j)`` per column at
        these scores (None without ``with_factor``: taken each round); None if not rescaled."""
        if not self._rescales_hessian():
            return None
        if not with_factor:
            return BoostingScale(1.0, None)
        y, raw = self._check_shapes(y, raw)
        w = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        hess = self.grad_hess(y, raw, w)[1]
        return BoostingScale(1.0, _column_factors(np.sum(w) if w is not None else hess.shape[0], hess.sum(axis=0)))

    def boosting_grad_hess(self, y, raw, sample_weight=None, scale=None, reduce=None, out=None, fingerprint=False,
                           state=None):
        """``Loss.boosting_grad_hess`` with one factor per column (see ``boosting_scale``)."""
        y, raw = self._check_shapes(y, raw)
        w = None if sample_weight is None else as_booster_floats(sample_weight, self, "sample weights")
        grad, hess, seen = self._pair(y, raw, w, False, None, None, fingerprint)  # float64: scaled, then written
        if self._rescales_hessian():
            factor = None if scale is None else scale.factor
            if factor is None:
                sums = np.append(np.sum(w, dtype=np.float64) if w is not None else hess.shape[0],
                                 hess.sum(axis=0, dtype=np.float64))
                sums = reduce(sums) if reduce else sums
                factor = _column_factors(sums[0], sums[1:])
            grad, hess = grad * factor, hess * factor
        if out is not None:
            grad, hess = write_pair(out, grad, hess)
        return (grad, hess, seen) if fingerprint else (grad, hess)


def _column_factors(weight, totals) -> np.ndarray:
    totals = np.asarray(totals, dtype=np.float64)
    good = np.isfinite(totals) & (totals > 0)
    with np.errstate(over="ignore"):  # a total below weight / 1.8e308: the largest finite factor, not inf
        factor = float(weight) / np.where(good, totals, 1.0)
    return np.where(good, np.minimum(factor, np.finfo(np.float64).max), 1.0)


# --------------------------------------------------------------------------- distributions
class Predictive:
    """The predicted distribution of each row: a frozen ``scipy.stats`` distribution with the
    rows' parameters (``dist``), and the continuous ranked probability score where a closed
    form exists. Methods take arrays broadcast against the rows."""

    def __init__(self, dist, crps=None):
        self.dist, self._crps = dist, crps

    @property
    def mean(self) -> np.ndarray:
        return np.asarray(self.dist.mean(), dtype=np.float64)

    @property
    def std(self) -> np.ndarray:
        return np.asarray(self.dist.std(), dtype=np.float64)

    def quantile(self, q) -> np.ndarray:
        """The ``q``-quantiles: ``(n,)`` for a number, ``(n, len(q))`` for a sequence."""
        q = np.asarray(q, dtype=np.float64)
        if q.ndim == 0:
            return np.asarray(self.dist.ppf(q), dtype=np.float64)
        return np.column_stack([self.dist.ppf(value) for value in q]) if q.size else np.empty((len(self), 0))

    def interval(self, level=0.9) -> tuple[np.ndarray, np.ndarray]:
        """The central interval holding ``level`` of the probability: ``(lower, upper)``."""
        low, high = self.dist.interval(level)
        return np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64)

    def logpdf(self, y) -> np.ndarray:
        """Log-density (log-probability for counts) of ``y``."""
        dist = self.dist
        return np.asarray(dist.logpmf(y) if hasattr(dist, "logpmf") else dist.logpdf(y), dtype=np.float64)

    def cdf(self, y) -> np.ndarray:
        return np.asarray(self.dist.cdf(y), dtype=np.float64)

    def crps(self, y) -> np.ndarray:
        """The continuous ranked probability score of ``y`` (lower is better), in closed form."""
        if self._crps is None:
            raise ValueError("this distribution has no closed-form CRPS here")
        return self._crps(np.asarray(y, dtype=np.float64))

    def __len__(self):
        return int(np.size(self.dist.mean()))


class DistributionLoss(MultiOutputLoss):
    """Negative log-likelihood of a parametric distribution; ``predict_distribution(raw)``.
    ``raw_bounds``: each output's ``(low, high)`` clip (its gradient is 0 beyond), where a
    numerical start (``bl.dask``'s Newton steps) stays."""

    raw_bounds: tuple = ()

    def predict_distribution(self, raw) -> Predictive:
        raw = as_raw_scores(raw, self).astype(np.float64, copy=False)
        k = len(self.output_names)
        if raw.ndim != 2 or raw.shape[1] != k:
            raise ValueError(f"{self}: raw scores have shape {raw.shape}, expected (n, {k}) "
                             f"({', '.join(self.output_names)})")
        return self._predictive(raw)

    def _predictive(self, raw) -> Predictive:
        raise NotImplementedError


def _log_scale(eta):
    """The clipped log-scale and where it is inside the bound (its derivative there is 1, else 0)."""
    return np.clip(eta, -LOG_SCALE_BOUND, LOG_SCALE_BOUND), np.abs(eta) <= LOG_SCALE_BOUND


def _location(raw):
    return raw[..., 0].copy()


def _exp_location(raw):
    return np.exp(np.clip(raw[..., 0], -MAX_EXP, MAX_EXP))


def _softmax_rows(raw):
    return special.softmax(raw, axis=-1)


def _gaussian_terms(x, raw):
    """``(z, eta, inside)`` of the normal NLL on ``x``: ``z = (x - mu) / sigma``."""
    eta, inside = _log_scale(raw[:, 1])
    return (x - raw[:, 0]) * np.exp(-eta), eta, inside


def _gaussian_derivatives(x, raw, fisher):
    """NLL ``eta + z^2 / 2 + log(2 pi) / 2`` with ``z = (x - mu) e^-eta``: ``g_mu = -z e^-eta``,
    ``h_mu = e^-2eta`` (exact and Fisher); ``g_eta = 1 - z^2``, exact ``h_eta = 2 z^2``, Fisher 2."""
    z, eta, inside = _gaussian_terms(x, raw.astype(np.float64, copy=False))  # float32 scores: in float64
    inv = np.exp(-eta)
    g_eta = np.where(inside, 1.0 - z * z, 0.0)
    h_eta = np.full_like(z, 2.0) if fisher else np.where(inside, 2.0 * z * z, 0.0)
    return np.column_stack([-z * inv, g_eta]), np.column_stack([inv * inv, h_eta])


def _gaussian_start(x, w, owner):
    mean = weighted_mean(x, w)
    var = weighted_mean((x - mean) ** 2, w)
    if not var > 0:
        raise ValueError(f"{owner}: the targets of the {x.size} samples are constant (their weighted variance "
                         "is 0): the likelihood has no maximum")
    return np.array([mean, np.clip(0.5 * math.log(var), -LOG_SCALE_BOUND, LOG_SCALE_BOUND)])


class GaussianNLL(DistributionLoss):
    """Normal negative log-likelihood (PyTorch's ``GaussianNLLLoss``, NGBoost's ``Normal``) with
    parameters ``(mu, eta = log sigma)``: ``L = eta + z^2 / 2 + log(2 pi) / 2``, ``z = (y - mu) / sigma``.

    ``g = (-z / sigma, 1 - z^2)``. Hessian policy ``fisher`` (default): the expected Fisher
    information ``(1 / sigma^2, 2)``, diagonal since the parameters are orthogonal: a Newton step
    with it is NGBoost's natural-gradient step, and it is positive; ``exact``: ``(1 / sigma^2, 2 z^2)``.
    Both columns are rescaled per round (module docstring). ``eta`` is clipped to +-100 (its
    gradient is 0 beyond). Optimal constant: the weighted mean and standard deviation (maximum
    likelihood, ``ddof=0``); constant targets raise. Predictions: the mean; ``predict_distribution``
    gives the normal distribution of each row (CRPS in closed form, Gneiting et al. 2005).
    """

    name = "gaussian_nll"
    output_names = ("mean", "log_scale")
    raw_bounds = ((-np.inf, np.inf), (-LOG_SCALE_BOUND, LOG_SCALE_BOUND))
    hessian_policies = ("fisher", "exact")
    link = OutputsLink("gaussian_mean", _location)

    def __init__(self, hessian="fisher"):
        self.hessian = hessian
        self._check_params()

    def _raw_location(self, y):
        """The location score a target sits at (the normal's ``mu`` of ``y``)."""
        return y

    def _loss(self, y, raw):
        z, eta, _ = _gaussian_terms(self._raw_location(y), raw)
        return eta + 0.5 * z * z + 0.5 * math.log(2.0 * math.pi)

    def _derivatives(self, y, raw):
        return _gaussian_derivatives(self._raw_location(y), raw, fisher=False)

    def _grad_policy_hessian(self, y, raw, residual_scale=None):
        return _gaussian_derivatives(self._raw_location(y), raw, fisher=self.hessian == "fisher")

    def _init(self, y, w):
        return _gaussian_start(self._raw_location(y), w, self)

    def _predictive(self, raw):
        mu, sigma = raw[:, 0], np.exp(_log_scale(raw[:, 1])[0])

        def crps(y):
            z = (y - mu) / sigma
            return sigma * (z * (2.0 * special.ndtr(z) - 1.0) + 2.0 * stats.norm.pdf(z) - 1.0 / math.sqrt(math.pi))

        return Predictive(stats.norm(loc=mu, scale=sigma), crps)


def _lognormal_mean(raw):
    """``exp(mu + sigma^2 / 2)``, its exponent clipped at ``MAX_EXP``."""
    sigma2 = np.exp(2.0 * np.clip(raw[..., 1], -LOG_SCALE_BOUND, LOG_SCALE_BOUND))
    return np.exp(np.minimum(raw[..., 0] + 0.5 * sigma2, MAX_EXP))


class LogNormalNLL(GaussianNLL):
    """Log-normal negative log-likelihood for positive, right-skewed targets: ``log y`` is normal
    with parameters ``(mu, eta = log sigma)``; ``L = log y + eta + z^2 / 2 + log(2 pi) / 2`` with
    ``z = (log y - mu) / sigma``. Derivatives, Hessian policies and start are ``GaussianNLL``'s on
    ``log y``. Predictions: the mean ``exp(mu + sigma^2 / 2)`` (the median is ``exp(mu)``);
    ``predict_distribution`` gives ``scipy.stats.lognorm`` (CRPS in closed form, Baran and
    Lerch 2015).
    """

    name = "lognormal_nll"
    domain = POSITIVE
    link = OutputsLink("lognormal_mean", _lognormal_mean)

    def _raw_location(self, y):
        return np.log(y)

    def _loss(self, y, raw):
        z, eta, _ = _gaussian_terms(np.log(y), raw)
        return np.log(y) + eta + 0.5 * z * z + 0.5 * math.log(2.0 * math.pi)

    def _predictive(self, raw):
        mu, sigma = raw[:, 0], np.exp(_log_scale(raw[:, 1])[0])

        def crps(y):
            z = (np.log(y) - mu) / sigma
            return (y * (2.0 * special.ndtr(z) - 1.0) - 2.0 * np.exp(mu + 0.5 * sigma**2)
                    * (special.ndtr(z - sigma) + special.ndtr(sigma / math.sqrt(2.0)) - 1.0))

        return Predictive(stats.lognorm(s=sigma, scale=np.exp(np.clip(mu, -MAX_EXP, MAX_EXP))), crps)


SHAPE_BOUND = 30.0  # log-shape clipped to +-30 (shapes 1e-13 .. 1e13): k times y / mu stays finite
RATIO_BOUND = MAX_EXP - 2 * SHAPE_BOUND  # log(y / mu) clipped here, for the same reason
STIRLING_FROM = 100.0  # shapes above this take the asymptotic series of psi(k) - log k and friends (their
# truncation error is below 1e-15 relative there; the direct differences cancel to 1e-12)


def _psi_minus_log(k):
    """``psi(k) - log k`` (negative), by its asymptotic series for large ``k`` (no cancellation)."""
    big = k > STIRLING_FROM
    kb = np.where(big, k, 1.0)
    series = -1 / (2 * kb) - 1 / (12 * kb**2) + 1 / (120 * kb**4) - 1 / (252 * kb**6)
    small = np.where(big, 1.0, k)
    return np.where(big, series, special.digamma(small) - np.log(small))


def _trigamma_excess(k):
    """``k psi'(k) - 1`` (positive), by its asymptotic series for large ``k``."""
    big = k > STIRLING_FROM
    kb = np.where(big, k, 1.0)
    series = 1 / (2 * kb) + 1 / (6 * kb**2) - 1 / (30 * kb**4) + 1 / (42 * kb**6)
    small = np.where(big, 1.0, k)
    return np.where(big, series, small * special.polygamma(1, small) - 1.0)


def _log_gamma_excess(k):
    """``lgamma(k) - k log k + k``, by Stirling's series for large ``k``."""
    big = k > STIRLING_FROM
    kb = np.where(big, k, 1.0)
    series = 0.5 * np.log(2 * np.pi / kb) + 1 / (12 * kb) - 1 / (360 * kb**3) + 1 / (1260 * kb**5)
    small = np.where(big, 1.0, k)
    return np.where(big, series, special.gammaln(small) - small * np.log(small) + small)


class GammaNLL(DistributionLoss):
    """Gamma negative log-likelihood for positive targets, parameters ``(eta = log mu, zeta = log k)``
    (mean ``mu``, shape ``k``; variance ``mu^2 / k``). With ``u = y / mu`` and ``B = u - 1 - log u``
    (>= 0): ``L = k B + lgamma(k) - k log k + k + log y``.

    ``g_eta = k (1 - u)``, exact ``h_eta = k u``, Fisher ``k``; ``g_zeta = k (psi(k) - log k + B)``,
    exact ``h_zeta = g_zeta + k (k psi'(k) - 1)``, Fisher ``k (k psi'(k) - 1)`` (> 0; the parameters
    are orthogonal). Hessian policy ``fisher`` (default) or ``exact`` (``h_zeta`` turns negative
    where ``B`` is small and ``k`` large). Both columns are rescaled per round. ``zeta`` is clipped
    to +-30 and ``log u`` to +-640, each gradient 0 beyond; large shapes use asymptotic series.
    Optimal constant: the weighted mean, and the shape solving ``log k - psi(k) = log(mean y) -
    mean(log y)`` (maximum likelihood). Predictions: the mean ``mu``; ``predict_distribution`` gives
    ``scipy.stats.gamma`` (CRPS in closed form, Scheuerer and Moller 2015).
    """

    name = "gamma_nll"
    output_names = ("log_mean", "log_shape")
    raw_bounds = ((-np.inf, np.inf), (-SHAPE_BOUND, SHAPE_BOUND))
    hessian_policies = ("fisher", "exact")
    domain = POSITIVE
    link = OutputsLink("gamma_mean", _exp_location)

    def __init__(self, hessian="fisher"):
        self.hessian = hessian
        self._check_params()

    def _raw_location(self, y):
        return np.log(y)

    @staticmethod
    def _terms(y, raw):
        raw = raw.astype(np.float64, copy=False)
        log_u = np.log(y) - raw[:, 0]
        ratio_inside = np.abs(log_u) <= RATIO_BOUND
        log_u = np.clip(log_u, -RATIO_BOUND, RATIO_BOUND)
        zeta = np.clip(raw[:, 1], -SHAPE_BOUND, SHAPE_BOUND)
        u, k = np.exp(log_u), np.exp(zeta)
        b = np.where(np.abs(log_u) < 1e-3, log_u**2 * (0.5 + log_u * (1 / 6 + log_u / 24)), u - 1 - log_u)
        return u, k, b, ratio_inside, np.abs(raw[:, 1]) <= SHAPE_BOUND

    def _loss(self, y, raw):
        _, k, b, _, _ = self._terms(y, raw)
        return k * b + _log_gamma_excess(k) + np.log(y)

    def _pair_of(self, y, raw, fisher):
        u, k, b, ratio_inside, shape_inside = self._terms(y, raw)
        excess = _trigamma_excess(k)
        g_eta = np.where(ratio_inside, k * (1.0 - u), 0.0)
        g_zeta = np.where(shape_inside, k * (_psi_minus_log(k) + b), 0.0)
        h_eta = k if fisher else np.where(ratio_inside, k * u, 0.0)
        h_zeta = k * excess if fisher else np.where(shape_inside, g_zeta + k * excess, 0.0)
        return np.column_stack([g_eta, g_zeta]), np.column_stack([h_eta, h_zeta])

    def _derivatives(self, y, raw):
        return self._pair_of(y, raw, fisher=False)

    def _grad_policy_hessian(self, y, raw, residual_scale=None):
        return self._pair_of(y, raw, fisher=self.hessian == "fisher")

    def _init(self, y, w):
        mean = weighted_mean(y, w)
        spread = math.log(mean) - weighted_mean(np.log(y), w)  # >= 0 (Jensen), 0 for constant targets
        if not spread > 0:
            raise ValueError(f"{self}: the targets of the {y.size} samples are constant: the likelihood has no maximum")

        def excess(zeta):  # log k - psi(k) - spread, decreasing in zeta
            return float(-_psi_minus_log(np.array([math.exp(zeta)]))[0] - spread)

        low, high = -SHAPE_BOUND, SHAPE_BOUND
        zeta = high if excess(high) > 0 else optimize.brentq(excess, low, high, xtol=1e-14, rtol=1e-15)
        return np.array([math.log(mean), zeta])

    def _predictive(self, raw):
        mu, k = np.exp(np.clip(raw[:, 0], -MAX_EXP, MAX_EXP)), np.exp(np.clip(raw[:, 1], -SHAPE_BOUND, SHAPE_BOUND))
        scale = mu / k

        def crps(y):
            return (y * (2 * stats.gamma.cdf(y, k, scale=scale) - 1)
                    - mu * (2 * stats.gamma.cdf(y, k + 1, scale=scale) - 1) - scale / special.beta(0.5, k))

        return Predictive(stats.gamma(k, scale=scale), crps)


DISPERSION_BOUND = 12.0  # log-dispersion clipped to +-12 (sizes r = 6e-6 .. 1.6e5): the gradient's terms,
# which cancel towards the Poisson limit, keep 1e-6 relative precision
FISHER_NODES = 32  # Gauss-Laguerre nodes of the dispersion's Fisher information (within 1% of the exact series)
COUNT_MEAN_BOUND = MAX_EXP - 4 * DISPERSION_BOUND  # log-mean clip: alpha mu and r / mu stay normal floats
SMALL_COUNT = 64  # counts below this sum psi's differences exactly
FISHER_FLOOR = 1e-6  # its floor (it lies in [0, 1)): near the Poisson limit the likelihood is flat in xi


def _negative_binomial_terms(y, raw):
    """``(mu, r, a, inside)``: mean, size ``r = 1 / alpha``, ``a = log(alpha mu)``, where the
    log-dispersion is inside its bound."""
    raw = raw.astype(np.float64, copy=False)
    eta = np.clip(raw[:, 0], -COUNT_MEAN_BOUND, COUNT_MEAN_BOUND)
    xi = np.clip(raw[:, 1], -DISPERSION_BOUND, DISPERSION_BOUND)
    return np.exp(eta), np.exp(-xi), eta + xi, np.abs(raw[:, 1]) <= DISPERSION_BOUND


def _rising_sums(y, r):
    """``(r D - y, r D + r^2 D')`` with ``D = psi(y + r) - psi(r)``, ``D' = psi'(y + r) - psi'(r)``:
    for integer counts below ``SMALL_COUNT`` as the sums ``-sum_{j<y} (j / r) / (1 + j / r)`` and
    ``sum_{j<y} (j / r) / (1 + j / r)^2`` (no cancellation: both 0 at y <= 1), else by polygamma."""
    small = (y < SMALL_COUNT) & (y == np.floor(y))
    rise = r * (special.digamma(y + r) - special.digamma(r))
    curve = rise + r * r * (special.polygamma(1, y + r) - special.polygamma(1, r))
    rise -= y
    if small.any():
        ys, alpha = y[small], 1.0 / r[small]
        sums = np.zeros((2, ys.size))
        for j in range(int(ys.max())):
            step = np.where(ys > j, 1.0 / (1.0 + j * alpha), 0.0)
            sums += [-j * alpha * step, j * alpha * step * step]
        rise[small], curve[small] = sums
    return rise, curve


def _mean_minus_softplus(mu, r, a):
    """``mu s(-a) - r log(1 + e^a)`` (``r e^a = mu``) without cancellation: for ``a < 0``, ``mu`` times
    ``1 / (1 + x) - log(1 + x) / x = sum_n (-x)^n n / (n + 1)`` at ``x = e^a`` (the series below 1e-4)."""
    x = np.exp(np.minimum(a, 0.0))
    series = x * (-0.5 + x * (2.0 / 3.0 + x * (-0.75 + x * 0.8)))
    gap = np.where(x < 1e-4, series, 1.0 / (1.0 + x) - np.log1p(x) / x)
    return np.where(a < 0, mu * gap, mu * special.expit(-a) - r * np.logaddexp(0.0, a))


def _negative_binomial_fisher(mu, r):
    """``r^2 (psi'(r) - E psi'(Y + r) - mu / (r (r + mu)))``, the Fisher information of the log-
    dispersion, as ``r * int_0^inf e^-s F(s / r) ds`` with ``F(t) = t (1 - P(t)) / (1 - e^-t) - (1 -
    e^-mu t)``, ``P`` the probability generating function at ``e^-t``: Gauss-Laguerre quadrature."""
    nodes, weights = special.roots_laguerre(FISHER_NODES)
    total = np.zeros_like(mu)
    ratio = mu / r
    with np.errstate(over="ignore"):
        for s, weight in zip(nodes, weights, strict=True):
            t = s / r
            head = -np.expm1(-t)
            total += weight * (t / head * -np.expm1(-r * np.log1p(ratio * head)) + np.expm1(-mu * t))
    return np.maximum(r * total, 0.0)


class NegativeBinomialNLL(DistributionLoss):
    """Negative binomial (NB2) negative log-likelihood for over-dispersed counts, parameters
    ``(eta = log mu, xi = log alpha)``: mean ``mu``, variance ``mu + alpha mu^2``, size ``r = 1 / alpha``.
    ``L = lgamma(r) + lgamma(y + 1) - lgamma(y + r) + r log(1 + alpha mu) + y log(1 + r / mu)``.

    With ``a = log(alpha mu)``, ``s(a) = 1 / (1 + e^-a)`` and ``D = psi(y + r) - psi(r)``:
    ``g_eta = (mu - y) s(-a)``, exact ``h_eta = (r + y) s(a) s(-a)``, Fisher ``mu s(-a)``;
    ``g_xi = r (D - log(1 + e^a)) + g_eta``, exact ``h_xi = -r (D - log(1 + e^a)) - r^2 D' - r s(a) -
    (mu - y) s(a) s(-a)`` with ``D' = psi'(y + r) - psi'(r)`` (may be negative); Fisher
    ``r^2 (psi'(r) - E psi'(Y + r) - mu / (r (r + mu)))``, which has no closed form: 32-point
    Gauss-Laguerre quadrature of its integral form, within 1% of the exact series. It lies in
    [0, 1) and vanishes towards the Poisson limit ``alpha mu -> 0``, where the likelihood is flat
    in ``xi`` (but improbable rows' gradients are not): floored at 1e-6. The parameters are
    orthogonal. Hessian policy ``fisher`` (default) or ``exact``; both columns are rescaled per
    round. ``xi`` is clipped to +-12 and ``eta`` to +-(MAX_EXP - 48), each gradient 0 beyond.
    Targets: counts ``>= 0``, not all zero (non-integers are scored by the same formula, a
    quasi-likelihood). Optimal constant: the weighted mean and the maximum-likelihood dispersion
    (the bound ``alpha = e^-12`` for counts no more spread than Poisson's). Predictions: the
    mean; ``predict_distribution`` gives ``scipy.stats.nbinom`` (no CRPS: its closed form needs a
    hypergeometric function that scipy returns as NaN for large sizes).
    """

    name = "negative_binomial_nll"
    counts = True  # its targets are counts (non-integers are scored, but the derivative checks use counts)
    output_names = ("log_mean", "log_dispersion")
    raw_bounds = ((-COUNT_MEAN_BOUND, COUNT_MEAN_BOUND), (-DISPERSION_BOUND, DISPERSION_BOUND))
    hessian_policies = ("fisher", "exact")
    domain = NON_NEGATIVE
    link = OutputsLink("negative_binomial_mean", _exp_location)

    def __init__(self, hessian="fisher"):
        self.hessian = hessian
        self._check_params()

    def _raw_location(self, y):
        return np.log(np.maximum(y, 0.5))

    def _loss(self, y, raw):
        mu, r, a, _ = _negative_binomial_terms(y, raw)
        # lgamma(r) + lgamma(y + 1) - lgamma(y + r) = B(y + 1, r) + log(y + r), B the log-beta: no cancellation
        log_ratio = np.logaddexp(0.0, -a)  # log(1 + r / mu)
        counted = np.where(y > 0, special.betaln(y + 1.0, r) + np.log(y + r) + y * log_ratio, 0.0)  # 0 at y = 0
        x = np.exp(np.minimum(a, 0.0))  # r log(1 + alpha mu) = mu log(1 + x) / x for x = alpha mu <= 1: mu times
        return counted + np.where(a < 0, mu * (np.log1p(x) / x), r * np.logaddexp(0.0, a))  # a factor near 1

    def _pair_of(self, y, raw, fisher):
        mu, r, a, inside = _negative_binomial_terms(y, raw)
        s_pos, s_neg = special.expit(a), special.expit(-a)
        g_eta = (mu - y) * s_neg
        rise, curve = _rising_sums(y, r)  # r D - y, r D + r^2 D'
        mix = _mean_minus_softplus(mu, r, a)  # mu s(-a) - r log(1 + e^a)
        g_xi = np.where(inside, rise + y * s_pos + mix, 0.0)  # = r D - r log(1 + e^a) + g_eta
        located = np.abs(raw[:, 0]) <= COUNT_MEAN_BOUND  # the mean's clip: its derivatives are 0 beyond
        grad = np.column_stack([np.where(located, g_eta, 0.0), g_xi])
        if fisher:
            dispersion = np.maximum(_negative_binomial_fisher(mu, r), FISHER_FLOOR)
            return grad, np.column_stack([np.where(located, mu * s_neg, 0.0), dispersion])
        h_xi = -mix - curve - (mu - y) * s_pos * s_neg  # r s(a) = mu s(-a)
        return grad, np.column_stack([np.where(located, (r + y) * s_pos * s_neg, 0.0), np.where(inside, h_xi, 0.0)])

    def _derivatives(self, y, raw):
        return self._pair_of(y, raw, fisher=False)

    def _grad_policy_hessian(self, y, raw, residual_scale=None):
        return self._pair_of(y, raw, fisher=self.hessian == "fisher")

    def _init(self, y, w):
        mean = weighted_mean(y, w)
        if not mean > 0:
            raise ValueError(f"{self}: all targets are zero; the log-mean optimum is -infinity")
        values, inverse = np.unique(y, return_inverse=True)  # counts repeat: one term per distinct value
        weights = np.bincount(inverse.reshape(-1), weights=None if w is None else w, minlength=values.size)
        eta = math.log(mean)

        def score(xi):  # the weighted sum of g_xi at (log mean, xi), increasing through the optimum
            raw = np.column_stack([np.full(values.size, eta), np.full(values.size, xi)])
            return float(weights @ self._pair_of(values, raw, fisher=False)[0][:, 1])

        low, high = -DISPERSION_BOUND, DISPERSION_BOUND
        if score(low) >= 0:
            return np.array([eta, low])
        if score(high) <= 0:
            return np.array([eta, high])
        return np.array([eta, optimize.brentq(score, low, high, xtol=1e-13, rtol=1e-15)])

    def _predictive(self, raw):
        mu, r, a, _ = _negative_binomial_terms(np.zeros(raw.shape[0]), raw)
        return Predictive(stats.nbinom(r, special.expit(-a)))


LOG_DF_BOUNDS = (-3.0, 10.0)  # log degrees of freedom clipped here (nu = 0.05 .. 22026: the normal limit)
SERIES_FROM = 100.0  # degrees of freedom above this take the asymptotic series of the digamma differences


def _reciprocal_gaps(nu, powers):
    """``1 / nu^p - 1 / (nu + 1)^p`` for each power ``p``."""
    return [nu ** -float(p) - (nu + 1.0) ** -float(p) for p in powers]


def _digamma_gap(nu):
    """``psi(nu / 2) - psi((nu + 1) / 2)`` (negative); above ``SERIES_FROM`` by the asymptotic
    series of ``psi``, whose logarithms give ``-log1p(1 / nu)`` exactly."""
    big = nu > SERIES_FROM
    nb = np.where(big, nu, SERIES_FROM + 1.0)
    g2, g4, g6 = _reciprocal_gaps(nb, (2, 4, 6))
    series = -np.log1p(1.0 / nb) - 1.0 / (nb * (nb + 1.0)) - g2 / 3.0 + 2.0 * g4 / 15.0 - 16.0 * g6 / 63.0
    small = np.where(big, 1.0, nu)
    return np.where(big, series, special.digamma(small / 2.0) - special.digamma((small + 1.0) / 2.0))


def _trigamma_gap(nu):
    """``psi'(nu / 2) - psi'((nu + 1) / 2)`` (positive), by its asymptotic series above ``SERIES_FROM``."""
    big = nu > SERIES_FROM
    nb = np.where(big, nu, SERIES_FROM + 1.0)
    g2, g3, g5, g7 = _reciprocal_gaps(nb, (2, 3, 5, 7))
    series = 2.0 / (nb * (nb + 1.0)) + 2.0 * g2 + 4.0 * g3 / 3.0 - 16.0 * g5 / 15.0 + 64.0 * g7 / 21.0
    small = np.where(big, 1.0, nu)
    return np.where(big, series, special.polygamma(1, small / 2.0) - special.polygamma(1, (small + 1.0) / 2.0))


def _log_gamma_gap(nu):
    """``lgamma(nu / 2) - lgamma((nu + 1) / 2)``; above ``SERIES_FROM`` from Stirling's form
    ``1/2 - (nu/2) log1p(1/nu) - log((nu+1)/2)/2`` plus the series remainders (no cancellation of
    the two large lgamma values)."""
    big = nu > SERIES_FROM
    nb = np.where(big, nu, SERIES_FROM + 1.0)
    series = (0.5 - 0.5 * nb * np.log1p(1.0 / nb) - 0.5 * np.log((nb + 1.0) / 2.0)
              + _log_gamma_excess(nb / 2.0) - _log_gamma_excess((nb + 1.0) / 2.0))
    small = np.where(big, 1.0, nu)
    return np.where(big, series, special.gammaln(small / 2.0) - special.gammaln((small + 1.0) / 2.0))


def _student_t_terms(y, raw):
    """``(nu, eta, t, s, c, ratio, eta_inside, xi_inside)``: ``t = z / sqrt(nu)``, ``s = t^2 / (1 + t^2)``
    (in [0, 1], 1 where ``t`` overflows), ``c = 1 - s`` and ``ratio = t / (1 + t^2)`` (0 where ``t``
    overflows), with ``z = (y - mu) / sigma``."""
    raw = raw.astype(np.float64, copy=False)
    eta, eta_inside = _log_scale(raw[:, 1])
    xi = np.clip(raw[:, 2], *LOG_DF_BOUNDS)
    xi_inside = (raw[:, 2] >= LOG_DF_BOUNDS[0]) & (raw[:, 2] <= LOG_DF_BOUNDS[1])
    nu = np.exp(xi)
    with np.errstate(over="ignore", invalid="ignore"):
        t = (y - raw[:, 0]) * np.exp(-eta - 0.5 * xi)
        big = np.abs(t) > 1.0
        inv = 1.0 / np.where(big, t, 1.0)
        s = np.where(big, 1.0 / (1.0 + inv * inv), t * t / (1.0 + t * t))
        c = np.where(big, inv * inv / (1.0 + inv * inv), 1.0 / (1.0 + t * t))  # 1 - s, without cancellation
        ratio = np.where(big, inv * s, t * c)
    return nu, eta, t, s, c, ratio, eta_inside, xi_inside


def _log1p_square(t):
    """``log(1 + t^2)`` without overflow."""
    big = np.abs(t) > 1.0
    tb = np.where(big, t, 1.0)
    return np.where(big, 2.0 * np.log(np.abs(tb)) + np.log1p(1.0 / (tb * tb)), np.log1p(np.where(big, 0.0, t) ** 2))


def _student_t_derivatives(y, raw, fisher):
    """See ``StudentTNLL``."""
    nu, eta, t, s, c, ratio, eta_inside, xi_inside = _student_t_terms(y, raw)
    inv_sigma = np.exp(-eta)
    g_mu = -(nu + 1.0) / np.sqrt(nu) * inv_sigma * ratio
    g_eta = np.where(eta_inside, 1.0 - (nu + 1.0) * s, 0.0)
    bracket = _digamma_gap(nu) + _log1p_square(t) + c / nu - s
    g_xi = np.where(xi_inside, 0.5 * nu * bracket, 0.0)
    gap = _trigamma_gap(nu)
    if fisher:
        h_mu = (nu + 1.0) / (nu + 3.0) * inv_sigma * inv_sigma
        h_eta = 2.0 * nu / (nu + 3.0)
        h_xi = np.maximum(nu * nu * (0.25 * gap - (nu + 5.0) / (2.0 * nu * (nu + 1.0) * (nu + 3.0))), FISHER_FLOOR)
        return np.column_stack([g_mu, g_eta, g_xi]), np.column_stack([h_mu, h_eta, h_xi])
    h_mu = (nu + 1.0) / nu * inv_sigma * inv_sigma * (c - s) * c
    h_eta = np.where(eta_inside, 2.0 * (nu + 1.0) * s * c, 0.0)
    slope = 0.5 * gap - s * s / nu - c * c / (nu * nu)  # d bracket / d nu
    h_xi = np.where(xi_inside, g_xi + 0.5 * nu * nu * slope, 0.0)
    return np.column_stack([g_mu, g_eta, g_xi]), np.column_stack([h_mu, h_eta, h_xi])


class StudentTNLL(DistributionLoss):
    """Student-t negative log-likelihood for heavy-tailed targets, parameters ``(mu, eta = log
    sigma, xi = log nu)`` (location, scale, degrees of freedom). With ``t = (y - mu) / (sigma
    sqrt(nu))`` and ``s = t^2 / (1 + t^2)``: ``L = lgamma(nu/2) - lgamma((nu+1)/2) + log(pi nu)/2
    + eta + (nu+1)/2 log(1 + t^2)``.

    ``g_mu = -(nu+1) t / (sigma sqrt(nu) (1 + t^2))``, ``g_eta = 1 - (nu+1) s``, ``g_xi = nu/2 B`` with
    ``B = psi(nu/2) - psi((nu+1)/2) + log(1 + t^2) + (1 - s)/nu - s``. Exact Hessians: ``h_mu = (nu+1)
    (1 - 2s)(1 - s) / (nu sigma^2)``, ``h_eta = 2 (nu+1) s (1 - s)``, ``h_xi = g_xi + nu^2/2 dB/dnu``
    with ``dB/dnu = (psi'(nu/2) - psi'((nu+1)/2))/2 - s^2/nu - (1 - s)^2/nu^2``. Hessian policy
    ``fisher`` (default): the diagonal of the expected information (Lange, Little and Taylor 1989),
    ``(nu+1) / ((nu+3) sigma^2)``, ``2 nu / (nu+3)``, ``nu^2 ((psi'(nu/2) - psi'((nu+1)/2))/4 - (nu+5)
    / (2 nu (nu+1)(nu+3)))`` (floored at 1e-6: it vanishes in the normal limit); ``exact``: the
    above (``h_mu`` is negative where ``|t| > 1``). All columns are rescaled per round. ``eta`` is
    clipped to +-100 and ``xi`` to [-3, 10] (nu 0.05 .. 22026), their gradients 0 beyond; above nu =
    100 the digamma differences take their asymptotic series. Optimal constant: the weighted
    maximum-likelihood fit (L-BFGS-B from the weighted median, 1.4826 weighted MAD and nu = 5);
    constant targets raise. Predictions: the location ``mu`` (the median, and the mean where
    ``nu > 1``); ``predict_distribution`` gives ``scipy.stats.t`` (CRPS in closed form where ``nu >
    1``, Jordan, Krueger and Lerch 2019; infinite otherwise).
    """

    name = "student_t_nll"
    output_names = ("location", "log_scale", "log_df")
    raw_bounds = ((-np.inf, np.inf), (-LOG_SCALE_BOUND, LOG_SCALE_BOUND), LOG_DF_BOUNDS)
    hessian_policies = ("fisher", "exact")
    link = OutputsLink("student_t_location", _location)

    def __init__(self, hessian="fisher"):
        self.hessian = hessian
        self._check_params()

    def _loss(self, y, raw):
        nu, eta, t, *_ = _student_t_terms(y, raw)
        return _log_gamma_gap(nu) + 0.5 * np.log(math.pi * nu) + eta + 0.5 * (nu + 1.0) * _log1p_square(t)

    def _derivatives(self, y, raw):
        return _student_t_derivatives(y, raw, fisher=False)

    def _grad_policy_hessian(self, y, raw, residual_scale=None):
        return _student_t_derivatives(y, raw, fisher=self.hessian == "fisher")

    def _init(self, y, w):
        w = np.ones(y.size) if w is None else np.asarray(w, dtype=np.float64)
        center = weighted_quantile(y, 0.5, w)
        spread = 1.4826 * weighted_quantile(np.abs(y - center), 0.5, w)
        if not spread > 0:
            spread = math.sqrt(weighted_mean((y - weighted_mean(y, w)) ** 2, w))
        if not spread > 0:
            raise ValueError(f"{self}: the targets of the {y.size} samples are constant: the likelihood has no maximum")
        total = float(np.sum(w))

        def objective(point):
            raw = np.broadcast_to(point, (y.size, 3))
            grad = _student_t_derivatives(y, raw, fisher=True)[0]
            return float(w @ self._loss(y, raw)) / total, (w @ grad) / total

        bounds = [(None, None), (-LOG_SCALE_BOUND, LOG_SCALE_BOUND), LOG_DF_BOUNDS]
        start = np.array([center, math.log(spread), math.log(5.0)])
        fit = optimize.minimize(objective, start, jac=True, method="L-BFGS-B", bounds=bounds,
                                options={"gtol": 1e-12, "ftol": 1e-15, "maxiter": 2000})
        # polished to a zero of the summed gradient (of location and scale only where nu is at a bound:
        # normal-like or Cauchy-like data)
        free = 3 if LOG_DF_BOUNDS[0] < fit.x[2] < LOG_DF_BOUNDS[1] else 2
        root = optimize.root(lambda p: objective(np.append(p, fit.x[free:]))[1][:free], fit.x[:free], method="hybr",
                             options={"xtol": 1e-15})
        polished = np.append(root.x, fit.x[free:])
        inside = LOG_DF_BOUNDS[0] <= polished[2] <= LOG_DF_BOUNDS[1] and abs(polished[1]) < LOG_SCALE_BOUND
        better = inside and np.abs(root.fun).max() < np.abs(fit.jac[:free]).max()  # hybr may call a zero "no progress"
        return polished if better else fit.x

    def _predictive(self, raw):
        nu, sigma = np.exp(np.clip(raw[:, 2], *LOG_DF_BOUNDS)), np.exp(_log_scale(raw[:, 1])[0])
        mu = raw[:, 0]

        def crps(y):
            z = (y - mu) / sigma
            heavy = nu <= 1.0
            v = np.where(heavy, 2.0, nu)
            ratio = np.exp(special.betaln(0.5, v - 0.5) - 2.0 * special.betaln(0.5, v / 2.0))
            value = sigma * (z * (2.0 * stats.t.cdf(z, v) - 1.0) + 2.0 * stats.t.pdf(z, v) * (v + z * z) / (v - 1.0)
                             - 2.0 * np.sqrt(v) * ratio / (v - 1.0))
            return np.where(heavy, np.inf, value)

        return Predictive(stats.t(nu, loc=mu, scale=sigma), crps)


# --------------------------------------------------------------------------- stacks of one-output losses
class ColumnStack(MultiOutputLoss):
    """One one-output loss per column (``parts()``, one per output): column ``j`` of the raw
    scores is scored by part ``j`` against the shared target (``target_columns=False``) or
    against target column ``j``. Loss, derivatives, policy Hessians, starts and the secant
    parts' boosting scales are the parts' own, column by column."""

    def parts(self, k: int) -> list[Loss]:
        raise NotImplementedError

    @property
    def refits_leaves(self) -> bool:
        """Whether the parts refit their trees' leaves (``Loss.refits_leaves``): the adapters then
        refit each output's trees as the part of that output does (``leaf_values(..., output=j)``)."""
        return self.parts(1)[0].refits_leaves

    def leaf_values(self, y, raw, leaves, n_leaves: int, sample_weight=None, output: int = 0) -> np.ndarray:
        """``Loss.leaf_values`` of a tree of output ``output``: its part's, on that output's scores."""
        y, raw = self._check_shapes(y, raw)
        part, target, scores = self._columns(y, raw)[output]
        return part.leaf_values(target, scores, leaves, n_leaves, sample_weight)

    @property
    def rescaled(self):
        return self.parts(1)[0]._rescales_hessian()

    def _targets(self, y, k):
        """Each column's target: the shared one, or column ``j`` of ``y``."""
        return [np.ascontiguousarray(y[:, j]) for j in range(k)] if self.target_columns else [y] * k

    def _columns(self, y, raw):
        k = raw.shape[1]
        return [(part, t, np.ascontiguousarray(raw[:, j]))
                for j, (part, t) in enumerate(zip(self.parts(k), self._targets(y, k), strict=True))]

    def _loss(self, y, raw):
        return sum(part._loss(t, r) for part, t, r in self._columns(y, raw))

    def _stack(self, pairs):
        grads, hessians = zip(*pairs, strict=True)
        return np.column_stack(grads), np.column_stack(hessians)

    def _derivatives(self, y, raw):
        return self._stack([part._derivatives(t, r) for part, t, r in self._columns(y, raw)])

    def _grad_policy_hessian(self, y, raw, residual_scale=None):
        scales = np.broadcast_to(np.asarray(residual_scale if residual_scale is not None else np.nan), raw.shape[1])
        return self._stack([part._grad_policy_hessian(t, r, None if np.isnan(s) else float(s))
                            for (part, t, r), s in zip(self._columns(y, raw), scales, strict=True)])

    def _check_domain(self, y):
        k = self.n_outputs(y)
        for part, t in zip(self.parts(k), self._targets(y, k), strict=True):
            part._check_domain(t)

    def _init(self, y, w):
        k = self.n_outputs(y)
        return np.array([self._part_init(part, t, w) for part, t in zip(self.parts(k), self._targets(y, k),
                                                                        strict=True)])

    def _part_init(self, part, y, w):
        return float(part.init_score(y, w))

    def boosting_scale(self, y, raw, sample_weight=None, with_factor=True):
        """The parts' ``BoostingScale`` per column, as arrays: ``residual`` (k,), ``factor`` (k,) or None."""
        if not self._rescales_hessian():
            return None
        y, raw = self._check_shapes(y, raw)
        scales = [part.boosting_scale(t, r, sample_weight, with_factor) for part, t, r in self._columns(y, raw)]
        factors = None if not with_factor else np.array([s.factor for s in scales])
        return BoostingScale(np.array([s.residual for s in scales]), factors)

    def boosting_grad_hess(self, y, raw, sample_weight=None, scale=None, reduce=None, out=None, fingerprint=False,
                           state=None):
        """The parts' ``boosting_grad_hess``, column by column, each with its column's scale."""
        if not self._rescales_hessian():
            return super().boosting_grad_hess(y, raw, sample_weight, scale, reduce, out, fingerprint)
        y, raw = self._check_shapes(y, raw)
        w = None if sample_weight is None else as_booster_floats(sample_weight, self, "sample weights")
        grad, hess = out if out is not None else (np.empty_like(raw, np.float64), np.empty_like(raw, np.float64))
        scale = scale or self.boosting_scale(y, raw, w, with_factor=False)
        factors = [None] * raw.shape[1] if scale.factor is None else scale.factor
        buffers = (np.empty(raw.shape[0], grad.dtype), np.empty(raw.shape[0], hess.dtype))  # a part saturates
        for j, (part, t, r) in enumerate(self._columns(y, raw)):
            column = BoostingScale(float(scale.residual[j]), None if factors[j] is None else float(factors[j]))
            grad[:, j], hess[:, j] = part.boosting_grad_hess(t, r, w, column, reduce, out=buffers)
        if not fingerprint:
            return grad, hess
        seen = kernels.fingerprint(y.reshape(-1), np.empty(0) if w is None else w)
        return grad, hess, (int(seen[0]), int(seen[1]))


def _sorted(raw):
    return np.sort(raw, axis=-1)


class MultiQuantile(ColumnStack):
    """``k`` quantiles of one target in one model: ``L = sum_j pinball_{alpha_j}(y, raw_j)``, each
    column ``Quantile(alpha_j)``'s loss, derivatives, secant Hessian and rescaling (its
    ``hessian`` policy applies to all). ``alphas`` must be increasing. Predictions are the
    columns sorted along each row, so quantiles never cross (as XGBoost's and CatBoost's
    multi-quantile objectives); ``raw`` keeps the model's own order. Optimal constant: each
    column's weighted ``alpha_j``-quantile. ``refit`` (default True): each output's trees get
    ``Quantile``'s leaf refits (XGBoost with one tree per output, LightGBM; not vector leaves).
    """

    name = "multi_quantile"
    hessian_policies = ("secant", "unit")
    link = OutputsLink("sorted_quantiles", _sorted)
    domain = REAL

    def __init__(self, alphas=(0.1, 0.5, 0.9), hessian="secant", refit=True):
        self.alphas = alphas
        self.hessian = hessian
        self.refit = refit
        self._check_params()

    def _check_params(self):
        alphas = np.asarray(self.alphas, dtype=np.float64) if np.ndim(self.alphas) == 1 else None
        if alphas is None or alphas.size < 1:
            raise ValueError(f"MultiQuantile: alphas must be a sequence of quantile levels, got {self.alphas!r}")
        for i, alpha in enumerate(self.alphas):
            check_open_interval(type(self).__name__, f"alphas[{i}]", alpha, 0.0, 1.0)
        if alphas.size > 1 and not (np.diff(alphas) > 0).all():
            raise ValueError(f"MultiQuantile: alphas must be increasing, got {list(self.alphas)}")
        super()._check_params()

    @property
    def output_names(self):
        return tuple(f"q{float(a):g}" for a in self.alphas)

    def parts(self, k=None):
        return [Quantile(float(a), hessian=self.hessian, refit=self.refit) for a in self.alphas]


class _Multilabel(ColumnStack):
    """A binary loss on each column of an ``(n, k)`` 0/1 target."""

    target_columns = True
    domain = BINARY
    link = OutputsLink("logit", special.expit, probabilities=True)
    binary = Logistic

    def _check_domain(self, y):
        bad = (y != 0) & (y != 1)
        if bad.any():
            rows = int(np.count_nonzero(bad.reshape(y.shape[0], -1).any(axis=1)))
            raise ValueError(f"{self}: labels must be 0 or 1; {rows} of {y.shape[0]} rows have other values")

    def parts(self, k):
        return [self.binary(**self.get_params())] * k

    def _part_init(self, part, y, w):
        """The binary start; a label with one class only (no finite optimum) starts at the log-odds
        of its share clipped to ``[1e-12, 1 - 1e-12]``, as absent classes of the softmax do."""
        share = weighted_mean(y, w)
        if 0 < share < 1:
            return float(part.init_score(y, w))
        share = min(max(share, 1e-12), 1 - 1e-12)
        return math.log(share / (1 - share))


class MultilabelLogistic(_Multilabel):
    """Logistic loss on each of ``k`` labels (``(n, k)`` 0/1 targets), summed over labels: each
    column is ``Logistic(pos_weight)``'s loss, gradient and Hessian (PyTorch's
    ``MultiLabelSoftMarginLoss`` is 1/k of it). Predictions: ``(n, k)`` probabilities. Optimal
    constant: each label's log-odds (clipped to a share of 1e-12 for a label with one class)."""

    name = "multilabel_logistic"
    binary = Logistic

    def __init__(self, pos_weight=1.0):
        self.pos_weight = pos_weight
        self._check_params()

    def _check_params(self):
        check_positive(type(self).__name__, "pos_weight", self.pos_weight)


class MultilabelFocal(_Multilabel):
    """Focal loss on each of ``k`` labels (``(n, k)`` 0/1 targets), summed over labels: each column
    is ``Focal(alpha, gamma, hessian)``'s loss, gradient and policy Hessian. Predictions: ``(n, k)``
    probabilities. Optimal constant: each label's focal start (clipped for a label with one class)."""

    name = "multilabel_focal"
    binary = Focal
    hessian_policies = Focal.hessian_policies

    def __init__(self, alpha=0.25, gamma=2.0, hessian="floor"):
        self.alpha = alpha
        self.gamma = gamma
        self.hessian = hessian
        self._check_params()

    def _check_params(self):
        check_open_interval(type(self).__name__, "alpha", self.alpha, 0.0, 1.0)
        check_positive(type(self).__name__, "gamma", self.gamma, allow_zero=True)
        super()._check_params()


# --------------------------------------------------------------------------- soft labels
class SoftCrossEntropy(MultiOutputLoss):
    """Cross-entropy of softmax probabilities to an ``(n, k)`` matrix ``t`` of target
    probabilities (rows in ``[0, 1]`` summing to 1): ``L = -sum_j t_j log p_j``, ``p = softmax(raw)``,
    which is the KL divergence ``KL(t || p)`` (PyTorch's ``KLDivLoss``) plus the entropy of ``t``:
    the same derivatives. For distilling a teacher's probabilities, or label distributions.

    ``g = p - t``; exact diagonal ``h = p (1 - p)``. Hessian policy ``friedman`` (default):
    ``k/(k-1) p (1 - p)``, the step of ``SoftmaxCrossEntropy`` (to which it reduces on one-hot
    targets); or ``exact``. Optimal constant: the log of the weighted mean target, centred (a
    class no row gives probability gets a finite floor, as in ``SoftmaxCrossEntropy``).
    Predictions: ``(n, k)`` probabilities.
    """

    name = "soft_cross_entropy"
    target_columns = True
    domain = BINARY
    rescaled = False
    hessian_policies = ("friedman", "exact")
    link = OutputsLink("softmax", _softmax_rows, probabilities=True)
    ROW_SUM_TOLERANCE = 1e-4

    def __init__(self, hessian="friedman"):
        self.hessian = hessian
        self._check_params()

    def _check_domain(self, y):
        super()._check_domain(y)
        off = np.abs(y.sum(axis=1) - 1.0) > self.ROW_SUM_TOLERANCE
        if off.any():
            raise ValueError(f"{self}: each row of target probabilities must sum to 1; {int(off.sum())} of "
                             f"{y.shape[0]} rows do not (by more than {self.ROW_SUM_TOLERANCE:g})")

    @staticmethod
    def _terms(raw):
        """``(p, q, log p)`` with ``q = 1 - p`` summed from the other classes, and ``log p`` from
        ``log1p(-q)`` where ``p > 1/2``: both keep full precision where ``p`` rounds to 1."""
        raw = raw.astype(np.float64, copy=False)
        p = special.softmax(raw, axis=1)
        q = np.column_stack([np.delete(p, j, axis=1).sum(axis=1) for j in range(p.shape[1])])
        logp = np.where(q < 0.5, np.log1p(-np.minimum(q, 0.5)), special.log_softmax(raw, axis=1))
        return p, q, logp

    def _loss(self, y, raw):
        return -np.sum(y * self._terms(raw)[2], axis=1) / np.sum(y, axis=1)

    def _derivatives(self, y, raw):
        p, q, _ = self._terms(raw)
        t = y / np.sum(y, axis=1, keepdims=True)
        # p - t, as (1 - t) - q where p > 1/2: exact for one-hot targets however confident
        others = np.column_stack([np.delete(t, j, axis=1).sum(axis=1) for j in range(t.shape[1])])
        return np.where(q < 0.5, others - q, p - t), p * q

    def _policy_hessian(self, y, raw, grad, hess, residual_scale=None):
        k = raw.shape[1]
        return hess * (k / (k - 1.0)) if self.hessian == "friedman" and k > 1 else hess

    def _init(self, y, w):
        freq = np.average(y, axis=0, weights=w)
        logp = np.log(np.where(freq > 0, freq, 1e-12 * freq.max()))
        return logp - logp.mean()
