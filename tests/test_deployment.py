"""Where users run it: a read-only install used by an unprivileged user without a home directory."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
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
    root, tmpdir = _world_readable_dir(), _world_readable_dir()
    try:
        tmpdir.chmod(0o777)
        shutil.copytree(PACKAGE, root / "boostloss", ignore=shutil.ignore_patterns("__pycache__"))
        probe = _as_nobody("import numpy, numba, scipy, sklearn", root, tmpdir)
        if probe.returncode != 0:
            pytest.skip(f"this interpreter cannot be run by an unprivileged user: {probe.stderr[-300:]}")
        for path in [root, *root.rglob("*")]:  # read-only, for everyone
            path.chmod(path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
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
    finally:
        for path in (root, tmpdir):
            for p in [path, *path.rglob("*")]:
                p.chmod(p.stat().st_mode | stat.S_IWUSR)
            shutil.rmtree(path, ignore_errors=True)
