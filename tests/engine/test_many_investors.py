# tests/engine/test_many_investors.py
# The largest round: 64 investors, so joined_mask uses bit 63; masks,
# per-investor joins and coalition counts must agree exactly.
# Licence: see LICENSE at the top of the repository.
import math
import os

import h5py
import numpy as np

from dstest import Checker, run_to_file, text, tmpdir

c = Checker()
d = tmpdir()
p = [0.05 + 0.9 * i / 63 for i in range(64)]
lines = ["name: many", "trials: 20000", "seed: 9", "round:", "  target: 100", "investors:"]
for i, pi in enumerate(p):
    lines += [f"  - name: I{i}", f"    join_probability: {pi!r}", "    amount: {dist: uniform, min: 1, max: 3}"]
lines += ["compute:", "  horizon_months: 3", "  price:", "    initial: 2", "output:", "  per_trial: true"]
scen = os.path.join(d, "many.yaml")
with open(scen, "w") as f:
    f.write("\n".join(lines) + "\n")

h = run_to_file(scen, os.path.join(d, "many.h5"))
with h5py.File(h, "r") as f:
    mask = f["trials/joined_mask"][()]
    joined = f["trials/investor_joined"][()]
    njoin = f["trials/investors_joined"][()]
    pool = f["coalitions/pooled"][()].astype(bool)
    cmask = f["coalitions/mask"][()][~pool]
    ccount = f["coalitions/count"][()][~pool]
    tracking = f["coalitions"].attrs["tracking"]
    tracking = tracking.decode() if isinstance(tracking, bytes) else tracking
    labels = [text(v) for v in f["coalitions/coalition"][()]]
    # The pooled trials are one row, the last, labelled "other".
    c.ok(pool.sum() == 1 and pool[-1] and labels[-1] == "other",
         f"one pooled row, the last, named other ({labels[-1]})")
    other_count = int(f["coalitions/count"][-1])
    other_mean = float(f["coalitions/mean_total"][-1])
    other_closed = float(f["coalitions/p_closed"][-1])
    other_sd = float(f["coalitions/total_sd"][-1])
    total = f["trials/total"][()]
    closed = f["trials/closed"][()].astype(bool)
    cond = [text(v) for v in f["conditional/condition"][()]]
    c.ok(cond[:3] == ["closed", "target_met", "joined.I0"] and len(cond) == 66,
         "66 conditions: closed, target_met and one per investor")
    state_bytes = sum(v.size * v.dtype.itemsize for v in f["state"].values()
                      if isinstance(v, h5py.Dataset))
n = len(mask)
c.ok(mask.dtype == np.uint64, "joined_mask is uint64")
bits = (mask[:, None] >> np.arange(64, dtype=np.uint64)) & np.uint64(1)
c.ok(np.array_equal(bits.astype(np.uint8), joined), "mask bit i-1 == investor i joined, all 64 bits")
c.ok(np.array_equal(joined.sum(axis=1), njoin), "investors_joined == popcount(mask)")
for i in (0, 31, 62, 63):
    c.z(joined[:, i].mean(), math.sqrt(p[i] * (1 - p[i]) / n), p[i], f"P(join I{i})", 5.0)
# More than 12 investors: the masks of block 0 (the first 4096 trials) are
# tracked exactly, every other trial is pooled in the "other" row.
masks, counts = np.unique(mask, return_counts=True)
exact = dict(zip(masks.tolist(), counts.tolist()))
block0 = set(mask[:4096].tolist())
got = dict(zip(cmask.tolist(), ccount.tolist()))
c.ok(tracking == "block0", f"/coalitions tracking = {tracking}")
c.ok(set(got) == block0, f"the rows are the {len(block0)} masks of block 0")
c.ok(all(got[k] == exact[k] for k in got), "each tracked mask counts its trials exactly")
pooled = ~np.isin(mask, np.array(sorted(block0), dtype=np.uint64))
c.ok(other_count == int(pooled.sum()) and other_count + sum(got.values()) == n,
     f"other row: {other_count} trials, the rest of {n}")
c.ok(abs(other_mean - total[pooled].mean()) <= 1e-9 * abs(total[pooled].mean()),
     "other row's mean total")
c.ok(abs(other_closed - closed[pooled].mean()) <= 1e-15, "other row's P(closed)")
c.ok(abs(other_sd - total[pooled].std(ddof=1)) <= 1e-9 * total[pooled].std(ddof=1),
     "other row's sd of total")
# Bounded: the conditional state of 20000 trials (5 nodes) stays small.
c.ok(state_bytes < 64 << 20, f"/state is {state_bytes} bytes")
c.done()
