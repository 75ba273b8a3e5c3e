"""Every script in examples/ runs to completion within its budget; the README's quickstart also
shows robust losses beating squared error on corrupted targets.

A script whose optional dependency is missing may exit with status 77 after printing why: the
test is then skipped (in dev every optional dependency is installed).
"""

import functools
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SCRIPTS = sorted(EXAMPLES.glob("*.py"))
HANG = 600.0  # seconds: a script still running then has hung (no timing is asserted: CI machines are busy)
SKIP_EXIT_CODE = 77


@functools.cache
def _run(script: Path):
    with tempfile.TemporaryDirectory(prefix=f"example-{script.stem}-") as scratch:
        try:
            return subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=HANG,
                                  cwd=scratch)
        except subprocess.TimeoutExpired:
            return None


def run(script: Path):
    """Run a script once (in a scratch directory, so boosters' files land there) and keep the result."""
    done = _run(script)
    if done is None:
        pytest.fail(f"{script.name} did not finish in {HANG:.0f} s")
    return done


def test_there_is_one_example_per_entry_point():
    names = {script.stem for script in SCRIPTS}
    assert {"quickstart", "xgboost_train", "lightgbm_train", "catboost_train", "sklearn_pipeline",
            "quantile_intervals", "focal_imbalanced"} <= names


@pytest.mark.parametrize("script", SCRIPTS, ids=[script.stem for script in SCRIPTS])
def test_example_runs(script):
    done = run(script)
    if done.returncode == SKIP_EXIT_CODE:
        pytest.skip(done.stdout.strip() or f"{script.name} skipped itself")
    assert done.returncode == 0, f"{script.name} failed:\n{done.stderr[-3000:]}"
    assert done.stdout.strip(), f"{script.name} printed nothing"
    assert "Traceback" not in done.stderr


def table(out: str) -> dict[str, list[str]]:
    """The rows of a Markdown table printed by an example: first cell -> other cells."""
    rows = [line.strip("|").split("|") for line in out.splitlines() if line.startswith("| ")]
    return {cells[0].strip(): [c.strip() for c in cells[1:]] for cells in rows[1:]}


def test_quickstart_runs_and_robust_losses_win():
    out = run(EXAMPLES / "quickstart.py").stdout
    rows = {m.group(1): [float(v) for v in m.group(2).split("|") if v.strip()]
            for m in re.finditer(r"^\| (\S+) \|(.*)\|$", out, flags=re.M) if m.group(1) != "loss"}
    assert set(rows) == {"squared_error", "huber:delta=30", "log_cosh"}
    assert len(rows["squared_error"]) == 3  # one column per booster, all installed in dev
    for robust in ("huber:delta=30", "log_cosh"):
        assert all(r < 0.8 * s for r, s in zip(rows[robust], rows["squared_error"], strict=True))


README = EXAMPLES.parent / "README.md"


def test_every_example_is_in_the_readme_table():
    listed = set(re.findall(r"^\| `(\w+)\.py` \|", README.read_text(), flags=re.M))
    assert listed == {script.stem for script in SCRIPTS}


def printed_in_readme() -> dict[str, str]:
    """``script -> output`` for each README paragraph that names ``python examples/<script>.py``
    and shows what it prints in the fenced block that follows."""
    pattern = r"`python examples/(\w+)\.py`[^`]*?(?:`[^`]*`[^`]*?)*?\n```\w*\n(.*?)\n```"
    return {m.group(1): m.group(2) for m in re.finditer(pattern, README.read_text(), flags=re.S)}


def test_the_readme_shows_what_the_examples_print():
    shown = printed_in_readme()
    assert "quickstart" in shown
    for name, output in shown.items():
        done = run(EXAMPLES / f"{name}.py")
        assert done.stdout.strip() == output.strip(), f"README's output of {name}.py is stale:\n{done.stdout}"


def test_quantile_intervals_cover_about_ninety_percent():
    rows = table(run(EXAMPLES / "quantile_intervals.py").stdout)
    assert set(rows) == {"lightgbm", "xgboost", "catboost"}
    for cells in rows.values():
        assert 0.85 <= float(cells[0].rstrip("%")) / 100 <= 0.95
        assert float(cells[4]) > 2 * float(cells[3])  # wider where the noise is larger


def test_robust_objectives_beat_squared_error_in_the_train_api_examples():
    xgb = table(run(EXAMPLES / "xgboost_train.py").stdout)
    assert float(xgb["pseudo_huber:delta=30"][1]) < float(xgb["squared_error"][1])
    lgb = table(run(EXAMPLES / "lightgbm_train.py").stdout)
    assert all(float(lgb[name][1]) < 0.7 * float(lgb["squared_error"][1]) for name in ("huber:delta=4", "log_cosh"))
    cat = table(run(EXAMPLES / "catboost_train.py").stdout)
    assert float(cat["boostloss log_cosh"][1]) < 0.2 * float(cat["CatBoost RMSE"][1])


def test_no_test_asserts_a_wall_clock_time():
    """Issue 16.10: timings belong in benchmarks/ (CI machines are busy); the suite reads no clock."""
    import ast

    clocks = {"perf_counter", "perf_counter_ns", "monotonic", "monotonic_ns", "time", "time_ns", "process_time"}
    found = []
    for path in sorted(Path(__file__).resolve().parent.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in clocks \
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == "time":
                found.append(f"{path.name}:{node.lineno}")
    assert not found, f"tests reading the clock: {found}"
