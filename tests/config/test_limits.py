# tests/config/test_limits.py
# The loader's limits (README "Limits", config.h): just inside each limit a
# scenario loads and a run gives finite summaries; just outside it is refused
# (exit 2) with a message naming the key and the limit.  Also `sample`, which
# reads its --dist through the same checks.
# Licence: see LICENSE at the top of the repository.
import os

import h5py
import numpy as np

from dstest import Checker, run, scenario, tmpdir

c = Checker()
d = tmpdir()
smoke = scenario("smoke.yaml")
no_jumps = "compute.price.jumps={rate: 0, size: 0}"


def refused(sets, needles, what):
    args = ["check", smoke]
    for s in sets:
        args += ["--set", s]
    cp = run(args, expect=2)
    for n in needles:
        c.ok(n in cp.stderr, f"{what}: message has {n!r}: {cp.stderr.strip()[:300]}")


def loads(sets, what):
    args = ["check", smoke]
    for s in sets:
        args += ["--set", s]
    cp = run(args)
    c.ok("valid" in cp.stdout, what)


# Jumps: 1000 expected a month is the limit (rate 12000 a year).
loads(["compute.price.jumps={rate: 12000, size: 0}"], "jump rate 12000/yr (1000 a month) loads")
refused(["compute.price.jumps={rate: 12001, size: 0}"], ["compute.price.jumps.rate", "limit of 1000"],
        "jump rate 12001/yr")
refused(["compute.price.jumps={rate: 1e17, size: 0}"], ["compute.price.jumps.rate", "limit of 1000"],
        "jump rate 1e17")
refused(["compute.price.jumps={rate: {dist: uniform, min: 0, max: 2e4}, size: 0}"],
        ["compute.price.jumps.rate", "limit of 1000"], "uncertain jump rate whose support ends above the limit")

# The log price: smoke's bound is 0.69 + 0.3 + 40 v + ln(29.0) (amounts), so
# volatility 17 is inside (about 684) and 17.5 outside.
loads([no_jumps, "compute.price.volatility=17"], "volatility 17 over a year loads")
refused([no_jumps, "compute.price.volatility=17.5"], ["compute.price", "limit of 700"], "volatility 17.5")
refused(["compute.price.volatility=100"], ["compute.price", "limit of 700"], "volatility 100")

# Magnitudes, widths and the sum of the amounts.
refused(["investors.Alpha.amount=1e308"], ["investors[0].amount", "1e300"], "an amount of 1e308")
refused(["investors.Alpha.amount=6e299", "investors.Beta.amount=6e299"], ["investors", "sum to", "1e300"],
        "two amounts that sum past 1e300")
for dist in ("uniform", "triangular", "pert"):
    extra = ", mode: 0" if dist != "uniform" else ""
    refused([f"compute.price.drift={{dist: {dist}, min: -1e308{extra}, max: 1e308}}"],
            ["compute.price.drift", "1e300", "max - min"], f"{dist} on [-1e308, 1e308]")
refused(["compute.price.drift={dist: normal, mean: 1e308, sd: 1e308}"], ["compute.price.drift", "1e300"],
        "normal(1e308, 1e308)")
refused(["compute.price.initial={dist: lognormal, median: 1e300, sigma: 10}"],
        ["compute.price.initial", "1e300"], "lognormal(median 1e300, sigma 10)")
cp = run(["sample", "--dist", "{dist: uniform, min: -1e308, max: 1e308}"], expect=2)
c.ok("1e300" in cp.stderr, f"sample refuses an infinite width: {cp.stderr.strip()[:200]}")

# Just inside the limits a run stays finite: every summary statistic that is
# defined is a finite number.
out = os.path.join(d, "edge.h5")
run(["run", smoke, "-n", "20000", "--quiet", "-o", out, "--set", no_jumps,
     "--set", "compute.price.volatility=17"])
with h5py.File(out, "r") as f:
    names = [n.decode() for n in f["summary/output"][:]]
    for stat in ("mean", "sd", "min", "max"):
        v = f["summary"][stat][()]
        bad = [names[i] for i in range(len(names)) if np.isinf(v[i])]
        c.ok(not bad, f"summary {stat} has no infinity at volatility 17: {bad}")
c.done()
