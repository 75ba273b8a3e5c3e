"""The README's Python examples run as written, in order, in one namespace."""

import re
from pathlib import Path

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
