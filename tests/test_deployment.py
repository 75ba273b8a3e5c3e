"""Where users run it: a read-only install used by an unprivileged user without a home directory."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pytest

import boostloss

PACKAGE = Path(boostloss.__file__).parent
NOBODY = 65534

SCRIPT = """
import warnings
warnings.simplefilter("error")  # no notice where a cache location exists
import numpy as np
import boostloss as bl
from boostloss.losses import kernels
y = np.linspace(-3, 3, 50)
grad, hess = bl.Huber().grad_hess(y, np.zeros(50))
assert np.isfinite(grad).all() and (hess > 0).all()
print(bl.__file__, kernels.CACHE, kernels.config.CACHE_DIR)
"""


def _world_readable_dir() -> Path:
    path = Path(tempfile.mkdtemp(prefix="boostloss-ro-", dir="/tmp"))
    path.chmod(0o755)
    return path


def _let_others_traverse_to(path: Path) -> list[tuple[Path, int]]:
    """Add search (x) permission for others to the directories above ``path`` that lack it (a
    checkout under a 0700 ``mktemp -d``, as CI makes it), so that an unprivileged user can reach
    the interpreter; returns what to restore. Nothing becomes readable or writable."""
    changed = []
    for parent in reversed(path.resolve().parents):
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            parent.chmod(mode | stat.S_IXOTH)
            changed.append((parent, mode))
    return changed


@contextmanager
def _sandbox(imports: str):
    """``(root, tmpdir)``: a copy of the package (its files, no ``__pycache__``: a non-editable
    install) under ``root`` and a temporary directory anyone may write, both reachable by an
    unprivileged user, who can run ``imports`` (else the test is skipped); removed, and the
    permissions above the interpreter restored, after."""
    root, tmpdir = _world_readable_dir(), _world_readable_dir()
    restore = _let_others_traverse_to(Path(sys.prefix) / "lib")
    try:
        tmpdir.chmod(0o777)
        shutil.copytree(PACKAGE, root / "boostloss", ignore=shutil.ignore_patterns("__pycache__"))
        probe = _as_nobody(imports, root, tmpdir)
        if probe.returncode != 0:
            pytest.skip(f"this interpreter cannot be run by an unprivileged user: {probe.stderr[-300:]}")
        yield root, tmpdir
    finally:
        for directory, mode in restore:
            directory.chmod(mode)
        for path in (root, tmpdir):
            for p in [path, *path.rglob("*")]:
                p.chmod(p.stat().st_mode | stat.S_IWUSR)
            shutil.rmtree(path, ignore_errors=True)


def _make_read_only(root: Path) -> None:
    for path in [root, *root.rglob("*")]:  # for everyone
        path.chmod(path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def _as_nobody(code: str, pythonpath: Path, tmpdir: Path) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(pythonpath), "TMPDIR": str(tmpdir)}  # no HOME
    command = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", sys.executable, "-c", code]
    return subprocess.run(command, env=env, cwd="/", capture_output=True, text=True, timeout=600)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0 or shutil.which("setpriv") is None,
                    reason="dropping privileges to an unprivileged user needs root and setpriv")
def test_import_from_a_read_only_install_without_a_home_caches_in_the_temporary_directory():
    """A copy of the package (a non-editable install: its files, no __pycache__) made read-only,
    imported by user nobody with HOME unset: numba finds no cache location beside the source or
    in a home, and used to raise at import; now the kernels cache in a directory of that user's
    under TMPDIR, so a second process loads them instead of compiling."""
    with _sandbox("import numpy, numba, scipy, sklearn") as (root, tmpdir):
        _make_read_only(root)
        first = _as_nobody(SCRIPT, root, tmpdir)
        assert first.returncode == 0, first.stderr[-2000:]
        location, cache, cache_dir = first.stdout.split()
        assert location == str(root / "boostloss" / "__init__.py")
        assert cache == "True" and cache_dir == str(tmpdir / f"boostloss-numba-{NOBODY}")
        cached = {p.name for p in Path(cache_dir).rglob("*.nbi")}
        assert any(name.startswith("kernels.huber") for name in cached), cached
        again = _as_nobody(SCRIPT, root, tmpdir)
        assert again.returncode == 0, again.stderr[-2000:]
        assert {p.name for p in Path(cache_dir).rglob("*.nbi")} == cached  # loaded, nothing new compiled
        assert not list((root / "boostloss").rglob("__pycache__"))  # nothing written into the install


LOADED = """
import numpy as np, xgboost as xgb
import boostloss as bl
from boostloss.losses import kernels
rng = np.random.default_rng(1)
X = rng.normal(size=(500, 3))
bl.xgboost.train(bl.Huber(), {"max_depth": 2, "nthread": 1}, xgb.DMatrix(X, X[:, 0] + rng.normal(size=500)), 3)
used = [d for d in kernels.dispatchers() if d.signatures]
print(sum(sum(d.stats.cache_hits.values()) for d in used), sum(sum(d.stats.cache_misses.values()) for d in used),
      kernels.cache_location())
"""


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0 or shutil.which("setpriv") is None,
                    reason="dropping privileges to an unprivileged user needs root and setpriv")
def test_a_read_only_install_loads_the_kernels_compiled_where_the_image_was_built():
    """``boostloss compile`` run on the install (as an image build does, with the package
    directory writable), then the install made read-only and used by user nobody without a
    home: numba will not read a cache beside the source it cannot write to, so boostloss copies
    those kernels into the cache directory it can write, and the fit compiles nothing (every
    kernel it calls is a cache hit)."""
    pytest.importorskip("xgboost")
    with _sandbox("import numpy, numba, scipy, sklearn, xgboost") as (root, tmpdir):
        env = {**os.environ, "PYTHONPATH": str(root)}
        env.pop("NUMBA_CACHE_DIR", None)
        built = subprocess.run([sys.executable, "-m", "boostloss", "compile", "--losses", "huber", "--boosters",
                                "xgboost", "--quiet"], env=env, cwd="/", capture_output=True, text=True, timeout=900)
        assert built.returncode == 0, built.stderr[-2000:]
        assert str(root / "boostloss" / "losses" / "__pycache__") in built.stdout
        _make_read_only(root)
        done = _as_nobody(LOADED, root, tmpdir)
        assert done.returncode == 0, done.stderr[-2000:]
        hits, misses, location = done.stdout.split()
        assert location.startswith(str(tmpdir / f"boostloss-numba-{NOBODY}")), location  # not the read-only install
        assert int(hits) >= 3 and int(misses) == 0, done.stdout


# --------------------------------------------------------------------------- serving without boostloss
xgb = pytest.importorskip("xgboost")
lgb = pytest.importorskip("lightgbm")

import numpy as np  # noqa: E402
from scipy.special import expit, softmax  # noqa: E402

from boostloss.losses.binary import BinaryLoss  # noqa: E402
from boostloss.sklearn import BoostClassifier, BoostRegressor  # noqa: E402


def _raw(booster: str, model, X) -> np.ndarray:
    """The raw scores of a model from ``bl.<booster>.train``."""
    if booster == "xgboost":
        return model.predict(xgb.DMatrix(X), output_margin=True)
    if booster == "lightgbm":
        return model.predict(X, raw_score=True)
    return model.predict(X, prediction_type="RawFormulaVal")


def _serving_cases():
    rng = np.random.default_rng(41)
    X = rng.normal(size=(800, 4))
    f = X[:, 0] + 0.5 * np.sin(X[:, 1])
    counts = rng.poisson(np.exp(f)).astype(float)
    binary = (rng.random(800) < expit(f)).astype(float)
    return X, {  # one loss per link (and per XGBoost objective a log link maps to)
        "huber": (boostloss.Huber(), 3 * f + rng.normal(size=800)),
        "quantile": (boostloss.Quantile(0.9), 3 * f + rng.normal(size=800)),  # refitted leaves, in the file
        "poisson": (boostloss.Poisson(), counts),
        "gamma": (boostloss.Gamma(), np.exp(f + 0.3 * rng.normal(size=800))),
        "tweedie": (boostloss.Tweedie(power=1.3), counts * rng.gamma(2.0, 0.5, 800)),
        "logistic": (boostloss.Logistic(), binary),
        "focal": (boostloss.Focal(), binary),
        "hinge": (boostloss.Hinge(), binary),  # XGBoost's binary:hinge serves the label; LightGBM the margin
        "softmax": (boostloss.SoftmaxCrossEntropy(), rng.integers(0, 3, 800).astype(float)),
        # declared as softmax (what converters read): softmax of the class scores, whose argmax is the class
        "multiclass_hinge": (boostloss.MulticlassHinge(), rng.integers(0, 3, 800).astype(float)),
    }


SERVE = """
import sys
import numpy as np
import {booster}
assert "boostloss" not in sys.modules
folder = sys.argv[1]
X = np.load(folder + "/X.npy")
for name in sys.argv[2:]:
    {load}
    np.save(folder + "/" + name + ".served.npy", predicted)
"""
LOAD = {"xgboost": 'predicted = xgboost.Booster(model_file=folder + "/" + name + ".json").predict(xgboost.DMatrix(X))',
        "lightgbm": 'predicted = lightgbm.Booster(model_file=folder + "/" + name + ".txt").predict(X)'}


@pytest.mark.parametrize("booster", ["xgboost", "lightgbm"])
def test_a_saved_model_predicts_in_the_targets_units_without_boostloss(booster, tmp_path):
    """Each link's model, from ``bl.<booster>.train`` and from the estimators, saved in the
    booster's own format and loaded in a fresh process that never imports boostloss: plain
    ``predict`` gives boostloss's predictions (means, probabilities; the start included) within
    float32 rounding, because the file declares the built-in objective of the loss's link."""
    X, cases = _serving_cases()
    np.save(tmp_path / "X.npy", X)
    adapter = getattr(boostloss, booster)
    names = []
    for name, (loss, y) in cases.items():
        classify = loss.is_multiclass or isinstance(loss, BinaryLoss)
        params = {"max_depth": 3, "nthread": 1} if booster == "xgboost" else {"verbose": -1, "num_threads": 1}
        data = xgb.DMatrix(X, y) if booster == "xgboost" else lgb.Dataset(X, y)
        model = adapter.train(loss, params, data, 10)
        expected = adapter.predict(model, X, loss)
        inner = (xgb.XGBClassifier if classify else xgb.XGBRegressor)(n_estimators=10, max_depth=3, n_jobs=1) \
            if booster == "xgboost" else \
            (lgb.LGBMClassifier if classify else lgb.LGBMRegressor)(n_estimators=10, verbose=-1, n_jobs=1)
        estimator = (BoostClassifier(inner, loss) if classify else BoostRegressor(inner, loss)).fit(X, y)
        by_estimator = (estimator.predict_proba(X) if hasattr(estimator, "predict_proba") else estimator.predict(X)) \
            if classify else estimator.predict(X)
        # the same model both ways (an estimator's base_score was once read in the wrong units: poisson)
        raw = _raw(booster, model, X)
        same = (estimator.decision_function(X), raw) if loss.link.name == "sign" else (
            by_estimator[:, 1] if by_estimator.ndim == 2 and expected.ndim == 1 else by_estimator, expected)
        np.testing.assert_allclose(*same, rtol=2e-5, atol=1e-6, err_msg=name)
        if loss.link.name == "argmax":  # the files serve softmax(F)
            expected, by_estimator = softmax(raw, axis=1), softmax(estimator.decision_function(X), axis=1)
        if booster == "lightgbm" and loss.link.name == "sign":  # no built-in hinge: the file gives the margin
            expected, by_estimator = raw, estimator.decision_function(X)
        for key, fitted, wanted in ((name, model, expected), (f"{name}.estimator", estimator.estimator_, by_estimator)):
            booster_object = fitted if key == name else (fitted.get_booster() if booster == "xgboost"
                                                         else fitted.booster_)
            booster_object.save_model(str(tmp_path / f"{key}.{'json' if booster == 'xgboost' else 'txt'}"))
            if wanted.ndim == 2 and wanted.shape[1] == 2:  # binary: the files predict P(y = 1)
                wanted = wanted[:, 1]
            np.save(tmp_path / f"{key}.expected.npy", wanted)
            names.append(key)
    code = SERVE.format(booster=booster, load=LOAD[booster])
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path), *names], capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    for key in names:
        served, wanted = np.load(tmp_path / f"{key}.served.npy"), np.load(tmp_path / f"{key}.expected.npy")
        np.testing.assert_allclose(served, wanted, rtol=2e-6, atol=1e-7, err_msg=key)


def test_continued_training_from_a_declared_model_is_training_in_one_go():
    """A model whose file declares count:poisson or binary:logistic (and so stores its start in
    those units) trains on as if it had not been declared: XGBoost would otherwise apply
    count:poisson's max_delta_step to the new trees."""
    X, cases = _serving_cases()
    for name in ("poisson", "logistic"):
        loss, y = cases[name]
        data = xgb.DMatrix(X, y)
        params = {"max_depth": 3, "nthread": 1}
        whole = boostloss.xgboost.train(loss, dict(params), data, 10)
        half = boostloss.xgboost.train(loss, dict(params), data, 5)
        assert half.save_config().count(name[:5]) > 0  # the declared objective
        both = boostloss.xgboost.train(loss, dict(params), data, 5, xgb_model=half)
        np.testing.assert_allclose(both.predict(data, output_margin=True), whole.predict(data, output_margin=True),
                                   rtol=1e-6, atol=1e-6)
        lgb_params = {"verbose": -1, "num_threads": 1}
        whole = boostloss.lightgbm.train(loss, dict(lgb_params), lgb.Dataset(X, y), 10)
        half = boostloss.lightgbm.train(loss, dict(lgb_params), lgb.Dataset(X, y), 5)
        both = boostloss.lightgbm.train(loss, dict(lgb_params), lgb.Dataset(X, y), 5, init_model=half)
        np.testing.assert_allclose(both.predict(X, raw_score=True), whole.predict(X, raw_score=True), atol=1e-9)


CATBOOST_SERVE = """
import json, sys
import numpy as np
import catboost
assert "boostloss" not in sys.modules
folder, types = sys.argv[1], json.loads(sys.argv[2])
X = np.load(folder + "/X.npy")
for name, kind in types.items():
    predicted = catboost.CatBoost().load_model(folder + "/" + name + ".cbm").predict(X, prediction_type=kind)
    np.save(folder + "/" + name + ".served.npy", predicted[:, 1] if predicted.ndim == 2 and predicted.shape[1] == 2
            else predicted)
"""


def test_a_saved_catboost_model_predicts_with_the_documented_prediction_type(tmp_path):
    """CatBoost records no objective for a Python loss; the README's prediction_type for each
    link (RawFormulaVal, Exponent, Probability) gives boostloss's predictions from the file alone."""
    cb = pytest.importorskip("catboost")
    X, cases = _serving_cases()
    np.save(tmp_path / "X.npy", X)
    kinds = {}
    for name in ("huber", "poisson", "logistic", "softmax"):
        loss, y = cases[name]
        kind = {"identity": "RawFormulaVal", "log": "Exponent"}.get(loss.link.name, "Probability")
        model = boostloss.catboost.train(loss, {"iterations": 10, "verbose": 0, "allow_writing_files": False,
                                                "thread_count": 1}, cb.Pool(X, y))
        expected = boostloss.catboost.predict(model, X, loss)
        model.save_model(str(tmp_path / f"{name}.cbm"))
        np.save(tmp_path / f"{name}.expected.npy", expected)
        kinds[name] = kind
    import json

    done = subprocess.run([sys.executable, "-c", CATBOOST_SERVE, str(tmp_path), json.dumps(kinds)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    for name in kinds:
        np.testing.assert_allclose(np.load(tmp_path / f"{name}.served.npy"), np.load(tmp_path / f"{name}.expected.npy"),
                                   rtol=1e-12, atol=1e-12, err_msg=name)


# --------------------------------------------------------------------------- export to serving runtimes
def _exported_predictions(converter: str, booster: str, model, loss, X, tmp_path) -> np.ndarray:
    """Predictions of ``model`` converted by ``converter`` and run by its runtime, as (n, outputs)."""
    if converter == "treelite":
        treelite = pytest.importorskip("treelite")
        native = model if isinstance(model, (xgb.Booster, lgb.Booster)) else \
            (model.get_booster() if booster == "xgboost" else model.booster_)
        frontend = treelite.frontend.from_xgboost if booster == "xgboost" else treelite.frontend.from_lightgbm
        return treelite.gtil.predict(frontend(native), X).reshape(len(X), -1)
    ort = pytest.importorskip("onnxruntime")
    if booster == "catboost":
        pytest.importorskip("onnx")
        boostloss.catboost.save_onnx(model, loss, tmp_path / "model.onnx")
        session = ort.InferenceSession(str(tmp_path / "model.onnx"))
    else:
        onnxmltools = pytest.importorskip("onnxmltools")
        from onnxmltools.convert.common.data_types import FloatTensorType

        inputs = [("X", FloatTensorType([None, X.shape[1]]))]
        exported = onnxmltools.convert_xgboost(model, initial_types=inputs) if booster == "xgboost" else \
            onnxmltools.convert_lightgbm(model, initial_types=inputs, zipmap=False)
        session = ort.InferenceSession(exported.SerializeToString())
    out = session.run(None, {session.get_inputs()[0].name: X})[-1]  # classifiers: (label, probabilities)
    if isinstance(out, list):  # CatBoost's classifier export ends in a ZipMap: one {class: probability} per row
        out = [[row[k] for k in sorted(row)] for row in out]
    return np.asarray(out, dtype=np.float64).reshape(len(X), -1)


@pytest.mark.parametrize(("converter", "booster"), [("onnx", "xgboost"), ("onnx", "lightgbm"), ("onnx", "catboost"),
                                                    ("treelite", "xgboost"), ("treelite", "lightgbm")])
def test_an_exported_model_predicts_in_the_targets_units(converter, booster, tmp_path):
    """Every link's model, from ``bl.<booster>.train`` and from the estimators, converted with
    onnxmltools (CatBoost: its own export through ``bl.catboost.save_onnx``) and run by
    onnxruntime, or loaded by treelite and run by its predictor: the runtime's predictions
    are boostloss's (means, P(y = 1), class probabilities) within float32 rounding. The
    converters read the objective the model declares; before, onnxmltools refused LightGBM's
    ``objective=none`` and the estimators' Python objective, and CatBoost's export gave raw
    scores (or, for multiclass, a model onnxruntime refuses)."""
    X, cases = _serving_cases()
    X = X.astype(np.float32)  # the runtimes read float32 features: train on exactly those values
    adapter = getattr(boostloss, booster)
    for name, (loss, y) in cases.items():
        classify = loss.is_multiclass or isinstance(loss, BinaryLoss)
        if booster == "xgboost":
            model = adapter.train(loss, {"max_depth": 3, "nthread": 1}, xgb.DMatrix(X, y), 10)
            inner = (xgb.XGBClassifier if classify else xgb.XGBRegressor)(n_estimators=10, max_depth=3, n_jobs=1)
        elif booster == "lightgbm":
            model = adapter.train(loss, {"verbose": -1, "num_threads": 1}, lgb.Dataset(X, y), 10)
            inner = (lgb.LGBMClassifier if classify else lgb.LGBMRegressor)(n_estimators=10, verbose=-1, n_jobs=1)
        else:
            cb = pytest.importorskip("catboost")
            settings = {"iterations": 10, "verbose": 0, "allow_writing_files": False, "thread_count": 1}
            model = adapter.train(loss, settings, cb.Pool(X, y))
            inner = (cb.CatBoostClassifier if classify else cb.CatBoostRegressor)(**settings)
        estimator = (BoostClassifier(inner, loss) if classify else BoostRegressor(inner, loss)).fit(X, y)
        by_estimator = estimator.predict_proba(X) if hasattr(estimator, "predict_proba") else estimator.predict(X)
        by_train, inner = adapter.predict(model, X, loss), estimator.estimator_
        if loss.link.name == "sign":  # the hinge: labels where the runtime reads XGBoost's binary:hinge
            labels = {("treelite", "xgboost"): (True, True), ("onnx", "xgboost"): (False, True)}
            train_labels, estimator_labels = labels.get((converter, booster), (False, False))
            by_train = by_train if train_labels else _raw(booster, model, X)
            by_estimator = estimator.predict(X) if estimator_labels else estimator.decision_function(X)
            if (converter, booster) == ("onnx", "lightgbm"):  # onnxmltools: a classifier without a
                inner = inner.booster_                       # sigmoid is an invalid graph; its Booster
        models = [(name, model, by_train), (f"{name} estimator", inner, by_estimator)]
        if loss.link.name == "argmax":  # the multiclass hinge: exported as softmax(F), whose argmax is the class
            models = [(key, fitted, softmax(raw, axis=1)) for (key, fitted, _), raw in
                      zip(models, (_raw(booster, model, X), estimator.decision_function(X)), strict=True)]
            if (converter, booster) == ("onnx", "xgboost"):  # onnxmltools takes a Booster whose leaf covers
                models = models[1:]                          # are whole numbers for a regressor: not convertible
        for key, fitted, wanted in models:
            wanted = wanted.reshape(len(X), -1)
            served = _exported_predictions(converter, booster, fitted, loss, X, tmp_path)
            if wanted.shape[1] == 2 and served.shape[1] == 1:  # a binary file predicts P(y = 1)
                wanted = wanted[:, 1:]
            elif served.shape[1] == 2 and wanted.shape[1] == 1:
                served = served[:, 1:]
            np.testing.assert_allclose(served, wanted, rtol=3e-5, atol=1e-6, err_msg=key)
