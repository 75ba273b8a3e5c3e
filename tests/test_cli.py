"""The ``boostloss`` command: list, compare (built-in data, CSV, Parquet, each booster), plot,
and one-line errors with exit status 2 on bad input. Most runs are in-process through
``main(argv)``; a few go through the installed console script."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import boostloss as bl
from boostloss.cli import identifier_columns, main, split_specs

pytest.importorskip("matplotlib")
from matplotlib.image import imread  # noqa: E402

FAST = ["--cv", "3", "--n-estimators", "40", "--no-progress"]


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def console_script() -> list[str]:
    """The installed ``boostloss`` script next to this Python (else on PATH, else ``python -m boostloss``)."""
    script = Path(sys.executable).parent / "boostloss"
    if script.exists():
        return [str(script)]
    found = shutil.which("boostloss")
    return [found] if found else [sys.executable, "-m", "boostloss"]


def check_png(path, width, height):
    path = Path(path)
    assert path.exists() and path.stat().st_size > 5000
    image = imread(path)
    assert image.shape[:2] == (height, width)
    assert image[..., :3].std() > 0.05  # not blank


def table_rows(out):
    """Loss name -> the rest of its row, from the printed comparison table."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("loss "))
    rows = {}
    for line in lines[start + 1:]:
        if not line.strip():
            break
        name, _, rest = line.partition("  ")
        rows[name.strip()] = rest
    return rows


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """A small table with a numeric, a text (categorical) and a boolean feature, an id column,
    a numeric target with heavy-tailed noise, a two-class text label and a three-class label."""
    rng = np.random.default_rng(0)
    n = 240
    frame = pd.DataFrame({
        "id": np.arange(n),
        "x": rng.normal(size=n),
        "city": rng.choice(["paris", "rome", "oslo", None], n),
        "flag": rng.random(n) < 0.5,
    })
    frame["price"] = 3 * frame["x"] + np.where(frame["city"] == "rome", 4.0, 0.0) + rng.standard_t(2, n)
    frame["label"] = np.where(frame["price"] > frame["price"].median(), "high", "low")
    frame["kind"] = np.select([frame["x"] < -0.5, frame["x"] > 0.5], ["a", "c"], "b")
    folder = tmp_path_factory.mktemp("data")
    frame.to_csv(folder / "houses.csv", index=False)
    frame.to_parquet(folder / "houses.parquet")
    return folder


# --------------------------------------------------------------------------- list
def test_list_shows_every_loss_and_metric_with_parameters_link_and_formula(capsys):
    code, out, err = run(capsys, "list")
    assert code == 0 and err == ""
    for name in bl.available_losses() + ["mae", "rmse", "smape", "pinball", "log_loss"]:
        assert any(line.startswith(name + " ") for line in out.splitlines()), name
    huber = next(line for line in out.splitlines() if line.startswith("huber "))
    assert "regression" in huber and "identity" in huber and "delta=1.0" in huber
    assert "hessian=secant|unit|exact" in huber and "delta (|r| - delta/2)" in huber
    poisson = next(line for line in out.splitlines() if line.startswith("poisson "))
    assert " log " in poisson and "y >= 0" in poisson


def test_list_json_is_machine_readable(capsys):
    code, out, _ = run(capsys, "list", "--json")
    assert code == 0
    listing = json.loads(out)
    losses = {entry["name"]: entry for entry in listing["losses"]}
    assert set(losses) == set(bl.available_losses())
    assert losses["focal"] | {} == losses["focal"]
    assert losses["focal"]["parameters"] == {"alpha": 0.25, "gamma": 2.0, "hessian": "floor"}
    assert losses["focal"]["task"] == "binary" and losses["focal"]["link"] == "logit"
    assert losses["focal"]["hessian_policies"][0] == "floor"
    assert losses["multiclass_focal"]["task"] == "multiclass"
    assert all(entry["formula"] for entry in listing["losses"] + listing["metrics"])
    assert {m["name"] for m in listing["metrics"]} >= {"mae", "rmse", "mape", "smape", "pinball", "log_loss"}


def test_list_names_every_metric_compare_accepts(capsys):
    """``compare`` also scores with scikit-learn's r2, accuracy, AUC and the like: ``list`` shows
    them, and each listed name is accepted by ``compare`` for the tasks it states."""
    from boostloss.compare import SCIKIT_LEARN_SCORES, get_scorer

    code, out, _ = run(capsys, "list", "--json")
    listed = {m["name"]: m for m in json.loads(out)["metrics"]}
    assert set(SCIKIT_LEARN_SCORES) <= set(listed)
    for name, (tasks, _) in SCIKIT_LEARN_SCORES.items():
        for task in tasks.split(", "):
            assert get_scorer(name, task).higher_is_better == listed[name]["higher_is_better"]
    from boostloss.compare import DISTRIBUTION_SCORES

    assert set(DISTRIBUTION_SCORES) <= set(listed)
    for name in DISTRIBUTION_SCORES:
        scorer = get_scorer(name, "regression")
        assert scorer.higher_is_better == listed[name]["higher_is_better"]
        assert (scorer.best_at is not None) == ("better" in listed[name])
    code, out, _ = run(capsys, "list")
    assert any(line.startswith("balanced_accuracy ") and "compare only" in line for line in out.splitlines())
    assert any(line.startswith("coverage ") and "closest to level" in line for line in out.splitlines())


def test_compare_without_pandas_names_what_to_install(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas now raises ImportError
    code, _, err = run(capsys, "compare")
    assert code == 2
    assert "boostloss compare needs pandas: pip install pandas" in err and "pip install '.[cli]'" in err


# --------------------------------------------------------------------------- compare
@pytest.fixture(scope="module")
def default_compare():
    """``boostloss compare`` with no arguments: (exit status, stdout, stderr)."""
    import contextlib
    import io

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["compare", "--no-progress"])
    return code, out.getvalue(), err.getvalue()


def test_compare_with_no_arguments_runs_on_diabetes_with_outliers(default_compare):
    code, out, err = default_compare
    assert code == 0, err
    assert out.startswith("diabetes (scikit-learn)")
    assert "lightgbm, 200 rounds" in out and "5-fold cross-validation" in out
    rows = table_rows(out)
    assert list(rows)[0] == "squared_error" and list(rows)[3:] == ["quantile:alpha=0.5"]
    assert list(rows)[1].startswith("huber:delta=") and list(rows)[2].startswith("log_cosh:scale=")
    assert sum(row.count(" *") for row in rows.values()) == 3  # one best per metric
    assert all(row.count("±") == 3 and row.endswith(" s") for row in rows.values())
    # the robust losses win against gross outliers
    mae = {name: float(row.split()[0]) for name, row in rows.items()}
    assert min(mae[list(rows)[2]], mae["quantile:alpha=0.5"]) < 0.9 * mae["squared_error"]
    best = out.strip().splitlines()[-1]
    assert best.startswith("best by mae (lower is better): ") and best.split(": ")[1] != "squared_error"


def test_readme_starts_with_boostloss_compare_and_its_real_output(default_compare):
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    first_block = readme.split("```bash\n", 1)[1].split("```", 1)[0]
    assert first_block.splitlines()[0].startswith('pip install -e ".[all]" && boostloss compare')
    shown = readme.split("```text\n", 1)[1].split("```", 1)[0]
    assert readme.index("```text") > readme.index("```bash")
    out = default_compare[1]
    assert shown.splitlines()[:2] == out.splitlines()[:2]
    real, pasted = table_rows(out), table_rows(shown)
    assert list(pasted) == list(real)
    for name in real:  # booster versions differ slightly: means within 5%, spreads within 30%; not the times
        numbers = [np.array([float(v) for v in row.replace("±", " ").replace("*", " ").split()[:-2]])
                   for row in (real[name], pasted[name])]
        np.testing.assert_allclose(numbers[1][::2], numbers[0][::2], rtol=0.05, err_msg=f"README {name}: stale mean")
        np.testing.assert_allclose(numbers[1][1::2], numbers[0][1::2], rtol=0.3, err_msg=f"README {name}: stale std")
    assert shown.strip().splitlines()[-1] == out.strip().splitlines()[-1]


@pytest.mark.parametrize("task, first", [("binary", "breast cancer"), ("multiclass", "wine")])
def test_compare_default_classification_datasets(capsys, task, first):
    code, out, err = run(capsys, "compare", "--task", task, *FAST)
    assert code == 0, err
    assert out.startswith(f"{first} (scikit-learn)") and f"; {task} on column 'target'" in out.splitlines()[0]
    expected = ["logistic", "focal"] if task == "binary" else ["softmax_cross_entropy", "multiclass_focal"]
    assert list(table_rows(out)) == expected
    assert out.splitlines()[4].split()[1:3] == ["log_loss", "roc_auc" if task == "binary" else "accuracy"]


def test_compare_on_a_csv_with_a_categorical_column_and_a_plot(capsys, data_dir, tmp_path):
    png = tmp_path / "compare.png"
    code, out, err = run(capsys, "compare", data_dir / "houses.csv", "--target", "price", "--drop", "id,label,kind",
                         "--losses", "huber:delta=2,log_cosh:scale=1", "--losses", "quantile:alpha=0.5,hessian=unit",
                         "--metrics", "mae,rmse,r2", "--plot", png, *FAST)
    assert code == 0, err
    assert "240 rows, 3 features (1 categorical)" in out and "regression on column 'price'" in out
    assert list(table_rows(out)) == ["huber:delta=2", "log_cosh:scale=1", "quantile:alpha=0.5,hessian=unit"]
    assert f"wrote {png} (1100x400 pixels)" in out
    check_png(png, 1100, 400)


@pytest.mark.parametrize("booster", ["xgboost", "catboost"])
def test_compare_each_booster_on_parquet(capsys, data_dir, booster):
    code, out, err = run(capsys, "compare", data_dir / "houses.parquet", "--target", "price", "--booster", booster,
                         "--drop", "id,label", "--drop", "kind", "--losses", "squared_error,huber:delta=2", *FAST)
    assert code == 0, err
    assert f"{booster}, 40 rounds" in out and "(1 categorical)" in out
    assert list(table_rows(out)) == ["squared_error", "huber:delta=2"]


def test_compare_infers_classification_from_text_labels(capsys, data_dir):
    code, out, err = run(capsys, "compare", data_dir / "houses.csv", "--target", "label", "--drop", "id,price,kind",
                         "--metrics", "roc_auc,log_loss,focal", *FAST)
    assert code == 0, err
    assert "binary on column 'label'" in out
    assert list(table_rows(out)) == ["logistic", "focal"]
    assert "best by roc_auc (higher is better)" in out
    code, out, err = run(capsys, "compare", data_dir / "houses.csv", "--target", "kind", "--drop", "id,price,label",
                         *FAST)
    assert code == 0, err
    assert "multiclass on column 'kind'" in out


def test_compare_json(capsys, data_dir):
    code, out, err = run(capsys, "compare", data_dir / "houses.csv", "--target", "price", "--json",
                         "--losses", "squared_error,log_cosh:scale=2", "--metrics", "mae", *FAST)
    assert code == 0, err
    result = json.loads(out)
    assert result["task"] == "regression" and result["rows"] == 240 and result["cv"] == 3
    assert [row["loss"] for row in result["results"]] == ["squared_error", "log_cosh:scale=2"]
    assert set(result["results"][0]) == {"loss", "mae_mean", "mae_std", "fit_time"}
    assert result["best"] in ("squared_error", "log_cosh:scale=2")


def test_the_console_script_compares_and_plots(tmp_path):
    png = tmp_path / "default.png"
    done = subprocess.run([*console_script(), "compare", "--cv", "3", "--plot", str(png)], capture_output=True,
                          text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("diabetes (scikit-learn)") and "best by mae" in done.stdout
    check_png(png, 1100, 400)


def test_a_terminal_that_cannot_print_plus_minus_gets_ascii(tmp_path):
    env = {**os.environ, "PYTHONIOENCODING": "ascii"}
    done = subprocess.run([*console_script(), "compare", "--cv", "2", "--n-estimators", "10", "--losses",
                           "squared_error"], capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    assert "+-" in done.stdout and "±" not in done.stdout


def test_the_console_script_reports_bad_input_in_one_line(tmp_path):
    done = subprocess.run([*console_script(), "compare", "nowhere.csv", "--target", "y"], capture_output=True,
                          text=True, timeout=60, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr == "boostloss: error: no such file: nowhere.csv\n"
    assert done.stdout == ""


# --------------------------------------------------------------------------- bad input
BAD = [
    (["compare", "missing.csv", "--target", "price"], "no such file: missing.csv"),
    (["compare", "{data}/houses.csv", "--target", "cost"], "unknown column 'cost'; the columns are id, x, city"),
    (["compare", "{data}/houses.csv"], "--target COL is required with a data file"),
    (["compare", "{data}/houses.csv", "--target", "price", "--drop", "zip"], "unknown column to drop: zip"),
    (["compare", "--losses", "hubber"], "unknown loss 'hubber'; available: absolute_error"),
    (["compare", "--param", "max_dept=3"], "lightgbm has no parameter 'max_dept'; did you mean max_depth?"),
    (["compare", "--param", "colour=3"], "lightgbm has no parameter 'colour'"),
    (["compare", "--booster", "xgboost", "--param", "max_dpth=3"], "xgboost has no parameter 'max_dpth'; did you mean"),
    (["compare", "--booster", "catboost", "--param", "deptth=3"], "catboost has no parameter 'deptth'; did you mean"),
    (["compare", "--losses", "huber:delta=-1"], "delta must be finite and > 0"),
    (["compare", "--losses", "logistic"], "loss 'logistic' is a binary classification loss; the task is regression"),
    (["compare", "--task", "binary", "--losses", "huber"], "loss 'huber' is a regression loss; the task is binary"),
    (["compare", "--task", "multiclass", "--losses", "focal"], "loss 'focal' is a binary loss and needs exactly two "
                                                               "classes; the target has 3 classes"),
    (["compare", "{data}/houses.csv", "--target", "kind", "--task", "binary"], "needs exactly two classes; the "
                                                                               "target has 3"),
    (["compare", "{data}/houses.csv", "--target", "label", "--task", "regression"], "target column 'label' is not "
                                                                                    "numeric"),
    (["compare", "--losses", "poisson"], "targets lie outside the loss's domain"),
    (["compare", "--metrics", "accuracy"], "unknown metric 'accuracy'"),
    (["compare", "--task", "binary", "--metrics", "mae"], "metric 'mae' is not a classification metric"),
    (["compare", "--cv", "1"], "cv must be a whole number of folds >= 2"),
    (["compare", "--booster", "lgbm"], "argument --booster: invalid choice: 'lgbm'"),
    (["compare", "--plot", "{data}/no/such/dir/out.png"], "no such directory"),
    (["compare", "{data}"], "is a directory, not a data file"),
    (["compare", "{data}/broken.csv", "--target", "y"], "cannot read"),
    (["plot", "hubber"], "unknown loss 'hubber'"),
    (["plot"], "the following arguments are required: LOSS"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    ([], "the following arguments are required"),
]


@pytest.mark.parametrize("argv, message", BAD, ids=[" ".join(a) or "(none)" for a, _ in BAD])
def test_bad_input_is_one_line_and_exit_status_2(capsys, data_dir, tmp_path, monkeypatch, argv, message):
    (data_dir / "broken.csv").write_bytes(b"\xff\xfe\x00garbage\x00\n\x00\x01")
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, *[a.format(data=data_dir) for a in argv])
    assert code == 2
    assert err.startswith("boostloss: error: ") and err.endswith("\n") and err.count("\n") == 1, err
    assert message in err, err
    assert "Traceback" not in err and out == ""


def test_traceback_flag_shows_the_exception(capsys):
    with pytest.raises(ValueError, match="unknown loss"):
        main(["--traceback", "compare", "--losses", "hubber"])


# --------------------------------------------------------------------------- plot
def test_plot_sweeps_the_main_parameter_into_name_png(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "plot", "huber")
    assert code == 0, err
    assert out == "wrote huber.png (1200x400 pixels)\n"
    check_png(tmp_path / "huber.png", 1200, 400)


@pytest.mark.parametrize("losses", [["focal:gamma=[0,2,5]"], ["multiclass_focal"], ["poisson", "gamma", "tweedie"],
                                    ["quantile:alpha=0.9", "absolute_error"], ["squared_log_error"]])
def test_plot_any_loss_family(capsys, tmp_path, losses):
    png = tmp_path / "out.png"
    code, out, err = run(capsys, "plot", *losses, "-o", png, "--xlim", "-4", "4")
    assert code == 0, err
    check_png(png, 1200, 400)


# --------------------------------------------------------------------------- pieces
def test_split_specs_keeps_parameters_with_their_loss():
    assert split_specs(["huber:delta=2,log_cosh,quantile:alpha=0.5"]) == ["huber:delta=2", "log_cosh",
                                                                          "quantile:alpha=0.5"]
    assert split_specs(["quantile:alpha=0.9,hessian=unit", "mae"]) == ["quantile:alpha=0.9,hessian=unit", "mae"]
    assert split_specs(["softmax_cross_entropy:class_weight=[1,2,3],label_smoothing=0.1"]) == [
        "softmax_cross_entropy:class_weight=[1,2,3],label_smoothing=0.1"]
    assert split_specs(None) == [] and split_specs(["a,,b"]) == ["a", "b"]


def test_python_dash_m_boostloss_runs_the_command():
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    done = subprocess.run([sys.executable, "-m", "boostloss", "--version"], capture_output=True, text=True,
                          timeout=60, env=env)
    assert done.returncode == 0 and done.stdout.strip() == f"boostloss {bl.__version__}"


# --------------------------------------------------------------------------- the engine
def test_default_losses_and_task_inference():
    from boostloss.compare import default_losses, infer_task, robust_scale

    y = np.r_[np.arange(100.0), 1e6]  # one gross outlier does not move the robust scale
    assert robust_scale(y) == pytest.approx(1.4826 * 25)  # median 50, median absolute deviation 25
    assert default_losses("regression", y) == ["squared_error", "huber:delta=50", "log_cosh:scale=45",
                                               "quantile:alpha=0.5"]
    assert default_losses("regression") == ["squared_error", "huber:delta=1", "log_cosh:scale=1", "quantile:alpha=0.5"]
    assert default_losses("binary") == ["logistic", "focal"]
    assert default_losses("multiclass") == ["softmax_cross_entropy", "multiclass_focal"]
    assert infer_task(np.array(["a", "b", "a"])) == "binary"
    assert infer_task(np.array(["a", "b", "c"])) == "multiclass"
    assert infer_task(np.array([0, 1, 1, 0])) == "binary"
    assert infer_task(np.array([True, False])) == "binary"
    assert infer_task(np.arange(10.0)) == "regression"


def test_compare_losses_progress_bar_shows_the_folds(capsys):
    pytest.importorskip("tqdm")
    from boostloss.compare import compare_losses

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(120, 2)), rng.normal(size=120)
    result = compare_losses(X, y, ["squared_error"], cv=2, n_estimators=5, metrics=["mae"], progress=True)
    assert "squared_error fold 2/2" in capsys.readouterr().err
    assert result.scores["squared_error"]["mae"].shape == (2,)


def test_compile_caches_what_a_fit_uses_and_refuses_unknown_boosters(capsys):
    """``boostloss compile`` runs the fits of the losses it is given (here: one, on LightGBM) and
    names the cache it compiled into; a booster it does not know is a usage error."""
    from boostloss.losses import kernels

    code, out, err = run(capsys, "compile", "--losses", "poisson", "--boosters", "lightgbm")
    assert code == 0, err
    assert "compiling poisson on lightgbm" in err
    assert out.startswith("compiled ") and kernels.cache_location() in out
    assert kernels.poisson.signatures  # the fits ran the kernel
    code, out, err = run(capsys, "compile", "--boosters", "sklearn")
    assert code == 2 and "unknown booster(s) sklearn; choose from lightgbm, xgboost, catboost" in err


def test_compare_names_its_features_and_warns_of_identifier_columns(capsys, tmp_path):
    """Issue 16.7: row numbers sorted by the target's classes predict it by leakage alone."""
    rng = np.random.default_rng(1)
    region = np.sort(rng.choice(["east", "north", "west"], 150))
    frame = pd.DataFrame({"rownames": np.arange(1, 151), "wage": rng.lognormal(3, 0.5, 150), "region": region})
    frame.to_csv(tmp_path / "wages.csv", index=False)
    code, out, err = run(capsys, "compare", tmp_path / "wages.csv", "--target", "region", *FAST)
    assert code == 0
    assert "warning: column 'rownames' looks like a row identifier (unique integers in order)" in err
    assert "--drop rownames" in err and out.splitlines()[1] == "features: rownames, wage"
    code, out, err = run(capsys, "compare", tmp_path / "wages.csv", "--target", "region", "--drop", "rownames", *FAST)
    assert code == 0 and "identifier" not in err and out.splitlines()[1] == "features: wage"
    keys = pd.DataFrame({"key": [f"k{i}" for i in range(40)], "n": np.arange(40) % 7, "z": rng.normal(size=40)})
    assert identifier_columns(keys) == [("key", "a distinct text in every row")]


def test_a_loss_named_without_its_scale_takes_the_targets(capsys, tmp_path):
    """Issue 16.8: huber's delta = 1 means one gram on a target in grams; the named loss gets
    1.345 x the robust scale, as the default list's Huber does, and the output says so."""
    rng = np.random.default_rng(2)
    x = rng.normal(size=300)
    grams = 1000.0 * (50 + 5 * x + rng.standard_t(2, 300))
    pd.DataFrame({"x": x, "grams": grams}).to_csv(tmp_path / "weights.csv", index=False)
    code, out, _ = run(capsys, "compare", tmp_path / "weights.csv", "--target", "grams",
                       "--losses", "huber,fair:hessian=exact,pseudo_huber:delta=3,log_cosh", *FAST)
    assert code == 0
    delta = bl.compare._round_significant(1.345 * bl.compare.robust_scale(grams), 2)
    c = bl.compare._round_significant(1.3998 * bl.compare.robust_scale(grams), 2)
    scale = bl.compare._round_significant(1.205 * bl.compare.robust_scale(grams), 2)
    assert delta > 1000
    rows = table_rows(out)
    assert {f"huber:delta={delta:g}", f"fair:hessian=exact,c={c:g}", "pseudo_huber:delta=3",
            f"log_cosh:scale={scale:g}"} <= set(rows)
    assert "scale set from the target's robust scale" in out and f"huber:delta={delta:g}" in out
    assert bl.compare.with_target_scale("huber:delta=2", grams) == "huber:delta=2"
    assert bl.compare.with_target_scale(bl.Huber(), grams) == bl.Huber()


def test_compare_margin_losses_score_what_they_have(capsys, data_dir):
    """hinge estimates no probabilities: its log loss is n/a (JSON null), its ranks and labels
    are scored on its margins; modified Huber has both."""
    from sklearn.datasets import load_breast_cancer

    from boostloss.compare import compare_losses

    X, y = load_breast_cancer(return_X_y=True)
    result = compare_losses(X, y, ["logistic", "hinge", "modified_huber"], cv=2, n_estimators=60,
                            metrics=["log_loss", "roc_auc", "accuracy"], progress=False)
    assert np.isnan(result.scores["hinge"]["log_loss"]).all()
    assert np.isfinite(result.scores["modified_huber"]["log_loss"]).all()
    assert result.mean("hinge", "roc_auc") > 0.95 and result.mean("hinge", "accuracy") > 0.9
    assert result.best() in ("logistic", "modified_huber")  # among the losses with a log loss
    assert result.summary()[1]["log_loss_mean"] is None and result.summary()[1]["roc_auc_mean"] > 0.95
    code, out, err = run(capsys, "compare", data_dir / "houses.csv", "--target", "label", "--drop", "id,price,kind",
                         "--losses", "logistic,hinge", "--metrics", "log_loss,accuracy", *FAST)
    assert code == 0, err
    cells = table_rows(out)["hinge"].split()
    assert cells[0] == "n/a" and 0.5 < float(cells[1]) <= 1.0  # log loss, then the accuracy's mean
    code, out, err = run(capsys, "compare", data_dir / "houses.csv", "--target", "label", "--drop", "id,price,kind",
                         "--losses", "hinge", "--metrics", "log_loss,accuracy", "--json", *FAST)
    assert code == 0, err
    assert json.loads(out)["results"][0]["log_loss_mean"] is None


def test_compare_scores_predicted_distributions_and_intervals(capsys, data_dir):
    """Distribution losses and multi_quantile get NLL, CRPS, coverage and width by default,
    equal to the fitted regressor's own predictions scored by hand on each fold; a point loss,
    and a multi_quantile not trained on the interval's levels, are n/a for what they lack."""
    from scipy import stats
    from sklearn.datasets import load_diabetes
    from sklearn.model_selection import KFold

    from boostloss.compare import DISTRIBUTION_METRICS, compare_losses, make_estimator
    from boostloss.sklearn import BoostRegressor

    X, y = load_diabetes(return_X_y=True)
    losses = ["squared_error", "gaussian_nll", "multi_quantile", "multi_quantile:alphas=[0.25,0.5,0.75]"]
    result = compare_losses(X, y, losses, cv=2, n_estimators=30, progress=False)
    assert result.metrics == list(DISTRIBUTION_METRICS)
    assert result.direction("coverage:level=0.8") == "closest to 0.8"
    for i, (train, test) in enumerate(KFold(2, shuffle=True, random_state=0).split(X)):
        estimator, _ = make_estimator("lightgbm", "regression", X, n_estimators=30)
        model = BoostRegressor(estimator, loss="gaussian_nll").fit(X[train], y[train])
        mean, std = model.predict_dist(X[test]).mean, model.predict_dist(X[test]).std
        z = (y[test] - mean) / std
        crps = std * (z * (2 * stats.norm.cdf(z) - 1) + 2 * stats.norm.pdf(z) - 1 / np.sqrt(np.pi))
        low, high = stats.norm.interval(0.8, mean, std)
        expected = {"mae": np.mean(np.abs(y[test] - mean)), "nll": -np.mean(stats.norm.logpdf(y[test], mean, std)),
                    "crps": np.mean(crps), "coverage:level=0.8": np.mean((low <= y[test]) & (y[test] <= high)),
                    "interval_width:level=0.8": np.mean(high - low)}
        for metric, value in expected.items():
            assert result.scores["gaussian_nll"][metric][i] == pytest.approx(value, rel=1e-9), metric
        quantiles = BoostRegressor(estimator, loss="multi_quantile").fit(X[train], y[train]).predict_quantiles(X[test])
        inside = (quantiles[:, 0] <= y[test]) & (y[test] <= quantiles[:, 2])
        assert result.scores["multi_quantile"]["coverage:level=0.8"][i] == pytest.approx(np.mean(inside))
        assert result.scores["multi_quantile"]["interval_width:level=0.8"][i] == pytest.approx(
            np.mean(quantiles[:, 2] - quantiles[:, 0]))
    for loss, missing in [("squared_error", DISTRIBUTION_METRICS[2:]), ("multi_quantile", ("nll", "crps")),
                          ("multi_quantile:alphas=[0.25,0.5,0.75]", DISTRIBUTION_METRICS[2:])]:
        for metric in missing:
            assert np.isnan(result.scores[loss][metric]).all(), (loss, metric)
        assert np.isfinite(result.scores[loss]["rmse"]).all()
    # coverage is best at its level: the nearest mean wins, neither the highest nor the lowest
    result.scores["gaussian_nll"]["coverage:level=0.8"][:] = 0.7
    result.scores["multi_quantile"]["coverage:level=0.8"][:] = 0.95
    assert result.best("coverage:level=0.8") == "gaussian_nll"
    result.scores["gaussian_nll"]["coverage:level=0.8"][:] = 0.6
    assert result.best("coverage:level=0.8") == "multi_quantile"

    code, out, err = run(capsys, "compare", data_dir / "houses.csv", "--target", "price", "--drop", "id,label,kind",
                         "--losses", "gaussian_nll,squared_error", "--metrics", "coverage:level=0.9,nll", *FAST)
    assert code == 0, err
    assert table_rows(out)["squared_error"].split()[:2] == ["n/a", "n/a"]
    assert 0 < float(table_rows(out)["gaussian_nll"].split()[0]) <= 1
    assert "best by coverage:level=0.9 (closest to 0.9 is better): gaussian_nll" in out
    assert "n/a: the loss predicts no such thing" in out


def test_compare_scores_counts_without_a_closed_form_crps():
    """The negative binomial has an NLL (of the counts' probabilities) and intervals, no CRPS."""
    from scipy import stats

    from boostloss.compare import compare_losses

    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 2))
    y = rng.negative_binomial(2, 1 / (1 + np.exp(1 + 0.5 * X[:, 0]) / 2)).astype(float)
    result = compare_losses(X, y, ["negative_binomial_nll", "poisson"], cv=2, n_estimators=30, progress=False)
    assert np.isnan(result.scores["negative_binomial_nll"]["crps"]).all()
    assert np.isfinite(result.scores["negative_binomial_nll"]["nll"]).all()
    assert np.isnan(result.scores["poisson"]["nll"]).all()  # a point loss: no distribution here
    # the NLL of the counts' own marginal negative binomial bounds what a model should reach
    marginal = -stats.nbinom.logpmf(y, *_nbinom_moments(y)).mean()
    assert result.mean("negative_binomial_nll", "nll") < marginal + 0.1


def _nbinom_moments(y):
    mean, var = y.mean(), y.var()
    size = mean**2 / (var - mean)
    return size, size / (size + mean)


@pytest.mark.parametrize("metric, message", [
    ("coverage:level=1.5", "level must be a number in \\(0, 1\\)"),
    ("crps:level=0.8", "metric 'crps' has no parameter 'level'"),
    ("interval_width:alpha=0.1", "has no parameter 'alpha'; it takes level"),
])
def test_compare_refuses_a_bad_distribution_score_before_fitting(metric, message):
    from boostloss.compare import compare_losses

    X, y = np.zeros((20, 1)), np.arange(20.0)
    with pytest.raises(ValueError, match=message):
        compare_losses(X, y, ["gaussian_nll"], cv=2, metrics=[metric], progress=False)


def test_compare_refuses_multilabel_losses_naming_the_estimator():
    from boostloss.compare import compare_losses

    X, y = np.zeros((20, 1)), np.arange(20) % 2
    with pytest.raises(ValueError, match="multilabel loss, trained on \\(n, k\\) targets.*BoostClassifier"):
        compare_losses(X, y, ["multilabel_logistic"], cv=2, progress=False)
