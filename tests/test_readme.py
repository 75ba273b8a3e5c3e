"""The README's Python examples run as written, in order, in one namespace."""

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_examples_run():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert len(blocks) >= 5
    namespace = {}
    for block in blocks:
        exec(compile(block, str(README), "exec"), namespace)  # noqa: S102 - the README is ours
    # the examples end with fitted objects whose outputs are in the target's units
    assert namespace["pred"].shape == namespace["y_test"].shape
    proba = namespace["clf"].predict_proba(namespace["X_test"])
    assert abs(proba.sum(axis=1) - 1).max() < 1e-9
    assert namespace["search"].best_score_ > 0.2


def test_the_minimum_versions_ci_installs_are_the_declared_floors():
    """Issue 16.11: .ci/run runs the suite again on .ci/minimum-versions.txt; each pin there is
    the floor pyproject.toml declares for that package."""
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11

    root = Path(__file__).resolve().parent.parent
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    declared = {}
    extras = [requirement for extra in project["optional-dependencies"].values() for requirement in extra]
    for requirement in project["dependencies"] + extras:
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)(\[[^]]*\])?>=([0-9.]+)", requirement)
        if match and match.group(1) != "boostloss":
            declared[match.group(1).lower()] = match.group(3)
    pins = dict(line.split("==") for line in (root / ".ci" / "minimum-versions.txt").read_text().splitlines()
                if line and not line.startswith("#"))
    core = {"numpy", "scipy", "scikit-learn", "numba", "xgboost", "lightgbm", "catboost", "dask"}
    assert core <= set(pins)
    for name, version in pins.items():
        if name in declared:
            floor = [int(part) for part in declared[name].split(".")]
            pinned = [int(part) for part in version.split(".")]
            assert floor + [0] * (len(pinned) - len(floor)) == pinned, f"{name}: {declared[name]} against {version}"
    assert "minimum-versions.txt" in (root / ".ci" / "run").read_text()
