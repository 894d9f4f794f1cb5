# tests/stats/test_histogram_edges.py
# A constant or near-constant output (a fixed price: final_price and
# avg_price) gets distinct, increasing histogram edges around its value,
# mean +- 0.001 max(|min|, |max|) (README, /histograms), and its one bin
# holds every value.
# Licence: see LICENSE at the top of the repository.
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np

DEALSIM = os.environ["DEALSIM"]
SRC = os.environ["DS_SOURCE_DIR"]
failures = []


def check(cond, what):
    print(("ok:   " if cond else "FAIL: ") + what, flush=True)
    if not cond:
        failures.append(what)


with tempfile.TemporaryDirectory(prefix="dealsim-hist-") as d:
    out = os.path.join(d, "fixed.h5")
    subprocess.run([DEALSIM, "run", os.path.join(SRC, "configs", "smoke.yaml"), "-n", "5000",
                    "-o", out, "--force", "--quiet",
                    "--set", "compute.price.volatility=0", "--set", "compute.price.drift=0",
                    "--set", "compute.price.jumps.rate=0", "--set", "compute.price.initial=3.3"],
                   check=True)
    with h5py.File(out, "r") as f:
        s, h = f["summary"], f["histograms"]
        names = list(s["output"].asstr()[:])
        seen = 0
        for o, name in enumerate(names):
            lo, hi, cnt = s["min"][o], s["max"][o], int(s["count"][o])
            scale = max(abs(lo), abs(hi))
            if cnt == 0 or scale == 0 or hi - lo > 1e-9 * scale:
                continue
            seen += 1
            e, c = h["edges"][o], h["counts"][o]
            check(np.all(np.diff(e) > 0) and len(np.unique(e)) == len(e),
                  "%s: %d distinct increasing edges" % (name, len(e)))
            mean = s["mean"][o]
            check(e[0] == mean - 1e-3 * scale and e[-1] == mean + 1e-3 * scale,
                  "%s: edges mean +- 0.001 scale (%r .. %r)" % (name, e[0], e[-1]))
            check(c.sum() == cnt and c.max() == cnt and e[int(np.argmax(c))] <= lo <= e[int(np.argmax(c)) + 1] + 1e-3 * scale,
                  "%s: every value in the bin of the value" % name)
        check(seen >= 1, "a fixed price makes near-constant outputs (%d)" % seen)
if failures:
    sys.exit(1)
print("all checks passed")
