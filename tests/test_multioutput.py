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
DISTRIBUTIONS = [bl.GaussianNLL(), bl.LogNormalNLL(), bl.GammaNLL(), bl.NegativeBinomialNLL(), bl.StudentTNLL()]
WITH_CRPS = [*DISTRIBUTIONS[:3], DISTRIBUTIONS[4]]


def scored_rows(loss, n=6):
    """Targets and raw scores of ``n`` rows of a distribution loss, at plausible parameters."""
    y = RNG.lognormal(1.0, 0.5, n)
    if loss.name == "negative_binomial_nll":
        y = np.round(y)
    location = y if loss.name in ("gaussian_nll", "student_t_nll") else np.log(np.maximum(y, 0.5))
    columns = [location + RNG.normal(0, 0.3, n), RNG.normal(0.0, 0.5, n)]
    if loss.n_outputs() == 3:  # the Student-t's log df: 1.6 to 20 degrees of freedom (a mean exists)
        columns.append(RNG.uniform(0.5, 3.0, n))
    return y, np.column_stack(columns)


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


@pytest.mark.parametrize("loss", WITH_CRPS, ids=repr)
def test_crps_closed_form_is_the_integral(loss):
    """CRPS(F, y) = integral of (F(x) - 1{x >= y})^2 dx, computed numerically per row."""
    y, raw = scored_rows(loss, 4)
    dist = loss.predict_distribution(raw)
    ours = dist.crps(y)
    for i in range(y.size):
        row = frozen(dist, i)
        low, high = min(y[i], row.ppf(0.01)), max(y[i], row.ppf(0.99))  # pieces: heavy tails, then the body
        parts = [integrate.quad(lambda x, row=row: row.cdf(x) ** 2, a, b, limit=200)[0]
                 for a, b in [(row.support()[0], low), (low, y[i])]]
        parts += [integrate.quad(lambda x, row=row: row.sf(x) ** 2, a, b, limit=200)[0]
                  for a, b in [(y[i], high), (high, np.inf)]]
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
    assert loss.exact_grad_hess(y, rows)[0].mean(axis=0) == pytest.approx(np.zeros(fisher.size),
                                                                          abs=0.02 * fisher.max())


@pytest.mark.parametrize("loss, fit", [
    (bl.GaussianNLL(), lambda y: (np.mean(y), np.log(np.std(y)))),
    (bl.LogNormalNLL(), lambda y: (np.log(stats.lognorm.fit(y, floc=0)[2]), np.log(stats.lognorm.fit(y, floc=0)[0]))),
    (bl.GammaNLL(), lambda y: (np.log(np.mean(y)), np.log(stats.gamma.fit(y, floc=0)[0]))),
], ids=["gaussian", "lognormal", "gamma"])
def test_start_is_the_maximum_likelihood_fit(loss, fit):
    y = RNG.gamma(2.5, 3.0, 3000)
    np.testing.assert_allclose(loss.init_score(y), fit(y), rtol=1e-6, atol=1e-6)


def test_student_t_start_is_the_maximum_likelihood_fit():
    """Unweighted: scipy's ``t.fit`` (its own optimiser's tolerance); weighted: the summed gradient is 0."""
    loss = bl.StudentTNLL()
    rng = np.random.default_rng(4)
    y = stats.t.rvs(3.0, loc=2.0, scale=1.5, size=3000, random_state=rng)
    df, loc, scale = stats.t.fit(y)
    np.testing.assert_allclose(loss.init_score(y), [loc, np.log(scale), np.log(df)], atol=2e-4)
    w = rng.uniform(0.5, 2.0, y.size)
    start = loss.init_score(y, w)
    grad = loss.exact_grad_hess(y, np.tile(start, (y.size, 1)))[0]
    assert np.abs(w @ grad / w.sum()).max() < 1e-9
    assert loss.init_score(rng.normal(size=5000))[2] > np.log(30)  # normal data: many degrees of freedom


def test_student_t_series_match_the_exact_functions():
    """Above nu = 100 the digamma, trigamma and log-gamma differences take asymptotic series: they
    agree with 50-digit values; the Fisher information of log nu is E[g^2] there too."""
    import mpmath

    from boostloss.losses.multioutput import _digamma_gap, _log_gamma_gap, _trigamma_gap

    mpmath.mp.dps = 50
    for nu in (100.5, 150.0, 1e3, 1e4, 2.2e4):
        half, up = mpmath.mpf(nu) / 2, (mpmath.mpf(nu) + 1) / 2
        assert _digamma_gap(np.array([nu]))[0] == pytest.approx(float(mpmath.digamma(half) - mpmath.digamma(up)),
                                                                rel=1e-10)
        assert _trigamma_gap(np.array([nu]))[0] == pytest.approx(
            float(mpmath.polygamma(1, half) - mpmath.polygamma(1, up)), rel=1e-9)
        assert _log_gamma_gap(np.array([nu]))[0] == pytest.approx(float(mpmath.loggamma(half) - mpmath.loggamma(up)),
                                                                  rel=1e-14)
    loss = bl.StudentTNLL()
    for nu in (0.3, 3.0, 500.0):
        raw = np.array([[0.0, 0.3, np.log(nu)]])

        def squared(v, j, raw=raw, nu=nu):
            return loss.exact_grad_hess(np.array([v]), raw)[0][0, j] ** 2 * stats.t.pdf(v, nu, scale=np.exp(0.3))

        expected = [integrate.quad(squared, -np.inf, np.inf, args=(j,), limit=500, epsabs=1e-14)[0] for j in range(3)]
        np.testing.assert_allclose(loss.grad_hess(np.zeros(1), raw)[1][0], expected, rtol=1e-6)


def test_negative_binomial_start_is_the_maximum_likelihood_fit():
    """The weighted mean, and the dispersion maximising scipy's log-pmf; Poisson-like counts
    (variance <= mean) take the bound, and all-zero counts raise."""
    from scipy import optimize

    loss = bl.NegativeBinomialNLL()
    y = stats.nbinom.rvs(1.5, 1.5 / (1.5 + 4.0), size=3000, random_state=np.random.default_rng(2)).astype(float)
    w = np.random.default_rng(3).uniform(0.5, 2.0, y.size)
    mean = np.average(y, weights=w)

    def nll(xi):
        r = np.exp(-xi)
        return -np.sum(w * stats.nbinom.logpmf(y, r, r / (r + mean)))

    best = optimize.minimize_scalar(nll, bounds=(-5, 5), method="bounded", options={"xatol": 1e-10}).x
    np.testing.assert_allclose(loss.init_score(y, w), [np.log(mean), best], atol=1e-6)
    assert loss.init_score(np.tile([2.0, 3.0, 4.0], 50))[1] == -12.0  # variance below the mean
    with pytest.raises(ValueError, match="NegativeBinomialNLL.*all targets are zero"):
        loss.init_score(np.zeros(4))


def test_negative_binomial_fisher_quadrature_matches_the_exact_series():
    """The dispersion's Fisher information against r^2 (sum_j P(Y > j) / (r + j)^2 - mu / (r (r + mu)))
    summed over the support; towards large means it tends to the gamma's r (r psi'(r) - 1)."""
    from scipy import special

    from boostloss.losses.multioutput import _negative_binomial_fisher

    for mu in (0.1, 1.0, 10.0, 100.0):
        for alpha in (0.01, 0.3, 1.0, 10.0):
            r = 1.0 / alpha
            j = np.arange(0, int(stats.nbinom.ppf(1 - 1e-16, r, r / (r + mu))) + 2000)
            exact = r * r * (np.sum(stats.nbinom.sf(j, r, r / (r + mu)) / (r + j) ** 2) - mu / (r * (r + mu)))
            ours = _negative_binomial_fisher(np.array([mu]), np.array([r]))[0]
            assert ours == pytest.approx(exact, rel=0.01), (mu, alpha)
    r = np.array([0.5, 2.0])
    np.testing.assert_allclose(_negative_binomial_fisher(np.full(2, 1e9), r), r * (r * special.polygamma(1, r) - 1),
                               rtol=1e-3)


def test_negative_binomial_predictions_are_scipys():
    raw = np.array([[np.log(4.0), np.log(0.5)], [0.0, -12.0]])
    dist = bl.NegativeBinomialNLL().predict_distribution(raw)
    np.testing.assert_allclose(dist.mean, [4.0, 1.0])
    np.testing.assert_allclose(dist.std ** 2, [4.0 + 0.5 * 16.0, 1.0 + np.exp(-12.0)])
    np.testing.assert_allclose(dist.logpdf([3.0, 0.0]), stats.nbinom.logpmf([3, 0], [2.0, np.exp(12.0)],
                                                                          [2.0 / 6.0, 1 / (1 + np.exp(-12.0))]))
    with pytest.raises(ValueError, match="no closed-form CRPS"):
        dist.crps([3.0, 0.0])
    with pytest.raises(ValueError, match=r"NegativeBinomialNLL.*1 of 3 rows.*\[0, inf\)"):
        bl.NegativeBinomialNLL().validate([1.0, -1.0, 3.0])


@pytest.mark.parametrize("loss", WITH_CRPS, ids=repr)
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
    scores = np.array([[1e30, 1e30], [-1e30, -1e30], [0.0, 1e3]])
    for loss in DISTRIBUTIONS:
        raw = np.column_stack([scores, *[scores[:, 1]] * (loss.n_outputs() - 2)])
        dist = loss.predict_distribution(raw)
        assert np.isfinite(loss.inverse_link(raw)).all()
        # the Student-t's mean and variance do not exist for nu <= 1 (row 2: nu = e^-3): NaN there only
        undefined = np.zeros(3, bool) if loss.n_outputs() == 2 else np.exp(np.clip(raw[:, 2], -3, 10)) <= 1
        with np.errstate(all="ignore"):
            for values in (dist.mean, dist.std, dist.quantile(0.9)):
                assert not np.isnan(values[~undefined]).any()
            assert np.isfinite(dist.quantile(0.9)[undefined]).all()


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


@pytest.mark.parametrize("alphas, problem", [([0.9, 0.1], "increasing"), ([0.1, 1.2], r"alphas\[1\] must lie"),
                                             ([], "sequence"), (0.5, "sequence")])
def test_multi_quantile_bad_alphas(alphas, problem):
    with pytest.raises(ValueError, match=f"MultiQuantile: .*{problem}"):
        bl.MultiQuantile(alphas=alphas)


@pytest.mark.parametrize("params, problem", [({"gamma": -1}, "gamma"), ({"alpha": 1.0}, "alpha"),
                                             ({"hessian": "unit"}, "hessian")])
def test_multilabel_focal_bad_parameters_name_it(params, problem):
    with pytest.raises(ValueError, match=f"MultilabelFocal: {problem}"):
        bl.MultilabelFocal(**params)


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


# --------------------------------------------------------------------------- the boosters
xgb = pytest.importorskip("xgboost")
lgb = pytest.importorskip("lightgbm")
catboost = pytest.importorskip("catboost")

BOOSTER_LOSSES = ["gaussian_nll", "lognormal_nll", "gamma_nll", "negative_binomial_nll", "student_t_nll",
                  "multi_quantile", "multilabel_logistic", "multilabel_focal", "soft_cross_entropy"]


def booster_data(name, n=400, seed=3, signal=2.0):
    """Integer features with 20 values (boosters bin them alike) and targets for the loss ``name``:
    a location and a scale that depend on the features (Student-t noise for the Student-t), labels
    (log-odds ``signal`` times a feature), or probabilities."""
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 20, size=(n, 3)).astype(float)
    f = (X - 10.0) / 5.0
    if name in ("multilabel_logistic", "multilabel_focal"):
        return X, (rng.random((n, 3)) < 1 / (1 + np.exp(-signal * f))).astype(float)
    if name == "soft_cross_entropy":
        return X, bl.SoftCrossEntropy().inverse_link(2 * f)
    if name == "negative_binomial_nll":
        mu = np.exp(1.0 + 0.6 * f[:, 0])
        return X, rng.negative_binomial(2.0, 2.0 / (2.0 + mu)).astype(float)
    noise = rng.standard_t(3.0, size=n) if name == "student_t_nll" else rng.normal(size=n)
    y = 3.0 * f[:, 0] + np.exp(0.5 * f[:, 1]) * noise
    return X, (np.exp(0.3 * y) if name in ("lognormal_nll", "gamma_nll") else 50.0 + y)


def fit(booster, loss, X, y, w=None, rounds=10, **params):
    """``bl.<booster>.train`` on (X, y, w); returns a function of X giving the model's raw scores."""
    if booster == "xgboost":
        model = bl.xgboost.train(loss, {"max_depth": 3, "learning_rate": 0.3, "nthread": 1, **params},
                                 xgb.DMatrix(X, y, weight=w), rounds)
        return lambda data: model.predict(xgb.DMatrix(data), output_margin=True).astype(np.float64), model
    if booster == "lightgbm":
        model = bl.lightgbm.train(loss, {"verbose": -1, "num_leaves": 8, "learning_rate": 0.3, "num_threads": 1,
                                         "deterministic": True, **params},
                                  bl.lightgbm.dataset(X, y, weight=w), rounds)
        return lambda data: model.predict(data, raw_score=True), model
    model = bl.catboost.train(loss, {"iterations": rounds, "depth": 3, "learning_rate": 0.3, "verbose": 0,
                                     "thread_count": 1, "random_seed": 0, **params},
                              bl.catboost.pool(X, y, loss, weight=w))
    return lambda data: model.predict(data, prediction_type="RawFormulaVal"), model


BOOSTERS = ["xgboost", "lightgbm", "catboost"]


@pytest.mark.parametrize("booster", BOOSTERS)
@pytest.mark.parametrize("name", BOOSTER_LOSSES)
def test_every_booster_starts_from_the_optimal_constant_and_learns(booster, name):
    loss = bl.get_loss(name)
    X, y = booster_data(name, 300 if booster == "catboost" else 400)
    start = loss.init_score(y)
    # one round that moves nothing (the Student-t's log df is flat: a leaf's Newton step there reaches 1e2;
    # CatBoost refuses rates below 1e-6 as zero)
    raw, _ = fit(booster, loss, X, y, rounds=1, learning_rate=1e-6 if booster == "catboost" else 1e-9)
    np.testing.assert_allclose(raw(X), np.tile(start, (len(X), 1)), rtol=1e-5, atol=1e-5)
    raw, _ = fit(booster, loss, X, y, rounds=20)
    scores = raw(X)
    assert scores.shape == (len(X), loss.n_outputs(y))
    start_loss = loss.loss(y, np.tile(start, (len(X), 1))).mean()
    assert loss.loss(y, scores).mean() < start_loss - 0.05 * abs(start_loss)


@pytest.mark.parametrize("booster", BOOSTERS)
@pytest.mark.parametrize("name", ["gaussian_nll", "multi_quantile", "multilabel_logistic"])
def test_weight_two_trains_the_same_model_as_a_duplicated_row(booster, name):
    loss = bl.get_loss(name)
    X, y = booster_data(name, 300, signal=8.0)  # clear best splits: CatBoost's near-ties of noisy labels can
    twice = np.random.default_rng(8).random(len(X)) < 0.3  # fall either way between weighted and repeated rows
    w = np.where(twice, 2.0, 1.0)
    # LightGBM: no row-count limits; CatBoost: no regulariser scaled by the weights' mean, no sampling, and
    # the L2 split score (its default Cosine score weighs multi-target rows otherwise than repeated rows, its
    # own MultiRMSE included)
    params = {"lightgbm": {"min_data_in_leaf": 0, "min_sum_hessian_in_leaf": 1e-6, "min_data_in_bin": 1},
              "catboost": {"l2_leaf_reg": 0, "bootstrap_type": "No", "score_function": "L2"}, "xgboost": {}}[booster]
    weighted = fit(booster, loss, X, y, w, rounds=5, **params)[0](X)
    repeated = fit(booster, loss, np.vstack([X, X[twice]]), np.concatenate([y, y[twice]]), rounds=5, **params)[0](X)
    unweighted = fit(booster, loss, X, y, rounds=5, **params)[0](X)
    np.testing.assert_allclose(weighted, repeated, rtol=1e-5, atol=1e-6 * np.abs(weighted).max())
    assert np.abs(weighted - unweighted).max() > 1e-3 * np.abs(weighted).max()  # and the weights were applied


@pytest.mark.parametrize("booster", ["xgboost", "lightgbm"])
@pytest.mark.parametrize("name", BOOSTER_LOSSES)
def test_saved_model_predicts_alone(booster, name, tmp_path):
    """A model file loaded by the booster alone gives the same raw scores; for the multi-label and
    soft-label losses its plain ``predict`` gives boostloss's probabilities (XGBoost
    ``binary:logistic`` per target and ``multi:softprob``, LightGBM ``multiclassova`` and
    ``multiclass``); for the others it gives the raw scores (no built-in objective has their link)."""
    loss = bl.get_loss(name)
    X, y = booster_data(name)
    raw, model = fit(booster, loss, X, y)
    if booster == "xgboost":
        model.save_model(tmp_path / "model.json")
        loaded = xgb.Booster(model_file=tmp_path / "model.json")
        again, plain = loaded.predict(xgb.DMatrix(X), output_margin=True), loaded.predict(xgb.DMatrix(X))
    else:
        model.save_model(tmp_path / "model.txt")
        loaded = lgb.Booster(model_file=tmp_path / "model.txt")
        again, plain = loaded.predict(X, raw_score=True), loaded.predict(X)
    np.testing.assert_allclose(again, raw(X), rtol=1e-6)
    if name in ("multilabel_logistic", "multilabel_focal", "soft_cross_entropy"):
        np.testing.assert_allclose(plain, loss.inverse_link(raw(X)), rtol=1e-5, atol=1e-7)
    else:
        np.testing.assert_allclose(plain, raw(X), rtol=1e-6)


def test_xgboost_vector_leaves_train_from_the_start():
    loss = bl.GaussianNLL()
    X, y = booster_data("gaussian_nll")
    raw, model = fit("xgboost", loss, X, y, rounds=1, learning_rate=1e-6, multi_strategy="multi_output_tree",
                     tree_method="hist")
    np.testing.assert_allclose(raw(X), np.tile(loss.init_score(y), (len(X), 1)), rtol=1e-5)


def test_hand_built_xgboost_objective_trains_the_model_train_builds():
    loss = bl.GaussianNLL()
    X, y = booster_data("gaussian_nll")
    params = {"max_depth": 3, "learning_rate": 0.3, "nthread": 1}
    _, model = fit("xgboost", loss, X, y, rounds=5)
    by_hand = xgb.train({**params, "num_target": 2, "base_score": loss.init_score(y).tolist(),
                         "disable_default_eval_metric": True}, xgb.DMatrix(X, y), 5, obj=bl.xgboost.objective(loss))
    np.testing.assert_allclose(by_hand.predict(xgb.DMatrix(X), output_margin=True),
                               model.predict(xgb.DMatrix(X), output_margin=True), rtol=1e-6)


def test_catboost_needs_k_copies_of_a_shared_target_and_pickles(tmp_path):
    import pickle

    loss = bl.GaussianNLL()
    X, y = booster_data("gaussian_nll", 200)
    with pytest.raises(ValueError, match=r"GaussianNLL.*k copies of the target: bl.catboost.pool"):
        bl.catboost.train(loss, {"iterations": 2, "verbose": 0}, catboost.Pool(X, y))
    raw, model = fit("catboost", loss, X, y, rounds=3)
    copy = pickle.loads(pickle.dumps(model))
    np.testing.assert_allclose(raw(X), copy.predict(X, prediction_type="RawFormulaVal"))
    objective = pickle.loads(pickle.dumps(bl.catboost.objective(loss)))
    assert isinstance(objective, catboost.MultiTargetCustomObjective) and objective.loss == loss


def test_catboost_native_multi_quantile_starts_from_its_own_quantiles():
    loss = bl.MultiQuantile(alphas=(0.1, 0.5, 0.9))
    X, y = booster_data("multi_quantile", 400)
    model = bl.catboost.train(loss, {"iterations": 1, "learning_rate": 1e-6, "verbose": 0},
                              bl.catboost.pool(X, y, loss, prefer_native=True), prefer_native=True)
    assert model.get_params()["loss_function"] == "MultiQuantile:alpha=0.1,0.5,0.9"
    np.testing.assert_allclose(model.predict(X[:1], prediction_type="RawFormulaVal")[0], loss.init_score(y),
                               rtol=0.01)


@pytest.mark.parametrize("name", ["gaussian_nll", "multilabel_logistic", "soft_cross_entropy"])
def test_scikit_learn_apis_of_the_boosters(name):
    """``fit_estimator`` on each booster's regressor: (n, k) targets reach LightGBM's scikit-learn
    API as row numbers, CatBoost's as k columns; early stopping on the loss works."""
    loss = bl.get_loss(name)
    X, y = booster_data(name, 300)
    for estimator in (xgb.XGBRegressor(n_estimators=20, max_depth=3), lgb.LGBMRegressor(n_estimators=20, verbose=-1),
                      catboost.CatBoostRegressor(iterations=20, depth=3, verbose=0)):
        adapter = getattr(bl, type(estimator).__module__.partition(".")[0])
        start = adapter.fit_estimator(estimator, loss, X[:200], y[:200], eval_set=[(X[200:], y[200:])],
                                      early_stopping_rounds=3)
        np.testing.assert_allclose(start, loss.init_score(y[:200]), rtol=1e-6)
        raw = adapter.predict_raw(estimator, X[200:])
        assert raw.shape == (100, loss.n_outputs(y))
        assert loss.loss(y[200:], raw).mean() < loss.loss(y[200:], np.tile(start, (100, 1))).mean()


# --------------------------------------------------------------------------- the estimators
from sklearn.base import clone  # noqa: E402

from boostloss.sklearn import BoostClassifier, BoostRegressor  # noqa: E402

ESTIMATORS = {
    "lightgbm": lambda kind: None,
    "xgboost": lambda kind: (xgb.XGBRegressor if kind == "regressor" else xgb.XGBClassifier)(n_estimators=30,
                                                                                             max_depth=3),
    "catboost": lambda kind: (catboost.CatBoostRegressor if kind == "regressor" else catboost.CatBoostClassifier)(
        iterations=30, depth=3, verbose=0, allow_writing_files=False),
}


@pytest.mark.parametrize("booster", BOOSTERS)
def test_distribution_regressor_predicts_the_mean_and_the_distribution(booster):
    import pickle

    X, y = booster_data("gaussian_nll", 300)
    model = BoostRegressor(ESTIMATORS[booster]("regressor"), loss="gaussian_nll").fit(X, y)
    dist = model.predict_dist(X)
    np.testing.assert_allclose(model.predict(X), dist.mean)
    quantiles = model.predict_quantiles(X, [0.05, 0.5, 0.95])
    assert quantiles.shape == (300, 3) and (np.diff(quantiles, axis=1) > 0).all()
    low, high = model.predict_interval(X, 0.9)
    np.testing.assert_allclose(low, quantiles[:, 0]) and np.testing.assert_allclose(high, quantiles[:, 2])
    assert model.loss_ == bl.GaussianNLL() and model.init_score_.shape == (2,)
    copy = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(copy.predict_dist(X).std, dist.std)
    assert clone(model).get_params()["loss"] == "gaussian_nll"


@pytest.mark.parametrize("booster", BOOSTERS)
def test_multi_quantile_regressor(booster):
    X, y = booster_data("multi_quantile", 300)
    model = BoostRegressor(ESTIMATORS[booster]("regressor"), loss="multi_quantile:alphas=[0.1, 0.5, 0.9]").fit(X, y)
    quantiles = model.predict_quantiles(X)
    assert quantiles.shape == (300, 3) and (np.diff(quantiles, axis=1) >= 0).all()
    np.testing.assert_array_equal(model.predict(X), quantiles[:, 1])  # the median
    np.testing.assert_array_equal(model.predict_interval(X, 0.8)[1], quantiles[:, 2])
    np.testing.assert_array_equal(model.predict_quantiles(X, 0.9)[:, 0], quantiles[:, 2])
    with pytest.raises(ValueError, match=r"trained on the levels \[0.1, 0.5, 0.9\], not \[0.95\]"):
        model.predict_quantiles(X, [0.95])
    assert not hasattr(model, "predict_dist")
    coverage = np.mean((y >= quantiles[:, 0]) & (y <= quantiles[:, 2]))
    assert 0.6 < coverage < 0.95  # in-sample, 80% nominal


def test_regressors_without_a_distribution_have_no_distribution_methods():
    model = BoostRegressor(loss="huber")
    assert not hasattr(model, "predict_dist") and not hasattr(model, "predict_quantiles")
    with pytest.raises(ValueError, match="takes \\(n, k\\) labels or class probabilities; use BoostClassifier"):
        BoostRegressor(loss="multilabel_logistic").fit(*booster_data("multilabel_logistic", 50))


@pytest.mark.parametrize("booster", BOOSTERS)
@pytest.mark.parametrize("loss, expected", [("logistic", bl.MultilabelLogistic()),
                                            ("focal", bl.MultilabelFocal()),
                                            ("multilabel_logistic:pos_weight=2", bl.MultilabelLogistic(pos_weight=2))])
def test_classifier_on_an_indicator_matrix_is_multilabel(booster, loss, expected):
    """As scikit-learn's MLPClassifier: predict gives a 0/1 matrix, predict_proba each label's probability."""
    X, Y = booster_data("multilabel_logistic", 300, signal=4.0)
    model = BoostClassifier(ESTIMATORS[booster]("classifier"), loss=loss).fit(X, Y)
    assert model.loss_ == expected
    np.testing.assert_array_equal(model.classes_, [0, 1, 2])
    proba = model.predict_proba(X)
    assert proba.shape == (300, 3) and ((proba > 0) & (proba < 1)).all()
    np.testing.assert_array_equal(model.predict(X), (proba >= 0.5).astype(int))
    assert model.score(X, Y) > np.mean((Y == Y.mean(axis=0).round()).all(axis=1))  # subset accuracy


@pytest.mark.parametrize("booster", BOOSTERS)
def test_classifier_on_probabilities_distils_them(booster):
    X, T = booster_data("soft_cross_entropy", 300)
    model = BoostClassifier(ESTIMATORS[booster]("classifier")).fit(X, T)
    assert model.loss_ == bl.SoftCrossEntropy()
    proba = model.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(model.predict(X), proba.argmax(axis=1))
    uniform = bl.SoftCrossEntropy().loss(T, np.zeros_like(T)).mean()
    assert bl.SoftCrossEntropy().loss(T, np.log(proba)).mean() < uniform


def test_classifier_column_target_errors():
    X, Y = booster_data("multilabel_logistic", 60)
    with pytest.raises(ValueError, match="Hinge.*has no multi-label form"):
        BoostClassifier(loss="hinge").fit(X, Y)
    with pytest.raises(ValueError, match="class_weight weighs the classes of one label per row"):
        BoostClassifier(class_weight="balanced").fit(X, Y)
    with pytest.raises(ValueError, match="takes an \\(n, k\\) matrix"):
        BoostClassifier(loss="multilabel_logistic").fit(X, Y[:, 0])
    with pytest.raises(ValueError, match="class probabilities as targets train soft_cross_entropy"):
        BoostClassifier(loss="focal").fit(X, bl.SoftCrossEntropy().inverse_link(np.random.default_rng(0).normal(
            size=(60, 3))))


@pytest.mark.parametrize("booster", ["xgboost", "lightgbm"])
def test_multi_quantile_refits_each_outputs_trees_as_separate_quantile_models(booster):
    """Each output's trees get Quantile's leaf refits: the model scores each level about as three
    refitted quantile models do, and differently from the same model without refits."""
    X, y = booster_data("multi_quantile", 400)
    alphas = (0.1, 0.5, 0.9)
    one = fit(booster, bl.MultiQuantile(alphas), X, y, rounds=20)[0](X)
    plain = fit(booster, bl.MultiQuantile(alphas, refit=False), X, y, rounds=20)[0](X)
    for j, alpha in enumerate(alphas):
        separate = fit(booster, bl.Quantile(alpha), X, y, rounds=20)[0](X)
        ratio = bl.Quantile(alpha).loss(y, one[:, j]).mean() / bl.Quantile(alpha).loss(y, separate).mean()
        assert 0.97 < ratio < 1.03, (alpha, ratio)
    assert np.abs(one - plain).max() > 1e-3
