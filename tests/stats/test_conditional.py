# tests/stats/test_conditional.py
# Conditional summaries (stats.h "Conditional") against numpy on the file's
# own per-trial data: every output's mean, sd and quantiles given closed,
# target_met and each investor joining; investors' amount / paid "if it
# joins"; per-coalition P(closed), P(target met), mean and sd of total.
# Then: 1 and 2 threads give the same bits, xarray selects a condition by
# name, output.conditional=false leaves them out, and a version-4 state
# (without the conditional arrays) still extends, without them.
# Licence: see LICENSE at the top of the repository.
import os
import shutil

import h5py
import numpy as np

from dstest import SRC, Checker, run, run_to_file, scenario, text, tmpdir

ALPHA = 1e-3          # DS_SKETCH_ALPHA
QTOL = ALPHA + 1e-12  # the sketch's guarantee plus rounding near bucket edges
# Moments: the file's are a shifted two-pass sum per block merged by Chan's
# update, numpy's a pairwise sum; both are within a few ulps times the
# number of terms' log of the exact value.
MTOL = 1e-12


def close(a, b, scale, tol=MTOL):
    """|a - b| <= tol * scale, NaN matching NaN."""
    if np.isnan(b):
        return bool(np.isnan(a))
    return abs(a - b) <= tol * scale


def q_ok(est, x, q):
    """The sketch's estimate is within relative accuracy of the value at
    rank floor(q (n - 1)) (np.quantile method lower), or of a value that
    ties with it."""
    v = np.quantile(x, q, method="lower")
    return abs(est - v) <= QTOL * abs(v) or (v == 0 and est == 0)


c = Checker()
d = tmpdir()
# 50000 trials: 12 full blocks and a short last one (the tail).
sets = ["-n", "50000", "--set", "output.per_trial=true"]
one = run_to_file(scenario("openai-2026.yaml"), os.path.join(d, "one.h5"), *sets, threads=1)
two = run_to_file(scenario("openai-2026.yaml"), os.path.join(d, "two.h5"), *sets, threads=2)

with h5py.File(one, "r") as f:
    t = f["trials"]
    outs = [text(v) for v in f["conditional/output"][()]]
    conds = [text(v) for v in f["conditional/condition"][()]]
    invs = [text(v) for v in f["investors/investor"][()]]
    qs = f["conditional/quantile"][()]
    g = f["conditional"]
    mean, sd, se = g["mean"][()], g["sd"][()], g["stderr"][()]
    quant, count = g["quantiles"][()], g["count"][()]
    closed = t["closed"][()].astype(bool)
    target = t["target_met"][()].astype(bool)
    joined = t["investor_joined"][()].astype(bool)
    n = len(closed)
    c.ok(conds == ["closed", "target_met"] + ["joined." + i for i in invs],
         f"conditions {conds}")
    sel = {"closed": closed, "target_met": target}
    for i, name in enumerate(invs):
        sel["joined." + name] = joined[:, i]
    bad_m, bad_q = [], []
    for ci, cn in enumerate(conds):
        s = sel[cn]
        c.ok(count[ci] == s.sum(), f"count given {cn}: {count[ci]} == {s.sum()}")
        for oi, on in enumerate(outs):
            x = t[on][()].astype(float)[s]
            x = x[np.isfinite(x)]
            if len(x) < 2:
                continue
            scale = max(np.abs(x).max(), 1e-300)
            if not (close(mean[ci, oi], x.mean(), scale) and
                    close(sd[ci, oi], x.std(ddof=1), scale) and
                    close(se[ci, oi], x.std(ddof=1) / np.sqrt(len(x)), scale)):
                bad_m.append((cn, on, mean[ci, oi], x.mean(), sd[ci, oi], x.std(ddof=1)))
            for qi, q in enumerate(qs):
                if ci < 2:
                    if not q_ok(quant[ci, oi, qi], x, q):
                        bad_q.append((cn, on, q, quant[ci, oi, qi],
                                      np.quantile(x, q, method="lower")))
                elif not np.isnan(quant[ci, oi, qi]):
                    bad_q.append((cn, on, q, "not NaN"))
    c.ok(not bad_m, f"conditional mean, sd, stderr agree with numpy to {MTOL} ({bad_m[:3]})")
    c.ok(not bad_q, f"conditional quantiles within {ALPHA} of numpy's ({bad_q[:3]})")

    # Investors "if it joins".
    gi = f["investors"]
    bad = []
    for i, name in enumerate(invs):
        s = joined[:, i]
        for what, col in (("amount", "investor_amount"), ("paid", "investor_paid"),
                          ("stake", "investor_stake")):
            x = t[col][()][:, i][s]
            scale = np.abs(x).max()
            if not (close(gi[what + "_if_joined_mean"][i], x.mean(), scale) and
                    close(gi[what + "_if_joined_sd"][i], x.std(ddof=1), scale)):
                bad.append((name, what, "moments"))
            if what == "stake":
                continue
            for qi, q in enumerate(qs):
                if not q_ok(gi[what + "_if_joined_quantiles"][i, qi], x, q):
                    bad.append((name, what, q, gi[what + "_if_joined_quantiles"][i, qi],
                                np.quantile(x, q, method="lower")))
    c.ok(not bad, f"investors if they join agree with numpy ({bad[:3]})")
    c.ok(gi["amount_if_joined_quantiles"][0, 0] > 0,
         "the first investor's p01 if it joins is positive (unconditionally 0)")

    # Coalitions.
    gc = f["coalitions"]
    mask = t["joined_mask"][()]
    total = t["total"][()]
    bad = []
    for k, m in enumerate(gc["mask"][()]):
        s = mask == m
        if gc["count"][k] != s.sum():
            bad.append((k, "count"))
            continue
        x = total[s]
        scale = max(np.abs(x).max(), 1.0)
        if not (gc["p_closed"][k] == closed[s].mean() and
                gc["p_target_met"][k] == target[s].mean() and
                close(gc["mean_total"][k], x.mean(), scale) and
                (len(x) < 2 or close(gc["total_sd"][k], x.std(ddof=1), scale))):
            bad.append((k, gc["p_closed"][k], closed[s].mean(), gc["total_sd"][k],
                        x.std(ddof=1) if len(x) > 1 else None))
    c.ok(not bad, f"per-coalition P(closed), P(target met), mean and sd of total ({bad[:3]})")
    # Quantiles of total given the coalition: the 16 most frequent masks of
    # block 0 (the first 4096 trials) have them, the others NaN.
    tq = gc["total_quantiles"][()]
    m0, n0 = np.unique(mask[:4096], return_counts=True)
    order = sorted(zip(-n0, m0.tolist()))[:16]
    want = {m for _, m in order}
    have = {int(m) for k, m in enumerate(gc["mask"][()]) if not np.isnan(tq[k]).all()}
    c.ok(have == want, f"coalitions with total quantiles: {sorted(have)}, block 0's top 16 "
         f"{sorted(want)}")
    bad = [(int(m), q) for k, m in enumerate(gc["mask"][()]) if int(m) in want
           for qi, q in enumerate(qs) if not q_ok(tq[k, qi], total[mask == m], q)]
    c.ok(not bad, f"total quantiles given the coalition within {ALPHA} of numpy's ({bad[:3]})")

# The text summary prints the investors "if they join" (and does not crash
# on a file with /sensitivity, whose state has no input indices).
txt = run(["summary", one]).stdout
c.ok("If they join" in txt and all(i in txt.split("If they join")[1] for i in invs),
     "summary prints the investors if they join")
# summary --json carries the same numbers, bit for bit (JSON prints %.17g).
import json
doc = json.loads(run(["summary", one, "--json"]).stdout)
with h5py.File(one, "r") as f:
    g, gi, gc = f["conditional"], f["investors"], f["coalitions"]
    bad = []
    for ci, cn in enumerate(conds):
        dc = doc["conditional"][cn]
        if dc["count"] != int(g["count"][ci]):
            bad.append((cn, "count"))
        for oi, on in enumerate(outs):
            for k in ("mean", "sd", "stderr"):
                v, w = dc["outputs"][on][k], g[k][ci, oi]
                if not ((v is None and np.isnan(w)) or v == w):
                    bad.append((cn, on, k, v, w))
            if ci < 2:
                for qi, q in enumerate(qs):
                    v, w = dc["outputs"][on]["quantiles"][repr(float(q))], g["quantiles"][ci, oi, qi]
                    if not ((v is None and np.isnan(w)) or v == w):
                        bad.append((cn, on, q, v, w))
    for i, name in enumerate(invs):
        dj = doc["investors"][i]["amount_if_joined"]
        if dj["mean"] != gi["amount_if_joined_mean"][i] or any(
                dj["quantiles"][repr(float(q))] != gi["amount_if_joined_quantiles"][i, qi]
                for qi, q in enumerate(qs)):
            bad.append((name, "amount_if_joined"))
    masks = gc["mask"][()].tolist()
    for row in doc["coalitions"]:
        k = masks.index(row["mask"])
        for key in ("p_closed", "p_target_met", "total_sd", "mean_total_stderr"):
            v, w = row[key], gc[key][k]
            if not ((v is None and np.isnan(w)) or v == w):
                bad.append((row["members"], key, v, w))
        tq = gc["total_quantiles"][k]
        if ("total_quantiles" in row) != (not np.isnan(tq).all()) or (
                "total_quantiles" in row and any(
                    row["total_quantiles"][repr(float(q))] != tq[qi] for qi, q in enumerate(qs))):
            bad.append((row["members"], "total_quantiles"))
    c.ok(not bad, f"summary --json equals the file's conditional data ({bad[:3]})")

# 1 and 2 threads: the same bits in every conditional variable.
with h5py.File(one, "r") as a, h5py.File(two, "r") as b:
    diff = []
    for grp in ("conditional", "investors", "coalitions"):
        for k in a[grp]:
            x, y = a[grp][k][()], b[grp][k][()]
            if x.dtype.kind == "f":
                same = x.tobytes() == y.tobytes()
            else:
                same = np.array_equal(x, y)
            if not same:
                diff.append(grp + "/" + k)
    c.ok(not diff, f"1 and 2 threads: identical conditional results ({diff[:4]})")

# xarray: the group opens and a condition is selected by name.
try:
    import xarray as xr
    with xr.open_dataset(one, group="conditional") as ds:
        row = ds["mean"].sel(condition="closed", output="total")
        c.ok(float(row) == float(mean[0, outs.index("total")]), "xarray .sel(condition=closed)")
        c.ok(ds.attrs.get("scenario") and int(ds.attrs["trials"]) == n,
             "the group carries the run's trials and scenario")
except ImportError:
    c.ok(False, "xarray is importable")

# Off: no group, no "if joined" variables.
off = run_to_file(scenario("openai-2026.yaml"), os.path.join(d, "off.h5"), "-n", "5000",
                  "--set", "output.conditional=false")
with h5py.File(off, "r") as f:
    c.ok("conditional" not in f and "amount_if_joined_mean" not in f["investors"]
         and "p_closed" not in f["coalitions"], "output.conditional=false: none of it")

# A version-4 state (an older build's: no conditional arrays) still extends;
# the result has no conditional summaries, the rest as before.
old = os.path.join(d, "old.h5")
shutil.copy(one, old)
with h5py.File(old, "r+") as f:
    st = f["state"]
    for k in list(st):
        if k.startswith("node_cond_") or k in (
                "conditional_conditions", "node_coalition_closed", "node_coalition_target_met",
                "node_coalition_m2_total", "node_other_closed", "node_other_target_met",
                "node_other_m2_total"):
            del st[k]
    # Drop the conditional sketch rows (the last 2 * outputs + coalition sketches).
    ns = st["sketch_count"].shape[0] - 2 * len(outs) - st["coalition_sketch_mask"].shape[0]
    del st["coalition_sketch_mask"]
    nb = int(st["sketch_neg_offset"][ns - 1] + st["sketch_neg_len"][ns - 1])
    for k in list(st):
        if k.startswith("sketch_"):
            v = st[k][()][:ns]
            attrs = dict(st[k].attrs)
            del st[k]
            st.create_dataset(k, data=v)
    v = st["bucket_counts"][()][:nb]
    del st["bucket_counts"]
    st.create_dataset("bucket_counts", data=v)
    st.attrs["state_version"] = np.int32(4)
ext = os.path.join(d, "ext.h5")
r = run(["extend", old, "-n", "5000", "-o", ext, "--quiet"])
with h5py.File(ext, "r") as f:
    c.ok(int(f.attrs["trials"]) == 55000 and "conditional" not in f
         and "amount_if_joined_mean" not in f["investors"],
         "a version-4 state extends, without conditional results")
    c.ok(int(f["state"].attrs["state_version"]) == 6 and "node_cond_n" not in f["state"],
         "and saves a version-6 state without the conditional arrays")
# 64 investors (more than 12: the pooled "other" row): 66 conditions, the
# bound `dealsim check` states holds the new state, and the pooled row has
# its conditional extras.
many = run_to_file(os.path.join(SRC, "tests", "data", "good", "sixty_four_investors.yaml"),
                   os.path.join(d, "m.h5"),
                   "-n", "20000", "--set", "output.per_trial=true")
with h5py.File(many, "r") as f:
    gc = f["coalitions"]
    pool = gc["pooled"][()].astype(bool)
    c.ok(pool[-1] and pool.sum() == 1 and text(gc["coalition"][-1]) == "other",
         "64 investors: the last /coalitions row is \"other\"")
    c.ok(f["conditional/count"].shape == (66,), "64 investors: 66 conditions")
    m = f["trials/joined_mask"][()]
    tracked = gc["mask"][()][~pool]
    inother = ~np.isin(m, tracked)
    cl = f["trials/closed"][()][inother]
    c.ok(gc["count"][-1] == inother.sum() and gc["p_closed"][-1] == cl.mean(),
         "the other row's count and P(closed)")
c.done()
