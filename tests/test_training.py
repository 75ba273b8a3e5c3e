"""Non-smooth and non-convex losses train as well as the built-ins, at any target scale (small-scale pins;
benchmarks/accuracy.py has the full comparison)."""

import catboost as cb
import lightgbm as lgb
import numpy as np
import pytest
import xgboost as xgb

import boostloss as bl
from boostloss.sklearn import BoostClassifier, BoostRegressor

ROUNDS = 100
MODELS = {
    "xgboost": lambda: xgb.XGBRegressor(n_estimators=ROUNDS, max_depth=4, learning_rate=0.1, n_jobs=2),
    "lightgbm": lambda: lgb.LGBMRegressor(n_estimators=ROUNDS, num_leaves=15, learning_rate=0.1, verbose=-1, n_jobs=2),
    "catboost": lambda: cb.CatBoostRegressor(iterations=ROUNDS, depth=4, learning_rate=0.1, verbose=0, thread_count=2,
                                             allow_writing_files=False),
}
BOOSTERS = list(MODELS)


def heavy_tailed(n, seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5))
    y = np.sin(X[:, 0]) + 0.5 * X[:, 1] + (0.5 + 0.5 * np.abs(X[:, 2])) * rng.standard_t(4, size=n)
    return X, scale * y


BUILTIN_QUANTILE = {"xgboost": {"objective": "reg:quantileerror", "quantile_alpha": 0.9},
                    "lightgbm": {"objective": "quantile", "alpha": 0.9},
                    "catboost": {"loss_function": "Quantile:alpha=0.9"}}


@pytest.mark.parametrize("booster", BOOSTERS)
def test_upper_quantile_covers_on_a_large_scale_target(booster):
    """At scale 1e4 the 0.9 quantile trains as well as the built-in: held-out pinball loss within
    2% and coverage as close to 0.9 (both are 0.86-0.88 on these 4,000 rows at 100 rounds)."""
    X, y = heavy_tailed(8000, scale=1e4)
    model = BoostRegressor(MODELS[booster](), bl.Quantile(0.9)).fit(X[:4000], y[:4000])
    builtin = MODELS[booster]().set_params(**BUILTIN_QUANTILE[booster]).fit(X[:4000], y[:4000])
    ours, theirs = model.predict(X[4000:]), builtin.predict(X[4000:])
    loss = bl.Quantile(0.9)
    assert np.mean(loss.loss(y[4000:], ours)) <= 1.02 * np.mean(loss.loss(y[4000:], theirs))
    coverage, builtin_coverage = np.mean(y[4000:] <= ours), np.mean(y[4000:] <= theirs)
    assert abs(coverage - 0.9) <= max(abs(builtin_coverage - 0.9), 0.02) + 0.01


@pytest.mark.parametrize("booster", BOOSTERS)
@pytest.mark.parametrize("spec,scaled", [("quantile:alpha=0.2", "quantile:alpha=0.2"),
                                         ("absolute_error", "absolute_error"),
                                         ("huber:delta=0.5", "huber:delta=5000"),
                                         ("log_cosh:scale=0.5", "log_cosh:scale=5000"), ("log_cosh", None)])
def test_scaling_the_target_changes_only_the_units(booster, spec, scaled):
    """y -> 1e4 y (and a loss parameter in target units with it) gives 1e4 times the predictions.

    log-cosh at its default scale of 1 changes shape with the target's units, so it is only
    required to keep training (a fitted model, not a constant) at both scales."""
    X, y = heavy_tailed(2000, seed=1)
    small = BoostRegressor(MODELS[booster](), spec).fit(X, y).predict(X)
    large = BoostRegressor(MODELS[booster](), scaled or spec).fit(X, 1e4 * y).predict(X)
    if scaled is None:
        assert np.corrcoef(small, large)[0, 1] > 0.9 and large.std() > 0.1 * 1e4 * small.std()
    else:
        np.testing.assert_allclose(large / 1e4, small, rtol=1e-3, atol=1e-3 * small.std())


@pytest.mark.parametrize("booster", BOOSTERS)
def test_mape_model_is_not_constant(booster):
    rng = np.random.default_rng(2)
    X = rng.normal(size=(3000, 4))
    signal = 100 * np.exp(0.5 * X[:, 0])
    y = signal * np.exp(0.2 * rng.normal(size=3000))
    model = BoostRegressor(MODELS[booster](), "mape").fit(X, y)
    pred = model.predict(X)
    mape = np.mean(np.abs(y - pred) / y)
    best_constant = np.mean(np.abs(y - model.init_score_[0]) / y)
    assert mape < 0.6 * best_constant and np.corrcoef(pred, signal)[0, 1] > 0.9


CLASSIFIERS = {
    "xgboost": lambda: xgb.XGBClassifier(n_estimators=ROUNDS, max_depth=4, learning_rate=0.3, n_jobs=2),
    "lightgbm": lambda: lgb.LGBMClassifier(n_estimators=ROUNDS, num_leaves=15, learning_rate=0.3, verbose=-1, n_jobs=2),
    "catboost": lambda: cb.CatBoostClassifier(iterations=ROUNDS, depth=4, learning_rate=0.3, verbose=0, thread_count=2,
                                              allow_writing_files=False),
}


@pytest.mark.parametrize("booster", BOOSTERS)
@pytest.mark.parametrize("loss", ["focal", "focal:gamma=5,alpha=0.9", "focal:hessian=exact", "symmetric_cross_entropy",
                                  "dice"])
def test_focal_training_never_produces_nan(booster, loss):
    """Rare, perfectly separable positives drive margins far out, where the exact focal Hessian
    turns negative and tiny probabilities underflow; training must stay finite and rank well."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(3000, 4))
    y = (X[:, 0] > 2.3).astype(int)  # ~1% positives, separable
    model = BoostClassifier(CLASSIFIERS[booster](), loss).fit(X, y)
    proba = model.predict_proba(X)[:, 1]
    margin = model.decision_function(X)
    assert np.isfinite(proba).all() and np.isfinite(margin).all()
    if loss.startswith("focal"):  # symmetric cross-entropy by design discounts rare hard rows as label noise
        assert proba[y == 1].mean() > proba[y == 0].mean() + 0.3


def test_rescaled_hessian_keeps_newton_steps():
    """The booster-facing rescaling multiplies gradient and Hessian by one constant."""
    rng = np.random.default_rng(4)
    y, raw, w = rng.normal(size=50) * 1e4, rng.normal(size=50), rng.uniform(0.5, 2, size=50)
    loss = bl.Quantile(0.3)
    scale = loss.boosting_scale(y, raw, w)
    assert scale.residual == pytest.approx(np.average(np.abs(raw - y), weights=w))
    g, h = loss.grad_hess(y, raw, w, residual_scale=scale.residual)
    gb, hb = loss.boosting_grad_hess(y, raw, w, scale)
    np.testing.assert_allclose(gb, scale.factor * g) and np.testing.assert_allclose(hb, scale.factor * h)
    assert np.sum(hb) / np.sum(w) == pytest.approx(1.0)
    # a batch that is part of the data keeps the whole data's scale: same rows, same derivatives
    part = slice(0, 20)
    np.testing.assert_allclose(loss.boosting_grad_hess(y[part], raw[part], w[part], scale)[1], hb[part])
    exact = bl.Logistic()  # exact policies are handed over untouched
    np.testing.assert_array_equal(exact.boosting_grad_hess((y > 0).astype(float), raw)[1],
                                  exact.grad_hess((y > 0).astype(float), raw)[1])
