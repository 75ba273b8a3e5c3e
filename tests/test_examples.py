"""The README's first command: the quickstart example runs and Huber beats squared error on corrupted targets."""

import re
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_quickstart_runs_and_robust_losses_win():
    out = subprocess.run([sys.executable, str(EXAMPLES / "quickstart.py")], capture_output=True, text=True,
                         timeout=300, check=True).stdout
    rows = {m.group(1): [float(v) for v in m.group(2).split("|") if v.strip()]
            for m in re.finditer(r"^\| (\S+) \|(.*)\|$", out, flags=re.M) if m.group(1) != "loss"}
    assert set(rows) == {"squared_error", "huber:delta=30", "log_cosh"}
    assert len(rows["squared_error"]) == 3  # one column per booster, all installed in dev
    for robust in ("huber:delta=30", "log_cosh"):
        assert all(r < 0.8 * s for r, s in zip(rows[robust], rows["squared_error"], strict=True))
