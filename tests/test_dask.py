"""Distributed training: boostloss on a Dask LocalCluster with xgboost.dask and lightgbm.dask.

* agreement: for squared error, Huber, quantile and logistic on each booster, the distributed
  model predicts what the single-machine model (``boostloss.sklearn``, same data and settings)
  predicts, to the tolerance the booster itself achieves between its distributed and local
  built-in twin objective, measured here on the same data;
* the start (intercept) and the weights survive distribution; ``bl.dask.init_score`` equals
  ``loss.init_score`` for every loss, on continuous and on discrete targets;
* bad input in one partition raises the one-machine ValueError before training;
* the objects pickle, the XGBoost metric is exact across workers, labels of any type.

The data live on both workers (blocks of 1000 rows, alternating). Features take 64 levels (no zeros), fewer than
either booster's bins, so distributed and local histograms have the same bins; LightGBM runs
with ``min_child_samples=1`` because in data-parallel mode it estimates leaf row counts from
Hessian sums differently from the serial learner, so with a non-constant Hessian its default
``min_child_samples=20`` binds differently (its own ``binary`` objective then disagrees with itself
by 0.25-0.45 of the score spread on this data).
"""

import pickle
import re

import numpy as np
import pytest
from scipy.special import expit

import boostloss as bl
from boostloss.metrics import LossMetric

pytest.importorskip("distributed")
da = pytest.importorskip("dask.array")
dd = pytest.importorskip("dask.dataframe")
xgb = pytest.importorskip("xgboost")
lgb = pytest.importorskip("lightgbm")
xgb_dask = pytest.importorskip("xgboost.dask")
lgb_dask = pytest.importorskip("lightgbm.dask")

import boostloss.dask as bld  # noqa: E402
from boostloss.sklearn import BoostClassifier, BoostRegressor  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:Parameter n_jobs will be ignored")  # lightgbm.dask, always

N, BLOCK = 4000, 1000
XGB = {"n_estimators": 10, "max_depth": 3, "learning_rate": 0.3, "random_state": 0}
LGB = {"n_estimators": 10, "num_leaves": 8, "learning_rate": 0.3, "random_state": 0, "verbose": -1,
       "min_child_samples": 1}
FLOAT32_FLOOR = 1e-6  # relative noise of float32 margins: the least tolerance worth stating
BOOSTERS = {
    # name: (distributed regressor, distributed classifier, local regressor, local classifier)
    "xgboost": (lambda: xgb_dask.DaskXGBRegressor(**XGB), lambda: xgb_dask.DaskXGBClassifier(**XGB),
                lambda: xgb.XGBRegressor(**XGB, n_jobs=1), lambda: xgb.XGBClassifier(**XGB, n_jobs=1)),
    "lightgbm": (lambda: lgb_dask.DaskLGBMRegressor(**LGB), lambda: lgb_dask.DaskLGBMClassifier(**LGB),
                 lambda: lgb.LGBMRegressor(**LGB, n_jobs=1, deterministic=True),
                 lambda: lgb.LGBMClassifier(**LGB, n_jobs=1, deterministic=True)),
}
LOSSES = {"squared_error": bl.SquaredError(), "huber": bl.Huber(delta=1.0), "quantile": bl.Quantile(alpha=0.9),
          "logistic": bl.Logistic()}
# each loss's built-in twin: (XGBoost objective, LightGBM objective); XGBoost has pseudo-Huber only
TWINS = {"squared_error": ("reg:squarederror", "regression"), "huber": ("reg:pseudohubererror", "huber"),
         "quantile": ("reg:quantileerror", "quantile"), "logistic": ("binary:logistic", "binary")}


def gap(distributed, local):
    """Largest difference relative to the spread of the local scores."""
    distributed, local = np.asarray(distributed, dtype=np.float64), np.asarray(local, dtype=np.float64)
    return float(np.max(np.abs(distributed - local)) / max(np.std(local), 1e-12))


# --------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def client():
    from distributed import Client, LocalCluster

    # processes: LightGBM's network and XGBoost's communicator are per-process state
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        yield client


def spread(client, array, block=BLOCK, placement=None):
    """A Dask array of ``array`` in blocks of ``block`` rows, block ``i`` on worker
    ``placement[i]`` (default: alternating between the workers)."""
    workers = sorted(client.scheduler_info()["workers"])
    blocks = []
    for i, start in enumerate(range(0, len(array), block)):
        part = array[start:start + block]
        where = i % len(workers) if placement is None else placement[i]
        # hash=False: a block scattered again (another layout) gets a key of its own, instead of
        # the existing one being replicated, which would move other tests' data
        future = client.scatter(part, workers=[workers[where]], hash=False)
        blocks.append(da.from_delayed(future, shape=part.shape, dtype=part.dtype))
    return da.concatenate(blocks)


@pytest.fixture(scope="module")
def data(client):
    rng = np.random.default_rng(0)
    X = (rng.integers(-32, 32, size=(N, 5)) + 0.5) / 8.0
    f = X[:, 0] + 0.5 * np.sin(X[:, 1])
    local = {"X": X, "y": 3 * f + rng.standard_t(3, size=N), "binary": (rng.random(N) < expit(f)).astype(float),
             "w": rng.gamma(2.0, 1.0, size=N)}
    arrays = {k: spread(client, v) for k, v in local.items()}
    assert all(len(keys) == 2 * len(arrays) for keys in client.has_what().values())
    return local, arrays


def fit_both(booster, loss, local, arrays, target):
    """Raw scores of the distributed and the single-machine boostloss estimator on the same data."""
    d_reg, d_clf, l_reg, l_clf = BOOSTERS[booster]
    classify = isinstance(loss, bl.Logistic)
    dist = (bld.BoostClassifier(d_clf(), loss) if classify else bld.BoostRegressor(d_reg(), loss))
    dist.fit(arrays["X"], arrays[target], sample_weight=arrays["w"])
    one = (BoostClassifier(l_clf(), loss) if classify else BoostRegressor(l_reg(), loss))
    one.fit(local["X"], local[target], sample_weight=local["w"])
    return dist, one


@pytest.fixture(scope="module")
def builtin_gaps(data):
    """Each booster's own distributed-vs-local gap with the built-in twin of each loss (weighted)."""
    local, arrays = data
    gaps = {}
    for name, (xgb_objective, lgb_objective) in TWINS.items():
        target = "binary" if name == "logistic" else "y"
        for booster, objective in (("xgboost", xgb_objective), ("lightgbm", lgb_objective)):
            params = {"objective": objective}
            if name == "quantile":
                params["quantile_alpha" if booster == "xgboost" else "alpha"] = 0.9
            d_reg, _, l_reg, _ = BOOSTERS[booster]
            dist = d_reg().set_params(**params).fit(arrays["X"], arrays[target], sample_weight=arrays["w"])
            one = l_reg().set_params(**params).fit(local["X"], local[target], sample_weight=local["w"])
            key = "output_margin" if booster == "xgboost" else "raw_score"
            gaps[booster, name] = gap(dist.predict(arrays["X"], **{key: True}).compute(),
                                      one.predict(local["X"], **{key: True}))
    print("\nbuilt-in twins, distributed vs local:", {k: f"{v:.3g}" for k, v in gaps.items()})
    return gaps


# --------------------------------------------------------------------------- agreement
@pytest.mark.parametrize("name", list(LOSSES))
@pytest.mark.parametrize("booster", list(BOOSTERS))
def test_distributed_predictions_agree_with_one_machine(booster, name, data, builtin_gaps):
    local, arrays = data
    loss = LOSSES[name]
    dist, one = fit_both(booster, loss, local, arrays, "binary" if name == "logistic" else "y")
    score = "decision_function" if name == "logistic" else "predict"  # raw scores, identity link
    measured = gap(getattr(dist, score)(arrays["X"]).compute(), getattr(one, score)(local["X"]))
    tolerance = max(2 * builtin_gaps[booster, name], FLOAT32_FLOOR)
    print(f"\n{booster} {name}: boostloss gap {measured:.3g}, built-in twin gap {builtin_gaps[booster, name]:.3g}")
    assert measured <= tolerance
    np.testing.assert_allclose(dist.init_score_, one.init_score_, rtol=1e-12, atol=1e-12)
    if name == "logistic":
        proba = dist.predict_proba(arrays["X"]).compute()
        np.testing.assert_allclose(proba, one.predict_proba(local["X"]), atol=1e-6 + 2 * measured)
        assert set(dist.predict(arrays["X"]).compute()) <= {0.0, 1.0}


@pytest.mark.parametrize("booster", list(BOOSTERS))
def test_distribution_is_exact_for_losses_without_batch_statistics(booster, data):
    """With a unit Hessian the derivatives are row by row, and the distributed model is the
    local one (up to float32 rounding): whatever gap the defaults show comes from per-batch
    statistics of the Hessian policy (see the report in boostloss.dask's tests)."""
    local, arrays = data
    # Dask objectives take one Newton step per leaf (no refits): the local twin is refit=False
    for loss in (bl.Quantile(alpha=0.9, hessian="unit", refit=False), bl.AbsoluteError(hessian="unit", refit=False)):
        dist, one = fit_both(booster, loss, local, arrays, "y")
        assert gap(dist.predict(arrays["X"]).compute(), one.predict(local["X"])) <= FLOAT32_FLOOR


# --------------------------------------------------------------------------- intercept and weights
@pytest.mark.parametrize("booster", list(BOOSTERS))
def test_intercept_and_weights_survive_distribution(booster, data):
    local, arrays = data
    rng = np.random.default_rng(1)
    y = 1e4 + 100 * local["X"][:, 0] + rng.normal(size=N)
    w = np.where(y > 1e4, 5.0, 1.0)  # weighted mean well above the unweighted one
    dy, dw = da.from_array(y, chunks=BLOCK), da.from_array(w, chunks=BLOCK)
    for loss in (bl.SquaredError(), bl.Huber(delta=1.0)):
        d_reg = BOOSTERS[booster][0]
        model = bld.BoostRegressor(d_reg().set_params(n_estimators=1, learning_rate=0.1), loss)
        pred = model.fit(arrays["X"], dy, sample_weight=dw).predict(arrays["X"]).compute()
        start = loss.init_score(y, w)
        assert model.init_score_[0] == pytest.approx(start, rel=1e-15, abs=1e-9)
        assert start - np.average(y) > 20  # the weights moved the start
        # one round of learning rate 0.1 moves the predictions by at most a tenth of the residuals
        assert abs(np.average(pred, weights=w) - start) <= 0.1 * np.abs(y - start).max()
        # near the weighted mean of the targets (a zero start would predict about 1e3 after one round)
        assert abs(np.average(pred, weights=w) - np.average(y, weights=w)) < 0.01 * 1e4


def test_init_score_equals_one_machine_for_every_loss(client):
    rng = np.random.default_rng(2)
    n = 6000
    continuous = rng.standard_t(3, size=n) * 3 + 10
    positive = np.exp(rng.normal(size=n))
    cases = {  # loss: targets (continuous: the root search; few distinct values: the exact summary)
        "squared_error": continuous, "absolute_error": continuous, "huber:delta=2": continuous,
        "pseudo_huber": continuous, "log_cosh": continuous, "quantile:alpha=0.9": continuous,
        "quantile:alpha=0.25": np.round(continuous), "expectile:alpha=0.8": continuous, "fair": continuous,
        "mape": continuous, "squared_log_error": positive, "poisson": np.where(positive < 1, 0.0, positive),
        "gamma": positive, "tweedie": rng.poisson(2.0, size=n).astype(float),
        "logistic:pos_weight=2,label_smoothing=0.1": (positive > 1).astype(float), "focal": (positive > 1) * 1.0,
        "exponential": (positive > 0.5) * 1.0, "symmetric_cross_entropy": (positive > 2) * 1.0,
        "dice": (positive > 1.5) * 1.0,
        "hinge": (positive > 1) * 1.0, "squared_hinge": (positive > 0.8) * 1.0,
        "softmax_cross_entropy:label_smoothing=0.1": rng.integers(0, 4, size=n).astype(float),
        "multiclass_focal": rng.integers(0, 3, size=n).astype(float),
        "multiclass_symmetric_cross_entropy": rng.integers(0, 3, size=n).astype(float),
        "multiclass_hinge": rng.integers(0, 3, size=n).astype(float),
        "multiclass_squared_hinge:form=weston_watkins": rng.integers(0, 4, size=n).astype(float),
    }
    w = rng.gamma(2.0, 1.0, size=n)
    dw = da.from_array(w, chunks=1500)
    for spec, y in cases.items():
        loss = bl.get_loss(spec)
        for weights, dweights in ((None, None), (w, dw)):
            got = bld.init_score(loss, da.from_array(y, chunks=1500), dweights)
            want = loss.init_score(y, weights)
            # multiclass focal: L-BFGS to its own tolerance, from the summary instead of the rows;
            # the squared multiclass hinge: SLSQP's (its quadratic programme)
            solved = spec.startswith(("multiclass_focal", "multiclass_squared_hinge"))
            atol = 1e-8 if solved else 1e-13 * np.abs(y).max()
            np.testing.assert_allclose(got, want, rtol=1e-13, atol=atol, err_msg=spec)
    # the tie rule of the weighted median: an even number of rows, cumulative weight exactly 1/2
    y = np.concatenate([rng.normal(size=n // 2) - 10, rng.normal(size=n // 2) + 10])
    assert bld.init_score("absolute_error", da.from_array(y, chunks=1000)) == bl.AbsoluteError().init_score(y)
    # a Dask DataFrame column and Series, and a tolerance
    frame = dd.from_pandas(__import__("pandas").DataFrame({"y": continuous, "w": w}), npartitions=3)
    assert bld.init_score("huber", frame["y"], frame["w"]) == pytest.approx(bl.Huber().init_score(continuous, w),
                                                                             rel=1e-14)
    assert bld.init_score("quantile:alpha=0.9", frame[["y"]], tol=1e-3) == pytest.approx(
        bl.Quantile(alpha=0.9).init_score(continuous), abs=1e-3)


# --------------------------------------------------------------------------- bad input
def one_machine_error(loss, y, w=None):
    """The message of the ValueError that ``loss.init_score`` (which validates first) raises on one machine."""
    with pytest.raises(ValueError) as info:
        loss.init_score(y, w)
    return str(info.value)


@pytest.mark.parametrize("booster", list(BOOSTERS))
def test_bad_input_in_one_partition_raises_the_one_machine_error_before_training(booster, data, monkeypatch):
    local, arrays = data
    d_reg = BOOSTERS[booster][0]
    estimator = d_reg()

    def no_training(*args, **kwargs):
        raise AssertionError("training started")

    monkeypatch.setattr(type(estimator), "fit", no_training)
    y, w = local["y"].copy(), local["w"].copy()
    y_nan = y.copy()
    y_nan[2500] = np.nan
    negative = np.abs(y)
    negative[[10, 3999]] = -1.0  # one row in the first partition, one in the last
    w_bad = w.copy()
    w_bad[1500] = -2.0
    cases = [(bl.SquaredError(), y_nan, None), (bl.Poisson(), negative, None), (bl.Huber(), y, w_bad),
             (bl.Quantile(alpha=0.9), y_nan, w_bad)]
    for loss, target, weights in cases:
        message = one_machine_error(loss, target, weights)
        dweights = None if weights is None else da.from_array(weights, chunks=BLOCK)
        with pytest.raises(ValueError) as info:
            bld.BoostRegressor(estimator, loss).fit(arrays["X"], da.from_array(target, chunks=BLOCK),
                                                   sample_weight=dweights)
        assert str(info.value) == message
    assert "2 of 4000 targets lie outside" in one_machine_error(bl.Poisson(), negative)


def test_bad_labels_and_weights_raise_the_one_machine_error(client):
    y = np.r_[np.zeros(1500), np.ones(1500)]
    labels = y.copy()
    labels[[5, 2999]] = 2.0  # out of domain in two partitions
    invalid = [(bl.Logistic(), labels, None), (bl.SoftmaxCrossEntropy(), np.r_[y[:-1], 0.5], None),
               (bl.Logistic(), y, np.zeros(3000)), (bl.Logistic(), y, np.r_[np.ones(1500), np.full(1500, np.inf)])]
    for loss, target, w in [*invalid, (bl.Logistic(), y[:1500], None)]:  # the last: one class, no finite start
        message = one_machine_error(loss, target, w)
        dw = None if w is None else da.from_array(w, chunks=1000)
        with pytest.raises(ValueError) as info:
            bld.init_score(loss, da.from_array(target, chunks=1000), dw)
        assert str(info.value) == message
    for loss, target, w in invalid:
        with pytest.raises(ValueError) as info:
            bld.validate(loss, da.from_array(target, chunks=1000), None if w is None else da.from_array(w, chunks=700))
        assert str(info.value) == one_machine_error(loss, target, w)
    with pytest.raises(ValueError, match=r"sample_weight has shape \(10,\), expected \(3000,\)"):
        bld.validate(bl.Logistic(), da.from_array(y, chunks=1000), da.ones(10))
    with pytest.raises(ValueError, match="binary loss but y has 3 classes"):
        bld.BoostClassifier(lgb_dask.DaskLGBMClassifier(), "logistic").fit(da.ones((3000, 2)),
                                                                           da.from_array(labels, chunks=1000))
    with pytest.raises(ValueError, match="classification loss; use BoostClassifier"):
        bld.BoostRegressor(loss="logistic").fit(da.ones((3000, 2)), da.from_array(y, chunks=1000))
    with pytest.raises(TypeError, match="Dask estimator"):
        bld.BoostRegressor(xgb.XGBRegressor()).fit(da.ones((3000, 2)), da.from_array(y, chunks=1000))


# --------------------------------------------------------------------------- uneven partitions
def placed(client, local, placement, keys=("X", "y", "w")):
    return [spread(client, local[k], placement=placement) for k in keys]


@pytest.mark.parametrize("booster", list(BOOSTERS))
def test_a_worker_without_training_rows_trains_as_one_machine(booster, client, data):
    """All training rows on worker 0 and the eval set on worker 1 (whose objective then sees zero
    rows), with and without the eval set; and a one-row fit. XGBoost's own objective trains on
    these layouts; boostloss used to raise ``no targets given`` on the empty worker."""
    local, _ = data
    X, y, w = placed(client, local, [0, 0, 0, 0])
    Xv, yv = (spread(client, local[k][:1000], placement=[1]) for k in ("X", "y"))
    d_reg, _, l_reg, _ = BOOSTERS[booster]
    loss = bl.Huber(delta=1.0)
    one = BoostRegressor(l_reg(), loss).fit(local["X"], local["y"], sample_weight=local["w"])
    for eval_set in (None, [(Xv, yv)]):
        model = bld.BoostRegressor(d_reg(), loss).fit(X, y, sample_weight=w, eval_set=eval_set)
        assert gap(model.predict(X).compute(), one.predict(local["X"])) <= FLOAT32_FLOOR
    if booster == "xgboost":  # the metric of the eval set, all-reduced over both workers, is the local one
        history = model.evals_result_["validation_0"]["huber"]
        local_eval = BoostRegressor(l_reg(), loss).fit(local["X"], local["y"], sample_weight=local["w"],
                                                       eval_set=[(local["X"][:1000], local["y"][:1000])])
        np.testing.assert_allclose(history, local_eval.estimator_.evals_result()["validation_0"]["huber"], rtol=1e-5)
    if booster == "xgboost":  # lightgbm.dask refuses fewer rows than workers itself
        tiny = bld.BoostRegressor(d_reg().set_params(n_estimators=2), loss)
        tiny.fit(*(spread(client, local[k][:1], placement=[0]) for k in ("X", "y")))
        assert tiny.init_score_[0] == pytest.approx(local["y"][0])


@pytest.mark.parametrize("booster", list(BOOSTERS))
def test_the_model_does_not_depend_on_where_the_partitions_are(booster, client, data):
    """Same data and parameters, partitions placed alternately, in halves, unevenly, all on one
    worker, and the first layout again: the same model each time. The start, the secant floor and
    the Hessian rescaling come from all rows, not from each worker's; the features take 64 levels,
    so the boosters' own distributed bins do not depend on the placement either (on continuous
    features LightGBM's do, for its built-ins as well: see the README)."""
    local, _ = data
    d_reg = BOOSTERS[booster][0]
    predictions = []
    for placement in ([0, 1, 0, 1], [0, 0, 1, 1], [1, 1, 1, 0], [0, 0, 0, 0], [0, 1, 0, 1]):
        X, y, w = placed(client, local, placement)
        model = bld.BoostRegressor(d_reg(), bl.Huber(delta=1.0)).fit(X, y, sample_weight=w)
        predictions.append(model.predict(X).compute())
    for other in predictions[1:]:
        assert gap(other, predictions[0]) <= FLOAT32_FLOOR


# --------------------------------------------------------------------------- the train APIs
def test_xgboost_dask_train_with_objective_and_exact_metric(client, data):
    local, arrays = data
    loss = bl.Expectile(alpha=0.7)  # a start found by the distributed root search
    params = {"max_depth": 3, "learning_rate": 0.3, "seed": 0, "disable_default_eval_metric": True,
              "base_score": bld.init_score(loss, arrays["y"], arrays["w"])}
    dtrain = xgb_dask.DaskDMatrix(client, arrays["X"], arrays["y"], weight=arrays["w"])
    out = xgb_dask.train(client, params, dtrain, 10, obj=pickle.loads(pickle.dumps(bl.xgboost.objective(loss))),
                         custom_metric=bld.xgboost_metric(loss), evals=[(dtrain, "train")], verbose_eval=False)
    plain = xgb_dask.train(client, params, dtrain, 10, obj=bl.xgboost.objective(loss),
                           custom_metric=bl.xgboost.metric(loss), evals=[(dtrain, "train")], verbose_eval=False)
    history = {}
    one = bl.xgboost.train(loss, {**params, "nthread": 1}, xgb.DMatrix(local["X"], local["y"], weight=local["w"]),
                           10, evals=[(xgb.DMatrix(local["X"], local["y"], weight=local["w"]), "train")],
                           evals_result=history, verbose_eval=False)
    pred = bld.predict(out, arrays["X"], loss).compute()
    assert gap(pred, bl.xgboost.predict(one, local["X"], loss)) <= FLOAT32_FLOOR
    # the exact metric is the metric of all rows; XGBoost's mean of the workers' values is not
    np.testing.assert_allclose(out["history"]["train"]["expectile"], history["train"]["expectile"], rtol=1e-6)
    assert not np.allclose(plain["history"]["train"]["expectile"], history["train"]["expectile"], rtol=1e-6)
    assert gap(bld.predict(plain["booster"], arrays["X"], loss).compute(), pred) == 0


@pytest.mark.parametrize("name", ["r2", "median_absolute_error"])
def test_xgboost_dask_metrics_that_are_not_means_are_the_whole_sets(client, data, name):
    """R2's two passes and the median's bisection are all-reduced: every worker logs the
    metric of all rows, which is the metric of the final predictions."""
    local, arrays = data
    loss = bl.SquaredError()
    params = {"max_depth": 3, "learning_rate": 0.3, "seed": 0, "disable_default_eval_metric": True,
              "base_score": bld.init_score(loss, arrays["y"], arrays["w"])}
    dtrain = xgb_dask.DaskDMatrix(client, arrays["X"], arrays["y"], weight=arrays["w"])
    out = xgb_dask.train(client, params, dtrain, 5, obj=bl.xgboost.objective(loss),
                         custom_metric=bld.xgboost_metric(name, loss), evals=[(dtrain, "train")], verbose_eval=False)
    pred = bld.predict(out, arrays["X"], loss).compute()
    logged = out["history"]["train"][name][-1]
    assert logged == pytest.approx(bl.get_metric(name).score(local["y"], pred, local["w"]), rel=1e-6)


# --------------------------------------------------------------------------- estimators
def test_classifier_labels_frames_multiclass_and_pickle(client, data):
    import pandas as pd

    local, arrays = data
    names = np.array(["low", "mid", "high"])[np.digitize(local["y"], [-1.0, 2.0])]
    frame = dd.from_pandas(pd.DataFrame(local["X"], columns=list("abcde")).assign(label=names), npartitions=4)
    X, labels = frame[list("abcde")], frame["label"]
    for estimator in (xgb_dask.DaskXGBClassifier(**XGB), lgb_dask.DaskLGBMClassifier(**LGB)):
        model = bld.BoostClassifier(estimator, "softmax_cross_entropy").fit(X, labels, eval_set=[(X, labels)])
        proba = model.predict_proba(X).compute()
        assert proba.shape == (N, 3) and np.allclose(proba.sum(axis=1), 1)
        assert list(model.classes_) == ["high", "low", "mid"]
        one = BoostClassifier(BOOSTERS[type(estimator).__module__.partition(".")[0]][3](),
                              "softmax_cross_entropy").fit(local["X"], names)
        np.testing.assert_allclose(model.init_score_, one.init_score_, rtol=1e-12, atol=1e-12)
        assert (model.predict(X).compute() == names).mean() > 0.7
        assert model.evals_result_
        again = pickle.loads(pickle.dumps(model))
        np.testing.assert_allclose(again.predict_proba(X).compute(), proba)
    regressor = bld.BoostRegressor(loss="huber").fit(arrays["X"], arrays["y"])  # default: DaskLGBMRegressor
    assert isinstance(regressor.estimator_, lgb_dask.DaskLGBMRegressor)
    assert regressor.predict(arrays["X"]).compute().shape == (N,)


def test_classifier_with_a_margin_loss_predicts_labels_without_probabilities(client, data):
    local, arrays = data
    labels = local["y"] > 1.0
    dlabels = arrays["y"] > 1.0
    for estimator in (xgb_dask.DaskXGBClassifier(**XGB), lgb_dask.DaskLGBMClassifier(**LGB)):
        model = bld.BoostClassifier(estimator, "hinge").fit(arrays["X"], dlabels)
        assert not hasattr(model, "predict_proba")
        margin = model.decision_function(arrays["X"]).compute()
        np.testing.assert_array_equal(model.predict(arrays["X"]).compute(), margin > 0)
        assert (model.predict(arrays["X"]).compute() == labels).mean() > 0.8
        one = BoostClassifier(BOOSTERS[type(estimator).__module__.partition(".")[0]][3](), "hinge").fit(
            local["X"], labels)
        assert model.init_score_ == pytest.approx(one.init_score_, rel=1e-15)


def test_missing_dask_names_the_extra_to_install(monkeypatch):
    import boostloss._booster

    def missing(name):
        raise ImportError(f"No module named {name!r}")

    monkeypatch.setattr(boostloss._booster, "import_module", missing)
    with pytest.raises(ImportError, match=r"extra from a checkout: pip install '\.\[dask\]'"):
        bld.init_score("huber", np.ones(3))


def test_a_partition_summary_with_one_heavy_row_keeps_its_groups_in_range():
    """A row heavier than the rest together leaves the last groups of the equal-weight summary
    empty (it used to index past the values): the summary still holds every row's weight and mean."""
    y = np.arange(50.0)
    w = np.ones(50)
    w[-1] = 1000.0
    summary = bld._summarise(y, w, bl.Huber(), size=8)
    assert not summary["exact"] and summary["weights"].sum() == pytest.approx(w.sum())
    assert np.average(summary["values"], weights=summary["weights"]) == pytest.approx(np.average(y, weights=w))
    assert summary["bounds"].min() == 0.0 and summary["bounds"].max() == 49.0


def test_ghm_density_is_summed_over_the_xgboost_workers_and_refused_on_lightgbms(client, data):
    """GHM weighs rows by the density of the whole round: the XGBoost objective all-reduces its
    bin counts, so the distributed model and the logged metric are one machine's."""
    local, arrays = data
    loss = bl.GHM()
    dist = bld.BoostClassifier(BOOSTERS["xgboost"][1](), loss).fit(arrays["X"], arrays["binary"],
                                                                   sample_weight=arrays["w"])
    one = BoostClassifier(BOOSTERS["xgboost"][3](), loss).fit(local["X"], local["binary"], sample_weight=local["w"])
    assert gap(dist.decision_function(arrays["X"]).compute(), one.decision_function(local["X"])) <= FLOAT32_FLOOR
    params = {"max_depth": 3, "learning_rate": 0.3, "seed": 0, "disable_default_eval_metric": True, "base_score": 0.0}
    dtrain = xgb_dask.DaskDMatrix(client, arrays["X"], arrays["binary"], weight=arrays["w"])
    out = xgb_dask.train(client, params, dtrain, 5, obj=bl.xgboost.objective(loss),
                         custom_metric=bld.xgboost_metric(LossMetric(loss)), evals=[(dtrain, "train")],
                         verbose_eval=False)
    raw = out["booster"].predict(xgb.DMatrix(local["X"]), output_margin=True)
    assert out["history"]["train"]["ghm"][-1] == pytest.approx(
        LossMetric(loss).evaluate(local["binary"], raw, local["w"]), rel=1e-6)
    with pytest.raises(ValueError, match="GHM.*LightGBM's Dask workers"):
        bld.BoostClassifier(BOOSTERS["lightgbm"][1](), loss).fit(arrays["X"], arrays["binary"])


MULTI_OUTPUT_REGRESSION = ("gaussian_nll", "negative_binomial_nll", "student_t_nll", "multi_quantile:refit=False")


def multi_output_targets(rng, n):
    """Targets for each multi-output loss: continuous (Newton steps, or the quantiles' root
    search), few distinct values (the exact summary), counts of few and of many values."""
    continuous = rng.standard_t(3, size=n) * 3 + 10
    positive = np.exp(rng.normal(size=n))
    labels = np.column_stack([positive > 1, positive > 2, np.zeros(n)]).astype(float)  # a label never on
    return [("gaussian_nll", continuous), ("gaussian_nll:hessian=exact", continuous),
            ("gaussian_nll", np.round(continuous)), ("lognormal_nll", positive), ("gamma_nll", positive),
            ("negative_binomial_nll", rng.negative_binomial(2, 0.3, size=n).astype(float)),
            ("negative_binomial_nll", rng.negative_binomial(1, 0.0005, size=n).astype(float)),
            ("student_t_nll", continuous), ("student_t_nll", rng.normal(size=n)),  # nu inside, at its bound
            ("multi_quantile", continuous), ("multi_quantile:alphas=[0.05,0.5]", np.round(continuous)),
            ("multilabel_logistic", labels), ("multilabel_focal", labels),
            ("soft_cross_entropy", rng.dirichlet([1.0, 2.0, 3.0], size=n))]


def test_multi_output_init_score_and_scale_equal_one_machine(client):
    rng = np.random.default_rng(2)
    n = 6000
    w = rng.gamma(2.0, 1.0, size=n)
    for spec, y in multi_output_targets(rng, n):
        loss = bl.get_loss(spec)
        dy = da.from_array(y, chunks=(1500,) + y.shape[1:])
        for weights, dweights in ((None, None), (w, da.from_array(w, chunks=1500))):
            got = bld.init_score(loss, dy, dweights)
            want = loss.init_score(y, weights)
            assert got.shape == want.shape == (loss.n_outputs(y),)
            # the Student-t's likelihood is nearly flat in log nu at nu = 90: a summed gradient of 1e-12
            # leaves 2e-11 there (1.1e-10 with scipy 1.10's optimisers), on one machine as on Dask
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-8 if spec == "student_t_nll" else 1e-12,
                                       err_msg=spec)
            fixed = bld.boosting_scale(loss, dy, dweights, want)
            one = loss.boosting_scale(y, np.tile(want, (n, 1)), weights)
            if one is None:
                assert fixed is None, spec
                continue
            np.testing.assert_allclose(fixed.factor, one.factor, rtol=1e-12, err_msg=spec)
            np.testing.assert_allclose(fixed.residual, one.residual, rtol=1e-12, err_msg=spec)
            assert bld.boosting_scale(loss, dy, dweights, want, per_round=True).factor is None


def test_multi_output_bad_input_raises_the_one_machine_error(client):
    labels = np.zeros((4000, 2))
    labels[[5, 3990], 1] = 0.5
    loss = bl.get_loss("multilabel_logistic")
    with pytest.raises(ValueError) as info:
        loss.init_score(labels)
    with pytest.raises(ValueError, match=f"^{re.escape(str(info.value))}$"):
        bld.init_score(loss, da.from_array(labels, chunks=(1000, 1)))
    assert "2 of 4000 rows" in str(info.value)
    for spec in ("gamma_nll", "gaussian_nll"):
        with pytest.raises(ValueError, match=re.escape(one_machine_error(bl.get_loss(spec), np.ones(4000)))):
            bld.init_score(spec, da.ones(4000, chunks=1000))


@pytest.mark.parametrize("booster", list(BOOSTERS))
@pytest.mark.parametrize("spec", MULTI_OUTPUT_REGRESSION)
def test_multi_output_regressors_predict_what_one_machine_predicts(booster, spec, data):
    """A distribution and multi_quantile on two workers: the one-machine model (multi_quantile
    without leaf refits, which Dask does not do), its mean or median, quantiles and intervals.
    LightGBM's at 3 rounds: beyond them its data-parallel learner picks other splits of the
    log-scale column than its serial one on this data, with the same objective and scale
    (measured: the same gap with the factor fixed at the start or taken every round)."""
    local, arrays = data
    y, dy = local["y"], arrays["y"]
    if spec.startswith("negative_binomial"):  # counts (the shared fixture is left as it is)
        y, dy = np.floor(np.abs(y)), da.floor(da.fabs(dy))
    d_reg, _, l_reg, _ = BOOSTERS[booster]
    rounds = {"n_estimators": 3} if booster == "lightgbm" else {}
    dist = bld.BoostRegressor(d_reg().set_params(**rounds), spec.replace(":refit=False", ""))
    dist.fit(arrays["X"], dy, sample_weight=arrays["w"])
    one = BoostRegressor(l_reg().set_params(**rounds), spec).fit(local["X"], y, sample_weight=local["w"])
    np.testing.assert_allclose(dist.init_score_, one.loss_.init_score(y, local["w"]), rtol=1e-12)
    assert gap(dist.predict(arrays["X"]).compute(), one.predict(local["X"])) <= FLOAT32_FLOOR
    bands = dist.predict_quantiles(arrays["X"]).compute()
    assert bands.shape == (N, 3)
    assert gap(bands, one.predict_quantiles(local["X"])) <= FLOAT32_FLOOR
    low, high = dist.predict_interval(arrays["X"], 0.8)
    assert gap(high.compute() - low.compute(), np.subtract(*one.predict_interval(local["X"], 0.8)[::-1])) <= 1e-5
    raw = dist._raw(arrays["X"]).compute()
    assert gap(bld.predict(dist.estimator_, arrays["X"], dist.loss_).compute(), one.loss_.inverse_link(raw)) == 0


def test_column_targets_train_with_xgboost_dask_train(client, data):
    """Multi-label targets (n, k) on XGBoost's Dask interface: the start by ``bl.dask.init_score``,
    the objective unchanged, the one-machine model; the estimators refuse them clearly."""
    local, arrays = data
    labels = np.column_stack([local["binary"], local["y"] > 1]).astype(float)
    dlabels = da.stack([arrays["binary"], (arrays["y"] > 1).astype(float)], axis=1).rechunk({1: -1})
    loss = bl.get_loss("multilabel_logistic")
    init = bld.init_score(loss, dlabels, arrays["w"])
    np.testing.assert_allclose(init, loss.init_score(labels, local["w"]), rtol=1e-13)
    params = {"max_depth": 3, "learning_rate": 0.3, "seed": 0, "disable_default_eval_metric": True,
              "num_target": 2, "base_score": init.tolist()}
    dtrain = xgb_dask.DaskDMatrix(client, arrays["X"], dlabels, weight=arrays["w"])
    out = xgb_dask.train(client, params, dtrain, 10, obj=bl.xgboost.objective(loss))
    one = bl.xgboost.train(loss, {**params, "nthread": 1}, xgb.DMatrix(local["X"], labels, weight=local["w"]), 10)
    pred = bld.predict(out, arrays["X"], loss).compute()
    assert pred.shape == (N, 2) and gap(pred, bl.xgboost.predict(one, local["X"], loss)) <= FLOAT32_FLOOR
    for estimator in (bld.BoostClassifier(BOOSTERS["xgboost"][1]()), bld.BoostClassifier(loss=loss)):
        with pytest.raises(ValueError, match="takes one label per row; for \\(n, k\\) multi-label"):
            estimator.fit(arrays["X"], dlabels)
