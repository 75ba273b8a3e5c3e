"""Property tests (hypothesis): finiteness over the whole input range, Hessian policies.

Input bounds (the loss value itself must be representable):
* float32 inputs: raw from the whole finite float32 range (|raw| <= 3.4e38), targets in the
  loss's domain with |y| <= 1e6; the library computes in float64, where e.g. raw^2 ~ 1e77 fits.
* float64 inputs: |raw| <= 1e100, so that losses growing like raw^2 (squared error, expectile)
  stay below float64's maximum ~1.8e308; targets as above, MAPE targets |y| >= 1e-100 (the loss
  is |r| / |y| <= 1e200) and gamma targets >= 1e-300 (so y exp(-raw) is representable for |raw| <= 30).
* Strict Hessian positivity is asserted on every row for identity-link (regression) losses;
  for log-link and classification losses only on rows with |raw| <= 30, because beyond
  |raw| ~ 745 exp() underflows to 0 (a probability or mean of 1e-324 has no float64 value), so
  there only non-negativity is asserted.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy.special import logit

import boostloss as bl
from boostloss.checks import configurations
from boostloss.losses.base import IdentityLink, LogitLink

# the losses must not overflow or divide by zero anywhere in these ranges, not even in a branch
# np.where discards
pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")

LOSSES = configurations()
# smooth, convex, with an exact Hessian that is positive wherever it is representable
CONVEX = {"squared_error", "expectile", "pseudo_huber", "fair", "poisson", "gamma", "tweedie",
          "logistic", "exponential", "softmax_cross_entropy"}
F32_MAX = float(np.finfo(np.float32).max)


def positive_hessian(loss) -> bool:
    """Whether grad_hess's Hessian must be > 0: a non-exact policy (but ``active``, zero past the
    margin by design, as XGBoost's binary:hinge), or a smooth convex loss."""
    return getattr(loss, "hessian", "exact") not in ("exact", "active") or loss.name in CONVEX


def outputs(loss):
    """Raw scores per row: None for one, 3 for the multiclass and column-target configurations."""
    if loss.is_multiclass or (loss.multi_output and loss.target_columns):
        return 3
    return loss.n_outputs() if loss.multi_output else None


def draw_targets(draw, loss, width, n):
    """n targets for ``loss``: a list, or for column targets an (n, 3) array (soft labels: rows of
    probabilities summing to 1)."""
    k = outputs(loss)
    if loss.multi_output and loss.target_columns:
        cells = st.floats(0, 1, width=width) if loss.name == "soft_cross_entropy" else st.sampled_from([0.0, 1.0])
        y = np.array(draw(st.lists(cells, min_size=n * k, max_size=n * k)), dtype=np.float64).reshape(n, k)
        if loss.name == "soft_cross_entropy":
            y[y.sum(axis=1) == 0, 0] = 1.0
            y /= y.sum(axis=1, keepdims=True)
        return y
    return draw(st.lists(targets(loss, width, k), min_size=n, max_size=n))


def targets(loss, width, k):
    f = dict(width=width, allow_nan=False)
    if loss.name in ("lognormal_nll", "gamma_nll"):
        return st.floats(1e-300 if width == 64 else 0.0, 1e6, exclude_min=width == 32, **f)
    if loss.is_multiclass:
        return st.integers(0, k - 1).map(float)
    if isinstance(loss.link, LogitLink):
        return st.sampled_from([0.0, 1.0])
    if loss.name in ("poisson", "tweedie", "negative_binomial_nll"):
        return st.floats(0, 1e6, **f)
    if loss.name == "gamma":
        return st.floats(1e-300 if width == 64 else 0.0, 1e6, exclude_min=width == 32, **f)
    if loss.name == "squared_log_error":
        return st.floats(-1, 1e6, exclude_min=True, **f)
    if loss.name == "mape":
        tiny, f32 = (1e-100, False) if width == 64 else (0.0, True)
        return st.floats(tiny, 1e6, exclude_min=f32, **f) | st.floats(-1e6, -tiny, exclude_max=f32, **f)
    return st.floats(-1e6, 1e6, **f)


@st.composite
def inputs(draw, loss, width):
    n = draw(st.integers(1, 12))
    k = outputs(loss)
    dtype = np.float32 if width == 32 else np.float64
    y = np.array(draw_targets(draw, loss, width, n), dtype=dtype)
    bound = F32_MAX if width == 32 else 1e100
    elements = st.floats(-bound, bound, width=width, allow_nan=False, allow_infinity=False)
    # mix in moderate values so rows with |raw| <= 30 (where positivity is checked) are common
    elements = elements | st.floats(-30, 30, width=width)
    raw = draw(hnp.arrays(dtype, (n, k) if k else n, elements=elements))
    return y, raw


@pytest.mark.parametrize("width", [32, 64])
@pytest.mark.parametrize("loss", LOSSES, ids=repr)
def test_finite_and_policy_hessian_sign(loss, width):
    @settings(max_examples=40, deadline=None)
    @given(inputs(loss, width))
    def check(data):
        y, raw = data
        values = loss.loss(y, raw)
        grad, hess = loss.exact_grad_hess(y, raw)
        pgrad, phess = loss.grad_hess(y, raw)
        assert values.shape == (y.shape[0],) and grad.shape == hess.shape == phess.shape == raw.shape
        for name, a in [("loss", values), ("grad", grad), ("hess", hess), ("policy hess", phess)]:
            assert np.isfinite(a).all(), f"{name} not finite: {a}"
        np.testing.assert_array_equal(pgrad, grad)
        if positive_hessian(loss):
            assert (phess >= 0).all(), phess
            moderate = np.abs(raw) <= 30 if raw.ndim == 1 else (np.abs(raw) <= 30).all(axis=1)
            if isinstance(loss.link, IdentityLink):
                moderate[:] = True
            assert (phess[moderate] > 0).all(), (raw[moderate], phess[moderate])

    check()


POLICY_LOSSES = [loss for loss in LOSSES if getattr(loss, "hessian", "exact") in ("secant", "unit", "floor")]


@pytest.mark.parametrize("loss", POLICY_LOSSES, ids=repr)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_policy_hessian_is_at_least_exact(loss, data):
    """Secant, unit and floor policies never report less curvature than the exact Hessian."""
    y, raw = data.draw(inputs(loss, 64))
    _, exact = loss.exact_grad_hess(y, raw)
    _, policy = loss.grad_hess(y, raw)
    # a few ulps of slack: near r = 0 log-cosh's exact sech^2 can round a hair above 1 - r^2/3
    assert (policy >= exact - 4 * np.finfo(float).eps * np.abs(exact)).all()


SECANT = [bl.Huber(), bl.Huber(delta=0.3), bl.PseudoHuber(), bl.PseudoHuber(delta=5), bl.LogCosh(),
          bl.LogCosh(scale=0.3), bl.LogCosh(scale=50), bl.Fair(c=0.5)]


@pytest.mark.parametrize("loss", SECANT, ids=repr)
@settings(max_examples=60, deadline=None)
@given(y=st.floats(-1e3, 1e3), r0=st.floats(-1e3, 1e3), step=st.floats(-1e4, 1e4))
def test_secant_hessian_majorises(loss, y, r0, step):
    """The secant quadratic L(r0) + g d + h d^2 / 2 lies above the loss, so a Newton step
    -g/h never overshoots (documented for Huber, pseudo-Huber, log-cosh and Fair)."""
    y_, raw = np.array([y]), np.array([y + r0])
    g, h = (v[0] for v in loss.grad_hess(y_, raw))
    quad = loss.loss(y_, raw)[0] + g * step + 0.5 * h * step * step
    actual = loss.loss(y_, raw + step)[0]
    assert actual <= quad + 1e-9 * (1 + abs(quad) + abs(g * step))
    if abs(r0) > 1e-3:  # the secant curvature is grad / r
        assert h == pytest.approx(g / (raw - y)[0], rel=1e-12)


@settings(max_examples=60, deadline=None)
@given(pt=st.floats(1e-12, 0.05), label=st.sampled_from([0.0, 1.0]))
def test_focal_exact_hessian_negative_for_hard_rows(pt, label):
    """Focal gamma=2: the exact Hessian is negative for p_t below about 0.06 (the docstring);
    the default floor policy stays positive there."""
    raw = np.array([logit(pt) if label == 1 else -logit(pt)])
    y = np.array([label])
    assert bl.Focal(gamma=2, hessian="exact").grad_hess(y, raw)[1][0] < 0
    assert bl.Focal(gamma=2).grad_hess(y, raw)[1][0] > 0


@settings(max_examples=60, deadline=None)
@given(pt=st.floats(0.07, 1 - 1e-9), label=st.sampled_from([0.0, 1.0]))
def test_focal_exact_hessian_positive_for_easy_rows(pt, label):
    raw = np.array([logit(pt) if label == 1 else -logit(pt)])
    assert bl.Focal(gamma=2, hessian="exact").grad_hess(np.array([label]), raw)[1][0] > 0


@settings(max_examples=60, deadline=None)
@given(logits=hnp.arrays(np.float64, 3, elements=st.floats(-20, 20)), label=st.integers(0, 2))
def test_multiclass_focal_exact_hessian_negative_for_hard_rows(logits, label):
    y = np.array([label])
    p_y = bl.MulticlassFocal().inverse_link(logits[None])[0, label]
    exact = bl.MulticlassFocal(gamma=2, hessian="exact").grad_hess(y, logits[None])[1][0]
    floor = bl.MulticlassFocal(gamma=2).grad_hess(y, logits[None])[1][0]
    assert (floor > 0).all()
    if p_y < 0.05:
        assert exact[label] < 0
    elif p_y > 0.07:
        assert (exact > 0).all()


@settings(max_examples=60, deadline=None)
@given(pt=st.floats(1e-9, 0.45), label=st.sampled_from([0.0, 1.0]))
def test_symmetric_cross_entropy_exact_hessian_negative_for_hard_rows(pt, label):
    """SCE (alpha=0.1, beta=1): h = p q (alpha + beta A (q - p)) < 0 once q - p > 0.025."""
    raw = np.array([logit(pt) if label == 1 else -logit(pt)])
    y = np.array([label])
    assert bl.SymmetricCrossEntropy(hessian="exact").grad_hess(y, raw)[1][0] < 0
    assert bl.SymmetricCrossEntropy().grad_hess(y, raw)[1][0] > 0


@settings(max_examples=60, deadline=None)
@given(pt=st.floats(1e-12, 0.2), label=st.sampled_from([0.0, 1.0]), eps=st.sampled_from([1e-4, 1.0, 30.0]))
def test_dice_exact_hessian_negative_for_hard_rows(pt, label, eps):
    """Dice bends down where a row is badly wrong (its loss saturates); the floor policy keeps
    h >= |g|: each row's own Newton step is at most 1."""
    raw = np.array([logit(pt) if label == 1 else -logit(pt)])
    y = np.array([label])
    exact_g, exact_h = bl.Dice(eps=eps, hessian="exact").grad_hess(y, raw)
    if pt < 0.1 and (label == 1 or pt < 1e-3):  # negatives bend down past p^2 = eps / 3, at most p = 0.9...
        assert exact_h[0] < 0
    g, h = bl.Dice(eps=eps).grad_hess(y, raw)
    assert g[0] == exact_g[0] and g[0] * (2 * label - 1) < 0  # always towards the true class
    assert h[0] == max(exact_h[0], abs(g[0])) and h[0] > 0


WEIGHTS = st.sampled_from([0.0, 1e-300, 1e-38, 1e-12]) | st.floats(1e-3, 1e6)


@st.composite
def booster_rounds(draw, loss):
    """What a booster hands an objective: float32 margins (the whole float32 range for identity
    links, +-1e4 otherwise), zero, tiny and large weights (at least one row weighted >= 1e-3)."""
    n = draw(st.integers(1, 12))
    k = outputs(loss)
    y = np.array(draw_targets(draw, loss, 64, n))
    bound = F32_MAX if isinstance(loss.link, IdentityLink) or loss.name in ("gaussian_nll", "multi_quantile") else 1e4
    elements = st.floats(-bound, bound, width=32, allow_nan=False, allow_infinity=False) | st.floats(-30, 30, width=32)
    raw = draw(hnp.arrays(np.float32, (n, k) if k else n, elements=elements))
    w = np.array(draw(st.lists(WEIGHTS, min_size=n, max_size=n)))
    w[draw(st.integers(0, n - 1))] = draw(st.floats(1e-3, 1e6))
    return y, raw, w


@pytest.mark.parametrize("loss", LOSSES, ids=repr)
def test_float32_buffers_handed_to_boosters_are_finite(loss):
    """``boosting_grad_hess`` into float32 buffers (as the XGBoost and LightGBM adapters call
    it), with the scale fixed at the start or taken per round: every value finite, zero-weight
    rows exactly zero, values beyond float32's range saturated at its largest finite value."""
    @settings(max_examples=60, deadline=None)
    @given(booster_rounds(loss))
    def check(data):
        y, raw, w = data
        start = loss.boosting_scale(y, raw.astype(np.float64), w)
        per_round = None if start is None else type(start)(start.residual, None)
        for scale in (start, per_round):
            out = (np.empty_like(raw, np.float32), np.empty_like(raw, np.float32))
            grad, hess = loss.boosting_grad_hess(y, raw, w, scale, out=out)
            assert grad is out[0] and hess is out[1]
            assert np.isfinite(grad).all() and np.isfinite(hess).all(), (y, raw, w, grad, hess)
            zero = w == 0
            assert (grad[zero] == 0).all() and (hess[zero] == 0).all()

    check()
