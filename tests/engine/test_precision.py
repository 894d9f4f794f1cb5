# tests/engine/test_precision.py
# --precision OUTPUT:TOL[%] --max-trials N stops at the first fixed check
# point (8, 16, ..., 1024 blocks, then every 1024) where every target is
# met; the stopping point and the file do not depend on the thread count;
# the file says which targets were met and when, or that --max-trials came
# first.
# Licence: see LICENSE at the top of the repository.
import os

import h5py

from dstest import Checker, differences, run, scenario, tmpdir

c = Checker()
d = tmpdir()
oa = scenario("openai-2026.yaml")
args = ["--precision", "total:0.03", "--precision", "target_met:0.0015", "--max-trials", "1e8",
        "--set", "output.sensitivity=false", "-q"]
files = {}
for t in (1, 2):
    files[t] = os.path.join(d, f"p{t}.h5")
    run(["run", oa, *args, "--threads", str(t), "-o", files[t]])
with h5py.File(files[1], "r") as f:
    n = int(f.attrs["trials"])
    blocks = n // 4096
    outcome = f.attrs["precision_outcome"]
    outcome = outcome.decode() if isinstance(outcome, bytes) else outcome
    total_se = float(f["summary/stderr"][list(f["summary/output"].asstr()[()]).index("total")])
    c.ok(f.attrs["run_status"] == "complete", "the run is complete")
    c.ok(n % 4096 == 0 and (blocks in (8, 16, 32, 64, 128, 256, 512, 1024) or blocks % 1024 == 0),
         f"stopped at a check point ({blocks} blocks)")
    c.ok(outcome.startswith("met at") and str(n) in outcome, f"the outcome says so ({outcome})")
    c.ok(total_se <= 0.03, f"SE(mean total) = {total_se:.4f} <= 0.03 at the stop")
    c.ok(int(f.attrs["trials_requested"]) == 100000000, "trials_requested is --max-trials")
diff = differences(files[1], files[2])
c.ok(not diff, f"1 and 2 threads: the same stopping point and bits (differs: {diff[:5]})")

# The check before the stop did not meet the targets: a run of the previous
# check point's trials has a standard error above the tolerance.
prev = blocks // 2 if blocks <= 1024 else blocks - 1024
if prev >= 8:
    q = os.path.join(d, "prev.h5")
    run(["run", oa, "-n", str(prev * 4096), "--set", "output.sensitivity=false", "-q", "-o", q])
    with h5py.File(q, "r") as f:
        names = list(f["summary/output"].asstr()[()])
        se_t = float(f["summary/stderr"][names.index("total")])
        se_p = float(f["summary/stderr"][names.index("target_met")])
    c.ok(se_t > 0.03 or se_p > 0.0015, f"at the previous check ({prev} blocks) a target was not met "
                                     f"(SE total {se_t:.4f}, SE P(target met) {se_p:.5f})")

# Not met within --max-trials: a complete run of --max-trials trials that says so.
nm = os.path.join(d, "notmet.h5")
cp = run(["run", oa, "--precision", "total:1e-9", "--max-trials", "50000", "--set",
          "output.sensitivity=false", "-o", nm])
with h5py.File(nm, "r") as f:
    o = f.attrs["precision_outcome"]
    o = o.decode() if isinstance(o, bytes) else o
    c.ok(int(f.attrs["trials"]) == 50000 and o.startswith("not met"), f"not met: {o}")
c.ok("not met" in cp.stdout, "the summary table says the targets were not met")
# Usage errors.
run(["run", oa, "--precision", "totl:1", "-q"], expect=2)
run(["run", oa, "--precision", "total:-1", "-q"], expect=2)
run(["run", oa, "--max-trials", "1e6", "-q"], expect=2)
c.done()
