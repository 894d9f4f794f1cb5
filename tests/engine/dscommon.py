# tests/engine/dscommon.py
# Shared helpers of the engine's Python tests: run dealsim, read its file.
# Licence: see LICENSE at the top of the repository.
import atexit
import os
import shutil
import subprocess
import sys
import tempfile

import h5py
import numpy as np

DEALSIM = os.environ["DEALSIM"]
SRC = os.environ["DS_SOURCE_DIR"]
HERE = os.path.dirname(os.path.abspath(__file__))


def scenario(name):
    """Path of a test scenario (tests/engine/scenarios) or a shipped one (configs/)."""
    p = os.path.join(HERE, "scenarios", name)
    return p if os.path.exists(p) else os.path.join(SRC, "configs", name)


def tmpdir():
    """A scratch directory, removed when the test exits (set DS_KEEP_TMP=1 to keep it)."""
    d = tempfile.mkdtemp(prefix="dealsim-test-")
    if not os.environ.get("DS_KEEP_TMP"):
        atexit.register(shutil.rmtree, d, ignore_errors=True)
    return d


def run(args, expect=0, env=None):
    """Runs dealsim with args; checks the exit code; returns the CompletedProcess."""
    e = dict(os.environ)
    if env:
        e.update(env)
    cp = subprocess.run([DEALSIM] + list(args), capture_output=True, text=True, env=e)
    if cp.returncode != expect:
        sys.stderr.write(cp.stdout + cp.stderr)
        raise AssertionError(f"dealsim {' '.join(args)}: exit {cp.returncode}, expected {expect}")
    return cp


def run_to_file(scen, out, *extra, threads=None):
    args = ["run", scenario(scen), "-o", out, "--force", "--quiet"] + list(extra)
    if threads:
        args += ["--threads", str(threads)]
    run(args)
    return out


def read_trials(path):
    with h5py.File(path, "r") as f:
        return {k: f["trials"][k][()] for k in f["trials"]}


def summary(path):
    """{output name: {stat: value}} from /summary."""
    with h5py.File(path, "r") as f:
        g = f["summary"]
        names = [n.decode() if isinstance(n, bytes) else n for n in g["output"][()]]
        out = {}
        for i, n in enumerate(names):
            out[n] = {k: g[k][i] for k in ("count", "nan_count", "mean", "sd", "stderr", "min", "max")}
        return out


class Checker:
    """Collects named checks and fails the test at the end with all failures."""

    def __init__(self):
        self.failures = []
        self.n = 0

    def ok(self, cond, what):
        self.n += 1
        if not cond:
            self.failures.append(what)
            print("FAIL:", what)

    def z(self, est, se, truth, what, zmax):
        """|est - truth| <= zmax * se (se > 0), reported with the z score."""
        zz = abs(est - truth) / se if se > 0 else (0.0 if est == truth else np.inf)
        self.ok(zz <= zmax, f"{what}: estimate {est:.6g}, expected {truth:.6g}, z = {zz:.2f} (max {zmax})")
        return zz

    def done(self):
        print(f"{self.n - len(self.failures)} checks passed, {len(self.failures)} failed")
        sys.exit(1 if self.failures else 0)
