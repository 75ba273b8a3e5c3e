"""boostloss.plotting: loss curves, comparison and learning-curve figures; matplotlib stays out
of everything else, is imported lazily, and falls back to Agg without a display."""

import os
import subprocess
import sys

import numpy as np
import pytest
from numpy.testing import assert_allclose

import boostloss as bl
from boostloss import plotting
from boostloss.compare import Comparison

plt = pytest.importorskip("matplotlib.pyplot")
from matplotlib.image import imread  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def saved(fig, path):
    fig.savefig(path)
    image = imread(path)
    assert image[..., :3].std() > 0.05  # not blank
    return image.shape[:2]


# --------------------------------------------------------------------------- which losses
def test_a_bare_name_sweeps_its_main_parameter():
    assert [loss.delta for loss in plotting.expand_losses("huber")] == [0.5, 1.0, 2.0]
    assert [loss.gamma for loss in plotting.expand_losses("focal:alpha=0.5")] == [0.0, 1.0, 2.0, 5.0]
    assert [loss.delta for loss in plotting.expand_losses("huber:delta=3")] == [3]
    assert len(plotting.expand_losses("huber", "log_cosh")) == 2  # several losses: no sweep


def test_a_list_value_sweeps_given_values_but_per_class_vectors_stay_vectors():
    losses = plotting.expand_losses("quantile:alpha=[0.1,0.9],hessian=unit", "absolute_error")
    assert [(loss.name, getattr(loss, "alpha", None)) for loss in losses] == [
        ("quantile", 0.1), ("quantile", 0.9), ("absolute_error", None)]
    assert all(loss.hessian == "unit" for loss in losses[:2])
    weighted = plotting.expand_losses("softmax_cross_entropy:class_weight=[1,2,3],label_smoothing=0.1")
    assert len(weighted) == 1 and list(weighted[0].class_weight) == [1, 2, 3]
    loss = bl.Huber(delta=7)
    assert plotting.expand_losses(loss) == [loss]


def test_curve_labels_show_what_differs():
    assert plotting.curve_labels(plotting.expand_losses("huber")) == ["delta=0.5", "delta=1", "delta=2"]
    assert plotting.curve_labels(plotting.expand_losses("huber:delta=2", "log_cosh")) == ["huber:delta=2",
                                                                                          "log_cosh:scale=1"]


# --------------------------------------------------------------------------- the curves
def test_loss_curves_are_the_losses_derivatives_along_the_residual():
    x = np.linspace(-5, 5, 11)
    curves = plotting.loss_curves(bl.Huber(delta=2), x)
    assert curves["xlabel"].startswith("residual F - y")
    assert_allclose(curves["grad"], np.clip(x, -2, 2))
    assert_allclose(curves["hess"], (np.abs(x) <= 2).astype(float))
    assert_allclose(curves["policy_hess"], 2 / np.maximum(np.abs(x), 2))  # min(1, delta/|r|)
    assert curves["policy"] == "secant"
    assert plotting.loss_curves(bl.SquaredError(), x)["policy"] is None


def test_loss_curves_of_log_link_binary_and_multiclass_losses():
    x = np.linspace(-3, 3, 7)
    poisson = plotting.loss_curves(bl.Poisson(), x)  # y = 1, x = F - log y
    assert_allclose(poisson["grad"], np.exp(x) - 1) and poisson["loss"][3] == pytest.approx(0)
    focal = plotting.loss_curves(bl.Focal(), x)  # a positive row
    assert (focal["grad"] < 0).all() and focal["hess"].min() < 0 <= focal["policy_hess"].min()
    multi = plotting.loss_curves(bl.SoftmaxCrossEntropy(), x)
    p = np.exp(x) / (np.exp(x) + 2)
    assert_allclose(multi["grad"], p - 1)
    assert multi["grad"].shape == x.shape


def test_plot_loss_draws_three_panels_of_the_requested_size(tmp_path):
    fig = plotting.plot_loss("huber")
    loss_ax, grad_ax, hess_ax = fig.axes[:3]
    assert [ax.get_title() for ax in (loss_ax, grad_ax, hess_ax)] == ["loss", "gradient", "Hessian"]
    # one curve per delta (and the zero line); the Hessian panel has the dashed policy Hessian too
    assert len(loss_ax.lines) == 3 + 1 and len(hess_ax.lines) == 6 + 1
    assert [line.get_linestyle() for line in hess_ax.lines[:2]] == ["-", "--"]
    assert [t.get_text() for t in loss_ax.get_legend().get_texts()] == ["delta=0.5", "delta=1", "delta=2"]
    assert saved(fig, tmp_path / "huber.png") == (400, 1200)
    small = plotting.plot_loss("logistic", "exponential", figsize=(6, 3), dpi=50, xlim=(-2, 2))
    assert saved(small, tmp_path / "small.png") == (150, 300)
    assert small.axes[0].lines[0].get_xdata().min() == -2


def test_plot_loss_draws_a_row_per_task(tmp_path):
    """Issue 16.9: ``boostloss plot huber focal`` draws regression and binary losses, one row each."""
    fig = plotting.plot_loss("huber:delta=1", "focal", "log_cosh", figsize=(6, 2), dpi=50)
    assert saved(fig, tmp_path / "two.png") == (200, 300)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["loss", "gradient", "Hessian"] * 2
    regression, binary = fig.axes[0], fig.axes[3]
    assert [t.get_text() for t in regression.get_legend().get_texts()] == ["huber:delta=1", "log_cosh:scale=1"]
    assert [t.get_text() for t in binary.get_legend().get_texts()] == ["focal:alpha=0.25,gamma=2"]
    assert regression.get_xlabel() != binary.get_xlabel()


def test_plot_loss_refuses_bad_ranges():
    with pytest.raises(ValueError, match="xlim must be increasing"):
        plotting.plot_loss("huber", xlim=(1, -1))
    with pytest.raises(ValueError, match="unknown loss"):
        plotting.plot_loss("hubber")


# --------------------------------------------------------------------------- comparison
def comparison():
    folds = np.array
    return Comparison(
        task="regression", booster="lightgbm", n_splits=3, losses=["squared_error", "huber:delta=2"],
        metrics=["mae", "r2"], higher_is_better={"mae": False, "r2": True},
        scores={"squared_error": {"mae": folds([3.0, 3.5, 2.5]), "r2": folds([0.5, 0.6, 0.4])},
                "huber:delta=2": {"mae": folds([2.0, 2.2, 1.8]), "r2": folds([0.3, 0.5, 0.4])}},
        fit_times={"squared_error": folds([0.1, 0.1, 0.1]), "huber:delta=2": folds([0.2, 0.2, 0.2])})


def test_comparison_summary_and_best():
    result = comparison()
    assert result.best() == "huber:delta=2" and result.best("r2") == "squared_error"
    row = result.summary()[0]
    assert row["loss"] == "squared_error" and row["mae_mean"] == pytest.approx(3.0)
    assert row["mae_std"] == pytest.approx(0.5) and row["fit_time"] == pytest.approx(0.1)
    assert list(result.to_frame().index) == result.losses


def test_plot_comparison_has_a_panel_per_metric_and_fit_time(tmp_path):
    fig = plotting.plot_comparison(comparison())
    assert [ax.get_title() for ax in fig.axes] == ["mae (lower is better)", "r2 (higher is better)", "fit time (s)"]
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["squared_error", "huber:delta=2"]
    assert saved(fig, tmp_path / "compare.png") == (400, 1100)


# --------------------------------------------------------------------------- learning curves
def test_learning_curve_from_a_history_dict(tmp_path):
    history = {"train": {"huber": [3.0, 2.0, 1.5, 1.2]}, "valid": {"huber": [3.1, 2.4, 2.2, 2.3], "mae": [4, 3, 2, 2]}}
    fig = plotting.plot_learning_curve(history, best_iteration=2)
    assert [ax.get_title() for ax in fig.axes] == ["huber", "mae"]
    assert len(fig.axes[0].lines) == 3  # train, valid and the best-iteration marker
    assert saved(fig, tmp_path / "curve.png") == (400, 800)


@pytest.mark.parametrize("booster", ["lightgbm", "xgboost", "catboost"])
def test_learning_curve_from_a_fitted_estimator_with_early_stopping(booster):
    from sklearn.datasets import load_diabetes

    from boostloss.compare import make_estimator
    from boostloss.sklearn import BoostRegressor

    X, y = load_diabetes(return_X_y=True)
    estimator, _ = make_estimator(booster, "regression", X, n_estimators=60, learning_rate=0.1)
    model = BoostRegressor(estimator, loss="huber:delta=30", early_stopping_rounds=5, eval_metric="mae")
    model.fit(X[:300], y[:300], eval_set=[(X[300:], y[300:])])
    history, best = plotting.evaluation_history(model)
    assert best == model.best_iteration_
    assert any("mae" in metrics for metrics in history.values())  # CatBoost's class-named metric renamed
    fig = plotting.plot_learning_curve(model)
    assert fig.axes[0].get_title() == "mae"


def test_learning_curve_without_a_history_says_so():
    with pytest.raises(TypeError, match="no evaluation history"):
        plotting.evaluation_history(object())
    with pytest.raises(ValueError, match="empty"):
        plotting.evaluation_history({"valid": {}})


# --------------------------------------------------------------------------- matplotlib stays optional
def run_python(code, **env):
    clean = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "MPLBACKEND")}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**clean, **env})


def test_the_math_and_the_cli_do_not_import_matplotlib():
    done = run_python("import sys, boostloss, boostloss.compare, boostloss.cli, boostloss.plotting, boostloss.sklearn\n"
                      "assert 'matplotlib' not in sys.modules, 'matplotlib imported'\n")
    assert done.returncode == 0, done.stderr


def test_without_a_display_plots_use_agg():
    done = run_python("from boostloss import plotting\nimport matplotlib\nplotting.plot_loss('log_cosh')\n"
                      "print(matplotlib.get_backend())")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().lower() == "agg"


def test_a_missing_matplotlib_names_the_plot_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r"needs matplotlib: pip install matplotlib, or .*pip install '\.\[plot\]'"):
        plotting.plot_loss("huber")
