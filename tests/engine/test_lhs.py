# tests/engine/test_lhs.py
# Latin hypercube sampling (README, "Sampling"): honest standard errors over
# many seeds, identical bits across threads, extend and resume, the file's
# and the summaries' records of the method, the paired `compare` under LHS,
# and clear errors for bad values.
# Licence: see LICENSE at the top of the repository.
#
# Coverage: SEEDS runs of NB full blocks each of closed_forms.yaml, whose
# E[total], E[paid], P(closed) and P(target_met) are known in closed form.
# With NB blocks the estimate minus the truth over the block-spread SE is
# Student-t with NB - 1 degrees of freedom (blocks are iid replicates), so
# the +-2 SE interval covers the truth with probability
# 2 t_{NB-1}(2) - 1 (93.6% for NB = 16, 94.6% for 32; 95.45% as NB grows).  The fraction
# observed must be within Z_FAIL binomial standard errors of it (Z_FAIL =
# 4.89: two-sided P_FAIL = 1e-6 per check).  The spread of the estimates
# across seeds must match the reported SE: (sd of the estimates / rms of the
# SEs)^2 is about chi2(SEEDS - 1) / (SEEDS - 1); it must lie within that
# law's 5e-7 and 1 - 5e-7 quantiles (P_FAIL 1e-6), widened by 10% for the
# noise of the rms SE itself (each SE rests on NB blocks).
import concurrent.futures
import math
import os
import re
import signal

import h5py
import numpy as np
from scipy import stats

from dstest import Checker, differences, run, scenario, start, text, tmpdir

BLOCK = 4096
SEEDS = 200
NB = 16
P_FAIL = 1e-6
Z_FAIL = stats.norm.isf(P_FAIL / 2)
LHS = ["--sampling", "latin_hypercube"]
CF = scenario("closed_forms.yaml")
SMOKE = scenario("smoke.yaml")
c = Checker()
d = tmpdir()


def path(name):
    return os.path.join(d, name)


def summary_vars(p, names=("mean", "stderr", "stderr_blocks", "stderr_block_count", "variance_reduction",
                           "stderr_reliable", "sd", "count")):
    with h5py.File(p, "r") as f:
        g = f["summary"]
        outs = [text(x) for x in g["output"][()]]
        return {o: {k: g[k][i] for k in names} for i, o in enumerate(outs)}


# ---- coverage over many seeds -------------------------------------------
pA, pB, pC = 0.7, 0.4, 0.55
p_ab = stats.multivariate_normal(mean=[0, 0], cov=[[1, 0.5], [0.5, 1]]).cdf(
    [stats.norm.ppf(pA), stats.norm.ppf(pB)])
TRUTH = {
    "total": pA * 10 + pB * 20 + pC * 5,
    "paid": pA * 10 * (0.5 + 0.5 * 0.6) + pB * 20 * (0.25 * 0.9 + 0.75 * 0.5) + pC * 5,
    # closed: total >= 10 unless neither A nor B joins
    "closed": 1 - (1 - pA - pB + p_ab),
    # target_met: total >= 25 iff B joins and A or C does
    "target_met": pB - (pB - p_ab) * (1 - pC),
}


# Conditional means (ratios of block totals, README "Sampling") and
# fractions, with their closed forms.  Not join.A or join.C: A is first in
# the Cholesky order and C uncorrelated, so their join fractions are
# stratified exactly (a block's count varies by one stratum at most) and the
# estimate is discrete, not Student-t; join.B mixes two latents.
p_none = 1 - pA - pB + p_ab  # neither A nor B: total is C's 5 at most, not closed
COND_TRUTH = {
    ("conditional", "joined.B", "probability"): pB,
    ("conditional", "target_met", "probability"): TRUTH["target_met"],
    ("conditional", "closed", "total"): (TRUTH["total"] - 5 * pC * p_none) / TRUTH["closed"],
    ("conditional", "joined.B", "total"): 20 + 10 * p_ab / pB + 5 * pC,
    ("conditional", "joined.B", "paid"): 20 * (0.25 * 0.9 + 0.75 * 0.5) + 10 * p_ab / pB * 0.8 + 5 * pC,
    ("investors", "B", "join_probability"): pB,
    ("investors", "A", "paid_if_joined"): 10 * (0.5 + 0.5 * 0.6),
    ("investors", "B", "paid_if_joined"): 20 * (0.25 * 0.9 + 0.75 * 0.5),
}


def cond_vars(p):
    """{(group, row, what): (estimate, SE)} for COND_TRUTH's keys."""
    res = {}
    with h5py.File(p, "r") as f:
        g = f["conditional"]
        conds = [text(x) for x in g["condition"][()]]
        outs = [text(x) for x in g["output"][()]]
        inv = f["investors"]
        names = [text(x) for x in inv["investor"][()]]
        for key in COND_TRUTH:
            grp, row, what = key
            if grp == "conditional":
                i = conds.index(row)
                if what == "probability":
                    res[key] = (g["probability"][i], g["probability_stderr"][i])
                else:
                    j = outs.index(what)
                    res[key] = (g["mean"][i, j], g["stderr"][i, j])
            else:
                i = names.index(row)
                if what == "join_probability":
                    res[key] = (inv["join_probability"][i], inv["join_stderr"][i])
                else:
                    res[key] = (inv[what + "_mean"][i], inv[what + "_stderr"][i])
    return res


def one_seed(seed):
    out = path(f"cov{seed}.h5")
    run(["run", CF, "-n", NB * BLOCK, "--seed", seed, "--set", "output.per_trial=false", "-o", out, "--force",
         "--quiet", "--threads", "1", *LHS])
    s = summary_vars(out)
    s["cond"] = cond_vars(out)
    os.remove(out)
    return s


with concurrent.futures.ThreadPoolExecutor(max_workers=2) as ex:
    res = list(ex.map(one_seed, range(1000, 1000 + SEEDS)))

cover_p = 2 * stats.t.cdf(2.0, NB - 1) - 1
tol = Z_FAIL * math.sqrt(cover_p * (1 - cover_p) / SEEDS)
lo2, hi2 = stats.chi2.ppf(P_FAIL / 2, SEEDS - 1) / (SEEDS - 1), stats.chi2.isf(P_FAIL / 2, SEEDS - 1) / (SEEDS - 1)
lo, hi = math.sqrt(lo2) / 1.1, math.sqrt(hi2) * 1.1
for o, truth in TRUTH.items():
    est = np.array([r[o]["mean"] for r in res])
    se = np.array([r[o]["stderr"] for r in res])
    c.ok(all(r[o]["stderr_block_count"] == NB for r in res), f"{o}: SE rests on {NB} full blocks")
    c.ok(all(r[o]["stderr"] == r[o]["stderr_blocks"] for r in res), f"{o}: stderr is stderr_blocks under LHS")
    c.ok(all(r[o]["stderr_reliable"] == 1 for r in res), f"{o}: {NB} blocks is reliable")
    cov = float(np.mean(np.abs(est - truth) <= 2 * se))
    c.ok(abs(cov - cover_p) <= tol,
         f"{o}: +-2 SE covers the truth in {cov:.3f} of {SEEDS} runs, expected {cover_p:.4f} +- {tol:.3f}")
    ratio = float(np.std(est, ddof=1) / math.sqrt(np.mean(se ** 2)))
    c.ok(lo <= ratio <= hi, f"{o}: sd of estimates / rms SE = {ratio:.3f}, expected in [{lo:.3f}, {hi:.3f}]")
    vrf = float(np.mean([r[o]["variance_reduction"] for r in res]))
    print(f"{o}: coverage {cov:.3f}, sd/SE {ratio:.3f}, mean VRF {vrf:.2f}")
# The same for the conditional means and fractions: the ratio estimator's SE.
for key, truth in COND_TRUTH.items():
    est = np.array([r["cond"][key][0] for r in res])
    se = np.array([r["cond"][key][1] for r in res])
    name = "/".join(key)
    c.ok(bool(np.all(np.isfinite(se)) and np.all(se > 0)), f"{name}: a finite, positive SE in every run")
    cov = float(np.mean(np.abs(est - truth) <= 2 * se))
    c.ok(abs(cov - cover_p) <= tol,
         f"{name}: +-2 SE covers the truth in {cov:.3f} of {SEEDS} runs, expected {cover_p:.4f} +- {tol:.3f}")
    ratio = float(np.std(est, ddof=1) / math.sqrt(np.mean(se ** 2)))
    c.ok(lo <= ratio <= hi, f"{name}: sd of estimates / rms SE = {ratio:.3f}, expected in [{lo:.3f}, {hi:.3f}]")
    print(f"{name}: coverage {cov:.3f}, sd/SE {ratio:.3f}")
# P(target met) in /conditional is the /summary one, SE and all.
c.ok(all(r["cond"][("conditional", "target_met", "probability")][1] == r["target_met"]["stderr"] for r in res),
     "/conditional probability_stderr of target_met is /summary's stderr")

# The joins are stratified, so the mean total (a sum of join x amount)
# varies much less than iid trials would: a VRF far above 1 (it is ~4.6
# here; 1.5 is far below that and far above the MC value ~1).
c.ok(np.mean([r["total"]["variance_reduction"] for r in res]) > 1.5, "LHS reduces the variance of the mean total")

# ---- monte_carlo: the iid formula, the block spread alongside -----------
mc = path("mc.h5")
run(["run", CF, "-n", 48 * BLOCK, "--set", "output.per_trial=false", "-o", mc, "--force", "--quiet"])
s = summary_vars(mc)
with h5py.File(mc, "r") as f:
    c.ok(text(f.attrs["sampling"]) == "monte_carlo", "MC: root attribute sampling")
for o in ("total", "closed"):
    iid = s[o]["sd"] / math.sqrt(s[o]["count"])
    c.ok(abs(s[o]["stderr"] - iid) <= 1e-12 * iid, f"MC {o}: stderr is sd / sqrt(count)")
    c.ok(s[o]["stderr_block_count"] == 48 and np.isfinite(s[o]["stderr_blocks"]), f"MC {o}: block spread too")
    # VRF ~ chi2(47)/47 under MC: within its 1e-6 quantiles.
    v = s[o]["variance_reduction"]
    c.ok(stats.chi2.ppf(5e-7, 47) / 47 <= 1 / v <= stats.chi2.isf(5e-7, 47) / 47, f"MC {o}: VRF {v:.3f} about 1")

# ---- bits: threads, extend, resume ---------------------------------------
N = 100000  # 24 full blocks and a tail
SETS = ["--set", "output.per_trial=true"]
ref = path("ref.h5")
run(["run", SMOKE, "-n", N, *SETS, *LHS, "-o", ref, "--force", "--quiet", "--threads", "1"])
two = path("two.h5")
run(["run", SMOKE, "-n", N, *SETS, *LHS, "-o", two, "--force", "--quiet", "--threads", "2"])
diff = differences(ref, two)
c.ok(not diff, f"LHS: 1 and 2 threads bit-identical (differs: {diff[:6]})")
base = path("base.h5")
run(["run", SMOKE, "-n", 50000, *SETS, *LHS, "-o", base, "--force", "--quiet", "--threads", "2"])
ext = path("ext.h5")
run(["extend", base, "-n", N - 50000, "-o", ext, "--quiet", "--threads", "1"])
diff = [k for k in differences(ref, ext) if k not in ("@trials_requested",)]
c.ok(not diff, f"LHS: run of 50000 extended to {N} is bit-identical to a straight run (differs: {diff[:6]})")

# Resume: stop a longer run by SIGTERM after 30% progress, resume it with
# another thread count, compare with a straight run.
NR = 1000000
straight = path("straight.h5")
run(["run", SMOKE, "-n", NR, *LHS, "-o", straight, "--force", "--quiet", "--threads", "2"])
stopped = path("stopped.h5")
p = start(["run", SMOKE, "-n", NR, *LHS, "-o", stopped, "--force", "--threads", "1"])
for line in p.stderr:
    m = re.match(r"progress: .*\((\d+)%\)", line)
    if m and int(m.group(1)) >= 30:
        p.send_signal(signal.SIGTERM)
        break
p.communicate()
with h5py.File(stopped, "r") as f:
    status = text(f.attrs["run_status"])
c.ok(p.returncode == 130 and status == "interrupted", f"LHS: SIGTERM stops the run (exit {p.returncode}, {status})")
run(["run", "--resume", stopped, "--threads", "2", "--quiet"])
diff = differences(straight, stopped)
c.ok(not diff, f"LHS: interrupted and resumed run is bit-identical to a straight one (differs: {diff[:6]})")

# ---- the records: file, summary --json, printed table, too few blocks ----
with h5py.File(ref, "r") as f:
    c.ok(text(f.attrs["sampling"]) == "latin_hypercube", "root attribute sampling")
    c.ok("sampling: latin_hypercube" in f["effective_config"].asstr()[()], "effective_config records it")
    c.ok(int(f["state/sampling"][()]) == 1, "/state records the method")
    # /convergence: checkpoint 2^k's stderr is the spread of its first 2^k
    # blocks' means (recomputed here from /trials), the final one /summary's.
    cv = f["convergence"]
    outs = [text(x) for x in cv["output"][()]]
    io = outs.index("total")
    tot = f["trials/total"][()]
    blocks = [int(x) for x in (cv["checkpoint"][()] + BLOCK - 1) // BLOCK]
    for k, nb in enumerate(blocks):
        se = cv["stderr"][k, io]
        if nb < 2 or nb * BLOCK > len(tot):
            continue
        bm = tot[: nb * BLOCK].reshape(nb, BLOCK).mean(axis=1)
        want = bm.std(ddof=1) / math.sqrt(nb)
        c.ok(abs(se - want) <= 1e-9 * want, f"/convergence stderr after {nb} blocks: {se:.6g} vs {want:.6g}")
    c.ok(np.isnan(cv["stderr"][0, io]), "/convergence stderr after 1 block is NaN under LHS")
    c.ok(cv["stderr"][-1, io] == summary_vars(ref)["total"]["stderr"], "/convergence final stderr = /summary's")
import json  # noqa: E402

js = json.loads(run(["summary", ref, "--json"]).stdout)
c.ok(js["sampling"] == "latin_hypercube", "summary --json: sampling")
t = js["outputs"]["total"]
c.ok(t["stderr"] == t["stderr_blocks"] and t["stderr_block_count"] == N // BLOCK and t["stderr_reliable"],
     "summary --json: stderr from the block spread, its block count")
c.ok(js["probabilities"]["closed"]["stderr"] == js["outputs"]["closed"]["stderr"], "summary --json: P(closed) SE")
few = path("few.h5")
run(["run", SMOKE, "-n", 9 * BLOCK + 100, *LHS, "-o", few, "--force", "--quiet"])
sf = summary_vars(few)
c.ok(sf["total"]["stderr_reliable"] == 0 and sf["total"]["stderr_block_count"] == 9,
     "9 full blocks: stderr_reliable 0, the tail not counted")
table = run(["summary", few]).stdout
c.ok("UNRELIABLE" in table and "9 full blocks" in table, "printed summary marks an SE on 9 blocks unreliable")
table = run(["summary", ref]).stdout
c.ok("24 full blocks" in table and "UNRELIABLE" not in table and "Variance reduction" in table,
     "printed summary says what the SE rests on")

# ---- --precision: the target is checked against the block-spread SE ------
prec = {}
for m in ("monte_carlo", "latin_hypercube"):
    out = path(f"prec_{m}.h5")
    run(["run", SMOKE, "--sampling", m, "--precision", "total:0.004", "--max-trials", "4e6", "-o", out,
         "--force", "--quiet"])
    sp = summary_vars(out)["total"]
    with h5py.File(out, "r") as f:
        prec[m] = int(f.attrs["trials"])
    c.ok(sp["stderr"] <= 0.004, f"--precision {m}: stderr {sp['stderr']:.4g} <= 0.004 at {prec[m]} trials")
c.ok(prec["latin_hypercube"] < prec["monte_carlo"],
     f"--precision stops earlier under LHS ({prec['latin_hypercube']} vs {prec['monte_carlo']} trials)")

# ---- compare: the paired SE from block means of the differences ----------
alt = path("alt.h5")
run(["run", SMOKE, "-n", N, *SETS, *LHS, "--set", "round.target=9", "-o", alt, "--force", "--quiet"])
cj = json.loads(run(["compare", ref, alt, "--json"]).stdout)
rows = {r["output"]: r for r in cj["outputs"]} if isinstance(cj["outputs"], list) else cj["outputs"]
with h5py.File(ref, "r") as fa, h5py.File(alt, "r") as fb:
    da = fb["trials/target_met"][()].astype(float) - fa["trials/target_met"][()].astype(float)
nfull = len(da) // BLOCK
bm = da[: nfull * BLOCK].reshape(nfull, BLOCK).mean(axis=1)
want = bm.std(ddof=1) / math.sqrt(nfull)
got = rows["target_met"]["stderr"]
c.ok(abs(got - want) <= 1e-9 * want, f"compare under LHS: paired SE {got:.6g} from block means ({want:.6g})")

# ---- bad values ---------------------------------------------------------
bad = path("bad.yaml")
with open(SMOKE) as f:
    src = f.read()
with open(bad, "w") as f:
    f.write(src + "sampling: stratified\n")
line = src.count("\n") + 1
cp = run(["run", bad, "-o", path("x.h5"), "--quiet"], expect=2)
c.ok(re.search(rf"{re.escape(bad)}:{line}:11: error: sampling: expected monte_carlo or latin_hypercube, "
               r'found "stratified"', cp.stderr) is not None, f"bad key value: file:line:col ({cp.stderr.strip()})")
cp = run(["run", SMOKE, "--sampling", "lhs", "-o", path("x.h5")], expect=2)
c.ok("--sampling needs monte_carlo or latin_hypercube, found 'lhs'" in cp.stderr, "bad --sampling")
cp = run(["run", SMOKE, "--set", "sampling=[1]", "-o", path("x.h5")], expect=2)
c.ok("sampling: expected monte_carlo or latin_hypercube" in cp.stderr, "bad --set sampling")
c.ok("--sampling" in run(["run", "--help"]).stdout, "--help documents --sampling")
c.done()
