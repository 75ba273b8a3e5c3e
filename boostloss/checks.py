"""``check_derivatives``: a loss's exact derivatives against high-accuracy numerical differentiation.

On a grid of targets and raw scores that reaches extreme residuals and margins, the exact
gradient is compared with a numerical derivative of the loss, and the exact Hessian with a
numerical derivative of the exact gradient (multiclass: every component, differencing along
``raw[:, j]``). The numerical derivative is a Richardson-extrapolated central difference at
the step, among ``h0 / 2^k``, whose successive extrapolations agree best (``h0`` a tenth of
the point's scale, at most half its distance to the domain's edge). A point where the
left- and right-sided derivatives differ is a kink of the loss (Huber at ``|r| = delta``,
absolute error at ``r = 0``, an exponent clipped at ``MAX_EXP``): it is skipped and counted,
so losses need not declare their kinks.

Errors are relative, ``|exact - numerical| / |exact|``, with ``|exact|`` floored at the
uncertainty of the numerical estimate (four times the disagreement of successive extrapolations
plus the rounding noise ``NOISE * eps * max|f| / h``) divided by ``rtol``: a derivative below that cannot
be resolved next to the function it differentiates. Where the exact derivative is exactly 0 the
floor is ``rtol`` times its size a base step away; below the smallest normal float, precision
is absolute.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .losses.base import IdentityLink, Loss
from .registry import get_loss

EPS = np.finfo(np.float64).eps
TINY = np.finfo(np.float64).tiny  # below this, floats lose relative precision (subnormals)
NOISE = 64.0  # rounding-noise factor: a few ulps per evaluation, times Richardson's ~3x amplification
LEVELS = 24  # steps h0 / 2^k, k = 0..LEVELS
KINK_TOL = 1e-3  # left and right derivatives differing by more than this (relative) mark a kink

RESIDUALS = np.array([1e4, 1e3, 100, 10, 3, 1.5, 1, 0.7, 0.3, 0.1, 0.01, 1e-3])
RESIDUALS = np.concatenate([-RESIDUALS, [0.0], RESIDUALS[::-1]])
MARGINS = np.array([690, 300, 89, 50, 20, 8, 3, 1, 0.3])  # 89: exp overflows float32 past 88.7
MARGINS = np.concatenate([-MARGINS, [0.0], MARGINS[::-1]])
TARGETS = (-1e3, -2.5, -0.5, 0.0, 0.01, 0.5, 1.0, 1.7, 3.0, 1e3)


def configurations() -> list[Loss]:
    """Every registered loss at its defaults, then variants that take other code paths (each
    Hessian policy, asymmetric and extreme parameters, per-class weights): what the property
    tests and ``benchmarks/fuzz.py`` drive."""
    import boostloss as bl

    return [bl.get_loss(name) for name in bl.available_losses()] + [
        bl.Huber(delta=0.5, hessian="unit"), bl.Huber(delta=2, hessian="exact"), bl.AbsoluteError(hessian="unit"),
        bl.PseudoHuber(delta=0.3, hessian="exact"), bl.LogCosh(hessian="exact"), bl.LogCosh(scale=0.05),
        bl.LogCosh(scale=300, hessian="exact"), bl.Fair(c=3, hessian="exact"),
        bl.Quantile(alpha=0.9), bl.Quantile(alpha=0.1, hessian="unit"), bl.MAPE(hessian="unit"),
        bl.Expectile(alpha=0.2), bl.SquaredLogError(hessian="exact"), bl.Tweedie(power=1.2),
        bl.Tweedie(power=1.8), bl.Logistic(pos_weight=3, label_smoothing=0.1), bl.Focal(alpha=0.75, gamma=0.5),
        bl.Focal(gamma=2, hessian="exact"), bl.SymmetricCrossEntropy(alpha=1, beta=0.5, hessian="exact"),
        bl.SoftmaxCrossEntropy(class_weight=[1, 2, 0.5], label_smoothing=0.1),
        bl.MulticlassFocal(gamma=0.5, alpha=[1, 2, 0.5]), bl.MulticlassFocal(gamma=2, hessian="exact"),
        bl.Logistic(soft_labels=True), bl.Hinge(hessian="active"), bl.Perceptron(hessian="active"),
        bl.SquaredHinge(hessian="exact"), bl.ModifiedHuber(hessian="exact"),
        bl.Dice(eps=1e-4, hessian="exact"), bl.Dice(eps=30),
        bl.MulticlassHinge(form="weston_watkins", hessian="active"), bl.MulticlassHinge(hessian="exact", margin=0.5),
        bl.MulticlassSquaredHinge(form="weston_watkins", hessian="exact", class_weight=[1, 2, 0.5]),
    ]


# --------------------------------------------------------------------------- numerical derivatives
def richardson(f, x, h):
    """df/dx elementwise (``f`` maps an array of rows to per-row values) from central differences
    at ``h`` and ``h/2``, Richardson-extrapolated; and the rounding noise of that estimate."""
    def central(step):
        xp, xm = x + step, x - step
        fp, fm = f(xp), f(xm)
        return (fp - fm) / (xp - xm), np.maximum(np.abs(fp), np.abs(fm))

    coarse, s1 = central(h)
    fine, s2 = central(h / 2)
    return (4.0 * fine - coarse) / 3.0, NOISE * EPS * np.maximum(s1, s2) / h


def relative_errors(exact, approx, noise, rtol):
    """``|approx - exact| / |exact|`` with ``|exact|`` floored at ``noise / rtol``."""
    diff = np.abs(approx - exact)
    denom = np.maximum(np.abs(exact), noise / rtol)
    return np.where(diff == 0, 0.0, diff / np.where(denom > 0, denom, 1.0))


def _best(estimates, noise) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per point, the estimate that agrees best with the next two finer ones (two, so that
    piecewise-linear functions cannot agree by coincidence), counting its rounding noise:
    ``(estimate, disagreement, noise)``."""
    estimates, noise = np.array(estimates), np.array(noise)
    step = np.abs(np.diff(estimates, axis=0))
    spread = np.maximum(step[:-1], step[1:])
    total = np.where(np.isfinite(spread + noise[:-2]), spread + noise[:-2], np.inf)
    k, pick = np.argmin(total, axis=0), np.arange(estimates.shape[1])
    return estimates[k, pick], spread[k, pick], noise[k, pick]


def _one_sided(f, x, fx, h):
    """df/dx from one side (towards ``x + h``; ``h < 0``: from the left), Richardson-extrapolated
    from the differences at ``h`` and ``h/2`` (error O(h^2))."""
    def difference(step):
        xs = x + step
        return (f(xs) - fx) / (xs - x)

    return 2.0 * difference(h / 2) - difference(h)


def numerical_derivative(f, x, h0, levels=LEVELS):
    """df/dx elementwise at steps ``h0 / 2^k``: the Richardson-extrapolated central, left-sided
    and right-sided estimates at their best steps, each as ``(estimate, disagreement, noise)``
    (see ``_best``; all three carry the central difference's rounding noise)."""
    with np.errstate(all="ignore"):
        fx = f(x)
        steps = [h0 * 0.5**k for k in range(levels)]
        central, noise = zip(*(richardson(f, x, h) for h in steps), strict=True)
        left = [_one_sided(f, x, fx, -h) for h in steps]
        right = [_one_sided(f, x, fx, h) for h in steps]
        return _best(central, noise), _best(left, noise), _best(right, noise)


# --------------------------------------------------------------------------- the grid
def derivative_grid(loss: Loss) -> tuple[np.ndarray, np.ndarray]:
    """Targets and raw scores to check ``loss`` at: for the identity link ``raw = y + r`` with
    residuals ``r`` from 0 to ``+-1e4`` (and raw inside the loss's domain), for other links raw
    margins from 0 to ``+-690`` (``exp(690) ~ 1e300``); targets from ``TARGETS`` that the loss
    accepts. Multiclass: random score rows whose classes differ by 0.3 to 690, every label. Other
    multi-output losses: ``_multi_output_grid``."""
    if loss.multi_output:
        return _multi_output_grid(loss)
    if loss.is_multiclass:
        k = getattr(loss, "_declared_classes", lambda: None)() or 3
        rows = np.random.default_rng(0).normal(size=(12, k))
        rows /= np.ptp(rows, axis=1, keepdims=True)  # class scores differ by at most the scale
        rows = np.concatenate([scale * rows for scale in (0.3, 1, 3, 8, 20, 50, 300, MARGINS[-1])])
        return np.tile(np.arange(k), len(rows)).astype(np.float64), np.repeat(rows, k, axis=0)
    targets = np.array([t for t in TARGETS if _accepts(loss, t)])
    if targets.size == 0:
        raise ValueError(f"check_derivatives: {loss!r} accepts none of the targets {TARGETS}; pass y and raw")
    if isinstance(loss.link, IdentityLink):
        y, r = (a.ravel() for a in np.meshgrid(targets, RESIDUALS))
        raw = y + r
        inside = loss.domain.contains(raw) & (raw != loss.domain.low) & (raw != loss.domain.high)
        return y[inside], raw[inside]
    y, raw = (a.ravel() for a in np.meshgrid(targets, MARGINS))
    return y, raw


LOG_SCALES = np.array([-30.0, -5.0, -1.0, 0.0, 0.5, 2.0, 8.0, 30.0])
LOG_SHAPES = np.array([-4.0, -1.0, 0.0, 1.5, 4.0, 9.0, 11.0])  # a third parameter's (the Student-t's log df)


def _multi_output_grid(loss):
    """Column targets (three columns): every 0/1 row, or random probability rows (soft labels), with
    score rows whose scores and spreads reach 0.3 to 690. Shared targets: each accepted target with each output at a
    residual from ``RESIDUALS`` (a distribution's location, on ``log y`` for the log-normal and gamma, beside
    every log-scale or log-shape in ``LOG_SCALES``, and a third parameter at each of ``LOG_SHAPES``; integer
    targets for count distributions)."""
    rng = np.random.default_rng(0)
    scales = (0.3, 1, 3, 8, 20, 50, 300, MARGINS[-1])
    if loss.target_columns:
        if loss.name == "soft_cross_entropy":
            y = rng.dirichlet(np.ones(3), 16)
        else:
            y = np.array(np.meshgrid([0.0, 1.0], [0.0, 1.0], [0.0, 1.0])).reshape(3, -1).T
        rows = rng.normal(size=(y.shape[0], 3))
        rows /= np.ptp(rows, axis=1, keepdims=True) + np.abs(rows).max(axis=1, keepdims=True)  # |F|, spread <= 1
        return np.tile(y, (len(scales), 1)), np.concatenate([scale * rows for scale in scales])
    targets = np.array([t for t in TARGETS if _accepts(loss, t)])
    k = loss.n_outputs()
    location = getattr(loss, "_raw_location", lambda v: v)
    if hasattr(loss, "predict_distribution"):
        if getattr(loss, "counts", False):  # a count distribution: integer targets
            targets = targets[targets == np.floor(targets)]
        if k == 2:
            y, r, eta = (a.ravel() for a in np.meshgrid(targets, RESIDUALS, LOG_SCALES))
            return y, np.column_stack([location(y) + r, eta])
        y, r, eta, xi = (a.ravel() for a in np.meshgrid(targets, RESIDUALS, LOG_SCALES, LOG_SHAPES))
        return y, np.column_stack([location(y) + r, eta, xi])
    y, r = (a.ravel() for a in np.meshgrid(targets, RESIDUALS))
    shifts = np.linspace(-0.5, 0.5, k)  # the columns sit at different residuals
    return y, location(y)[:, None] + r[:, None] * (1.0 + shifts)


def _accepts(loss, target) -> bool:
    try:
        loss.validate(np.array([target]))
    except ValueError:
        return False
    return True


def _base_steps(loss, y, x):
    """h0: a tenth of the point's scale (the residual ``|x - y|`` for the identity link, else
    ``|x|``, at least 1), at most half the distance to the edge of the domain (identity link,
    where raw scores are predictions)."""
    identity = isinstance(loss.link, IdentityLink) and not loss.is_multiclass
    h0 = 0.1 * np.maximum(1.0, np.abs(x - y if identity else x))
    if identity:
        with np.errstate(invalid="ignore"):
            h0 = np.fmin(h0, 0.5 * (x - loss.domain.low))
            h0 = np.fmin(h0, 0.5 * (loss.domain.high - x))
    return h0


# --------------------------------------------------------------------------- the report
@dataclass
class Worst:
    """The worst relative error of one derivative and where it occurs."""

    error: float = 0.0
    where: str = "-"

    def __str__(self):
        return f"worst relative error {self.error:.2e}" + (f" at {self.where}" if self.error > 0 else "")


@dataclass
class DerivativeReport:
    """What ``check_derivatives`` found. ``ok`` is False when there are ``problems``."""

    loss: str
    rtol: float
    points: int
    grad: Worst = field(default_factory=Worst)
    hess: Worst = field(default_factory=Worst)
    kinks: int = 0
    kink_example: str = ""
    non_finite: dict = field(default_factory=dict)
    float32_mismatches: int = 0
    exact_hessian: dict = field(default_factory=dict)
    policy_hessian: dict = field(default_factory=dict)
    problems: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def __str__(self):
        counts = ", ".join(f"{n} {what}" for what, n in self.non_finite.items() if n) or "none"
        lines = [
            f"check_derivatives({self.loss}): {'OK' if self.ok else 'FAILED'} (rtol {self.rtol:g})",
            f"  gradient: {self.grad}",
            f"  Hessian:  {self.hess}",
            f"  grid: {self.points} points incl. extremes and float32 inputs"
            + (f"; {self.kinks} skipped where the loss is not smooth (e.g. {self.kink_example})" if self.kinks else ""),
            f"  non-finite outputs: {counts}",
            "  exact Hessian: {negative} negative, {zero} zero (reported, not an error)".format(**self.exact_hessian),
            "  policy Hessian (what boosters get): {negative} negative, {zero} zero ({stalled} of them with a "
            "non-zero gradient)".format(**self.policy_hessian),
        ]
        if self.float32_mismatches:
            lines.append(f"  float32 inputs: {self.float32_mismatches} outputs differ from the same values in float64")
        lines += [f"  problem: {p}" for p in self.problems]
        return "\n".join(lines)


def check_derivatives(loss, *, strict: bool = False, rtol: float = 1e-6, y=None, raw=None) -> DerivativeReport:
    """Compare ``loss``'s exact gradient and Hessian with numerical differentiation.

    ``loss`` is any Loss (or registry name). The grid is ``derivative_grid(loss)`` unless ``y``
    and ``raw`` are given. Returns a ``DerivativeReport`` (print it) with the worst relative
    errors and where they occur, points skipped at kinks, counts of non-finite outputs (float64
    and float32 inputs), and counts of negative and zero exact and policy Hessians. Problems:
    an error above ``rtol``, a non-finite output, a float32 input giving another result than
    the same value in float64, a negative policy Hessian, or a zero one where the gradient is
    not (the Newton step is undefined there). A zero or negative *exact* Hessian is reported,
    not a problem. With ``strict=True`` problems raise ValueError with the report.
    """
    loss = get_loss(loss)
    if (y is None) != (raw is None):
        raise ValueError("check_derivatives: give both y and raw, or neither")
    if y is None:
        y, raw = derivative_grid(loss)
    y = np.asarray(y, dtype=np.float64)
    y = y if loss.target_columns else y.ravel()  # (n, k) targets stay a matrix
    raw = np.asarray(raw, dtype=np.float64)
    report = DerivativeReport(loss=repr(loss), rtol=rtol, points=raw.shape[0])
    loss = loss.frozen_at(y, raw)  # GHM: its weights held, as its derivatives hold them

    with np.errstate(all="ignore"):
        values = loss.loss(y, raw)
        grad, hess = loss.exact_grad_hess(y, raw)
        policy_grad, policy = loss.grad_hess(y, raw)
        y32, raw32 = y.astype(np.float32), raw.astype(np.float32)
        outputs32 = (loss.loss(y32, raw32), *loss.exact_grad_hess(y32, raw32), loss.grad_hess(y32, raw32)[1])
        same64 = (loss.loss(y32.astype(np.float64), raw32.astype(np.float64)),
                  *loss.exact_grad_hess(y32.astype(np.float64), raw32.astype(np.float64)),
                  loss.grad_hess(y32.astype(np.float64), raw32.astype(np.float64))[1])
    names = ("loss values", "gradients", "exact Hessians", "policy Hessians")
    report.non_finite = {name: int(np.count_nonzero(~np.isfinite(a)) + np.count_nonzero(~np.isfinite(b)))
                         for name, a, b in zip(names, (values, grad, hess, policy), outputs32, strict=True)}
    report.float32_mismatches = sum(int(np.count_nonzero(~np.isclose(a, b, rtol=1e-12, atol=0, equal_nan=True)))
                                    for a, b in zip(outputs32, same64, strict=True))
    report.exact_hessian = {"negative": int(np.count_nonzero(hess < 0)), "zero": int(np.count_nonzero(hess == 0))}
    report.policy_hessian = {"negative": int(np.count_nonzero(policy < 0)), "zero": int(np.count_nonzero(policy == 0)),
                             "stalled": int(np.count_nonzero((policy == 0) & (policy_grad != 0)))}

    columns = [None] if raw.ndim == 1 else range(raw.shape[1])
    kinks = [_compare(loss, y, raw, j, report) for j in columns]
    report.kinks = int(sum(np.count_nonzero(k) for k in kinks))
    for j, k in zip(columns, kinks, strict=True):
        if k.any() and not report.kink_example:
            report.kink_example = _where(y, raw, j, int(np.argmax(k)))

    if report.grad.error > rtol:
        report.problems.append(f"gradient error {report.grad.error:.2e} > rtol at {report.grad.where}")
    if report.hess.error > rtol:
        report.problems.append(f"Hessian error {report.hess.error:.2e} > rtol at {report.hess.where}")
    if any(report.non_finite.values()):
        report.problems.append("non-finite outputs")
    if report.float32_mismatches:
        report.problems.append("float32 inputs change the outputs")
    if report.policy_hessian["negative"] or report.policy_hessian["stalled"]:
        report.problems.append("the policy Hessian is negative, or zero where the gradient is not: boosters' "
                               "Newton steps -sum(g)/sum(h) break there (choose another hessian policy)")
    if strict and not report.ok:
        raise ValueError(str(report))
    return report


def _compare(loss, y, raw, j, report) -> np.ndarray:
    """Check gradient and Hessian along ``raw`` (or its column ``j``), updating ``report``;
    returns where either was skipped as a kink."""
    x0 = raw if j is None else raw[:, j]

    def at(x):
        if j is None:
            return x
        moved = raw.copy()
        moved[:, j] = x
        return moved

    def derivative(order):
        def f(x):
            d = loss.exact_grad_hess(y, at(x))[order]
            return d if j is None else d[:, j]
        return f

    def value(x):
        return loss.loss(y, at(x))

    h0 = _base_steps(loss, y, x0)
    if j == 0 and hasattr(loss, "predict_distribution") and np.array_equal(loss.inverse_link(raw), raw[:, 0]):
        # a location in target units (normal, Student-t): steps within the loss's local length scale
        # 1 / sqrt|h| (the width sigma sqrt(nu) at the mode, the residual in the tails), where float64
        # resolves it (else the differences are rounding and the point is skipped)
        with np.errstate(all="ignore"):
            h0 = np.fmin(h0, 0.1 / np.sqrt(np.abs(loss.exact_grad_hess(y, raw)[1][:, 0])))
    skipped = np.zeros(raw.shape[0], bool)  # a kink of the loss skips its Hessian too
    for name, exact_fn, f in (("grad", derivative(0), value), ("hess", derivative(1), derivative(0))):
        with np.errstate(all="ignore"):
            exact = exact_fn(x0)
            (numerical, spread, noise), left, right = numerical_derivative(f, x0, h0)
            # a sequence converging geometrically with ratio <= 4/5 (even O(h) at a kink of the differenced
            # function's derivative) is within 4 of its steps of its limit
            uncertainty = 4.0 * spread + noise
            # the derivative's size a base step away: its scale, where it is 0 at x0
            nearby = np.nan_to_num(np.maximum(np.abs(exact_fn(x0 + h0)), np.abs(exact_fn(x0 - h0))))
            scale = np.maximum.reduce([np.abs(left[0]), np.abs(right[0]), np.abs(numerical), nearby,
                                       noise / report.rtol])
            # not smooth here: left and right derivatives differ, or the estimates do not converge
            kink = np.abs(left[0] - right[0]) > KINK_TOL * scale + left[1] + left[2] + right[1] + right[2]
            skipped |= kink | (spread > KINK_TOL * scale) | ~np.isfinite(numerical)
        usable = np.isfinite(exact) & ~skipped
        # below the smallest normal float (subnormals) precision is absolute: floor |exact| at TINY
        floor = np.maximum(np.where(exact == 0, np.maximum(uncertainty, report.rtol * nearby), uncertainty),
                           report.rtol * TINY)
        errors = np.where(usable, relative_errors(exact, numerical, floor, report.rtol), 0.0)
        i = int(np.argmax(errors))
        worst = getattr(report, name)
        if errors[i] > worst.error:
            worst.error = float(errors[i])
            worst.where = f"{_where(y, raw, j, i)}: exact {exact[i]:.6g}, numerical {numerical[i]:.6g}"
    return skipped


def _where(y, raw, j, i) -> str:
    target = f"{y[i]:g}" if y.ndim == 1 else f"({', '.join(f'{v:g}' for v in y[i])})"
    if j is None:
        return f"y={target}, raw={raw[i]:g}"
    return f"y={target}, raw=({', '.join(f'{v:g}' for v in raw[i])})[{j}]"
