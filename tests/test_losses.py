"""Losses as objects: optimal constants, weights, input checks, parameters, registry, metrics."""

from __future__ import annotations

import itertools
import pickle
import re

import numpy as np
import pytest
import sklearn
import sklearn.metrics as skm
from scipy import optimize, special
from sklearn.base import clone

import boostloss as bl
from boostloss.losses.base import MAX_EXP, LogLink
from boostloss.metrics import LossMetric

LOSSES = [bl.get_loss(name) for name in bl.available_losses()] + [
    bl.Huber(delta=0.5), bl.PseudoHuber(delta=5, hessian="exact"), bl.Quantile(alpha=0.1),
    bl.Quantile(alpha=0.9, hessian="unit"), bl.Expectile(alpha=0.8), bl.Fair(c=3), bl.Tweedie(power=1.2),
    bl.Logistic(pos_weight=3, label_smoothing=0.1), bl.Focal(alpha=0.75, gamma=0.5),
    bl.SymmetricCrossEntropy(alpha=1, beta=0.5), bl.Dice(eps=0.1), bl.MulticlassFocal(gamma=0.5, alpha=[1, 2, 0.5]),
    bl.SoftmaxCrossEntropy(class_weight=[1, 2, 0.5], label_smoothing=0.1),
    bl.MulticlassSymmetricCrossEntropy(alpha=1.0, beta=0.5, hessian="exact"),
    bl.MulticlassHinge(form="weston_watkins", class_weight=[1, 3, 0.5]),
    bl.MulticlassSquaredHinge(form="weston_watkins"), bl.MulticlassSquaredHinge(class_weight=[1, 3, 0.5]),
]
# the minimiser may be a whole interval (a face of a polytope for the multiclass hinge)
PIECEWISE_LINEAR = {"absolute_error", "quantile", "mape", "multiclass_hinge", "multi_quantile"}


def sample(loss, n, rng):
    """n targets in the loss's domain, with some spread and a few outliers (column targets: 3 columns)."""
    if loss.name == "soft_cross_entropy":
        return rng.dirichlet([1.0, 2.0, 3.0], n)
    if loss.multi_output and loss.target_columns:  # both labels in every column
        return np.vstack([[0, 0, 0], [1, 1, 1], (rng.random((n - 2, 3)) < [0.3, 0.5, 0.7])]).astype(float)
    if loss.name in ("lognormal_nll", "gamma_nll"):
        return rng.lognormal(1.0, 0.7, n)
    if loss.name == "negative_binomial_nll":
        return rng.negative_binomial(1.5, 0.3, n).astype(float)
    if loss.is_multiclass:
        return rng.choice(3, n, p=[0.5, 0.3, 0.2]).astype(float)
    if loss.domain == bl.Logistic.domain:
        return (rng.random(n) < 0.3).astype(float)
    if loss.name in ("poisson", "tweedie"):
        return rng.poisson(2.5, n) * (rng.random(n) < 0.8)
    if loss.name == "gamma":
        return rng.gamma(2.0, 1.5, n)
    if loss.name == "squared_log_error":
        return rng.exponential(3.0, n) - 0.5
    y = rng.normal(2.0, 3.0, n) + 40.0 * (rng.random(n) < 0.1)
    return np.where(np.abs(y) < 0.1, 0.5, y) if loss.name == "mape" else y


def outputs(loss):
    """The number of raw scores per row of the losses here: None for one."""
    if loss.is_multiclass or (loss.multi_output and loss.target_columns):
        return 3
    return loss.n_outputs() if loss.multi_output else None


def scores(loss, n, rng):
    """Random raw scores shaped for ``loss``: (n,) or (n, k)."""
    k = outputs(loss)
    return rng.normal(size=(n, k) if k else n)


def mean_loss(loss, y, w, raw):
    k = outputs(loss)
    rows = np.broadcast_to(raw, (y.shape[0], k)) if k else np.full(y.size, raw)
    if loss.round_statistic:  # GHM: the weights' density is part of the loss
        return LossMetric(loss).evaluate(y, rows, w)
    return float(np.average(loss.loss(y, rows), weights=w))


# --------------------------------------------------------------------------- init_score
@pytest.mark.parametrize("loss", LOSSES, ids=repr)
def test_init_score_is_the_minimiser(loss):
    rng = np.random.default_rng(7)
    y, w = sample(loss, 80, rng), rng.uniform(0.1, 3.0, 80)
    ours = loss.init_score(y, w)
    if loss.multi_output:  # minimise over all k scores from the start's neighbourhood
        tight = {"xatol": 1e-10, "fatol": 1e-15, "maxiter": 20000}
        res = optimize.minimize(lambda v: mean_loss(loss, y, w, v), ours + 0.3, method="Nelder-Mead", options=tight)
        theirs = res.x - (res.x.mean() if loss.link.name == "softmax" else 0.0)  # softmax: centred, as ours
        assert ours.shape == (outputs(loss),)
        if loss.name not in PIECEWISE_LINEAR:
            np.testing.assert_allclose(ours, theirs, atol=1e-5)
    elif loss.is_multiclass:  # minimise over raw[:2] with raw[2] pinned at 0, then centre
        tight = {"xatol": 1e-10, "fatol": 1e-15, "maxiter": 5000}
        res = optimize.minimize(lambda v: mean_loss(loss, y, w, np.append(v, 0.0)), np.zeros(2),
                                method="Nelder-Mead", options=tight)
        theirs = np.append(res.x, 0.0) - np.append(res.x, 0.0).mean()
        assert ours.shape == (3,) and abs(ours.sum()) < 1e-12
        if loss.name not in PIECEWISE_LINEAR:
            np.testing.assert_allclose(ours, theirs, atol=1e-5)
    else:
        lo, hi = (-1 + 1e-6, y.max() + 1) if loss.name == "squared_log_error" else (
            (-20, 20) if loss.link.name != "identity" else (y.min() - 1, y.max() + 1))
        theirs = optimize.minimize_scalar(lambda c: mean_loss(loss, y, w, c), bounds=(lo, hi),
                                          method="bounded", options={"xatol": 1e-12}).x
        if loss.name not in PIECEWISE_LINEAR and not loss.round_statistic:  # GHM's jumps mislead a bracket
            assert ours == pytest.approx(theirs, rel=1e-5, abs=1e-5)
    best, found = mean_loss(loss, y, w, ours), mean_loss(loss, y, w, theirs)
    # the hinges start a hair inside their kinks
    inside = 2.0**-19 if loss.name in ("hinge", "multiclass_hinge") else 0.0
    assert best <= found + 1e-12 * (1 + abs(found)) + inside


@pytest.mark.parametrize("loss", LOSSES, ids=repr)
def test_weights_act_like_repeated_rows(loss):
    rng = np.random.default_rng(3)
    y = sample(loss, 25, rng)
    w = np.ones(y.shape[0])
    w[[2, 5]] = 2.0
    repeated = np.concatenate([y, y[[2, 5]]])
    kw = {"n_classes": 3} if loss.is_multiclass else {}
    init = loss.init_score(y, w, **kw)
    np.testing.assert_allclose(init, loss.init_score(repeated, **kw), rtol=1e-7, atol=1e-7)
    np.testing.assert_allclose(loss.init_score(y, 3.5 * w, **kw), init, rtol=1e-7, atol=1e-7)
    np.testing.assert_allclose(loss.init_score(y, np.ones(y.shape[0]), **kw), loss.init_score(y, **kw))


@pytest.mark.parametrize("loss", LOSSES, ids=repr)
def test_grad_hess_multiplies_by_weights(loss):
    rng = np.random.default_rng(5)
    y = sample(loss, 30, rng)
    raw = scores(loss, 30, rng)
    w = rng.uniform(0, 4, 30)
    g, h = loss.frozen_at(y, raw, w).grad_hess(y, raw)  # GHM: the density of the weighted rows
    gw, hw = loss.grad_hess(y, raw, sample_weight=w)
    wcol = w[:, None] if raw.ndim == 2 else w
    np.testing.assert_allclose(gw, g * wcol, rtol=1e-15)
    np.testing.assert_allclose(hw, h * wcol, rtol=1e-15)


def test_init_score_known_values():
    y, w = np.array([1.0, 2.0, 3.0, 10.0]), np.array([1.0, 1.0, 1.0, 3.0])
    assert bl.SquaredError().init_score(y, w) == pytest.approx(np.average(y, weights=w))
    assert bl.AbsoluteError().init_score(y) == 2.5  # midpoint of the even sample's middle pair
    assert bl.AbsoluteError().init_score(y, w) == 6.5  # weight 3 of 6 on each side of [3, 10]
    assert bl.AbsoluteError().init_score(y, w + [0, 0, 0, 1]) == 10.0
    assert bl.Poisson().init_score(y, w) == pytest.approx(np.log(np.average(y, weights=w)))
    assert bl.Logistic().init_score([0, 0, 0, 1]) == pytest.approx(np.log(1 / 3))
    assert bl.Exponential().init_score([0, 0, 0, 1]) == pytest.approx(0.5 * np.log(1 / 3))
    logf = np.log(np.array([2, 1, 1]) / 4)
    np.testing.assert_allclose(bl.SoftmaxCrossEntropy().init_score([0, 0, 1, 2]), logf - logf.mean())
    for loss in (bl.SoftmaxCrossEntropy(), bl.MulticlassFocal(), bl.MulticlassSymmetricCrossEntropy()):
        # absent classes: finite, lowest
        init = loss.init_score([0, 1], n_classes=4)
        assert init.shape == (4,) and np.isfinite(init).all() and init[2:].max() < init[:2].min()


@pytest.mark.parametrize("loss, y, w", [
    (bl.Poisson(), [0.0, 0.0], None), (bl.Tweedie(), [0.0, 3.0], [1.0, 0.0]),
    (bl.Logistic(), [1, 1, 1], None), (bl.Focal(), [0, 0], None), (bl.Exponential(), [1, 1], None),
    (bl.SymmetricCrossEntropy(), [0, 1], [2.0, 0.0]), (bl.Dice(), [1, 1], None),
])
def test_init_score_infinite_optimum_raises(loss, y, w):
    with pytest.raises(ValueError, match=f"{type(loss).__name__}.*infinit"):
        loss.init_score(y, w)


# --------------------------------------------------------------------------- bad input
def with_bad(values, bad):
    """100 targets cycling through ``values``, three of them (rows 7, 40, 93) set to ``bad``."""
    y = np.resize(np.asarray(values, float), 100)
    y[[7, 40, 93]] = bad
    return y


TARGET_PROBLEMS = [
    (bl.Huber(), with_bad([1.5, -2.0], np.nan), "NaN or infinite"),
    (bl.Huber(), with_bad([1.5, -2.0], np.inf), "NaN or infinite"),
    (bl.Logistic(), with_bad([0, 1], np.nan), "NaN or infinite"),
    (bl.Poisson(), with_bad([0, 3], -1.0), "outside the loss's domain"),
    (bl.Tweedie(), with_bad([0, 3], -0.5), "outside the loss's domain"),
    (bl.Gamma(), with_bad([1, 3], 0.0), "outside the loss's domain"),
    (bl.Logistic(), with_bad([0, 1], 2.0), "0 or 1"),
    (bl.Focal(), with_bad([0, 1], 0.5), "0 or 1"),
    (bl.SoftmaxCrossEntropy(), with_bad([0, 1, 2], 1.5), "integer classes"),
    (bl.MulticlassFocal(), with_bad([0, 1, 2], -1.0), "integer classes"),
    (bl.MAPE(), with_bad([1.5, -2.0], 0.0), "zero"),
    (bl.SquaredLogError(), with_bad([0.5, 3.0], -1.0), "outside the loss's domain"),
]


@pytest.mark.parametrize("loss, y, problem", TARGET_PROBLEMS, ids=[c[0].name for c in TARGET_PROBLEMS])
def test_bad_targets_raise_with_count(loss, y, problem):
    for call in (loss.validate, loss.init_score):
        with pytest.raises(ValueError) as info:
            call(y)
        message = str(info.value)
        assert type(loss).__name__ in message and problem in message and "3 of 100" in message, message


def test_validate_accepts_good_targets_and_column_vectors():
    y = bl.Poisson().validate([[0], [2], [5]])
    assert y.dtype == np.float64 and y.shape == (3,)
    with pytest.raises(ValueError, match="one-dimensional"):
        bl.Poisson().validate(np.ones((3, 2)))
    with pytest.raises(ValueError, match="no targets"):
        bl.Poisson().validate([])


@pytest.mark.parametrize("loss, y, raw", [
    (bl.Huber(), np.zeros(5), np.zeros(4)),
    (bl.Logistic(), np.zeros(5), np.zeros((5, 2))),
    (bl.SoftmaxCrossEntropy(), np.zeros(5), np.zeros(5)),
    (bl.MulticlassFocal(), np.zeros(5), np.zeros((4, 3))),
])
def test_mismatched_shapes_raise(loss, y, raw):
    for call in (loss.loss, loss.grad_hess, loss.exact_grad_hess):
        with pytest.raises(ValueError, match=f"{type(loss).__name__}.*shape"):
            call(y, raw)


def test_multiclass_labels_beyond_the_raw_columns_raise():
    with pytest.raises(ValueError, match=r"SoftmaxCrossEntropy.*2 of 4 labels are not classes 0\.\.2"):
        bl.SoftmaxCrossEntropy().grad_hess([0, 3, 5, 1], np.zeros((4, 3)))
    with pytest.raises(ValueError, match="labels go up to 3 but there are 3 classes"):
        bl.SoftmaxCrossEntropy().init_score([0, 3, 1], n_classes=3)


@pytest.mark.parametrize("call", ["validate", "init_score"])
def test_labels_beyond_the_declared_classes_raise_in_validate_too(call):
    """A per-class parameter of length k declares the classes: ``validate`` (which every entry
    point runs before training) rejects label 5 as ``init_score`` does."""
    loss = bl.SoftmaxCrossEntropy(class_weight=[1.0, 1, 1])
    with pytest.raises(ValueError, match=r"1 of 4 labels are not among the 3 classes"):
        getattr(loss, call)(np.array([0.0, 1, 2, 5]))
    with pytest.raises(ValueError, match=r"2 of 3 labels are not among the 2 classes"):
        getattr(bl.MulticlassFocal(alpha=[1.0, 2.0]), call)(np.array([0.0, 2, 3]))
    assert getattr(bl.SoftmaxCrossEntropy(class_weight={0: 1.0, 2: 3.0}), call)(np.array([0.0, 1, 2])) is not None


@pytest.mark.parametrize("weights, problem", [
    (-np.arange(10.0), "9 of 10 sample weights are negative"),
    (np.ones(9), "shape"),
    (np.where(np.arange(10) < 2, np.nan, 1.0), "2 of 10 sample weights are NaN"),
    (np.zeros(10), "sum to zero"),
])
@pytest.mark.parametrize("loss", [bl.Huber(), bl.Logistic(), bl.SoftmaxCrossEntropy()], ids=repr)
def test_bad_weights_raise(loss, weights, problem):
    y = np.arange(10) % 2
    raw = np.zeros((10, 3) if loss.is_multiclass else 10)
    for call in (lambda: loss.grad_hess(y, raw, weights), lambda: loss.init_score(y, weights),
                 lambda: loss.validate(y, weights)):
        with pytest.raises(ValueError, match=f"{type(loss).__name__}.*{problem}"):
            call()


BAD_PARAMETERS = [
    (bl.Huber, {"delta": 0}), (bl.Huber, {"delta": -1}), (bl.Huber, {"delta": "abc"}),
    (bl.Huber, {"delta": np.nan}), (bl.PseudoHuber, {"delta": 0}), (bl.Fair, {"c": -2}),
    (bl.Quantile, {"alpha": 0}), (bl.Quantile, {"alpha": 1.5}), (bl.Expectile, {"alpha": 1}),
    (bl.Focal, {"gamma": -1}), (bl.Focal, {"alpha": 1}),
    (bl.Tweedie, {"power": 1}), (bl.Tweedie, {"power": 2}), (bl.Tweedie, {"power": 2.5}),
    (bl.Logistic, {"label_smoothing": 1}), (bl.Logistic, {"label_smoothing": "abc"}),
    (bl.Logistic, {"pos_weight": 0}), (bl.SymmetricCrossEntropy, {"alpha": 0, "beta": 0}),
    (bl.SoftmaxCrossEntropy, {"label_smoothing": -0.1}), (bl.SoftmaxCrossEntropy, {"class_weight": [1, -2]}),
    (bl.MulticlassFocal, {"gamma": -0.5}), (bl.Huber, {"hessian": "newton"}),
    (bl.Focal, {"hessian": "secant"}), (bl.AbsoluteError, {"hessian": "gauss_newton"}),
]


@pytest.mark.parametrize("cls, params", BAD_PARAMETERS)
def test_bad_parameters_raise(cls, params):
    name = next(iter(params))  # the message names the class and the (first) offending parameter
    with pytest.raises(ValueError, match=f"{cls.__name__}.*{name}"):
        cls(**params)
    loss = cls()
    before = loss.get_params()
    with pytest.raises(ValueError, match=f"{cls.__name__}.*{name}"):
        loss.set_params(**params)
    assert loss.get_params() == before  # a rejected value leaves the loss unchanged


def test_class_weight_checked_against_the_number_of_classes():
    with pytest.raises(ValueError, match="class_weight has 2 entries for 3 classes"):
        bl.SoftmaxCrossEntropy(class_weight=[1, 2]).loss([0, 1], np.zeros((2, 3)))
    with pytest.raises(ValueError, match="names class 5"):
        bl.SoftmaxCrossEntropy(class_weight={5: 2.0}).loss([0, 1], np.zeros((2, 3)))
    dict_weights = bl.SoftmaxCrossEntropy(class_weight={1: 2.0})
    vector = bl.SoftmaxCrossEntropy(class_weight=[1.0, 2.0, 1.0])
    raw = np.random.default_rng(0).normal(size=(6, 3))
    labels = np.arange(6) % 3
    np.testing.assert_array_equal(dict_weights.loss(labels, raw), vector.loss(labels, raw))


# --------------------------------------------------------------------------- parameters
@pytest.mark.parametrize("loss", LOSSES, ids=repr)
def test_parameters_equality_repr_pickle_clone(loss):
    params = loss.get_params()
    assert type(loss)(**params) == loss
    assert clone(loss) == loss and clone(loss) is not loss
    copy = pickle.loads(pickle.dumps(loss))
    assert copy == loss and hash(copy) == hash(loss) and len({loss, copy}) == 1
    assert eval(repr(loss), {**vars(bl), "np": np}) == loss  # repr is readable Python
    rng = np.random.default_rng(1)
    y = sample(loss, 10, rng)
    raw = scores(loss, 10, rng)
    np.testing.assert_array_equal(copy.loss(y, raw), loss.loss(y, raw))


def test_set_params_and_equality_by_params():
    loss = bl.Huber(delta=2)
    assert loss.get_params() == {"delta": 2, "hessian": "secant"}
    assert loss.set_params(delta=3.0, hessian="unit") is loss
    assert loss == bl.Huber(delta=3, hessian="unit") and loss != bl.Huber(delta=3)
    assert bl.Huber(delta=2) != bl.PseudoHuber(delta=2)
    as_list = bl.SoftmaxCrossEntropy(class_weight=[1, 2])
    assert as_list == bl.SoftmaxCrossEntropy(class_weight=np.array([1.0, 2.0]))
    assert hash(as_list) == hash(bl.SoftmaxCrossEntropy(class_weight=(1.0, 2.0)))
    with pytest.raises(ValueError, match="Huber has no parameter 'alpha'"):
        loss.set_params(alpha=0.5)
    assert repr(bl.Huber(delta=2)) == "Huber(delta=2, hessian='secant')"


# --------------------------------------------------------------------------- registry
def test_get_loss_spellings():
    assert bl.get_loss("huber:delta=2") == bl.get_loss("huber", delta=2) == bl.Huber(delta=2)
    assert bl.get_loss(" quantile : alpha=0.9, hessian=unit ") == bl.Quantile(alpha=0.9, hessian="unit")
    loss = bl.Tweedie(power=1.3)
    assert bl.get_loss(loss) is loss
    with pytest.raises(ValueError):
        bl.get_loss(loss, power=1.5)


def test_get_loss_errors():
    with pytest.raises(ValueError) as info:
        bl.get_loss("hubber")
    assert "hubber" in str(info.value) and all(name in str(info.value) for name in bl.available_losses())
    with pytest.raises(ValueError, match=r"'huber' takes the parameters \['delta', 'hessian'\].*foo"):
        bl.get_loss("huber:foo=1")
    with pytest.raises(ValueError, match="key=value"):
        bl.get_loss("huber:delta")
    with pytest.raises(ValueError, match="Huber.*delta"):
        bl.get_loss("huber:delta=-1")


@pytest.mark.parametrize("loss", LOSSES + [
    bl.SoftmaxCrossEntropy(class_weight=np.array([1.0, 0.5])), bl.Focal(gamma=0, hessian="exact"),
    bl.SoftmaxCrossEntropy(class_weight={0: 2.0, 2: 0.5}),  # commas inside the value
    bl.MulticlassFocal(alpha=[0.25, 0.75], hessian="exact"),
], ids=repr)
def test_spec_round_trip(loss):
    text = bl.spec(loss)
    assert text.split(":")[0] == loss.name
    assert bl.get_loss(text) == loss
    assert bl.spec(bl.get_metric(text)) == (text if not loss.round_statistic else "log_loss")  # GHM: see get_metric


def test_spec_lists_only_changed_parameters():
    assert bl.spec(bl.Huber()) == "huber"
    assert bl.spec(bl.Huber(delta=2)) == "huber:delta=2"
    assert bl.spec(bl.get_metric("pinball:alpha=0.9")) == "pinball:alpha=0.9"


def test_metrics_registry():
    names = bl.available_metrics()
    assert {"mape", "smape", "rmse", "mae", "pinball", "log_loss"} <= set(names)
    assert set(bl.available_losses()) <= set(names) and len(names) == len(set(names))
    assert bl.get_metric("pinball", alpha=0.9) == bl.get_metric("pinball:alpha=0.9")
    metric = bl.get_metric("huber:delta=2")
    assert isinstance(metric, LossMetric) and metric.loss == bl.Huber(delta=2) and metric.name == "huber"
    assert bl.get_metric(bl.Poisson()).loss == bl.Poisson()
    with pytest.raises(ValueError, match="unknown metric 'rmsle2'.*smape"):
        bl.get_metric("rmsle2")
    # metric names come first: kl_div and msle are also PyTorch / Keras names of losses
    assert isinstance(bl.get_metric("kl_div"), bl.metrics.KLDivergence)
    assert isinstance(bl.get_metric("msle"), bl.metrics.MSLE)


# --------------------------------------------------------------------------- metrics
RNG = np.random.default_rng(11)
# scikit-learn 1.8 made its weighted median_absolute_error the averaged percentile (1.6 and 1.7
# take the lower one: unit weights gave another median than none); 1.7 made brier_score_loss multiclass
SKLEARN_VERSION = tuple(int(v) for v in sklearn.__version__.split(".")[:2])
SKLEARN_AVERAGED_MEDIAN, SKLEARN_MULTICLASS_BRIER = SKLEARN_VERSION >= (1, 8), SKLEARN_VERSION >= (1, 7)
Y_REG, PRED_REG, W = RNG.normal(5, 2, 50), RNG.normal(5, 2, 50), RNG.uniform(0.2, 2.0, 50)


@pytest.mark.parametrize("name, reference", [
    ("mae", skm.mean_absolute_error),
    ("rmse", lambda y, p, sample_weight: np.sqrt(skm.mean_squared_error(y, p, sample_weight=sample_weight))),
    ("mape", skm.mean_absolute_percentage_error),
    ("pinball:alpha=0.8", lambda y, p, **kw: skm.mean_pinball_loss(y, p, alpha=0.8, **kw)),
    ("r2", skm.r2_score), ("median_absolute_error", skm.median_absolute_error),
    ("msle", skm.mean_squared_log_error), ("rmsle", skm.root_mean_squared_log_error),
])
def test_regression_metrics_match_sklearn(name, reference):
    metric = bl.get_metric(name)
    y, pred = (np.exp(Y_REG / 3), np.exp(PRED_REG / 3)) if "msle" in name else (Y_REG, PRED_REG)
    for w in (W, None, np.round(W)):  # integer weights: the median's cumulative weight hits half
        if name == "median_absolute_error" and w is not None and not SKLEARN_AVERAGED_MEDIAN:
            continue
        for n in (50, 49):
            expected = reference(y[:n], pred[:n], sample_weight=None if w is None else w[:n])
            assert metric.score(y[:n], pred[:n], None if w is None else w[:n]) == pytest.approx(expected, rel=1e-12)


def test_r2_and_msle_edges():
    r2 = bl.get_metric("r2")
    big = 1e8 + Y_REG  # a large mean: sum y^2 - (sum y)^2 / n would lose the spread
    assert r2.score(big, big + PRED_REG - Y_REG) == pytest.approx(skm.r2_score(big, big + PRED_REG - Y_REG), rel=1e-9)
    assert r2.score([2.0, 2.0], [2.0, 2.0]) == 1.0 and r2.score([2.0, 2.0], [1.0, 2.0]) == 0.0  # force_finite
    assert bl.get_metric("msle").score([0.0, 1.0], [-1.0, 1.0]) == np.inf  # a prediction at -1
    with pytest.raises(ValueError, match=r"MSLE\(\): 2 of 3 targets are <= -1"):
        bl.get_metric("msle").score([-1.0, -3.0, 1.0], [0.0, 0.0, 0.0])


def test_classification_metrics_match_sklearn_and_scipy():
    rng = np.random.default_rng(12)
    labels, p, w = (rng.random(60) < 0.35).astype(float), rng.random(60), rng.uniform(0.2, 2.0, 60)
    classes, proba = rng.integers(0, 3, 60).astype(float), rng.dirichlet(np.ones(4), 60)  # class 3: never a label
    two = np.column_stack([1 - p, p])
    for weights in (w, None):
        kw = {"sample_weight": weights}
        brier, f1 = bl.get_metric("brier"), bl.get_metric("f1")
        assert brier.score(labels, p, weights) == pytest.approx(skm.brier_score_loss(labels, p, **kw), rel=1e-12)
        assert brier.score(labels, two, weights) == pytest.approx(skm.brier_score_loss(labels, p, **kw), rel=1e-12)
        multiclass = skm.brier_score_loss(classes, proba, labels=[0, 1, 2, 3], **kw) if SKLEARN_MULTICLASS_BRIER \
            else np.average(np.sum((proba - np.eye(4)[classes.astype(int)]) ** 2, axis=1), weights=weights)
        assert brier.score(classes, proba, weights) == pytest.approx(multiclass, rel=1e-12)
        assert f1.score(labels, p, weights) == pytest.approx(skm.f1_score(labels, p > 0.5, **kw), rel=1e-12)
        assert bl.get_metric("f1:threshold=0.2").score(labels, p, weights) == pytest.approx(
            skm.f1_score(labels, p > 0.2, **kw), rel=1e-12)
        assert f1.score(labels, two, weights) == pytest.approx(skm.f1_score(labels, p > 0.5, **kw), rel=1e-12)
        assert f1.score(classes, proba, weights) == pytest.approx(
            skm.f1_score(classes, proba.argmax(axis=1), average="macro", **kw), rel=1e-12)
        soft = rng.random(60)
        kl = special.rel_entr(soft, p) + special.rel_entr(1 - soft, 1 - p)
        assert bl.get_metric("kl_div").score(soft, p, weights) == pytest.approx(np.average(kl, weights=weights),
                                                                              rel=1e-12)
        # the margin losses as metrics are scikit-learn's on the decision values
        decision = 4 * p - 2
        assert bl.get_metric("hinge").score(labels, decision, weights) == pytest.approx(
            skm.hinge_loss(labels, decision, **kw), rel=1e-12)
    assert bl.get_metric("f1").score([0.0, 0.0], [0.1, 0.2]) == 0.0  # no positives at all: zero_division=0
    r = np.linspace(-30, 30, 61)
    zero = np.zeros_like(r)
    np.testing.assert_allclose(bl.get_metric("log_cosh").per_row(zero, r), np.log(np.cosh(r)), rtol=1e-13)
    huber = np.where(np.abs(r) <= 2, r**2 / 2, 2 * (np.abs(r) - 1))
    np.testing.assert_allclose(bl.get_metric("huber:delta=2").per_row(zero, r), huber, rtol=1e-14)
    # from raw scores, through the sigmoid (its default link) or the loss's link
    raw = special.logit(p)
    assert bl.get_metric("brier").evaluate(labels, raw) == pytest.approx(skm.brier_score_loss(labels, p), rel=1e-9)
    assert bl.get_metric("f1").evaluate(labels, raw, w) == pytest.approx(
        skm.f1_score(labels, p > 0.5, sample_weight=w), rel=1e-12)
    with pytest.raises(ValueError, match="binary labels must be 0 or 1"):
        bl.get_metric("f1").score([0, 2.0], [0.3, 0.6])


def _on_workers(metric, shards, link=None):
    """What each of len(shards) workers reports when its reduce all-reduces over the others."""
    import threading

    barrier, slots, lock = threading.Barrier(len(shards)), {}, threading.Lock()
    combine = {"sum": np.sum, "min": np.min, "max": np.max}

    def reduce(values, op="sum"):
        with lock:
            slots.setdefault("parts", []).append(np.asarray(values, dtype=np.float64))
        barrier.wait()
        result = combine[op](np.array(slots["parts"]), axis=0)
        if barrier.wait() == 0:
            slots.clear()
        barrier.wait()
        return result

    reports = [None] * len(shards)

    def work(i, y, raw, w):
        reports[i] = metric.evaluate(y, raw, w, link, reduce=reduce)

    threads = [threading.Thread(target=work, args=(i, *shard)) for i, shard in enumerate(shards)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return reports


@pytest.mark.parametrize("name", ["r2", "median_absolute_error", "f1", "brier", "mae"])
def test_metrics_over_workers_equal_the_whole_sets(name):
    """The statistics the Dask XGBoost metric all-reduces give every worker the metric of the
    union of their rows, a worker without rows included."""
    rng = np.random.default_rng(13)
    metric = bl.get_metric(name)
    classify = metric.task == "classification"
    y = (rng.random(90) < 0.4).astype(float) if classify else rng.normal(3, 2, 90)
    raw, w = rng.normal(0, 1.5, 90), rng.integers(1, 4, 90).astype(float)
    for weights in (w, None):
        whole = metric.evaluate(y, raw, weights)
        cuts = [0, 31, 31, 70, 90]  # the second worker has no rows
        shards = [(y[a:b], raw[a:b], None if weights is None else weights[a:b]) for a, b in itertools.pairwise(cuts)]
        reports = _on_workers(metric, shards)
        np.testing.assert_allclose(reports, whole, rtol=1e-12)
    even = np.arange(6.0)  # unweighted, even count: the median is a midpoint across two workers
    reports = _on_workers(bl.get_metric("median_absolute_error"), [(even[:3], np.zeros(3), None),
                                                                   (even[3:], np.zeros(3), None)])
    assert reports == [2.5, 2.5]


def test_catboost_refuses_to_add_up_blocks_of_a_metric_that_is_not_a_mean():
    r2 = bl.get_metric("r2")
    value, one = r2.sums(Y_REG, PRED_REG)
    assert one == 1.0 and r2.final(value, one) == pytest.approx(skm.r2_score(Y_REG, PRED_REG), rel=1e-12)
    with pytest.raises(RuntimeError, match="not a mean of rows.*2 blocks"):
        r2.final(2 * value, 2.0)


def test_smape_by_hand():
    y, pred, w = np.array([0.0, 0.0, 2.0, -1.0]), np.array([0.0, 3.0, 1.0, 1.0]), np.array([1, 1, 2, 1.0])
    rows = np.array([0.0, 2.0, 2 * 1 / 3, 2 * 2 / 2])  # 0/0 counts 0; a zero target missed counts 2
    assert bl.get_metric("smape").score(y, pred, w) == pytest.approx(np.average(rows, weights=w), rel=1e-14)


def test_mape_zero_target_raises_with_count():
    with pytest.raises(ValueError, match="MAPE.*2 of 5 targets are zero"):
        bl.get_metric("mape").score([1.0, 0.0, 2.0, 0.0, 3.0], np.ones(5))


def test_log_loss_matches_sklearn():
    y = (RNG.random(40) < 0.4).astype(float)
    p = RNG.uniform(0.01, 0.99, 40)
    metric, w = bl.get_metric("log_loss"), W[:40]
    assert metric.score(y, p, w) == pytest.approx(skm.log_loss(y, p, sample_weight=w), rel=1e-12)
    raw = RNG.normal(size=(40, 3)) * 2
    labels = np.arange(40) % 3
    probs = np.exp(raw) / np.exp(raw).sum(axis=1, keepdims=True)
    expected = skm.log_loss(labels, probs, sample_weight=w, labels=[0, 1, 2])
    assert metric.score(labels, probs, w) == pytest.approx(expected, rel=1e-12)
    assert metric.final(*metric.sums(labels, raw, w)) == pytest.approx(expected, rel=1e-12)  # softmax of raw
    expected = skm.log_loss(y, p, sample_weight=w)  # and from raw log-odds, through the sigmoid
    assert metric.final(*metric.sums(y, np.log(p / (1 - p)), w)) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("loss", LOSSES, ids=repr)
def test_loss_metric_sums(loss):
    rng = np.random.default_rng(2)
    y, w = sample(loss, 20, rng), rng.uniform(0.5, 2, 20)
    raw = scores(loss, 20, rng)
    if loss.round_statistic:  # GHM: the weights' density is a statistic of the whole set, (value, 1)
        frozen = loss.frozen_at(y, raw, w)
        assert LossMetric(loss).sums(y, raw, w) == (pytest.approx(np.dot(w, frozen.loss(y, raw)) / w.sum()), 1.0)
        assert LossMetric(loss).score(y, loss.inverse_link(raw), w) == pytest.approx(np.dot(w, frozen.loss(y, raw))
                                                                                      / w.sum(), rel=1e-9)
        return
    total, weight = LossMetric(loss).sums(y, raw, w)
    assert weight == pytest.approx(w.sum())
    assert total == pytest.approx(np.dot(w, loss.loss(y, raw)), rel=1e-13)
    assert LossMetric(loss).sums(y, raw) == (pytest.approx(loss.loss(y, raw).sum()), 20.0)
    if loss.link.invertible and not loss.is_multiclass:  # score() maps predictions back to raw scores
        assert LossMetric(loss).score(y, loss.inverse_link(raw), w) == pytest.approx(total / weight, rel=1e-9)
    elif not loss.is_multiclass:  # the margin losses' score() takes decision values
        assert LossMetric(loss).score(y, raw, w) == pytest.approx(total / weight, rel=1e-13)


def test_metric_sums_with_a_link():
    raw = np.log(PRED_REG.clip(0.1))
    total, weight = bl.get_metric("rmse").sums(Y_REG, raw, W, link=LogLink())
    assert bl.get_metric("rmse").final(total, weight) == pytest.approx(
        np.sqrt(skm.mean_squared_error(Y_REG, np.exp(raw), sample_weight=W)), rel=1e-12)
    assert total == pytest.approx(np.dot(W, (Y_REG - np.exp(raw)) ** 2)) and weight == pytest.approx(W.sum())
    # without a link a plain metric takes the raw scores as predictions
    assert bl.get_metric("mae").sums(Y_REG, raw)[0] == pytest.approx(np.abs(Y_REG - raw).sum())


# --------------------------------------------------------------------------- class_balanced_weights
def test_class_balanced_weights_formula():
    y = np.array([0] * 50 + [1] * 10 + [2])
    weights = bl.class_balanced_weights(y, beta=0.99)
    raw = np.array([(1 - 0.99) / (1 - 0.99**n) for n in (50, 10, 1)])
    np.testing.assert_allclose([weights[c] for c in (0, 1, 2)], raw * 3 / raw.sum(), rtol=1e-14)
    assert weights[2] > weights[1] > weights[0]
    for beta in (0.0, 0.5, 0.9999):
        assert sum(bl.class_balanced_weights(y, beta).values()) == pytest.approx(3.0)
    assert bl.class_balanced_weights(y, beta=0.0) == {0: 1.0, 1: 1.0, 2: 1.0}


def test_class_balanced_weights_string_labels_and_bad_beta():
    weights = bl.class_balanced_weights(["cat", "dog", "dog", "dog"], beta=0.9)
    assert set(weights) == {"cat", "dog"} and all(isinstance(k, str) for k in weights)
    assert weights["cat"] > weights["dog"] and sum(weights.values()) == pytest.approx(2.0)
    with pytest.raises(ValueError, match="beta"):
        bl.class_balanced_weights([0, 1], beta=1.0)


# --------------------------------------------------------------------------- inverse links
def test_inverse_links_at_extremes():
    raw = np.array([[700.0, -700.0, 0.0], [-700.0, -700.0, -700.0], [1e4, 1e4 - 1, -1e4]])
    p = bl.SoftmaxCrossEntropy().inverse_link(raw)
    assert np.isfinite(p).all() and (p >= 0).all()
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-15)
    np.testing.assert_allclose(p[1], 1 / 3)
    # sigmoid: 1 - 1e-304 rounds to 1 in float64, so +700 gives exactly 1; -700 stays positive
    p = bl.Logistic().inverse_link(np.array([-700.0, -50.0, 0.0, 50.0, 700.0]))
    assert np.isfinite(p).all() and (p > 0).all() and (p <= 1).all() and (np.diff(p) >= 0).all()
    assert p[2] == 0.5 and p[0] == pytest.approx(np.exp(-700.0), rel=1e-12)
    mu = bl.Poisson().inverse_link(np.array([-1e4, 0.0, 1e4]))
    assert mu[0] == np.exp(-MAX_EXP) and mu[1] == 1.0 and mu[2] == np.exp(MAX_EXP)  # clipped, finite


@pytest.mark.parametrize("loss", [bl.SquaredError(), bl.Gamma(), bl.Logistic(), bl.SoftmaxCrossEntropy()],
                         ids=repr)
def test_link_round_trip(loss):
    raw = np.random.default_rng(4).normal(size=(6, 3) if loss.is_multiclass else 6) * 3
    back = loss.link(loss.inverse_link(raw))
    if loss.is_multiclass:  # softmax raw scores are defined up to a per-row constant
        raw = raw - raw.mean(axis=1, keepdims=True)
    np.testing.assert_allclose(back, raw, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("labels", [[0, 1.5], [0, np.nan], [0, 3]])
def test_multiclass_derivatives_reject_labels_that_are_not_classes(labels):
    with pytest.raises(ValueError, match="SoftmaxCrossEntropy.*1 of 2 labels are not classes 0..2"):
        bl.SoftmaxCrossEntropy().grad_hess(labels, np.zeros((2, 3)))


# ---- values that stay finite wherever the exact result is finite (issue 19) -------------------
def test_mape_subnormal_targets_give_finite_hessians():
    """h / |y| rather than h * (1 / |y|): the reciprocal of a subnormal target overflows."""
    y, raw = np.array([1e-310]), np.array([1000.0])
    _, hess = bl.MAPE().grad_hess(y, raw)
    assert hess[0] == pytest.approx(1e-3 / 1e-310, rel=1e-12)  # 1 / max(|r|, eps) / |y|
    _, exact = bl.MAPE(hessian="exact").grad_hess(y, raw)
    assert exact[0] == 0.0


def test_secant_floor_survives_a_residual_sum_beyond_float64():
    """Residuals of 1e306 sum past float64's maximum; their mean does not."""
    n = 2000
    raw = np.where(np.arange(n) % 2, -1e306, 1e306)
    for loss in (bl.AbsoluteError(), bl.Quantile(0.3), bl.MAPE()):
        y = np.ones(n) if loss.name == "mape" else np.zeros(n)
        _, hess = loss.grad_hess(y, raw)
        assert np.isfinite(hess).all() and (hess > 0).all()
        scale = loss.boosting_scale(y, raw)
        assert scale.residual == pytest.approx(1e306, rel=1e-9) and np.isfinite(scale.factor)


@pytest.mark.parametrize("loss, y, raw, value", [
    (bl.SquaredError(), 0.0, 1.5e154, 1.125e308),  # r^2 alone overflows
    (bl.Expectile(0.3), 2.0e154, 0.0, 0.3 * 2.0e154 * 2.0e154),  # = 1.2e308
    (bl.Expectile(0.3), 0.0, 1.0e154, 0.7 * 1.0e154 * 1.0e154),
    (bl.PseudoHuber(delta=1e200), 0.0, 1e100, 0.5e200),  # delta^2 alone overflows; ~ r^2 / 2
    (bl.PseudoHuber(delta=1e-200), 0.0, 1e300, 1e100),  # ~ delta |r|
    (bl.Fair(c=1e200), 0.0, 1e100, 0.5e200),  # c^2 alone overflows
])
def test_loss_values_do_not_overflow_where_they_fit(loss, y, raw, value):
    assert loss.loss(np.array([y]), np.array([raw]))[0] == pytest.approx(value, rel=1e-12)


def test_squared_log_error_gradient_is_precise_near_the_optimum_for_large_targets():
    """d = log1p((raw - y) / (1 + y)): log1p(raw) - log1p(y) cancels (relative error 5e-3 before)."""
    y, raw = 1e12, 1e12 + 0.0999755859375  # the float64 nearest 1e12 + 0.1
    grad, _ = bl.SquaredLogError().exact_grad_hess(np.array([y]), np.array([raw]))
    expected = np.log1p((raw - y) / (1 + y)) / (1 + raw)  # = 9.99755859e-26
    assert grad[0] == pytest.approx(expected, rel=1e-13)


@pytest.mark.parametrize("make", [
    lambda: bl.Huber(delta="2"), lambda: bl.Quantile(alpha="0.9"), lambda: bl.Huber(delta=True),
    lambda: bl.Tweedie(power="1.5"), lambda: bl.Focal(gamma=[2]), lambda: bl.Huber().set_params(delta="3"),
])
def test_parameters_must_be_numbers_at_construction(make):
    with pytest.raises(ValueError, match="must be a number"):
        make()


@pytest.mark.parametrize("gamma, weights", [(5.0, [1e6, 1, 1e-6]), (2.0, [1e-6, 1, 1e6]), (0.5, [3, 1e-9, 1]),
                                            (0.0, [1e6, 1, 1e-6])])
def test_multiclass_focal_start_is_stationary_in_every_class_at_any_weight_scale(gamma, weights):
    """Each class's weighted gradient sum vanishes relative to its own size (a minimiser's
    tolerance on the whole gradient left the class of weight 1e-6 at 100% of its size)."""
    loss, y, w = bl.MulticlassFocal(gamma=gamma), np.array([0, 1, 2, 0, 1]), np.array([*weights, 1.0, 2.0])
    start = loss.init_score(y.astype(float), w, n_classes=3)
    g = loss.exact_grad_hess(y, np.tile(start, (y.size, 1)))[0] * w[:, None]
    assert np.all(np.abs(g.sum(axis=0)) <= 1e-10 * np.abs(g).sum(axis=0))
    assert start.sum() == pytest.approx(0.0, abs=1e-12)


def test_margin_losses_match_scikit_learns_sgd_losses():
    """hinge, squared_hinge, modified_huber and perceptron (hinge at threshold 0) are
    SGDClassifier's losses: same values and gradients on labels +-1, kinks included where ours
    takes the same side (perceptron: z = 0 counts as a mistake; hinge: z = 1 is settled, as
    XGBoost's binary:hinge, where scikit-learn counts it active)."""
    sgd = pytest.importorskip("sklearn.linear_model._sgd_fast")
    raw = np.concatenate([np.linspace(-4, 4, 81), [-1.0, 0.0, 1.0]])
    for ours, theirs, kinks in [(bl.Hinge(), sgd.Hinge(1.0), [1.0]), (bl.Perceptron(), sgd.Hinge(0.0), []),
                                (bl.SquaredHinge(), sgd.SquaredHinge(1.0), []),
                                (bl.ModifiedHuber(), sgd.ModifiedHuber(), [])]:
        if not hasattr(theirs, "py_loss"):
            pytest.skip("this scikit-learn has no py_loss on its SGD losses")
        for label in (0.0, 1.0):
            y = np.full(raw.size, label)
            s = 2 * label - 1
            keep = ~np.isin(s * raw, kinks)
            want = np.array([theirs.py_loss(r, s) for r in raw])
            dwant = np.array([theirs.py_dloss(r, s) for r in raw])
            np.testing.assert_allclose(ours.loss(y, raw), want, rtol=1e-15, atol=0, err_msg=ours.name)
            g, _ = ours.grad_hess(y, raw)
            np.testing.assert_allclose(g[keep], dwant[keep], rtol=1e-15, atol=0, err_msg=ours.name)


def test_margin_losses_links_and_policies():
    y = np.array([0.0, 1.0, 0.0, 1.0])
    g, h = bl.Perceptron(hessian="active").grad_hess(y, np.array([0.0, 0.0, -0.5, -0.5]))
    np.testing.assert_array_equal(g, [1, -1, 0, -1])  # a zero margin is a mistake, for both labels
    np.testing.assert_array_equal(h, [1, 1, 0, 1])
    g, h = bl.Hinge(hessian="active").grad_hess(y, np.array([-1.0, 1.0, -0.5, 2.0]))
    np.testing.assert_array_equal(g, [0, 0, 1, 0])
    np.testing.assert_array_equal(h, [0, 0, 1, 0])
    np.testing.assert_array_equal(bl.Hinge().grad_hess(y, np.zeros(4))[1], 1.0)  # unit: every row
    g, h = bl.SquaredHinge(hessian="exact").grad_hess(y, np.array([-2.0, 0.5, 0.5, 3.0]))
    np.testing.assert_array_equal(g, [0, -1, 3, 0])
    np.testing.assert_array_equal(h, [0, 2, 2, 0])
    np.testing.assert_array_equal(bl.SquaredHinge().grad_hess(y, np.array([-2.0, 3.0, 0, 0]))[1], 2.0)
    g, h = bl.ModifiedHuber(hessian="exact").grad_hess(y, np.array([5.0, -5.0, 0.0, 0.0]))
    np.testing.assert_array_equal(g, [4, -4, 2, -2])
    np.testing.assert_array_equal(h, [0, 0, 2, 2])
    np.testing.assert_array_equal(bl.Hinge().inverse_link([-0.5, 0.0, 0.5]), [0, 0, 1])
    np.testing.assert_allclose(bl.ModifiedHuber().inverse_link([-3.0, 0.0, 0.5, 3.0]), [0, 0.5, 0.75, 1])
    assert bl.SquaredHinge().init_score([1, 1, 1, 0]) == pytest.approx(0.5)
    assert bl.Hinge().init_score([1, 1, 1, 0], [1, 1, 1, 4]) == -(1 - 2.0**-20)
    assert bl.Perceptron().init_score([1, 1, 1, 0]) == 0.0


def test_dice_is_the_per_row_dice_with_the_squared_denominator_and_starts_at_its_global_minimum():
    rng = np.random.default_rng(11)
    y, raw = (rng.random(300) < 0.3).astype(float), rng.normal(0, 4, 300)
    for eps in (1e-4, 1.0, 5.0):
        p = special.expit(raw)
        want = 1 - (2 * p * y + eps) / (p**2 + y**2 + eps)
        np.testing.assert_allclose(bl.Dice(eps=eps).loss(y, raw), want, rtol=1e-12, atol=1e-15)
    # eps = 1e-4 on balanced classes: two local minima of the mean loss (near -9.2 and +8.5)
    loss, labels = bl.Dice(eps=1e-4), np.array([0.0, 1.0])
    grid = np.linspace(-30, 30, 60001)
    zeros, ones = np.zeros(grid.size), np.ones(grid.size)
    mean = 0.5 * (loss.loss(zeros, grid) + loss.loss(ones, grid))
    slope = loss.exact_grad_hess(zeros, grid)[0] + loss.exact_grad_hess(ones, grid)[0]
    minima = grid[1:][(slope[:-1] < 0) & (slope[1:] >= 0)]
    assert minima.size == 2 and minima[0] < -9 and minima[1] > 8
    start = loss.init_score(labels)
    assert start == pytest.approx(grid[np.argmin(mean)], abs=2e-3) and start < -9
    g = loss.exact_grad_hess(labels, np.full(2, start))[0]
    assert abs(g.sum()) < 1e-12
    with pytest.raises(ValueError, match="Dice: eps must be finite and > 0, got 0"):
        bl.get_loss("dice:eps=0")
    with pytest.raises(ValueError, match="does not apply to boosting.*even in F"):
        bl.get_loss("dsc")


def test_multiclass_hinge_is_torchs_multi_margin_and_keras_categorical_hinge():
    rng = np.random.default_rng(14)
    y, raw = rng.integers(0, 4, 200).astype(float), rng.normal(0, 2, (200, 4))
    rows, labels = np.arange(200), y.astype(int)
    u = 0.7 - raw[rows, labels][:, None] + raw  # torch: sum over j != y of max(0, margin - x_y + x_j)^p / k
    u[rows, labels] = -np.inf
    weight = np.array([1.0, 2.0, 0.5, 3.0])
    for p, name in [(1, "multiclass_hinge"), (2, "multiclass_squared_hinge")]:
        torch = weight[labels] * np.sum(np.maximum(u, 0.0) ** p, axis=1) / 4
        ours = bl.get_loss(f"multi_margin:p={p},margin=0.7,weight=[1, 2, 0.5, 3]")
        assert ours.name == name
        np.testing.assert_allclose(ours.loss(y, raw) / 4, torch, rtol=1e-14)
    keras = np.maximum(0.0, 1.0 + np.max(np.where(np.eye(4)[labels] == 1, -np.inf, raw), axis=1)
                       - raw[rows, labels])
    np.testing.assert_allclose(bl.get_loss("categorical_hinge").loss(y, raw), keras, rtol=1e-14)
    # gradients: Weston-Watkins counts every violating class, Crammer-Singer the highest only
    g, h = bl.MulticlassHinge(form="weston_watkins").grad_hess([0.0], [[0.0, 0.5, -0.2, -3.0]])
    np.testing.assert_array_equal(g, [[-2, 1, 1, 0]])
    np.testing.assert_array_equal(h, [[1, 1, 1, 1]])  # unit
    g, h = bl.MulticlassHinge(form="crammer_singer", hessian="active").grad_hess([0.0], [[0.0, 0.5, -0.2, -3.0]])
    np.testing.assert_array_equal(g, [[-1, 1, 0, 0]])
    np.testing.assert_array_equal(h, [[1, 1, 0, 0]])
    g, h = bl.MulticlassSquaredHinge(form="weston_watkins").grad_hess([0.0], [[0.0, 0.5, -0.2, -3.0]])
    np.testing.assert_allclose(g, [[-4.6, 3.0, 1.6, 0.0]], rtol=1e-14)
    np.testing.assert_array_equal(h, [[6, 2, 2, 2]])  # constant: 2 (k - 1) on the true class
    with pytest.raises(ValueError, match="multi_margin' takes p = 1 or 2, got 3"):
        bl.get_loss("multi_margin:p=3")
    with pytest.raises(ValueError, match="form must be one of"):
        bl.MulticlassHinge(form="ww")


@pytest.mark.parametrize("multiclass, binary", [
    ("multiclass_hinge", "hinge"), ("multiclass_squared_hinge:hessian=exact", "squared_hinge:hessian=exact"),
    ("multiclass_hinge:form=weston_watkins", "hinge")])
def test_multiclass_hinge_on_two_classes_is_the_binary_hinge(multiclass, binary):
    rng = np.random.default_rng(15)
    y, F = (rng.random(100) < 0.4).astype(float), rng.normal(0, 2, 100)
    wide, narrow = bl.get_loss(multiclass), bl.get_loss(binary)
    scores = np.column_stack([np.zeros(100), F])
    np.testing.assert_allclose(wide.loss(y, scores), narrow.loss(y, F), rtol=1e-14)
    np.testing.assert_allclose(wide.exact_grad_hess(y, scores)[0][:, 1], narrow.exact_grad_hess(y, F)[0], rtol=1e-14)
    assert narrow.multiclass_form() is None or narrow.multiclass_form().name == wide.name
    assert not wide.link.gives_probabilities and wide.inverse_link(scores).tolist() == (F > 0).astype(float).tolist()


def test_soft_labels_are_the_kl_divergence_and_keep_the_label_check_otherwise():
    rng = np.random.default_rng(3)
    t, raw, w = rng.random(200), rng.normal(0, 3, 200), rng.uniform(0.5, 2, 200)
    soft = bl.get_loss("logistic:soft_labels=True")
    p = special.expit(raw)
    kl = special.rel_entr(t, p) + special.rel_entr(1 - t, 1 - p)
    at_t = soft.loss(t, special.logit(np.clip(t, 1e-300, None)))
    np.testing.assert_allclose(soft.loss(t, raw) - at_t, kl, rtol=1e-9, atol=1e-12)  # minus the entropy of t
    assert soft.init_score(t, w) == pytest.approx(special.logit(np.average(t, weights=w)), rel=1e-12)
    with pytest.raises(ValueError, match=r"labels must be 0 or 1; 200 of 200 rows.*soft_labels=True"):
        bl.Logistic().validate(t)
    with pytest.raises(ValueError, match=r"labels must be 0 or 1; 1 of 3 rows have other values$"):
        bl.Logistic().validate([0, 1, 3.0])  # a regression target: no soft-label hint
    with pytest.raises(ValueError, match=r"soft labels must lie in \[0, 1\]; 2 of 4 rows are outside"):
        soft.validate([0.2, -0.1, 1.5, 1.0])
    with pytest.raises(ValueError, match="soft_labels must be True or False, got 'yes'"):
        bl.get_loss("logistic:soft_labels='yes'")
    with pytest.raises(ValueError, match="soft_labels has no meaning for more than two classes"):
        soft.multiclass_form()


def test_pytorch_and_keras_names_give_boostloss_losses():
    from boostloss.registry import ALIASES, NOT_APPLICABLE, NOT_YET

    assert bl.get_loss("smooth_l1:beta=2") == bl.Huber(delta=2)
    assert bl.get_loss("smooth_l1") == bl.Huber(delta=1.0)  # torch's default beta
    assert bl.get_loss("cross_entropy:weight=[1, 2],label_smoothing=0.1") == bl.SoftmaxCrossEntropy(
        class_weight=[1, 2], label_smoothing=0.1)
    assert bl.get_loss("bce_with_logits", pos_weight=3.0) == bl.Logistic(pos_weight=3.0)
    assert bl.get_loss("kl_div") == bl.Logistic(soft_labels=True)
    assert bl.get_metric("l1").loss == bl.AbsoluteError() and bl.get_metric("mae").name == "mae"
    for alias, (target, _, _, _) in ALIASES.items():
        assert bl.get_loss(alias).name == target, alias
    # the relations the notes state, on a grid of residuals
    r = np.linspace(-5, 5, 101)
    y = np.zeros_like(r)
    beta = 2.0
    torch_smooth_l1 = np.where(np.abs(r) < beta, 0.5 * r**2 / beta, np.abs(r) - 0.5 * beta)
    np.testing.assert_allclose(bl.get_loss(f"smooth_l1:beta={beta}").loss(y, r) / beta, torch_smooth_l1, rtol=1e-14)
    np.testing.assert_allclose(2 * bl.get_loss("mse").loss(y, r), r**2, rtol=1e-14)
    counts, raw = np.array([0.0, 1.0, 4.0]), np.array([0.3, -1.0, 2.0])
    gap = bl.get_loss("poisson_nll").loss(counts, raw) - (np.exp(raw) - counts * raw)  # torch's, full=False
    np.testing.assert_allclose(gap, special.xlogy(counts, counts) - counts, atol=1e-12)  # a term of y alone
    labels, margins = np.array([0.0, 1.0, 1.0]), np.array([0.5, -2.0, 3.0])
    np.testing.assert_allclose(bl.get_loss("soft_margin").loss(labels, margins),
                               np.log1p(np.exp(-(2 * labels - 1) * margins)), rtol=1e-14)
    for name, why in NOT_APPLICABLE.items():
        with pytest.raises(ValueError, match=f"loss '{name}' does not apply to boosting: " + re.escape(why)):
            bl.get_loss(name)
    for name in NOT_YET:
        with pytest.raises(ValueError, match=f"loss '{name}' .* is not in boostloss yet"):
            bl.get_loss(name)
    with pytest.raises(ValueError, match="loss 'kl_div' is logistic with .*soft_labels.*; it takes no soft_labels"):
        bl.get_loss("kl_div:soft_labels=False")


# --------------------------------------------------------------------------- GHM
def paper_ghm_weights(y, raw, bins, w=None):
    """GHM-C's row weights as the authors' code computes them (``tot / num_in_bin / n``, momentum 0),
    the rows counted with their weights."""
    w = np.ones_like(y) if w is None else w
    u = np.abs(special.expit(raw) - y)
    edges = np.arange(bins + 1) / bins
    edges[-1] += 1e-6
    beta, n = np.zeros_like(y), 0
    for lo, hi in itertools.pairwise(edges):
        rows = (u >= lo) & (u < hi)
        if rows.any():
            beta[rows] = w.sum() / w[rows].sum()
            n += 1
    return beta / n


def moving_shares(rounds, bins, momentum):
    """Bias-corrected moving average of each bin's share over the rounds' counts (``GHM``'s docstring)."""
    average, k = np.zeros(bins), np.zeros(bins)
    for counts in rounds:
        held = counts > 0
        average[held] = momentum * average[held] + (1 - momentum) * counts[held] / counts.sum()
        k += held
    return average / (1 - momentum ** k), held


@pytest.mark.parametrize("bins", [1, 3, 10, 30])
def test_ghm_weights_are_the_papers_inverse_gradient_density(bins):
    rng = np.random.default_rng(0)
    y, raw, w = (rng.random(500) < 0.2).astype(float), rng.normal(-1, 3, 500), rng.uniform(0.2, 3, 500)
    loss = bl.GHM(bins=bins, momentum=0.0)
    for weights in (None, w):
        beta = paper_ghm_weights(y, raw, bins, weights)
        np.testing.assert_allclose(loss.row_weights(y, raw, weights), beta, rtol=1e-12)
        assert np.average(beta, weights=weights) == pytest.approx(1.0)  # divided by n: the weights average 1
        ce = np.where(y == 1, np.logaddexp(0, -raw), np.logaddexp(0, raw))
        g, h = loss.grad_hess(y, raw, weights)
        wt = 1.0 if weights is None else weights
        np.testing.assert_allclose(g, wt * beta * (special.expit(raw) - y), rtol=1e-12, atol=1e-300)
        np.testing.assert_allclose(h, wt * beta * special.expit(raw) * special.expit(-raw), rtol=1e-12)
        assert LossMetric(loss).evaluate(y, raw, weights) == pytest.approx(np.average(beta * ce, weights=weights))
    # the momentum does not enter a single batch: its first share is taken as it is
    np.testing.assert_allclose(bl.GHM(bins=bins).grad_hess(y, raw, w)[0], loss.grad_hess(y, raw, w)[0], rtol=1e-15)


def test_ghm_round_state_is_the_bias_corrected_moving_average_of_each_round():
    rng = np.random.default_rng(1)
    bins, momentum = 6, 0.75
    rounds = [rng.integers(0, 50, bins).astype(float) for _ in range(5)]
    rounds[2][[0, 4]] = 0  # bins without rows that round keep their average
    state = bl.GHM(bins=bins, momentum=momentum).round_state()
    for i, counts in enumerate(rounds):
        table = state.weigh(counts)
        shares, held = moving_shares(rounds[:i + 1], bins, momentum)
        np.testing.assert_allclose(table[held], 1 / (held.sum() * shares[held]), rtol=1e-12)
    # constant counts: the corrected average is the round's share, every round (no 1 / (1 - momentum))
    steady = bl.GHM(bins=bins, momentum=momentum).round_state()
    tables = [steady.weigh(rounds[0]).copy() for _ in range(4)]
    np.testing.assert_allclose(tables, [bl.GHM(bins=bins, momentum=0).round_state().weigh(rounds[0])] * 4, rtol=1e-12)
    # a state pickles with its average, and goes on as the original does
    copy = pickle.loads(pickle.dumps(state))
    np.testing.assert_array_equal(copy.weigh(rounds[1]), state.weigh(rounds[1]))


def test_ghm_lagged_state_weighs_a_round_by_the_rounds_before_and_adds_up_its_blocks():
    rng = np.random.default_rng(2)
    y, raw = (rng.random(900) < 0.3).astype(float), rng.normal(0, 2, 900)
    loss = bl.GHM(bins=5)
    lagged, direct = loss.round_state(lagged=True), loss.round_state()
    tables = [lagged.weigh(loss.counts(y[rows], raw[rows])).copy() for rows in np.array_split(np.arange(900), 4)]
    np.testing.assert_array_equal(tables, np.ones((4, 5)))  # the first round: weight 1, as at the start
    lagged.end_round()
    expected = direct.weigh(loss.counts(y, raw))
    np.testing.assert_allclose(lagged.table, expected, rtol=1e-12)  # the blocks' counts add up to the round's
    assert lagged.weigh(loss.counts(y, raw)) is lagged.table  # the next round's blocks: the first round's density
    # a bin that never held rows takes the largest weight of those that did
    sparse = loss.round_state()
    table = sparse.weigh(np.array([5.0, 0.0, 1.0, 0.0, 2.0]))
    assert table[1] == table[3] == table.max() == table[2]


def test_ghm_starts_from_the_minimum_of_its_mean_loss_over_constants():
    rng = np.random.default_rng(3)
    y, w = (rng.random(400) < 0.15).astype(float), rng.uniform(0.5, 2, 400)
    grid = np.linspace(-6, 6, 2401)
    for bins in (1, 2, 5, 10, 11):
        loss = bl.GHM(bins=bins)
        start = loss.init_score(y, w)
        values = [LossMetric(loss).evaluate(y, np.full(y.size, c), w) for c in grid]
        assert LossMetric(loss).evaluate(y, np.full(y.size, start), w) <= min(values) + 1e-12
        # at the start both classes share one bin (an even count: F = 0, both norms 1/2)
        assert np.count_nonzero(loss.counts(y, np.full(y.size, start))) == 1
    assert bl.GHM(bins=10).init_score(y, w) == 0.0
    assert bl.GHM(bins=1).init_score(y, w) == pytest.approx(bl.Logistic().init_score(y, w), abs=1e-9)
    # five bins: the middle one holds p in (0.4, 0.6); the mean label 0.15 is clipped to its edge
    assert special.expit(bl.GHM(bins=5).init_score(y, w)) == pytest.approx(0.4, abs=1e-9)
    with pytest.raises(ValueError, match="GHM.*infinite"):
        bl.GHM().init_score([1.0, 1.0])


def test_ghm_parameters_sums_and_names():
    for bad in ({"bins": 0}, {"bins": 2.5}, {"bins": True}, {"momentum": 1.0}, {"momentum": -0.1}):
        with pytest.raises(ValueError, match="GHM: (bins|momentum)"):
            bl.GHM(**bad)
    with pytest.raises(ValueError, match="statistic of each whole training round"):
        0.5 * bl.GHM() + bl.Logistic()
    assert bl.get_loss("ghm:bins=30,momentum=0.5") == bl.GHM(bins=30, momentum=0.5)
    assert clone(bl.GHM(bins=7)) == bl.GHM(bins=7) and pickle.loads(pickle.dumps(bl.GHM())) == bl.GHM()
    with pytest.raises(ValueError, match="labels must be 0 or 1; 3 of 100"):
        bl.GHM().validate(with_bad([0, 1], 0.5))


def test_ghm_with_one_bin_is_the_logistic_loss_and_zero_weight_rows_count_nothing():
    rng = np.random.default_rng(5)
    y, raw, w = (rng.random(300) < 0.3).astype(float), rng.normal(0, 4, 300), rng.uniform(0, 2, 300)
    w[:40] = 0.0
    for got, want in zip(bl.GHM(bins=1).grad_hess(y, raw, w), bl.Logistic().grad_hess(y, raw, w), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-15)
    loss = bl.GHM(bins=8)
    g, h = loss.grad_hess(y, raw, w)
    assert (g[:40] == 0).all() and (h[:40] == 0).all()
    np.testing.assert_allclose(loss.row_weights(y, raw, w)[40:], loss.row_weights(y[40:], raw[40:], w[40:]),
                               rtol=1e-12)  # the density ignores them
