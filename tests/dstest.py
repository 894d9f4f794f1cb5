# tests/dstest.py
# The one helper module of every Python test: run dealsim, scratch directories,
# read a result file, compare two files bit for bit, collect checks.
# Licence: see LICENSE at the top of the repository.
#
# ctest puts tests/ on PYTHONPATH (ds_add_py_test in tests/CMakeLists.txt), so
# a test says `from dstest import ...`; by hand:
#   PYTHONPATH=tests DEALSIM=build/dealsim DS_SOURCE_DIR=. /usr/bin/python3 tests/x/test_y.py
import atexit
import glob
import hashlib
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("DS_SOURCE_DIR") or os.path.dirname(HERE)
BUILD = os.environ.get("DS_BINARY_DIR") or os.path.join(SRC, "build")
DEALSIM = os.environ.get("DEALSIM") or os.path.join(BUILD, "dealsim")

# Root attributes that describe how and where a run happened, not its results:
# they differ between runs that must otherwise be bit-identical.
PROVENANCE = frozenset({"threads", "mpi_ranks", "hostname", "created_utc", "finished_utc", "wall_seconds"})


def text(v):
    """An HDF5 string (bytes or str) as str."""
    return v.decode() if isinstance(v, bytes) else str(v)


def scenario(name):
    """Path of a test scenario (tests/engine/scenarios) or a shipped one (configs/)."""
    p = os.path.join(HERE, "engine", "scenarios", name)
    return p if os.path.exists(p) else os.path.join(SRC, "configs", name)


def tmpdir(prefix="dealsim-test-"):
    """A scratch directory, removed when the test exits (set DS_KEEP_TMP=1 to keep it)."""
    d = tempfile.mkdtemp(prefix=prefix)
    if os.environ.get("DS_KEEP_TMP") != "1":
        atexit.register(shutil.rmtree, d, ignore_errors=True)
    return d


def run(args, expect=0, env=None, timeout=600, stdin=None):
    """Runs dealsim with args; checks the exit code (expect=None: any); returns the CompletedProcess."""
    e = dict(os.environ)
    if env:
        e.update(env)
    # errors="replace": a test of bad input must see a bad message, not crash on it.
    cp = subprocess.run([DEALSIM] + [str(a) for a in args], capture_output=True, text=True, errors="replace",
                        env=e, timeout=timeout, stdin=stdin)
    if expect is not None and cp.returncode != expect:
        sys.stderr.write(cp.stdout + cp.stderr)
        raise AssertionError(f"dealsim {' '.join(map(str, args))}: exit {cp.returncode}, expected {expect}")
    return cp


def start(args, env=None):
    """Starts dealsim with args in the background (stdout and stderr piped, text)."""
    e = dict(os.environ)
    if env:
        e.update(env)
    return subprocess.Popen([DEALSIM] + [str(a) for a in args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=e)


def small_file_limit():
    """A preexec_fn that caps the child's file size at 2 MiB (a stand-in for a
    full disk): writes past it fail with EFBIG instead of killing the process."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (2 << 20, 2 << 20))


def run_to_file(scen, out, *extra, threads=None):
    """`dealsim run scen -o out --force --quiet extra...`; returns out."""
    args = ["run", scenario(scen), "-o", out, "--force", "--quiet"] + list(extra)
    if threads:
        args += ["--threads", str(threads)]
    run(args)
    return out


def read_trials(path):
    """{name: array} of /trials."""
    with h5py.File(path, "r") as f:
        return {k: f["trials"][k][()] for k in f["trials"]}


def summary(path):
    """{output name: {stat: value}} from /summary."""
    with h5py.File(path, "r") as f:
        g = f["summary"]
        names = [text(n) for n in g["output"][()]]
        out = {}
        for i, n in enumerate(names):
            out[n] = {k: g[k][i] for k in ("count", "nan_count", "mean", "sd", "stderr", "min", "max")}
        return out


def run_status(path):
    """The file's run_status attribute ("complete" or "interrupted")."""
    with h5py.File(path, "r") as f:
        return text(f.attrs["run_status"])


def leftovers(path):
    """What a run on path leaves beside it when it does not finish cleanly:
    its partial files and its lock."""
    return sorted(glob.glob(glob.escape(path) + ".partial*") + glob.glob(glob.escape(path) + ".lock"))


def sha256(path):
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def contents(path):
    """{name: value} of every dataset, and "@attr" of every root attribute but
    PROVENANCE.  effective_config loses its `file:` line: it records the -o
    path, which differs between runs by design."""
    out = {}
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                out[name] = obj[()]
        f.visititems(visit)
        if "effective_config" in out:
            out["effective_config"] = "\n".join(
                l for l in f["effective_config"].asstr()[()].splitlines() if not l.lstrip().startswith("file:"))
        for k, v in f.attrs.items():
            if k not in PROVENANCE:
                out["@" + k] = v
    return out


def same_value(x, y):
    """Bit-identical: floats compared as bytes (NaNs included), strings by value."""
    if isinstance(x, np.ndarray) and isinstance(y, np.ndarray):
        if x.dtype.hasobject or y.dtype.hasobject:
            # Variable-length strings: their bytes are pointers; compare values.
            return x.shape == y.shape and x.tolist() == y.tolist()
        return x.shape == y.shape and x.dtype == y.dtype and x.tobytes() == y.tobytes()
    if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
        return np.shape(x) == np.shape(y) and bool(np.all(x == y))
    return x == y


def differences(a, b):
    """Sorted names (datasets, "@attr") in which two files, or two contents()
    dicts, differ; [] when they are bit-identical but for provenance."""
    a = contents(a) if isinstance(a, (str, os.PathLike)) else a
    b = contents(b) if isinstance(b, (str, os.PathLike)) else b
    diff = set(a) ^ set(b)
    diff.update(k for k in set(a) & set(b) if not same_value(a[k], b[k]))
    return sorted(diff)


class Checker:
    """Collects named checks and fails the test at the end with all failures."""

    def __init__(self, verbose=False):
        self.failures = []
        self.n = 0
        self.verbose = verbose  # print the checks that pass too

    def ok(self, cond, what):
        self.n += 1
        if not cond:
            self.failures.append(what)
            print("FAIL:", what, flush=True)
        elif self.verbose:
            print("ok:  ", what, flush=True)
        return bool(cond)

    def fail(self, what):
        """A check that failed where it was found."""
        return self.ok(False, what)

    def z(self, est, se, truth, what, zmax):
        """|est - truth| <= zmax * se (se > 0), reported with the z score."""
        zz = abs(est - truth) / se if se > 0 else (0.0 if est == truth else np.inf)
        self.ok(zz <= zmax, f"{what}: estimate {est:.6g}, expected {truth:.6g}, z = {zz:.2f} (max {zmax})")
        return zz

    def done(self):
        print(f"{self.n - len(self.failures)} checks passed, {len(self.failures)} failed")
        sys.exit(1 if self.failures else 0)
