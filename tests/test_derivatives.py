"""Exact derivatives against finite differences, for every loss, in float64, out to extreme inputs.

Each check compares ``exact_grad_hess`` with a Richardson-extrapolated central difference: of
``loss`` for the gradient, of the exact gradient for the Hessian (multiclass: every component
``j`` of the gradient and the diagonal Hessian, differencing along ``raw[:, j]``).

Tolerance: relative error <= 1e-6. The only absolute floor is the rounding noise of the finite
difference itself, ``NOISE * eps * max|f over the stencil| / h`` (f = the differenced function):
a derivative smaller than that noise / 1e-6 is tiny relative to the scale of the function it is
the derivative of (e.g. a Hessian of 1e-300 next to a gradient of 0.5), cannot be resolved by
any finite difference in float64, and is compared against the noise instead. Where the exact
derivative is exactly 0 (squared_log_error's gradient at its minimiser raw = y) a relative error
is undefined, and the difference is measured against the derivative's size one step away.

Points within 4 steps of a kink are skipped: Huber at |r| = delta; absolute, quantile, MAPE,
expectile and Fair (whose Hessian has a kink) at r = 0; and where a loss clips an exponent at
MAX_EXP = 700 (log-link losses, exponential), since the clipped loss is not differentiable there.

``test_zz_max_fd_error`` prints ``MAX_FD_REL_ERROR = ...`` (run with ``-s``); it recomputes every
check (cached), so it also works alone: ``pytest tests/test_derivatives.py -s -k max_fd``.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

import boostloss as bl
from boostloss.checks import relative_errors, richardson  # shared with bl.check_derivatives
from boostloss.losses import kernels
from boostloss.losses.base import MAX_EXP

REL_TOL = 1e-6
KINK_STEPS = 4.0


def errors(exact, approx, noise):
    """Relative error, with |exact| floored at noise / REL_TOL (see the module docstring)."""
    return relative_errors(exact, approx, noise, REL_TOL)


# --------------------------------------------------------------------------- cases
RESIDUALS = np.array([1e4, 1e3, 100, 10, 3, 1.5, 1, 0.7, 0.3, 0.1, 0.01, 1e-3])
RESIDUALS = np.concatenate([-RESIDUALS, [0.0], RESIDUALS[::-1]])
MARGINS = np.array([700, 699, 300, 50, 20, 8, 3, 1, 0.3])
MARGINS = np.concatenate([-MARGINS, [0.0], MARGINS[::-1]])  # also the raw grid of log-link losses


def regression_case(loss, scale=1.0, kinks=(), targets=(-1e3, -2.5, 0.0, 1.7, 1e3), tail_step=True):
    """Grid raw = y + scale * RESIDUALS; h = 1e-2 * max(scale, |r|) (1e-2 * scale if not tail_step)."""
    y, r = (a.ravel() for a in np.meshgrid(np.array(targets, float), scale * RESIDUALS))
    h = 1e-2 * (np.maximum(scale, np.abs(r)) if tail_step else np.full_like(r, scale))
    near = np.zeros(r.size, bool)
    for k in kinks:
        near |= np.abs(np.abs(r) - k) < KINK_STEPS * h
    return loss, y, y + r, h, ~near


def loglink_case(loss, targets=(0.0, 0.5, 3.0, 1e3)):
    y, raw = (a.ravel() for a in np.meshgrid(np.array(targets, float), MARGINS))
    h = np.full_like(raw, 1e-2)
    with np.errstate(divide="ignore"):
        logy = np.log(y)
    if loss.name == "poisson":
        exponents = [raw]
    elif loss.name == "gamma":
        exponents = [logy - raw]
    else:
        exponents = [logy + (1 - loss.power) * raw, (2 - loss.power) * raw]
    clipped = np.zeros(raw.size, bool)
    for e in exponents:  # each exponent moves at most 1 per unit of raw
        clipped |= e > MAX_EXP - KINK_STEPS * h
    return loss, y, raw, h, ~clipped


def squared_log_case(loss):
    grid = [-0.999, -0.9, -0.5, 0, 0.5, 2, 10, 1e3, 1e6]
    y, raw = (a.ravel() for a in np.meshgrid([-0.5, 0.0, 0.5, 3.0, 1e3], grid))
    return loss, y, raw, 1e-3 * (1.0 + raw), np.ones(raw.size, bool)  # log1p: scale 1 + raw


def binary_case(loss):
    y, raw = (a.ravel() for a in np.meshgrid([0.0, 1.0], MARGINS))
    h = np.full_like(raw, 1e-2)
    smooth = np.ones(raw.size, bool)
    if loss.name == "exponential":  # exp(-s raw) is clipped at MAX_EXP
        smooth = -(2 * y - 1) * raw < MAX_EXP - KINK_STEPS * h
    return loss, y, raw, h, smooth


def ghm_case(loss):
    """``binary_case`` for GHM with its bin weights held at the grid's density (``frozen_at``, as
    its derivatives hold them), without the points that change bin within the stencil (where
    the held weight of the row jumps)."""
    loss, y, raw, h, _ = binary_case(loss)
    index = np.arange(loss.bins, dtype=float)  # a table of bin numbers: ghm_rows gives each row's bin

    def bins(x):
        return kernels.ghm_rows(y, x, index)

    steady = np.all([bins(raw + k * h) == bins(raw) for k in (-1.0, -0.5, 0.5, 1.0)], axis=0)
    return loss.frozen_at(y, raw), y, raw, h, steady


def soft_case(loss):
    """``binary_case`` on soft labels: targets between 0 and 1 as well."""
    y, raw = (a.ravel() for a in np.meshgrid([0.0, 0.1, 0.5, 0.97, 1.0], MARGINS))
    return loss, y, raw, np.full_like(raw, 1e-2), np.ones(raw.size, bool)


def margin_case(loss, kinks):
    """``binary_case`` without the points near the kinks of ``z = s raw`` (where the loss is not
    twice differentiable)."""
    loss, y, raw, h, _ = binary_case(loss)
    z = (2 * y - 1) * raw
    return loss, y, raw, h, np.all([np.abs(z - k) >= KINK_STEPS * h for k in kinks], axis=0)


def multiclass_rows():
    patterns = np.array([[1, 0, -1], [0, 1, -1], [1, 1, -1], [-1, 0.3, 0.7], [1, 0.999, 0.5]])
    rows = [m * pat for m in (0.3, 1, 3, 8, 20, 50, 300, 700) for pat in patterns]
    rows += list(np.random.default_rng(0).normal(size=(10, 3)) * 4)
    raw = np.repeat(np.array(rows), 3, axis=0)
    return np.tile([0, 1, 2], len(rows)), raw


def multiclass_case(loss):
    y, raw = multiclass_rows()
    return loss, y, raw, np.full(y.size, 1e-2), np.ones(y.size, bool)


def multiclass_margin_case(loss):
    """``multiclass_case`` without the rows near a kink of the multiclass hinge: a term
    ``u_j = margin - raw_y + raw_j`` near 0, or (Crammer-Singer) a tie for the highest other class."""
    loss, y, raw, h, _ = multiclass_case(loss)
    rows = np.arange(y.size)
    others = raw.copy()
    others[rows, y] = -np.inf
    u = loss.margin - raw[rows, y][:, None] + others
    near = np.abs(u) < KINK_STEPS * 3 * h[:, None]  # each of the three scores moves by h
    top2 = np.sort(others, axis=1)[:, -2:]
    tied = (top2[:, 1] - top2[:, 0] < KINK_STEPS * 3 * h) if loss.form == "crammer_singer" else False
    return loss, y, raw, h, ~(near.any(axis=1) | tied)


def distribution_case(loss, targets=(-1e3, -2.5, 0.0, 1.7, 1e3)):
    """Location ``loc(y) + r`` (on ``log y`` but for the normal and the Student-t) beside log-scales
    (shapes) from -5 to 8, and for a third parameter (the Student-t's log df) -2.5 to 9.5; steps
    1e-3 (the Student-t's: 1e-3 of its width where that is below 1)."""
    grids = [np.array(targets, float), RESIDUALS, [-5.0, -1.0, 0.0, 2.0, 8.0]]
    if loss.n_outputs() == 3:
        grids.append([-2.5, -0.5, 1.0, 3.0, 6.0, 9.5])
    y, r, *scales = (a.ravel() for a in np.meshgrid(*grids))
    location = y if loss.name in ("gaussian_nll", "student_t_nll") else np.log(np.maximum(y, 0.5))
    h = np.full(y.size, 1e-3)
    if len(scales) == 2:  # the Student-t, not quadratic in its location: steps within its width sigma sqrt(nu)
        h *= np.minimum(1.0, np.exp(scales[0] + scales[1] / 2))
    return loss, y, np.column_stack([location + r, *scales]), h, np.ones(y.size, bool)


def multi_quantile_case(loss):
    """``regression_case`` with each column at its own residual, without the kinks ``r_j = 0``."""
    y, r = (a.ravel() for a in np.meshgrid([-1e3, -2.5, 0.0, 1.7, 1e3], RESIDUALS))
    residuals = r[:, None] * np.array([0.5, 1.0, 1.5])
    h = 1e-2 * np.maximum(1.0, np.abs(r))
    return loss, y, y[:, None] + residuals, h, (np.abs(residuals) >= KINK_STEPS * h[:, None]).all(axis=1)


def column_targets_case(loss, y):
    """Rows of ``y`` (n, 3) against score rows of ``multiclass_rows``' patterns and scales."""
    scores = multiclass_rows()[1][::3]
    rows = np.repeat(np.arange(len(y)), len(scores))
    return loss, y[rows], np.tile(scores, (len(y), 1)), np.full(rows.size, 1e-2), np.ones(rows.size, bool)


BINARY_ROWS = np.array(np.meshgrid([0.0, 1.0], [0.0, 1.0], [0.0, 1.0])).reshape(3, -1).T
SOFT_ROWS = np.array([[0.2, 0.3, 0.5], [1.0, 0.0, 0.0], [0.98, 0.01, 0.01], [0.0, 0.5, 0.5]])

CASES = {
    "squared_error": lambda: regression_case(bl.SquaredError()),
    "absolute_error": lambda: regression_case(bl.AbsoluteError(), kinks=[0.0]),
    "huber(0.5)": lambda: regression_case(bl.Huber(delta=0.5), 0.5, kinks=[0.5]),
    "huber(2)": lambda: regression_case(bl.Huber(delta=2), 2.0, kinks=[2.0]),
    "pseudo_huber(0.3)": lambda: regression_case(bl.PseudoHuber(delta=0.3), 0.3),
    "pseudo_huber(5)": lambda: regression_case(bl.PseudoHuber(delta=5), 5.0),
    # the tails of log-cosh vary on the scale 1 (exp(-2|r|)), not |r|
    "log_cosh": lambda: regression_case(bl.LogCosh(), tail_step=False),
    "log_cosh(0.2)": lambda: regression_case(bl.LogCosh(scale=0.2), 0.2, tail_step=False),
    "log_cosh(40)": lambda: regression_case(bl.LogCosh(scale=40), 40.0, tail_step=False),
    "quantile(0.1)": lambda: regression_case(bl.Quantile(alpha=0.1), kinks=[0.0]),
    "quantile(0.5)": lambda: regression_case(bl.Quantile(alpha=0.5), kinks=[0.0]),
    "quantile(0.9)": lambda: regression_case(bl.Quantile(alpha=0.9), kinks=[0.0]),
    "expectile(0.2)": lambda: regression_case(bl.Expectile(alpha=0.2), kinks=[0.0]),
    "expectile(0.8)": lambda: regression_case(bl.Expectile(alpha=0.8), kinks=[0.0]),
    # Fair is C2 but not C3 at r = 0 (a |r|^3 term): the Hessian has a kink there
    "fair(0.5)": lambda: regression_case(bl.Fair(c=0.5), 0.5, kinks=[0.0]),
    "fair(3)": lambda: regression_case(bl.Fair(c=3), 3.0, kinks=[0.0]),
    "mape": lambda: regression_case(bl.MAPE(), kinks=[0.0], targets=(-1e3, -2.5, 0.01, 1.7, 1e3)),
    "squared_log_error": lambda: squared_log_case(bl.SquaredLogError()),
    "poisson": lambda: loglink_case(bl.Poisson()),
    "gamma": lambda: loglink_case(bl.Gamma(), targets=(1e-3, 0.5, 3.0, 1e3)),
    "tweedie(1.2)": lambda: loglink_case(bl.Tweedie(power=1.2)),
    "tweedie(1.5)": lambda: loglink_case(bl.Tweedie()),
    "tweedie(1.8)": lambda: loglink_case(bl.Tweedie(power=1.8)),
    "logistic": lambda: binary_case(bl.Logistic()),
    "logistic(pw=3,ls=0.1)": lambda: binary_case(bl.Logistic(pos_weight=3, label_smoothing=0.1)),
    "focal(0.25,2)": lambda: binary_case(bl.Focal(alpha=0.25, gamma=2)),
    "focal(0.5,0)": lambda: binary_case(bl.Focal(alpha=0.5, gamma=0)),
    "focal(0.75,0.5)": lambda: binary_case(bl.Focal(alpha=0.75, gamma=0.5)),
    "exponential": lambda: binary_case(bl.Exponential()),
    "symmetric_cross_entropy(0.1,1)": lambda: binary_case(bl.SymmetricCrossEntropy(alpha=0.1, beta=1)),
    "symmetric_cross_entropy(1,0.5)": lambda: binary_case(bl.SymmetricCrossEntropy(alpha=1, beta=0.5)),
    "dice": lambda: binary_case(bl.Dice()),
    "dice(1e-4)": lambda: binary_case(bl.Dice(eps=1e-4)),
    "dice(30)": lambda: binary_case(bl.Dice(eps=30)),
    "ghm": lambda: ghm_case(bl.GHM()),
    "ghm(3, 0)": lambda: ghm_case(bl.GHM(bins=3, momentum=0.0)),
    "logistic(soft_labels)": lambda: soft_case(bl.Logistic(soft_labels=True)),
    "logistic(soft_labels, pos_weight=3, label_smoothing=0.2)":
        lambda: soft_case(bl.Logistic(pos_weight=3.0, label_smoothing=0.2, soft_labels=True)),
    "hinge": lambda: margin_case(bl.Hinge(), kinks=[1.0]),
    "perceptron": lambda: margin_case(bl.Perceptron(), kinks=[0.0]),
    "squared_hinge": lambda: margin_case(bl.SquaredHinge(), kinks=[1.0]),
    "modified_huber": lambda: margin_case(bl.ModifiedHuber(), kinks=[-1.0, 1.0]),
    "multiclass_hinge": lambda: multiclass_margin_case(bl.MulticlassHinge()),
    "multiclass_hinge(weston_watkins)": lambda: multiclass_margin_case(bl.MulticlassHinge(form="weston_watkins")),
    "multiclass_squared_hinge":
        lambda: multiclass_margin_case(bl.MulticlassSquaredHinge(class_weight=[1, 2, 0.5])),
    "multiclass_squared_hinge(weston_watkins)":
        lambda: multiclass_margin_case(bl.MulticlassSquaredHinge(form="weston_watkins")),
    "softmax_cross_entropy": lambda: multiclass_case(bl.SoftmaxCrossEntropy()),
    "softmax_cross_entropy(cw,ls=0.1)": lambda: multiclass_case(
        bl.SoftmaxCrossEntropy(class_weight=[1, 2, 0.5], label_smoothing=0.1)),
    "multiclass_focal(0)": lambda: multiclass_case(bl.MulticlassFocal(gamma=0, alpha=[1, 2, 0.5])),
    "multiclass_focal(2)": lambda: multiclass_case(bl.MulticlassFocal(gamma=2, alpha=[1, 2, 0.5])),
    "multiclass_focal(0.5)": lambda: multiclass_case(bl.MulticlassFocal(gamma=0.5, alpha=[1, 2, 0.5])),
    "multiclass_symmetric_cross_entropy": lambda: multiclass_case(bl.MulticlassSymmetricCrossEntropy()),
    "multiclass_symmetric_cross_entropy(1, 0.5)":
        lambda: multiclass_case(bl.MulticlassSymmetricCrossEntropy(alpha=1.0, beta=0.5)),
    "gaussian_nll": lambda: distribution_case(bl.GaussianNLL()),
    "lognormal_nll": lambda: distribution_case(bl.LogNormalNLL(), targets=(1e-3, 0.5, 3.0, 1e3)),
    "gamma_nll": lambda: distribution_case(bl.GammaNLL(), targets=(1e-3, 0.5, 3.0, 1e3)),
    "gamma_nll(exact)": lambda: distribution_case(bl.GammaNLL(hessian="exact"), targets=(1e-3, 0.5, 3.0, 1e3)),
    "student_t_nll": lambda: distribution_case(bl.StudentTNLL()),
    "student_t_nll(exact)": lambda: distribution_case(bl.StudentTNLL(hessian="exact")),
    "negative_binomial_nll": lambda: distribution_case(bl.NegativeBinomialNLL(), targets=(0.0, 1.0, 4.0, 60.0)),
    "negative_binomial_nll(exact)": lambda: distribution_case(bl.NegativeBinomialNLL(hessian="exact"),
                                                              targets=(0.0, 1.0, 4.0, 60.0)),
    "multi_quantile": lambda: multi_quantile_case(bl.MultiQuantile()),
    "multilabel_logistic": lambda: column_targets_case(bl.MultilabelLogistic(), BINARY_ROWS),
    "multilabel_logistic(pw=3)": lambda: column_targets_case(bl.MultilabelLogistic(pos_weight=3.0), BINARY_ROWS),
    "multilabel_focal": lambda: column_targets_case(bl.MultilabelFocal(), BINARY_ROWS),
    "soft_cross_entropy": lambda: column_targets_case(bl.SoftCrossEntropy(), SOFT_ROWS),
}


@functools.cache
def measure(case_id):
    """{quantity: (max error, its point, max error where |exact| is above the floor, its point)}."""
    loss, y, raw, h, smooth = CASES[case_id]()
    y, raw, h = y[smooth], raw[smooth], h[smooth]
    assert y.size >= 10, f"{case_id}: too few smooth grid points"
    results = {}

    def record(name, exact_fn, f, x0, label):
        exact = exact_fn(x0)
        assert np.isfinite(exact).all(), f"{case_id} {name}: non-finite exact derivative"
        approx, noise = richardson(f, x0, h)
        nearby = np.maximum(np.abs(exact_fn(x0 + h)), np.abs(exact_fn(x0 - h)))
        err = errors(exact, approx, np.where(exact == 0, np.maximum(noise, REL_TOL * nearby), noise))
        rel = np.where(np.abs(exact) >= noise / REL_TOL, err, 0.0)

        def where(i):
            return (f"{case_id} {name} at y={np.round(y[i], 6)}, raw={label[i]}: exact={exact[i]:.6g}, "
                    f"fd={approx[i]:.6g}")

        i, k = int(np.argmax(err)), int(np.argmax(rel))
        results[name] = (float(err[i]), where(i), float(rel[k]), where(k))

    # binary and regression: one column (the raw vector); multiclass: each column j of raw
    for j in [None] if raw.ndim == 1 else range(raw.shape[1]):
        def at(x, j=j):
            if j is None:
                return x
            moved = raw.copy()
            moved[:, j] = x
            return moved

        def derivative(x, order, j=j):
            d = loss.exact_grad_hess(y, at(x))[order]
            return d if j is None else d[:, j]

        x0, suffix = (raw, "") if j is None else (raw[:, j], f"[{j}]")
        label = raw if j is None else [tuple(r) for r in raw.tolist()]
        record("grad" + suffix, lambda x: derivative(x, 0), lambda x: loss.loss(y, at(x)), x0, label)
        record("hess" + suffix, lambda x: derivative(x, 1), lambda x: derivative(x, 0), x0, label)
    return results


def test_cases_cover_every_loss():
    covered = {CASES[c]()[0].name for c in CASES}
    assert covered == set(bl.available_losses())


@pytest.mark.parametrize("case_id", list(CASES))
def test_exact_derivatives_match_finite_differences(case_id):
    for name, (err, where, _, _) in measure(case_id).items():
        assert err <= REL_TOL, f"{name}: error {err:.3g} > {REL_TOL}: {where}"


def test_two_class_softmax_matches_binary():
    """A 2-class softmax loss on raw [F, 0] is the binary loss at log-odds F: same values, same
    derivatives (d/dF = d/draw_0), to full relative precision even at confident margins."""
    F = np.concatenate([MARGINS, MARGINS])
    y = np.repeat([1.0, 0.0], MARGINS.size)
    raw2 = np.column_stack([F, np.zeros_like(F)])
    pairs = [(bl.SoftmaxCrossEntropy(), bl.Logistic()),
             (bl.MulticlassFocal(gamma=2, alpha=[0.5, 0.5]), bl.Focal(alpha=0.5, gamma=2)),
             (bl.MulticlassFocal(gamma=0.5, alpha=[0.5, 0.5]), bl.Focal(alpha=0.5, gamma=0.5)),
             (bl.MulticlassSymmetricCrossEntropy(alpha=0.3, beta=2.0), bl.SymmetricCrossEntropy(alpha=0.3, beta=2.0))]
    labels = (1 - y).astype(int)  # class 0 is the positive class
    for multi, binary in pairs:
        g2, h2 = multi.exact_grad_hess(labels, raw2)
        g1, h1 = binary.exact_grad_hess(y, F)
        np.testing.assert_allclose(multi.loss(labels, raw2), binary.loss(y, F), rtol=1e-9, atol=0)
        np.testing.assert_allclose(g2[:, 0], g1, rtol=1e-9, atol=0)
        np.testing.assert_allclose(g2[:, 1], -g1, rtol=1e-9, atol=0)
        np.testing.assert_allclose(h2[:, 0], h1, rtol=1e-9, atol=0)
        np.testing.assert_allclose(h2[:, 1], h1, rtol=1e-9, atol=0)


def test_zz_max_fd_error():
    checks = [m for c in CASES for m in measure(c).values()]
    worst = max(checks, key=lambda m: m[0])
    worst_rel = max(checks, key=lambda m: m[2])
    print(f"\nMAX_FD_REL_ERROR = {worst[0]:.3e}  ({worst[1]})")
    print(f"MAX_FD_REL_ERROR_ABOVE_FLOOR = {worst_rel[2]:.3e}  ({worst_rel[3]})")
    assert worst[0] <= REL_TOL
