# tests/engine/test_precision.py
# --precision OUTPUT:TOL[%] --max-trials N stops at the first fixed check
# point where every target is met (8, 16, 32, 64 blocks, then every c/8
# blocks for c in [2^k, 2^(k+1)): 72, 80, ..., 128, 144, ...); the stopping
# point and the file do not depend on the thread count or on an interruption
# and --resume; the file says which targets were met and when, or that
# --max-trials came first.  The schedule itself, block count by block count,
# is tests/engine/test_precision_schedule.c.
# Licence: see LICENSE at the top of the repository.
import math
import os
import signal
import time

import h5py

from dstest import Checker, differences, run, run_status, scenario, sha256, start, tmpdir


def check_points(limit):
    """The README's check points up to limit blocks, in order."""
    pts, c = [], 8
    while c < 64:
        pts.append(c)
        c *= 2
    while c <= limit:
        pts.append(c)
        c += (1 << (c.bit_length() - 1)) // 8
    return pts


def old_stop(blocks):
    """Where the schedule before this one (8, ..., 1024, then every 1024)
    would have stopped a run first met at `blocks`."""
    c = 8
    while c < blocks:
        c = 2 * c if c < 1024 else c + 1024
    return c


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
    c.ok(n % 4096 == 0 and blocks in check_points(blocks), f"stopped at a check point ({blocks} blocks)")
    c.ok(outcome.startswith("met at") and str(n) in outcome, f"the outcome says so ({outcome})")
    c.ok(total_se <= 0.03, f"SE(mean total) = {total_se:.4f} <= 0.03 at the stop")
    c.ok(int(f.attrs["trials_requested"]) == 100000000, "trials_requested is --max-trials")
diff = differences(files[1], files[2])
c.ok(not diff, f"1 and 2 threads: the same stopping point and bits (differs: {diff[:5]})")

# The check before the stop did not meet the targets: a run of the previous
# check point's trials has a standard error above the tolerance.
pts = check_points(blocks)
prev = pts[-2] if len(pts) > 1 else 0
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
# --resume keeps the run's targets and the schedule: a smoke run with a
# tolerance on SE(mean total) aimed, from a pilot run's sd, at block count
# AIM between the check points 1024 and 1152 (the geometric mean, ~3% of SE
# from either; the pilot's sd is good to a fraction of that), so it stops at
# 1152 blocks where the schedule before this one ran to 2048.  2 threads
# uninterrupted; 2 threads interrupted by SIGTERM inside the run, then
# resumed with no --precision on 1 thread: the same stopping point and bits.
# Other targets or --max-trials are refused and leave the file as it was.
smoke = scenario("smoke.yaml")
quiet = ["--set", "output.per_trial=false", "-q"]
pilot = os.path.join(d, "pilot.h5")
run(["run", smoke, "-n", str(64 * 4096), *quiet, "-o", pilot])
with h5py.File(pilot, "r") as f:
    sd = float(f["summary/sd"][list(f["summary/output"].asstr()[()]).index("total")])
AIM, STOP = math.sqrt(1024 * 1152), 1152
tol = sd / math.sqrt(AIM * 4096)
tight = ["--precision", f"total:{tol:.6g}", "--max-trials", "1e8", *quiet]
whole = os.path.join(d, "whole.h5")
t0 = time.monotonic()
run(["run", smoke, *tight, "--threads", "2", "-o", whole])
t_whole = time.monotonic() - t0
with h5py.File(whole, "r") as f:
    stop_blocks = int(f.attrs["trials"]) // 4096
c.ok(stop_blocks == STOP, f"SE(mean total) <= {tol:.6g} (aimed at {AIM:.0f} blocks) stops at {stop_blocks} "
     f"blocks, want {STOP} (the schedule before: {old_stop(AIM)})")
cut = os.path.join(d, "cut.h5")
for frac in (0.3, 0.5, 0.7):
    p = start(["run", smoke, *tight, "--threads", "2", "-o", cut, "--force"])
    time.sleep(frac * t_whole)
    p.send_signal(signal.SIGTERM)
    p.communicate(timeout=300)
    if p.returncode == 130:
        break
c.ok(p.returncode == 130 and run_status(cut) == "interrupted",
     f"SIGTERM interrupts the precision run (exit {p.returncode})")
if p.returncode == 130:
    with h5py.File(cut, "r") as f:
        kept = int(f.attrs["trials"]) // 4096
    print(f"interrupted at {kept} blocks (the next check: "
          f"{next(x for x in check_points(2 * STOP) if x > kept)})", flush=True)
    before = sha256(cut)
    run(["run", "--resume", cut, "--precision", "total:0.05", "-q"], expect=2)
    run(["run", "--resume", cut, "--max-trials", "1e9", "-q"], expect=2)
    c.ok(sha256(cut) == before, "refused resumes leave the file unchanged")
    run(["run", "--resume", cut, "-q", "--threads", "1"])
    diff = differences(whole, cut)
    c.ok(not diff, f"resumed without --precision on 1 thread = uninterrupted on 2 (differs: {diff[:5]})")

# Under latin_hypercube a target is never met on fewer than 10 full blocks:
# a target every check meets still stops at 16 blocks, not 8.
lh = os.path.join(d, "lhs.h5")
run(["run", oa, "--sampling", "latin_hypercube", "--precision", "total:100", "--max-trials", "1e7",
     "--set", "output.sensitivity=false", "-q", "-o", lh])
with h5py.File(lh, "r") as f:
    c.ok(int(f.attrs["trials"]) == 16 * 4096, f"LHS stops at 16 blocks at the earliest ({int(f.attrs['trials'])} trials)")

# Usage errors.
run(["run", oa, "--precision", "totl:1", "-q"], expect=2)
run(["run", oa, "--precision", "total:-1", "-q"], expect=2)
run(["run", oa, "--max-trials", "1e6", "-q"], expect=2)
c.done()
