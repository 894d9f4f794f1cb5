# tests/stats/test_sketch_quantiles.py
# Statistical test of the quantile sketch against numpy's exact quantiles.
# Licence: see LICENSE at the top of the repository.
#
# For 10^6 samples each of a lognormal, a normal (negative values), a mixture
# with an atom at 0 and a uniform, the sketch's q-quantile must lie within
# relative accuracy alpha of np.quantile(x, q, method="lower") (the same rank,
# floor(q (n - 1))), for q in [0.001, 0.999]; q = 0 and 1 must be the exact
# min and max.  The sketch is built whole and from 7 merged parts: the two
# must print the same bits.  The tool is stats_sketch_tool (env
# DS_SKETCH_TOOL, set by tests/stats/CMakeLists.txt).
import os
import subprocess

import numpy as np

from dstest import Checker, tmpdir

ALPHA = 1e-3  # DS_SKETCH_ALPHA
# The guarantee is alpha; the slack covers rounding of ln x / ln gamma and of
# gamma^k near bucket edges (~1e-13).
TOL = ALPHA + 1e-12
N = 10**6
SEED = 20240601


def samples(rng):
    mix = rng.lognormal(0.0, 2.0, N)
    mix[rng.random(N) < 0.25] = 0.0
    return {
        "lognormal": rng.lognormal(1.0, 1.5, N),
        "normal": rng.normal(-2.0, 3.0, N),
        "mixture_atom0": mix,
        "uniform": rng.uniform(-1.0, 3.0, N),
    }


W = 4096  # DS_SKETCH_MAX_BUCKETS


def run_tool(tool, path, parts, qs):
    out = subprocess.run(
        [tool, "quantiles", path, str(parts)] + [repr(float(q)) for q in qs],
        check=True, capture_output=True, text=True).stdout.split("\n")
    head = out[0].split()
    return int(head[1]), int(head[3]), out[1:1 + len(qs)]


def main():
    c = Checker()
    tool = os.environ.get("DS_SKETCH_TOOL")
    if not c.ok(tool, "DS_SKETCH_TOOL is set"):
        c.done()
    qs = np.concatenate(([0.0], np.linspace(0.001, 0.999, 999), [1.0]))
    rng = np.random.default_rng(SEED)
    tmp = tmpdir()
    for name, x in samples(rng).items():
        path = os.path.join(tmp, name + ".f64")
        x.astype("<f8").tofile(path)
        count, zero, whole = run_tool(tool, path, 1, qs)
        _, _, merged = run_tool(tool, path, 7, qs)
        c.ok(whole == merged, f"{name}: the merged sketch equals the whole")
        c.ok(count == N and zero == int(np.sum(np.abs(x) < 1e-12)), f"{name}: count {count} zero {zero}")
        est = np.array([float(v) for v in whole])
        truth = np.quantile(x, qs, method="lower")
        c.ok(est[0] == x.min() and est[-1] == x.max(),
             f"{name}: extremes {est[0]} {est[-1]} == {x.min()} {x.max()}")
        inner = slice(1, -1)
        err = np.abs(est[inner] - truth[inner])
        # The guarantee holds outside each sign's collapsed low end:
        # magnitudes more than gamma^(W-2) below the sign's largest
        # (stats.h, DS_SKETCH_MAX_BUCKETS = W).
        gamma = (1 + TOL) / (1 - TOL)
        t = truth[inner]
        top = np.where(t > 0, np.max(np.abs(x[x > 0]), initial=0.0),
                       np.max(np.abs(x[x < 0]), initial=0.0))
        kept = np.abs(t) >= top * gamma ** (-(W - 2))
        bad = (err > TOL * np.abs(t)) & kept
        worst = np.max(np.where((t != 0) & kept, err / np.abs(np.where(t != 0, t, 1.0)), 0.0))
        print(f"{name}: n={count} zeros={zero} worst relative error {worst:.6e} "
              f"(bound {TOL:.3e})")
        i = int(np.argmax(bad))
        c.ok(not np.any(bad), f"{name}: {int(np.sum(bad))} quantiles beyond the bound, first q={qs[inner][i]} "
                              f"sketch {est[inner][i]!r} numpy {truth[inner][i]!r}")
    c.done()


if __name__ == "__main__":
    main()
