"""Regression losses. ``r = raw - y`` throughout (so the gradient has the sign of ``r``).

Hessian policies used here (the ``hessian`` parameter; the first listed is the default):

* ``"exact"``: the true second derivative.
* ``"secant"``: the curvature of the quadratic through the origin that touches the loss at
  ``r``, i.e. ``grad / r`` (Huber, pseudo-Huber, log-cosh, Fair). For an even loss whose
  ``grad / r`` decreases in ``|r|`` this quadratic majorises the loss (half-quadratic / IRLS
  weights), so a Newton step never overshoots the residual, and it never vanishes in the tails.
  For the piecewise-linear losses (absolute, quantile, MAPE) it is the IRLS weight
  ``|g| / max(|r|, eps)``: the curvature of the quadratic through the fit that matches the
  slope on the row's own side, so that a Newton step of rows all on one side moves their
  harmonic-mean residual whichever side it is (for the quantile both sides differ; for the
  symmetric losses it is the Hunter-Lange majoriser). ``eps`` is a tenth of the mean absolute
  residual at the start, so rows fitted exactly do not freeze their leaves.

Leaf refits (``refit=True``, the default of the piecewise-linear losses): the Hessian of these
losses only says how far a leaf should move, and no per-row Hessian knows how the leaf's rows
are spread. The boosters' own L1, quantile and MAPE objectives therefore set every leaf of a
new tree to the weighted quantile of its rows' residuals (LightGBM ``RenewTreeOutput``, XGBoost
``UpdateTreeLeaf`` up to 3.3). ``bl.lightgbm.train``, ``bl.xgboost.train`` and the estimators do
the same (``Loss.leaf_values``): the trees are grown on the IRLS gradients and Hessians above,
their leaves then refitted exactly. On real tables this converges faster per round than the
built-ins, whose trees are grown on sign gradients with unit Hessians (``benchmarks/realdata.py``).
CatBoost refuses leaf refits for Python objectives; there ``bl.catboost.train`` and the estimators
take ``leaf_estimation_iterations=5`` Newton steps per leaf instead (IRLS iterations towards the
leaf's quantile). An objective used on its own (``xgb.train(obj=...)``, Dask) takes one Newton step.
* ``"unit"``: a constant Hessian (the loss's slope scale), the boosters' own convention for
  L1-type losses before their leaf refit.
* ``"gauss_newton"``: the Gauss-Newton curvature of a squared error in a transformed space.
"""

from __future__ import annotations

import numpy as np

from . import kernels
from .base import (
    MAX_EXP,
    NON_NEGATIVE,
    POSITIVE,
    Interval,
    LogLink,
    Loss,
    check_open_interval,
    check_positive,
    weighted_mean,
    weighted_quantile,
)


class _SecantMixin:
    """Losses in target units whose ``secant`` Hessian is rescaled for boosters (``Loss.boosting_grad_hess``)."""

    def _rescales_hessian(self) -> bool:
        return self.hessian == "secant"


class SquaredError(Loss):
    """Squared error ``L = r^2 / 2``; ``g = r``, ``h = 1``. Optimal constant: the weighted mean.

    Identical to XGBoost ``reg:squarederror``, LightGBM ``regression`` and CatBoost ``RMSE``.
    """

    name = "squared_error"
    kernel = staticmethod(kernels.squared_error)

    def __init__(self):
        self._check_params()

    def _loss(self, y, raw):
        r = raw - y
        return (0.5 * r) * r  # not 0.5 r^2: r^2 overflows where the loss still fits

    def _closed_form_init(self, y, w):
        return weighted_mean(y, w)


class AbsoluteError(_SecantMixin, Loss):
    """Absolute error ``L = |r|``; ``g = sign(r)``, exact ``h = 0``.

    Hessian policy ``secant`` (default): ``1 / max(|r|, eps)``; ``unit``: ``h = 1``.
    ``refit`` (default True): leaves refitted to the weighted median of their residuals (see the
    module docstring). Optimal constant: the weighted median.
    """

    name = "absolute_error"
    kernel = staticmethod(kernels.absolute_error)
    uses_secant_floor = True
    hessian_policies = ("secant", "unit", "exact")

    def __init__(self, hessian="secant", refit=True):
        self.hessian = hessian
        self.refit = refit
        self._check_params()

    def _leaf_quantile(self, y, w):
        return 0.5, w

    def _kernel_params(self, eps):
        return (eps,)

    def _loss(self, y, raw):
        return np.abs(raw - y)

    def _closed_form_init(self, y, w):
        return weighted_quantile(y, 0.5, w)


class Huber(_SecantMixin, Loss):
    """Huber loss: ``r^2/2`` for ``|r| <= delta``, else ``delta (|r| - delta/2)``.

    ``g = clip(r, -delta, delta)``; exact ``h = 1{|r| <= delta}`` (zero in the tails).
    Hessian policy ``secant`` (default): ``min(1, delta/|r|)``; ``unit``: ``h = 1`` (what
    LightGBM's built-in ``huber`` uses); ``exact``. Use for regression with outliers where
    ``delta`` is the residual size beyond which errors count linearly. No closed-form
    optimal constant (solved numerically).
    """

    name = "huber"
    kernel = staticmethod(kernels.huber)
    hessian_policies = ("secant", "unit", "exact")

    def __init__(self, delta=1.0, hessian="secant"):
        self.delta = delta
        self.hessian = hessian
        self._check_params()

    def _check_params(self):
        check_positive(type(self).__name__, "delta", self.delta)
        super()._check_params()

    def _kernel_params(self, eps):
        return (float(self.delta),)

    def _loss(self, y, raw):
        d = float(self.delta)
        a = np.abs(raw - y)
        return np.where(a <= d, 0.5 * a * a, d * (a - 0.5 * d))


class PseudoHuber(_SecantMixin, Loss):
    """Pseudo-Huber loss ``L = delta^2 (sqrt(1 + (r/delta)^2) - 1)``.

    With ``t = r/delta`` and ``s = sqrt(1 + t^2)``: ``g = r / s``, exact ``h = s^-3`` (vanishes
    like ``|r|^-3``). Hessian policy ``secant`` (default): ``1 / s``; ``exact`` is XGBoost's
    ``reg:pseudohubererror`` (``huber_slope = delta``). Numerically: ``s`` via ``hypot``, and
    ``s - 1 = t^2 / (s + 1)`` so small residuals keep full precision.
    """

    name = "pseudo_huber"
    kernel = staticmethod(kernels.pseudo_huber)
    hessian_policies = ("secant", "exact")

    def __init__(self, delta=1.0, hessian="secant"):
        self.delta = delta
        self.hessian = hessian
        self._check_params()

    def _check_params(self):
        check_positive(type(self).__name__, "delta", self.delta)
        super()._check_params()

    def _kernel_params(self, eps):
        return (float(self.delta),)

    def _loss(self, y, raw):
        # d^2 t^2 / (s + 1) with t = r / d, s = sqrt(1 + t^2), as |r| q where q = |r| / (s + 1)
        # = d / (sqrt(1 + u^2) + u), u = 1 / t, beyond |t| = 1: neither t^2, d^2 nor t overflows
        d = float(self.delta)
        a = np.abs(raw - y)
        near = a <= d
        t = np.where(near, a, 0.0) / d
        u = d / np.where(near, d, a)
        return a * np.where(near, a / (np.hypot(1.0, t) + 1.0), d / (np.hypot(1.0, u) + u))


class LogCosh(_SecantMixin, Loss):
    """Log-cosh loss ``L = scale^2 log(cosh(r / scale))``; with ``u = r / scale``:
    ``g = scale tanh(u)``, exact ``h = sech(u)^2``.

    ``scale`` (default 1, in target units) is where the loss turns from squared error
    (``r^2 / 2`` for ``|r| << scale``) to absolute error times ``scale`` (``scale |r|`` beyond):
    a scale of about ``1.2`` robust standard deviations (``boostloss compare`` sets it so when the
    loss is named without it) is 95% efficient at the normal, like Huber's 1.345.
    ``log cosh u`` is computed as ``log1p(2 sinh(u/2)^2)`` for ``|u| < 1`` and
    ``|u| + log1p(exp(-2|u|)) - log 2`` beyond, so it neither overflows (``cosh`` does past
    |u| ~ 710) nor loses precision near 0. The exact Hessian underflows to 0 past |u| ~ 355;
    Hessian policy ``secant`` (default): ``g / r = tanh(u) / u`` (-> 1 at u = 0), decaying like
    ``1/|u|``; or ``exact``. CatBoost's ``LogCosh`` is the ``scale = 1`` loss.
    """

    name = "log_cosh"
    kernel = staticmethod(kernels.log_cosh)
    hessian_policies = ("secant", "exact")

    def __init__(self, scale=1.0, hessian="secant"):
        self.scale = scale
        self.hessian = hessian
        self._check_params()

    def _check_params(self):
        check_positive(type(self).__name__, "scale", self.scale)
        super()._check_params()

    def _kernel_params(self, eps):
        return (float(self.scale),)

    def _loss(self, y, raw):
        s = float(self.scale)
        a = np.abs((raw - y) / s)
        small = a < 1.0
        with np.errstate(over="ignore"):
            near = np.log1p(2.0 * np.sinh(0.5 * np.where(small, a, 0.0)) ** 2)
        far = a + np.log1p(np.exp(-2.0 * a)) - np.log(2.0)
        return s * (s * np.where(small, near, far))  # not s^2: it overflows where the loss fits


class Quantile(_SecantMixin, Loss):
    """Quantile (pinball) loss ``L = max(alpha (y - raw), (1 - alpha)(raw - y))``.

    ``g = 1 - alpha`` if ``raw >= y`` else ``-alpha``; exact ``h = 0``. Hessian policy
    ``secant`` (default): the IRLS weight ``|g| / max(|r|, eps)``, i.e. ``(1 - alpha) / max(|r|, eps)``
    for over- and ``alpha / max(|r|, eps)`` for under-predicted rows; ``unit``: ``h = 1``.
    ``refit`` (default True): leaves refitted to the weighted ``alpha``-quantile of their
    residuals (see the module docstring). Optimal constant: the weighted ``alpha``-quantile of ``y``.
    """

    name = "quantile"
    kernel = staticmethod(kernels.quantile)
    uses_secant_floor = True
    hessian_policies = ("secant", "unit", "exact")

    def __init__(self, alpha=0.5, hessian="secant", refit=True):
        self.alpha = alpha
        self.hessian = hessian
        self.refit = refit
        self._check_params()

    def _check_params(self):
        check_open_interval(type(self).__name__, "alpha", self.alpha, 0.0, 1.0)
        super()._check_params()

    def _kernel_params(self, eps):
        return (float(self.alpha), eps)

    def _leaf_quantile(self, y, w):
        return float(self.alpha), w

    def _loss(self, y, raw):
        a = float(self.alpha)
        r = y - raw
        return np.maximum(a * r, (a - 1.0) * r)

    def _closed_form_init(self, y, w):
        return weighted_quantile(y, float(self.alpha), w)


class Expectile(Loss):
    """Expectile loss ``L = |alpha - 1{y < raw}| (y - raw)^2`` (alpha = 0.5: half squared error).

    ``g = 2 c r``, ``h = 2 c`` with ``c = alpha`` if ``raw < y`` else ``1 - alpha``: exact and
    positive. Same formula as CatBoost's ``Expectile``. Optimal constant: the weighted
    ``alpha``-expectile (solved numerically).
    """

    name = "expectile"
    kernel = staticmethod(kernels.expectile)

    def __init__(self, alpha=0.5):
        self.alpha = alpha
        self._check_params()

    def _check_params(self):
        check_open_interval(type(self).__name__, "alpha", self.alpha, 0.0, 1.0)

    def _weight(self, y, raw):
        a = float(self.alpha)
        return np.where(raw < y, a, 1.0 - a)

    def _kernel_params(self, eps):
        return (float(self.alpha),)

    def _loss(self, y, raw):
        r = y - raw
        return (self._weight(y, raw) * r) * r

    def _init_guess(self, y, w):
        return weighted_mean(y, w)


class Fair(_SecantMixin, Loss):
    """Fair loss ``L = c^2 (|r|/c - log(1 + |r|/c))``; ``g = c r / (|r| + c)``.

    Exact ``h = c^2 / (|r| + c)^2`` (LightGBM's ``fair``, vanishing like ``r^-2``). Hessian
    policy ``secant`` (default): ``c / (|r| + c)``; or ``exact``. ``t - log1p(t)`` uses its
    series below ``t = 1e-3`` to keep precision for small residuals.
    """

    name = "fair"
    kernel = staticmethod(kernels.fair)
    hessian_policies = ("secant", "exact")

    def __init__(self, c=1.0, hessian="secant"):
        self.c = c
        self.hessian = hessian
        self._check_params()

    def _check_params(self):
        check_positive(type(self).__name__, "c", self.c)
        super()._check_params()

    def _kernel_params(self, eps):
        return (float(self.c),)

    def _loss(self, y, raw):
        c = float(self.c)
        t = np.abs(raw - y) / c
        s = np.minimum(t, 1e-3)  # the series is only used below 1e-3; keeps large t from overflowing
        series = s * s * (0.5 - s * (1 / 3 - s * (0.25 - s * (0.2 - s / 6))))
        return c * (c * np.where(t < 1e-3, series, t - np.log1p(t)))  # c^2 alone may overflow


class MAPE(_SecantMixin, Loss):
    """Mean absolute percentage error as an objective: ``L = |r| / |y|`` (targets must be non-zero).

    ``g = sign(r) / |y|``, exact ``h = 0``. Hessian policy ``secant`` (default):
    ``1 / (|y| max(|r|, eps))``; ``unit``: ``h = 1/|y|``. ``refit`` (default True): leaves
    refitted to the median of their residuals weighted by ``w / |y|`` (see the module
    docstring). Optimal constant: the weighted median of ``y`` with weights ``w / |y|``.
    """

    name = "mape"
    kernel = staticmethod(kernels.mape)
    uses_secant_floor = True
    hessian_policies = ("secant", "unit", "exact")

    def __init__(self, hessian="secant", refit=True):
        self.hessian = hessian
        self.refit = refit
        self._check_params()

    def _leaf_quantile(self, y, w):
        return 0.5, (1.0 / np.abs(y) if w is None else w / np.abs(y))

    def _check_domain(self, y):
        zero = y == 0
        if zero.any():
            raise ValueError(f"{self}: {int(zero.sum())} of {y.size} targets are zero; MAPE divides by |y|")

    def _kernel_params(self, eps):
        return (eps,)

    def _loss(self, y, raw):
        return np.abs(raw - y) / np.abs(y)

    def _closed_form_init(self, y, w):
        weights = 1.0 / np.abs(y) if w is None else w / np.abs(y)
        return weighted_quantile(y, 0.5, weights)


class SquaredLogError(Loss):
    """Squared log error ``L = (log1p(raw) - log1p(y))^2 / 2`` for targets ``y > -1``.

    With ``d = log1p(raw) - log1p(y)``: ``g = d / (1 + raw)``, exact ``h = (1 - d) / (1 + raw)^2``,
    negative once the prediction exceeds ``e (1 + y) - 1``. Hessian policy ``gauss_newton``
    (default): ``1 / (1 + raw)^2``, always positive; ``exact`` is XGBoost's
    ``reg:squaredlogerror`` without its 1e-6 floor. Raw scores are clipped to
    ``-1 + 1e-6`` as XGBoost does, since the loss is undefined below -1. Optimal constant:
    ``expm1`` of the weighted mean of ``log1p(y)``.
    """

    name = "squared_log_error"
    kernel = staticmethod(kernels.squared_log_error)
    domain = Interval(-1.0, np.inf, False, False)
    hessian_policies = ("gauss_newton", "exact")

    def __init__(self, hessian="gauss_newton"):
        self.hessian = hessian
        self._check_params()

    @staticmethod
    def _clip(raw):
        return np.maximum(raw, -1.0 + 1e-6)

    def _loss(self, y, raw):
        return 0.5 * np.log1p((self._clip(raw) - y) / (1.0 + y)) ** 2

    def _closed_form_init(self, y, w):
        return float(np.expm1(weighted_mean(np.log1p(y), w)))


def _exp(x):
    """exp with the argument clipped to MAX_EXP, so log-link losses stay finite."""
    return np.exp(np.minimum(x, MAX_EXP))


class Poisson(Loss):
    """Poisson deviance with a log link: ``L = exp(raw) - y raw + y log y - y`` (0 at a perfect fit).

    ``g = exp(raw) - y``, ``h = exp(raw)``. Identical to XGBoost ``count:poisson`` with
    ``max_delta_step=0`` and LightGBM ``poisson`` with ``poisson_max_delta_step=0``, up to the
    constant. Targets: counts or rates ``>= 0`` (not all zero). Optimal constant: log of the
    weighted mean.
    """

    name = "poisson"
    kernel = staticmethod(kernels.poisson)
    link = LogLink()
    domain = NON_NEGATIVE

    def __init__(self):
        self._check_params()

    def _loss(self, y, raw):
        from scipy.special import xlogy

        return _exp(raw) - y * raw + xlogy(y, y) - y

    def _closed_form_init(self, y, w):
        mean = weighted_mean(y, w)
        if mean <= 0:
            raise ValueError(f"{self}: all targets are zero; the log-link optimum is -infinity")
        return float(np.log(mean))


class Gamma(Loss):
    """Gamma deviance with a log link: ``L = y exp(-raw) + raw - 1 - log y`` (targets ``> 0``).

    ``g = 1 - y exp(-raw)``, ``h = y exp(-raw)`` (computed as ``exp(log y - raw)``). Identical to
    XGBoost ``reg:gamma`` and LightGBM ``gamma``. Optimal constant: log of the weighted mean.
    """

    name = "gamma"
    kernel = staticmethod(kernels.gamma)
    link = LogLink()
    domain = POSITIVE

    def __init__(self):
        self._check_params()

    def _loss(self, y, raw):
        return _exp(np.log(y) - raw) + raw - 1.0 - np.log(y)

    def _closed_form_init(self, y, w):
        return float(np.log(weighted_mean(y, w)))


class Tweedie(Loss):
    """Tweedie deviance with a log link and power ``1 < p < 2`` (targets ``>= 0``):

    ``L = -y exp((1-p) raw)/(1-p) + exp((2-p) raw)/(2-p) + y^(2-p)/((1-p)(2-p))``;
    ``g = -y exp((1-p) raw) + exp((2-p) raw)``,
    ``h = -(1-p) y exp((1-p) raw) + (2-p) exp((2-p) raw)`` (positive). Identical to XGBoost
    ``reg:tweedie`` and LightGBM ``tweedie``. Optimal constant: log of the weighted mean.
    """

    name = "tweedie"
    kernel = staticmethod(kernels.tweedie)
    link = LogLink()
    domain = NON_NEGATIVE

    def __init__(self, power=1.5):
        self.power = power
        self._check_params()

    def _check_params(self):
        check_open_interval(type(self).__name__, "power", self.power, 1.0, 2.0)

    def _terms(self, y, raw):
        p = float(self.power)
        with np.errstate(divide="ignore"):
            logy = np.log(y)
        a = _exp(logy + (1.0 - p) * raw)  # y exp((1-p) raw); 0 where y = 0
        b = _exp((2.0 - p) * raw)
        return p, a, b

    def _kernel_params(self, eps):
        return (float(self.power),)

    def _loss(self, y, raw):
        p, a, b = self._terms(y, raw)
        return -a / (1.0 - p) + b / (2.0 - p) + y ** (2.0 - p) / ((1.0 - p) * (2.0 - p))

    def _closed_form_init(self, y, w):
        mean = weighted_mean(y, w)
        if mean <= 0:
            raise ValueError(f"{self}: all targets are zero; the log-link optimum is -infinity")
        return float(np.log(mean))
