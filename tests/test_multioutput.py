"""Losses with several raw scores per row: distributions, multi-quantile, multi-label, soft labels.

The generic families (finite differences in test_derivatives, extremes and float32 in
test_properties, starts, weights, pickling and the registry in test_losses) run on these losses
too; here is what is particular to them.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, stats

import boostloss as bl

RNG = np.random.default_rng(11)
DISTRIBUTIONS = [bl.GaussianNLL(), bl.LogNormalNLL(), bl.GammaNLL()]


def scored_rows(loss, n=6):
    """Targets and raw scores of ``n`` rows of a distribution loss, at plausible parameters."""
    y = RNG.lognormal(1.0, 0.5, n)
    location = y if loss.name == "gaussian_nll" else np.log(y)
    return y, np.column_stack([location + RNG.normal(0, 0.3, n), RNG.normal(0.0, 0.5, n)])


def frozen(dist, i):
    """Row ``i`` of a ``Predictive``'s frozen scipy distribution."""
    args = [np.atleast_1d(a)[i] for a in dist.dist.args]
    kwds = {key: np.atleast_1d(value)[i] for key, value in dist.dist.kwds.items()}
    return dist.dist.dist(*args, **kwds)


# --------------------------------------------------------------------------- distributions
@pytest.mark.parametrize("loss", DISTRIBUTIONS, ids=repr)
def test_loss_is_the_predicted_distributions_negative_log_density(loss):
    y, raw = scored_rows(loss)
    dist = loss.predict_distribution(raw)
    np.testing.assert_allclose(loss.loss(y, raw), -dist.logpdf(y), rtol=1e-12)
    np.testing.assert_allclose(loss.inverse_link(raw), dist.mean, rtol=1e-12)


def test_distribution_parameters_are_the_documented_ones():
    raw = np.array([[1.5, np.log(2.0)], [-3.0, 0.0]])
    dist = bl.GaussianNLL().predict_distribution(raw)
    np.testing.assert_allclose(dist.mean, [1.5, -3.0])
    np.testing.assert_allclose(dist.std, [2.0, 1.0])
    np.testing.assert_allclose(dist.quantile(0.975), [1.5 + 2 * 1.959963985, -3 + 1.959963985], rtol=1e-9)
    low, high = dist.interval(0.8)
    np.testing.assert_allclose(high - low, 2 * stats.norm.ppf(0.9) * np.array([2.0, 1.0]))
    lognormal = bl.LogNormalNLL().predict_distribution(raw)
    np.testing.assert_allclose(lognormal.mean, np.exp(raw[:, 0] + np.exp(2 * raw[:, 1]) / 2))
    np.testing.assert_allclose(lognormal.quantile(0.5), np.exp(raw[:, 0]))  # the median
    gamma = bl.GammaNLL().predict_distribution(raw)  # (log mean, log shape)
    np.testing.assert_allclose(gamma.mean, np.exp(raw[:, 0]))
    np.testing.assert_allclose(gamma.std, np.exp(raw[:, 0]) / np.sqrt(np.exp(raw[:, 1])))
    assert dist.quantile([0.1, 0.5, 0.9]).shape == (2, 3) and len(dist) == 2
    np.testing.assert_allclose(dist.cdf(dist.quantile(0.3)), 0.3)


@pytest.mark.parametrize("loss", DISTRIBUTIONS, ids=repr)
def test_crps_closed_form_is_the_integral(loss):
    """CRPS(F, y) = integral of (F(x) - 1{x >= y})^2 dx, computed numerically per row."""
    y, raw = scored_rows(loss, 4)
    dist = loss.predict_distribution(raw)
    ours = dist.crps(y)
    for i in range(y.size):
        row = frozen(dist, i)
        low = max(row.support()[0], row.ppf(1e-15))
        parts = [integrate.quad(lambda x, row=row: row.cdf(x) ** 2, low, y[i], limit=200)[0],
                 integrate.quad(lambda x, row=row: row.sf(x) ** 2, y[i], np.inf, limit=200)[0]]
        assert ours[i] == pytest.approx(sum(parts), rel=1e-7, abs=1e-9)
    assert (ours > 0).all()


@pytest.mark.parametrize("loss", DISTRIBUTIONS, ids=repr)
def test_fisher_hessian_is_the_expected_exact_hessian(loss):
    """The default Hessian is the Fisher information: the mean of the exact Hessian over targets
    drawn from the row's own distribution (here a large sample of one row)."""
    _, raw = scored_rows(loss, 1)
    row = frozen(loss.predict_distribution(raw), 0)
    y = row.rvs(size=400_000, random_state=np.random.default_rng(5))
    rows = np.repeat(raw, y.size, axis=0)
    exact = loss.exact_grad_hess(y, rows)[1].mean(axis=0)
    fisher = loss.grad_hess(y[:1], raw)[1][0]
    np.testing.assert_allclose(exact, fisher, rtol=0.02)
    assert loss.exact_grad_hess(y, rows)[0].mean(axis=0) == pytest.approx([0, 0], abs=0.02 * fisher.max())


@pytest.mark.parametrize("loss, fit", [
    (bl.GaussianNLL(), lambda y: (np.mean(y), np.log(np.std(y)))),
    (bl.LogNormalNLL(), lambda y: (np.log(stats.lognorm.fit(y, floc=0)[2]), np.log(stats.lognorm.fit(y, floc=0)[0]))),
    (bl.GammaNLL(), lambda y: (np.log(np.mean(y)), np.log(stats.gamma.fit(y, floc=0)[0]))),
], ids=["gaussian", "lognormal", "gamma"])
def test_start_is_the_maximum_likelihood_fit(loss, fit):
    y = RNG.gamma(2.5, 3.0, 3000)
    np.testing.assert_allclose(loss.init_score(y), fit(y), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("loss", DISTRIBUTIONS, ids=repr)
def test_constant_targets_have_no_maximum_likelihood(loss):
    with pytest.raises(ValueError, match=f"{type(loss).__name__}.*constant"):
        loss.init_score(np.full(5, 2.0))


@pytest.mark.parametrize("loss", [bl.LogNormalNLL(), bl.GammaNLL()], ids=repr)
def test_positive_targets_only(loss):
    with pytest.raises(ValueError, match=rf"{type(loss).__name__}.*2 of 4 rows have targets outside.*\(0, inf\)"):
        loss.validate([1.0, 0.0, -2.0, 3.0])


def test_gamma_large_shapes_stay_accurate():
    """Beyond k = 100 the asymptotic series replace psi(k) - log k, k psi'(k) - 1 and Stirling's
    excess, which cancel in floating point: they agree with the direct forms where those are exact."""
    import mpmath

    from boostloss.losses.multioutput import _log_gamma_excess, _psi_minus_log, _trigamma_excess

    for k in (150.0, 1e4, 1e9):
        mpmath.mp.dps = 50
        kk = mpmath.mpf(k)
        assert _psi_minus_log(np.array([k]))[0] == pytest.approx(float(mpmath.digamma(kk) - mpmath.log(kk)),
                                                                 rel=1e-14)
        assert _trigamma_excess(np.array([k]))[0] == pytest.approx(float(kk * mpmath.polygamma(1, kk) - 1),
                                                                   rel=1e-14)
        assert _log_gamma_excess(np.array([k]))[0] == pytest.approx(
            float(mpmath.loggamma(kk) - kk * mpmath.log(kk) + kk), rel=1e-14)


def test_extreme_scores_give_finite_predictions():
    """Predictions stay finite (exponents clipped); the distributions' moments may overflow to inf
    for absurd parameters (a log-normal of sigma = e^100), but are never NaN."""
    raw = np.array([[1e30, 1e30], [-1e30, -1e30], [0.0, 1e3]])
    for loss in DISTRIBUTIONS:
        dist = loss.predict_distribution(raw)
        assert np.isfinite(loss.inverse_link(raw)).all()
        with np.errstate(all="ignore"):
            for values in (dist.mean, dist.std, dist.quantile(0.9)):
                assert not np.isnan(values).any()


# --------------------------------------------------------------------------- per-column rescaling
@pytest.mark.parametrize("loss", [*DISTRIBUTIONS, bl.MultiQuantile()], ids=repr)
def test_boosting_hessians_are_rescaled_per_column_without_changing_the_step(loss):
    """Each round, each column's mean Hessian is 1 (boosters' regularisers see Hessians of order
    one whatever the target's units) and every row's Newton step g/h is the policy's."""
    y = RNG.lognormal(5.0, 1.0, 200) * 1e3  # targets in the hundreds of thousands
    raw = np.tile(loss.init_score(y), (y.size, 1)) + RNG.normal(0, 0.1, (y.size, loss.n_outputs()))
    w = RNG.uniform(0.5, 2.0, y.size)
    grad, hess = loss.boosting_grad_hess(y, raw, w)
    np.testing.assert_allclose(hess.sum(axis=0), w.sum(), rtol=1e-10)
    residual = np.average(np.abs(raw - y[:, None]), axis=0, weights=w)  # the secant floor's scale
    plain_g, plain_h = loss.grad_hess(y, raw, w, residual_scale=residual if loss.name == "multi_quantile" else None)
    np.testing.assert_allclose(grad / hess, plain_g / plain_h, rtol=1e-10)
    fixed = loss.boosting_scale(y, raw, w)  # fixed at the start (CatBoost): the same factors here
    np.testing.assert_allclose(loss.boosting_grad_hess(y, raw, w, fixed)[1], hess, rtol=1e-10)


# --------------------------------------------------------------------------- multi-quantile
def test_multi_quantile_columns_are_quantile_losses_and_predictions_never_cross():
    loss = bl.MultiQuantile(alphas=[0.05, 0.5, 0.95])
    y = RNG.normal(10.0, 3.0, 50)
    raw = y[:, None] + RNG.normal(0, 2.0, (50, 3))
    grad, hess = loss.grad_hess(y, raw)
    for j, alpha in enumerate([0.05, 0.5, 0.95]):
        part = bl.Quantile(alpha)
        np.testing.assert_array_equal(grad[:, j], part.grad_hess(y, raw[:, j])[0])
        np.testing.assert_array_equal(hess[:, j], part.grad_hess(y, raw[:, j])[1])
        assert loss.init_score(y)[j] == part.init_score(y)
    np.testing.assert_allclose(loss.loss(y, raw), sum(bl.Quantile(a).loss(y, raw[:, j])
                                                      for j, a in enumerate([0.05, 0.5, 0.95])))
    crossed = np.column_stack([y + 1, y, y - 1])
    assert (np.diff(loss.inverse_link(crossed), axis=1) >= 0).all()
    assert loss.output_names == ("q0.05", "q0.5", "q0.95")


@pytest.mark.parametrize("alphas, problem", [([0.9, 0.1], "increasing"), ([0.1, 1.2], "alpha"), ([], "sequence"),
                                             (0.5, "sequence")])
def test_multi_quantile_bad_alphas(alphas, problem):
    with pytest.raises(ValueError, match=problem):
        bl.MultiQuantile(alphas=alphas)


def test_multi_quantile_by_name():
    loss = bl.get_loss("multi_quantile:alphas=[0.1, 0.9]")
    assert loss == bl.MultiQuantile(alphas=(0.1, 0.9)) and bl.get_loss(bl.spec(loss)) == loss


# --------------------------------------------------------------------------- multi-label
@pytest.mark.parametrize("loss, binary", [(bl.MultilabelLogistic(pos_weight=2.0), bl.Logistic(pos_weight=2.0)),
                                          (bl.MultilabelFocal(gamma=1.0), bl.Focal(gamma=1.0))], ids=repr)
def test_multilabel_columns_are_the_binary_loss(loss, binary):
    Y = (RNG.random((40, 4)) < [0.1, 0.4, 0.6, 0.9]).astype(float)
    raw = RNG.normal(0, 2, (40, 4))
    grad, hess = loss.grad_hess(Y, raw)
    for j in range(4):
        g, h = binary.grad_hess(Y[:, j], raw[:, j])
        np.testing.assert_array_equal(grad[:, j], g)
        np.testing.assert_array_equal(hess[:, j], h)
        assert loss.init_score(Y)[j] == pytest.approx(binary.init_score(Y[:, j]), rel=1e-12)
    np.testing.assert_allclose(loss.inverse_link(raw), binary.inverse_link(raw))


def test_multilabel_label_with_one_class_starts_finite_and_checks_labels():
    Y = np.zeros((10, 2))
    Y[:4, 0] = 1
    start = bl.MultilabelLogistic().init_score(Y)
    assert np.isfinite(start).all() and start[1] == pytest.approx(np.log(1e-12 / (1 - 1e-12)))
    with pytest.raises(ValueError, match=r"MultilabelLogistic.*labels must be 0 or 1; 1 of 10 rows"):
        bl.MultilabelLogistic().validate(np.where(np.arange(20).reshape(10, 2) == 3, 0.5, Y))
    with pytest.raises(ValueError, match=r"targets must be a matrix of shape \(n, k\)"):
        bl.MultilabelLogistic().validate(np.zeros(10))
    with pytest.raises(ValueError, match=r"raw scores have shape \(10, 3\), expected \(10, 2\)"):
        bl.MultilabelLogistic().grad_hess(Y, np.zeros((10, 3)))


# --------------------------------------------------------------------------- soft labels
def test_soft_cross_entropy_on_one_hot_targets_is_softmax_cross_entropy():
    labels = RNG.integers(0, 3, 30)
    raw = RNG.normal(0, 3, (30, 3))
    onehot = np.eye(3)[labels]
    soft, hard = bl.SoftCrossEntropy(), bl.SoftmaxCrossEntropy()
    np.testing.assert_allclose(soft.loss(onehot, raw), hard.loss(labels, raw), rtol=1e-12)
    for ours, theirs in zip(soft.grad_hess(onehot, raw), hard.grad_hess(labels, raw), strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(soft.init_score(onehot), hard.init_score(labels, n_classes=3), atol=1e-12)


def test_soft_cross_entropy_is_kl_divergence_plus_entropy():
    T = RNG.dirichlet([1, 2, 3], 20)
    raw = RNG.normal(0, 2, (20, 3))
    p = bl.SoftCrossEntropy().inverse_link(raw)
    kl = np.sum(T * np.log(T / p), axis=1)
    entropy = -np.sum(T * np.log(T), axis=1)
    np.testing.assert_allclose(bl.SoftCrossEntropy().loss(T, raw), kl + entropy, rtol=1e-12)
    assert np.allclose(bl.SoftCrossEntropy().grad_hess(T, raw)[0].sum(axis=1), 0, atol=1e-15)


def test_soft_cross_entropy_checks_probability_rows():
    T = np.array([[0.5, 0.5], [0.7, 0.7], [1.2, -0.2]])
    with pytest.raises(ValueError, match="SoftCrossEntropy.*1 of 3 rows have targets outside"):
        bl.SoftCrossEntropy().validate(T)
    with pytest.raises(ValueError, match="must sum to 1; 1 of 2 rows"):
        bl.SoftCrossEntropy().validate(T[:2])


def test_registry_and_aliases():
    assert {"gaussian_nll", "lognormal_nll", "gamma_nll", "multi_quantile", "multilabel_logistic",
            "multilabel_focal", "soft_cross_entropy"} <= set(bl.available_losses())
    assert bl.get_loss("gaussian_nll_loss") == bl.GaussianNLL()
    assert bl.get_loss("multilabel_soft_margin") == bl.MultilabelLogistic()
