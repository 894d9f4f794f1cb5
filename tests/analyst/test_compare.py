# tests/analyst/test_compare.py
# `dealsim compare A B [--json]`: paired trial by trial under common random
# numbers (checked against numpy on the per-trial data), unpaired otherwise,
# refusals for incomparable files.
# Licence: see LICENSE at the top of the repository.
import json
import math
import os
import shutil

import h5py
import numpy as np

from dstest import Checker, run, scenario, summary, tmpdir

c = Checker()
d = tmpdir()
smoke = scenario("smoke.yaml")  # per_trial: true, 20000 trials, seed 42


def mk(name, *extra):
    p = os.path.join(d, name)
    run(["run", smoke, "-o", p, "--quiet"] + list(extra))
    return p


def cmp_json(a, b):
    return json.loads(run(["compare", a, b, "--json"]).stdout)


def close(x, y, rel):
    return abs(x - y) <= rel * max(abs(x), abs(y), 1e-300)


a = mk("a.h5")
# A change to one investor only: Beta joins less often.  Under common random
# numbers every other draw of a trial is the same, so most trials do not
# move and the paired standard error is far below the unpaired one.
b = mk("b.h5", "--set", "investors.Beta.join_probability=0.5")

doc = cmp_json(a, b)
c.ok(doc["format"] == 1 and doc["common_random_numbers"] is True, "format 1, CRN detected")
sa, sb = summary(a), summary(b)
with h5py.File(a, "r") as fa, h5py.File(b, "r") as fb:
    names = [n for n in doc["outputs"]]
    for n in names:
        o = doc["outputs"][n]
        c.ok(o["method"] == "paired", f"{n}: paired")
        x, y = fa["trials"][n][()].astype(np.float64), fb["trials"][n][()].astype(np.float64)
        ok = np.isfinite(x) & np.isfinite(y)
        dd = y[ok] - x[ok]
        c.ok(o["pairs"] == int(ok.sum()), f"{n}: pairs = trials where both are defined")
        if dd.size >= 2:
            c.ok(close(o["diff"], float(np.mean(dd)), 1e-11) or abs(o["diff"] - np.mean(dd)) < 1e-14,
                 f"{n}: paired mean {o['diff']!r} == numpy mean of per-trial differences "
                 f"{float(np.mean(dd))!r}")
            se = float(np.std(dd, ddof=1) / math.sqrt(dd.size))
            c.ok(close(o["stderr"], se, 1e-9) or abs(o["stderr"] - se) < 1e-15,
                 f"{n}: paired stderr {o['stderr']!r} == numpy {se!r}")
        # The unpaired standard error is the one of two independent means.
        su = math.sqrt(float(sa[n]["stderr"]) ** 2 + float(sb[n]["stderr"]) ** 2)
        if math.isfinite(su):
            c.ok(close(o["stderr_unpaired"], su, 1e-15), f"{n}: unpaired stderr from /summary")
        c.ok(o["mean_a"] == float(sa[n]["mean"]) or (o["mean_a"] is None), f"{n}: mean A")
    # Outputs defined in every trial: the mean of differences is the
    # difference of means (up to rounding).
    for n in ("total", "paid", "closed", "target_met", "gpu_hours"):
        o = doc["outputs"][n]
        c.ok(abs(o["diff"] - (o["mean_b"] - o["mean_a"])) <= 1e-12 * max(1.0, abs(o["mean_a"])),
             f"{n}: paired diff == mean_b - mean_a")
    # Common random numbers pay: at least 2x smaller for every money output
    # the change touches (measured ~3-30x), and a real effect is detected.
    for n in ("total", "paid", "unpaid", "net_new", "gpu_hours"):
        o = doc["outputs"][n]
        c.ok(o["stderr"] < 0.5 * o["stderr_unpaired"],
             f"{n}: paired se {o['stderr']:.3g} < half the unpaired {o['stderr_unpaired']:.3g}")
    o = doc["outputs"]["total"]
    c.ok(o["diff"] < -10 * o["stderr"], f"total falls, many paired SEs: {o['diff']:.4g} +- {o['stderr']:.3g}")
    # Expected effect: Beta's join probability falls by 0.1; the estimated
    # change in P(join) is within 5 SE of that (unpaired se, conservative).
    beta = [v for v in doc["investors"] if v["name"] == "Beta"][0]
    c.z(beta["join_probability_diff"], beta["join_probability_stderr"], -0.1, "Beta P(join) change", 5)

txt = run(["compare", a, b]).stdout
c.ok("paired" in txt and "common random numbers" in txt and "se ratio" in txt,
     "the table says it is paired and by how much")

# Same A against itself: every paired difference is exactly 0.
self_doc = cmp_json(a, a)
c.ok(all(v["diff"] in (0.0, None) for v in self_doc["outputs"].values()), "A - A = 0")

# Different seeds: independent runs, unpaired; diff is mean_b - mean_a exactly.
e = mk("e.h5", "--seed", "7", "--set", "investors.Beta.join_probability=0.5")
ud = cmp_json(a, e)
c.ok(ud["common_random_numbers"] is False, "different seeds: no CRN")
c.ok(all(v["method"] == "unpaired" and v["pairs"] is None for v in ud["outputs"].values()),
     "different seeds: all unpaired")
for n, v in ud["outputs"].items():
    if v["mean_a"] is not None and v["mean_b"] is not None:
        c.ok(v["diff"] == v["mean_b"] - v["mean_a"], f"{n}: unpaired diff")
        if v["stderr"] is not None:
            c.ok(v["stderr"] == v["stderr_unpaired"], f"{n}: unpaired se")
# The independent comparison sees the same effect within its (larger) error.
dp, du = doc["outputs"]["total"], ud["outputs"]["total"]
c.z(du["diff"], math.hypot(du["stderr"], dp["stderr"]), dp["diff"], "paired vs unpaired total", 5)

# Same seed and trials without per-trial data: unpaired, and it says why.
a0 = mk("a0.h5", "--set", "output.per_trial=false")
b0 = mk("b0.h5", "--set", "output.per_trial=false", "--set", "investors.Beta.join_probability=0.5")
nd = cmp_json(a0, b0)
c.ok(all(v["method"] == "unpaired" for v in nd["outputs"].values()) and
     "no per-trial data" in nd["pairing"], "no /trials: unpaired with the reason")
# Different trial counts: unpaired.
f5 = mk("f5.h5", "-n", "8192")
c.ok(all(v["method"] == "unpaired" for v in cmp_json(a, f5)["outputs"].values()),
     "different trial counts: unpaired")

# Refusals: different block sizes or format versions, exit 2 with one line.
bs = os.path.join(d, "bs.h5")
shutil.copy(b, bs)
with h5py.File(bs, "r+") as f:
    f.attrs["block_size"] = np.uint64(2048)
fv = os.path.join(d, "fv.h5")
shutil.copy(b, fv)
with h5py.File(fv, "r+") as f:
    # Another version than this build's (whatever that is).
    major, minor = (int(x) for x in f.attrs["file_format_version"])
    f.attrs["file_format_version"] = np.array([major, minor + 1], dtype=np.int32)
for p, needle in [(bs, "block size"), (fv, "format version")]:
    cp = run(["compare", a, p], expect=2)
    c.ok(needle in cp.stderr and len(cp.stderr.strip().split("\n")) == 1 and cp.stdout == "",
         f"refuses {os.path.basename(p)}: {cp.stderr.strip()}")
# A bad file is reported as by summary.
cp = run(["compare", a, os.path.join(d, "missing.h5")], expect=2)
c.ok("cannot read" in cp.stderr, "missing B")
run(["compare", a], expect=2)
c.ok(run(["compare", "--help"]).stdout.startswith("Usage: dealsim compare"), "compare --help")
c.done()
