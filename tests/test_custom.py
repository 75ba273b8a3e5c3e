"""Users' own losses (bl.CustomLoss, bl.CustomBinaryLoss), loss arithmetic (bl.WeightedSum) and
bl.check_derivatives.

* the catalog's log-cosh, Huber and focal written as SymPy formulas and as NumPy functions have
  the catalog's derivatives (to 1e-10, measured ~1e-15) and train the same models;
* check_derivatives passes every built-in loss and catches planted mistakes;
* a user's asymmetric loss trains on the three boosters and in BoostRegressor, pickles, clones;
* weighted sums combine derivatives, policies and optimal constants, and work everywhere;
* bad input is a ValueError naming the loss and the problem.
"""

import pickle
import sys

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import optimize, special
from scipy.special import expit, log_expit
from sklearn.base import clone

import boostloss as bl
from boostloss.checks import derivative_grid

pytest.importorskip("sympy")
xgb = pytest.importorskip("xgboost")
lgb = pytest.importorskip("lightgbm")
catboost = pytest.importorskip("catboost")

from boostloss.sklearn import BoostClassifier, BoostRegressor  # noqa: E402


# --------------------------------------------------------------------------- the losses, written by a user
def log_cosh(y, raw):
    """log cosh r, stable: log1p(2 sinh(r/2)^2) near 0, |r| + log1p(exp(-2|r|)) - log 2 beyond."""
    r = raw - y
    a = np.abs(r)
    near = np.log1p(2 * np.sinh(np.where(a < 1, r, 0.0) / 2) ** 2)
    return np.where(a < 1, near, a + np.log1p(np.exp(-2 * a)) - np.log(2))


def huber(y, raw, delta):
    a = np.abs(raw - y)
    return np.where(a <= delta, (raw - y) ** 2 / 2, delta * (a - delta / 2))


def focal(y, raw, alpha, gamma):
    z = (2 * y - 1) * raw
    return -np.where(y == 1, alpha, 1 - alpha) * expit(-z) ** gamma * log_expit(z)


def asymmetric(y, raw, cost):
    return np.where(raw < y, cost, 1.0) * (raw - y) ** 2 / 2


LOG_COSH = ("Piecewise((log1p(2*sinh((raw - y)/2)**2), Abs(raw - y) < 1),"
            " (Abs(raw - y) + log1p(exp(-2*Abs(raw - y))) - log(2), True))")
HUBER = "Piecewise(((raw - y)**2/2, Abs(raw - y) <= delta), (delta*(Abs(raw - y) - delta/2), True))"
FOCAL = "-(alpha*y + (1 - alpha)*(1 - y)) * sigmoid(-(2*y - 1)*raw)**gamma * log_sigmoid((2*y - 1)*raw)"
ASYMMETRIC = "where(raw < y, cost, 1) * (raw - y)**2 / 2"

TWINS = {  # (user-defined loss, catalog loss with the same exact Hessian)
    "log_cosh formula": lambda: (bl.CustomLoss(LOG_COSH, name="log_cosh"), bl.LogCosh(hessian="exact")),
    "log_cosh numpy": lambda: (bl.CustomLoss(log_cosh, name="log_cosh"), bl.LogCosh(hessian="exact")),
    "huber formula": lambda: (bl.CustomLoss(HUBER, delta=2.0), bl.Huber(delta=2.0, hessian="exact")),
    "huber numpy": lambda: (bl.CustomLoss(huber, delta=2.0), bl.Huber(delta=2.0, hessian="exact")),
    "focal formula": lambda: (bl.CustomBinaryLoss(FOCAL, alpha=0.25, gamma=2.0), bl.Focal(hessian="exact")),
    "focal numpy": lambda: (bl.CustomBinaryLoss(focal, alpha=0.25, gamma=2.0), bl.Focal(hessian="exact")),
    "focal gamma=0.5": lambda: (bl.CustomBinaryLoss(FOCAL, alpha=0.75, gamma=0.5),
                                bl.Focal(alpha=0.75, gamma=0.5, hessian="exact")),
}


@pytest.mark.parametrize("case", list(TWINS))
def test_catalog_losses_written_by_hand_have_the_catalogs_derivatives(case):
    custom, catalog = TWINS[case]()
    y, raw = derivative_grid(catalog)  # residuals to 1e4, margins to 690
    assert_allclose(custom.loss(y, raw), catalog.loss(y, raw), rtol=1e-10, atol=0)
    for ours, theirs in zip(custom.exact_grad_hess(y, raw), catalog.exact_grad_hess(y, raw), strict=True):
        assert_allclose(ours, theirs, rtol=1e-10, atol=0)
    assert_allclose(custom.grad_hess(y, raw)[1], catalog.grad_hess(y, raw)[1], rtol=1e-10, atol=0)


# --------------------------------------------------------------------------- training
def regression_data(n=400, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    f = X[:, 0] + 0.5 * np.sin(X[:, 1])
    return X, 3 * f + rng.standard_t(2, size=n), (rng.random(n) < expit(f)).astype(float)


def train_raw(booster, loss, X, y, rounds=10):
    """Raw scores of a model trained with ``bl.<booster>.train``."""
    if booster == "xgboost":
        model = bl.xgboost.train(loss, {"max_depth": 3, "nthread": 1, "seed": 0}, xgb.DMatrix(X, y), rounds)
        return model.predict(xgb.DMatrix(X), output_margin=True).astype(np.float64)
    if booster == "lightgbm":
        params = {"num_leaves": 8, "verbose": -1, "num_threads": 1, "seed": 0, "deterministic": True}
        return bl.lightgbm.train(loss, params, lgb.Dataset(X, y), rounds).predict(X, raw_score=True)
    params = {"iterations": rounds, "depth": 3, "verbose": 0, "thread_count": 1, "random_seed": 0}
    return bl.catboost.train(loss, params, catboost.Pool(X, y)).predict(X, prediction_type="RawFormulaVal")


@pytest.mark.parametrize("booster", ["xgboost", "lightgbm", "catboost"])
@pytest.mark.parametrize("case", ["log_cosh numpy", "huber formula", "focal formula"])
def test_catalog_losses_written_by_hand_train_the_same_models(booster, case):
    custom, catalog = TWINS[case]()
    X, y_real, y_binary = regression_data()
    y = y_binary if "focal" in case else y_real
    assert custom.init_score(y) == pytest.approx(catalog.init_score(y), abs=1e-12)
    ours, theirs = train_raw(booster, custom, X, y), train_raw(booster, catalog, X, y)
    assert np.max(np.abs(ours - theirs)) <= 1e-9 * np.std(theirs)  # measured: identical or ~1e-15


@pytest.mark.parametrize("formula", [ASYMMETRIC, asymmetric], ids=["formula", "numpy"])
def test_an_asymmetric_loss_trains_on_every_booster_and_predicts_high(formula):
    under = bl.CustomLoss(formula, cost=4.0, name="under")
    X, y, _ = regression_data(600, seed=1)
    start = under.init_score(y)
    mean_loss = optimize.minimize_scalar(lambda c: under.loss(y, np.full_like(y, c)).mean()).x
    assert start == pytest.approx(mean_loss, abs=1e-6)  # numerical init_score: the minimiser
    for booster in ("xgboost", "lightgbm", "catboost"):
        ours = train_raw(booster, under, X, y, rounds=30)
        squared = train_raw(booster, bl.SquaredError(), X, y, rounds=30)
        assert under.loss(y, ours).mean() < under.loss(y, squared).mean()
        assert np.mean(ours > y) > np.mean(squared > y) + 0.1  # under-predicting is what it avoids


def test_an_asymmetric_loss_in_boost_regressor_pickles_and_clones():
    under = bl.CustomLoss(ASYMMETRIC, cost=4.0, name="under")
    X, y, _ = regression_data(600, seed=1)
    for inner in (xgb.XGBRegressor(n_estimators=20, n_jobs=1), lgb.LGBMRegressor(n_estimators=20, verbose=-1),
                  catboost.CatBoostRegressor(iterations=20, verbose=0, thread_count=1)):
        model = BoostRegressor(inner, loss=under).fit(X, y)
        assert model.init_score_ == pytest.approx(under.init_score(y))
        assert np.mean(model.predict(X) > y) > 0.6
        restored = pickle.loads(pickle.dumps(model))
        assert_allclose(restored.predict(X), model.predict(X), rtol=0, atol=0)
        assert restored.loss_ == under and "_cache" not in restored.loss_.__getstate__()
    copy = clone(model)
    assert copy.loss == under and copy.loss is not under
    copy.set_params(loss__cost=1.0)  # grid searches tune the loss's own parameters
    assert copy.loss.cost == 1.0 and under.cost == 4.0
    assert_allclose(copy.loss.exact_grad_hess(y, y + 1.0)[0], 1.0)
    assert_allclose(copy.loss.grad_hess(y, y - 1.0)[1], 1.0)


def test_a_custom_binary_loss_works_in_boost_classifier():
    X, _, y = regression_data(400)
    labels = np.where(y == 1, "yes", "no")
    clf = BoostClassifier(lgb.LGBMClassifier(n_estimators=20, verbose=-1),
                          loss=bl.CustomBinaryLoss(FOCAL, alpha=0.5, gamma=1.0)).fit(X, labels)
    proba = clf.predict_proba(X)
    assert_allclose(proba.sum(axis=1), 1.0)
    assert np.mean(clf.predict(X) == labels) > 0.7


def test_init_callable_gives_the_closed_form():
    loss = bl.CustomLoss(huber, delta=2.0, init=median_init)
    assert loss.init_score([1.0, 2.0, 10.0]) == 2.0
    assert pickle.loads(pickle.dumps(loss)) == loss


def median_init(y, sample_weight, delta):
    return float(np.median(y))


# every rule of the automatic differentiation, each in a term of raw (x) with y, to check numerically
ELEMENTARY = {
    "arithmetic": lambda y, x: (3 * x - y) * (x + 2) / (1 + x**2) - 2 ** (-x) + x**y - (+x),
    "powers": lambda y, x: np.sqrt(x) + np.cbrt(x) + np.square(x) + np.reciprocal(x) + x**x + np.float_power(x, 2.5),
    "exp and log": lambda y, x: np.exp(x) + np.exp2(x) + np.expm1(x) + np.log(x) + np.log2(x) + np.log10(x)
    + np.log1p(x),
    "trigonometric": lambda y, x: np.sin(x) + np.cos(x) + np.tan(x / 2) + np.arctan(x) + np.arctan2(x, 1 + y * x),
    "hyperbolic": lambda y, x: np.sinh(x) + np.cosh(x) + np.tanh(x) + np.arcsinh(x),
    "special": lambda y, x: expit(x) + log_expit(-x) + special.logit(x / 3) + special.erf(x) + special.ndtr(x)
    + special.xlogy(x, x + y),
    "two-argument": lambda y, x: np.hypot(x, y * x) + np.logaddexp(x, x**2) + np.logaddexp(0, -x),
    "branches": lambda y, x: np.abs(x - 1.3) + np.maximum(x, 2 - x) ** 2 + np.minimum(x**2, y) + np.fmax(x, 1)
    + np.clip(x**3, 0.5, 2) + np.where(x > 1, x**2, np.exp(x)) + np.select([x < 0.7, x < 2], [x, x**3], 8.0),
}


def elementary(y, raw, k):
    return list(ELEMENTARY.values())[int(k)](y, raw)


@pytest.mark.parametrize("k", range(len(ELEMENTARY)), ids=list(ELEMENTARY))
def test_automatic_differentiation_of_numpy_code_is_exact(k):
    y, raw = (a.ravel() for a in np.meshgrid([0.5, 1.0, 1.5], np.linspace(0.2, 2.5, 24)))
    report = bl.check_derivatives(bl.CustomLoss(elementary, k=float(k)), y=y, raw=raw)
    assert report.grad.error < 1e-8 and report.hess.error < 1e-8, report  # measured <= 4e-10
    assert not any(report.non_finite.values()) and report.kinks <= 12  # "branches": 4 kinks on the grid


# --------------------------------------------------------------------------- check_derivatives
@pytest.mark.parametrize("name", bl.available_losses())
def test_check_derivatives_passes_every_builtin_loss(name):
    report = bl.check_derivatives(name, strict=True)
    assert report.ok and report.grad.error <= 1e-6 and report.hess.error <= 1e-6


def test_check_derivatives_passes_user_losses_with_sound_policies():
    for loss in (bl.CustomLoss(LOG_COSH, hessian="secant"), bl.CustomLoss(huber, delta=2.0, hessian="secant"),
                 bl.CustomLoss(ASYMMETRIC, cost=3.0), 0.7 * bl.Huber(delta=2) + 0.3 * bl.Quantile(alpha=0.9)):
        bl.check_derivatives(loss, strict=True)


def tanh_grad(y, raw):
    return np.tanh(raw - y)


def half_gradient(y, raw):
    return raw - y  # d/draw (raw - y)^2 is 2 (raw - y): the factor 2 is dropped


def sign_flipped_hessian(y, raw):
    r = raw - y
    return np.sign(r) / np.cosh(np.minimum(np.abs(r), 700)) ** 2  # negative for r < 0


@pytest.mark.parametrize("grad", [half_gradient, "raw - y"], ids=["numpy", "formula"])
def test_check_derivatives_catches_a_dropped_factor(grad):
    loss = bl.CustomLoss("(raw - y)**2", grad=grad, name="dropped")
    report = bl.check_derivatives(loss)
    assert not report.ok and report.grad.error == pytest.approx(1.0, rel=1e-6)  # |(r) - (2 r)| / |r|
    assert report.hess.error < 1e-6  # the Hessian is derived from the (wrong) gradient: consistent with it
    with pytest.raises(ValueError, match=r"(?s)dropped.*gradient error 1\.00e\+00"):
        bl.check_derivatives(loss, strict=True)


def test_check_derivatives_catches_a_hessian_with_a_wrong_sign_region():
    loss = bl.CustomLoss(log_cosh, grad=tanh_grad, hess=sign_flipped_hessian, name="flipped")
    report = bl.check_derivatives(loss)
    assert report.grad.error < 1e-6
    assert report.hess.error > 1 and "raw=" in report.hess.where
    assert report.policy_hessian["negative"] > 0 and len(report.problems) == 2
    with pytest.raises(ValueError, match="Hessian error"):
        bl.check_derivatives(loss, strict=True)


def test_check_derivatives_reports_zero_and_negative_exact_hessians_but_fails_policies_that_stall():
    quantile = bl.check_derivatives(bl.Quantile(alpha=0.9), strict=True)  # default secant policy
    assert quantile.exact_hessian["zero"] == quantile.points and quantile.kinks > 0
    focal = bl.check_derivatives(bl.Focal(), strict=True)  # default floor policy
    assert focal.exact_hessian["negative"] > 0 and focal.policy_hessian["negative"] == 0
    with pytest.raises(ValueError, match="policy Hessian is negative, or zero where the gradient is not"):
        bl.check_derivatives(bl.Quantile(alpha=0.9, hessian="exact"), strict=True)
    with pytest.raises(ValueError, match="policy Hessian"):
        bl.check_derivatives(bl.Focal(hessian="exact"), strict=True)


def test_check_derivatives_flags_non_finite_outputs_of_a_naive_formula():
    report = bl.check_derivatives(bl.CustomLoss("log(cosh(raw - y))", name="naive"))
    assert report.non_finite["loss values"] > 0 and report.non_finite["gradients"] > 0
    assert "non-finite outputs" in report.problems
    assert "non-finite outputs: " in str(report)


def test_check_derivatives_flags_float32_inputs_that_change_results():
    class Float32Squared(bl.SquaredError):  # computes in the caller's dtype
        def grad_hess(self, y, raw, sample_weight=None, **kwargs):
            residual = np.asarray(raw) - np.asarray(y)
            return residual, np.ones_like(residual)

        exact_grad_hess = grad_hess

    report = bl.check_derivatives(Float32Squared())
    assert report.float32_mismatches > 0 and not report.ok


def test_check_derivatives_report_reads_well():
    text = str(bl.check_derivatives(bl.Huber(delta=1.0)))
    assert text.startswith("check_derivatives(Huber(delta=1.0, hessian='secant')): OK")
    for phrase in ("gradient: worst relative error", "Hessian:  worst relative error", "skipped where the loss is "
                   "not smooth (e.g. y=", "exact Hessian:", "policy Hessian (what boosters get)"):
        assert phrase in text
    custom = bl.check_derivatives(bl.CustomLoss(HUBER, delta=1.0), y=[0.0, 0.0, 1.0], raw=[0.5, 3.0, -2.0])
    assert custom.points == 3 and custom.policy_hessian["stalled"] == 2


# --------------------------------------------------------------------------- weighted sums
def test_weighted_sum_combines_derivatives_and_each_parts_hessian_policy():
    huber, quantile = bl.Huber(delta=2.0), bl.Quantile(alpha=0.9)
    mix = 0.7 * huber + 0.3 * quantile
    y, raw = derivative_grid(mix)
    assert isinstance(mix, bl.WeightedSum) and mix.weights == (0.7, 0.3)
    assert_allclose(mix.loss(y, raw), 0.7 * huber.loss(y, raw) + 0.3 * quantile.loss(y, raw), rtol=1e-15)
    w = np.linspace(0.5, 2, y.size)
    for method, args in (("exact_grad_hess", (y, raw)), ("grad_hess", (y, raw, w))):
        pair, (one, two) = getattr(mix, method)(*args), (getattr(part, method)(*args) for part in (huber, quantile))
        for i in range(2):
            assert_allclose(pair[i], 0.7 * one[i] + 0.3 * two[i], rtol=1e-15)
    assert (mix.grad_hess(y, raw)[1] > 0).all()  # the secant policies, not the exact zeros


def test_weighted_sum_arithmetic_flattens_and_compares():
    h, q = bl.Huber(delta=1.0), bl.Quantile(alpha=0.9)
    assert 2 * (0.5 * h + q) == bl.WeightedSum((h, q), (1.0, 2.0))
    assert h * 3 / 2 == 1.5 * h and np.float64(0.5) * h == 0.5 * h and sum([h, q]) == h + q
    assert repr(0.7 * h + 0.3 * q) == ("0.7 * Huber(delta=1.0, hessian='secant') + "
                                       "0.3 * Quantile(alpha=0.9, hessian='secant', refit=True)")
    assert (0.7 * h + 0.3 * q).name == "0.7*huber+0.3*quantile"
    assert isinstance(0.5 * bl.Focal() + bl.Logistic(), bl.losses.binary.BinaryLoss)


def test_weighted_sum_init_score_minimises_the_weighted_loss():
    X, y, yb = regression_data(500)
    w = np.random.default_rng(3).uniform(0.2, 2, y.size)
    mix = 0.7 * bl.Huber(delta=1.0) + 0.3 * bl.Quantile(alpha=0.9)
    best = optimize.minimize_scalar(lambda c: np.average(mix.loss(y, np.full_like(y, c)), weights=w),
                                    bounds=(y.min(), y.max()), method="bounded", options={"xatol": 1e-10}).x
    assert mix.init_score(y, w) == pytest.approx(best, abs=1e-6)
    assert (3 * bl.Quantile(alpha=0.9)).init_score(y, w) == bl.Quantile(alpha=0.9).init_score(y, w)  # trivial
    binary = 0.5 * bl.Focal() + 0.5 * bl.Logistic()
    start = binary.init_score(yb)
    assert abs(np.mean(binary.exact_grad_hess(yb, np.full_like(yb, start))[0])) < 1e-12
    labels = np.random.default_rng(0).integers(0, 3, 300)
    multi = 0.5 * bl.SoftmaxCrossEntropy() + 0.5 * bl.MulticlassFocal(gamma=2.0)
    start = multi.init_score(labels)
    assert start.shape == (3,) and abs(start.sum()) < 1e-12
    assert_allclose(multi.exact_grad_hess(labels, np.tile(start, (300, 1)))[0].mean(axis=0), 0, atol=1e-8)


def test_weighted_sums_train_everywhere_pickle_clone_and_tune():
    X, y, yb = regression_data(400)
    mix = 0.7 * bl.Huber(delta=2.0) + 0.3 * bl.Quantile(alpha=0.9)
    for booster in ("xgboost", "lightgbm", "catboost"):
        start = np.full_like(y, mix.init_score(y))
        assert mix.loss(y, train_raw(booster, mix, X, y)).mean() < mix.loss(y, start).mean()
    model = BoostRegressor(lgb.LGBMRegressor(n_estimators=10, verbose=-1), loss=mix).fit(X, y)
    early = BoostRegressor(xgb.XGBRegressor(n_estimators=50), loss=mix, early_stopping_rounds=3)
    assert early.fit(X[:300], y[:300], eval_set=[(X[300:], y[300:])]).best_iteration_ is not None
    assert_allclose(pickle.loads(pickle.dumps(model)).predict(X), model.predict(X))
    copy = clone(model).set_params(loss__weights=(0.5, 0.5), loss__0__delta=5.0)
    assert copy.loss == 0.5 * bl.Huber(delta=5.0) + 0.5 * bl.Quantile(alpha=0.9)
    assert mix.losses[0].delta == 2.0  # parts are copied, not changed in place
    clf = BoostClassifier(xgb.XGBClassifier(n_estimators=10), loss=0.5 * bl.Focal() + 0.5 * bl.Logistic()).fit(X, yb)
    assert_allclose(clf.predict_proba(X).sum(axis=1), 1.0)


# --------------------------------------------------------------------------- pickling and bad input
def test_custom_losses_pickle_compare_and_clone():
    import sympy

    for loss in (bl.CustomLoss(ASYMMETRIC, cost=3.0, name="under"), bl.CustomLoss(asymmetric, cost=3.0),
                 bl.CustomLoss(sympy.sympify("cost*(raw - y)**2"), cost=2.0, link="log", domain="(0, inf)"),
                 bl.CustomBinaryLoss(focal, alpha=0.25, gamma=2.0)):
        y = np.array([1.0, 0.0]) if isinstance(loss, bl.CustomBinaryLoss) else np.array([1.0, 2.0])
        restored = pickle.loads(pickle.dumps(loss))
        assert restored == loss and hash(restored) == hash(loss) and clone(loss) == loss
        assert_allclose(restored.exact_grad_hess(y, [0.3, 0.5]), loss.exact_grad_hess(y, [0.3, 0.5]))
    assert bl.CustomLoss(ASYMMETRIC, cost=3.0) != bl.CustomLoss(ASYMMETRIC, cost=2.0)
    assert repr(bl.CustomLoss(asymmetric, cost=3.0, link="log")) == \
        "CustomLoss(test_custom.asymmetric, link='log', cost=3.0)"


def nested_loss_factory():
    def inner(y, raw):
        return (raw - y) ** 2
    return inner


BAD = {
    "unknown symbol": (lambda: bl.CustomLoss("(raw - y)**2 / scale", name="mine"),
                       r"mine.*unknown symbols \['scale'\]"),
    "unknown function": (lambda: bl.CustomLoss("huberish(raw - y)", name="mine"), r"mine.*unknown functions"),
    "syntax": (lambda: bl.CustomLoss("(raw - y", name="mine"), r"mine.*cannot read the formula"),
    "missing parameter": (lambda: bl.CustomLoss(huber, name="mine"), r"mine.*must take \(y, raw"),
    "extra parameter": (lambda: bl.CustomLoss(asymmetric, cost=1.0, scale=2.0, name="mine"), r"mine.*must take"),
    "non-finite parameter": (lambda: bl.CustomLoss(ASYMMETRIC, cost=np.nan, name="mine"),
                             r"mine.*cost must be a finite number"),
    "text parameter": (lambda: bl.CustomLoss(ASYMMETRIC, cost="3", name="mine"), r"mine.*cost must be a finite"),
    "name with spaces": (lambda: bl.CustomLoss(ASYMMETRIC, cost=1.0, name="my loss"),
                         r"name must be .* without spaces"),
    "taken name": (lambda: bl.CustomLoss(ASYMMETRIC, cost=1.0, validate=2.0, name="mine"), r"mine.*'validate' cannot"),
    "lambda": (lambda: bl.CustomLoss(lambda y, raw: (raw - y) ** 2, name="mine"), r"mine.*cannot be pickled"),
    "closure": (lambda: bl.CustomLoss(nested_loss_factory(), name="mine"), r"mine.*cannot be pickled"),
    "link": (lambda: bl.CustomLoss(ASYMMETRIC, cost=1.0, link="probit", name="mine"), r"mine.*link must be one of"),
    "domain": (lambda: bl.CustomLoss(ASYMMETRIC, cost=1.0, domain="0 to 1", name="mine"), r"mine.*domain"),
    "secant with a log link": (lambda: bl.CustomLoss("exp(raw) - y*raw", link="log", hessian="secant", name="mine"),
                               r"mine.*secant Hessian needs the identity link"),
    "constant in raw": (lambda: bl.CustomLoss("y**2", name="mine"), r"mine.*does not depend on raw"),
    "not differentiable": (lambda: bl.CustomLoss(not_differentiable, name="mine"),
                           r"mine.*cannot differentiate np.sort"),
    "link mismatch": (lambda: bl.Huber() + bl.CustomLoss("exp(raw) - y*raw", link="log"),
                      r"Huber.*identity link but CustomLoss.*log link"),
    "non-finite weight": (lambda: np.inf * bl.Huber(), r"cannot scale Huber.*by inf"),
    "negative weight": (lambda: bl.Huber() * -2, r"cannot scale Huber.*by -2"),
    "zero weight": (lambda: bl.WeightedSum((bl.Huber(),), (0.0,)), r"weight of Huber.* must be finite and > 0"),
    "sum parameter": (lambda: (bl.Huber() + bl.Quantile()).set_params(delta=2),
                      r"WeightedSum has no parameter 'delta'"),
    "part parameter": (lambda: (bl.Huber() + bl.Quantile()).set_params(**{"0__alpha": 2}), r"Huber has no parameter"),
}


def not_differentiable(y, raw):
    return np.sort(raw - y) ** 2


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_is_a_value_error_naming_the_loss_and_the_problem(case):
    build, message = BAD[case]
    with pytest.raises(ValueError, match=message):
        build()


def test_set_params_rejects_bad_values_and_keeps_the_loss_unchanged():
    loss = bl.CustomLoss(ASYMMETRIC, cost=3.0, name="under")
    with pytest.raises(ValueError, match="under.*has no parameter 'delta'|CustomLoss has no parameter 'delta'"):
        loss.set_params(delta=1.0)
    with pytest.raises(ValueError, match="under.*cost must be a finite number"):
        loss.set_params(cost=np.inf)
    with pytest.raises(ValueError, match="under.*unknown symbols"):
        loss.set_params(formula="(raw - y)**2 * scale")
    assert loss.cost == 3.0 and loss.formula == ASYMMETRIC
    assert_allclose(loss.exact_grad_hess([1.0], [0.0])[0], -3.0)


def test_formulas_need_sympy_and_say_which_extra_installs_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "sympy", None)
    with pytest.raises(ImportError, match=r"need SymPy: pip install sympy, or .*pip install '\.\[symbolic\]'"):
        bl.CustomLoss(ASYMMETRIC, cost=1.0)
    bl.CustomLoss(asymmetric, cost=1.0)  # NumPy functions need no SymPy
