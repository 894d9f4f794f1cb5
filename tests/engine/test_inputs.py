# tests/engine/test_inputs.py
# output.per_trial_inputs: /inputs holds what the model sampled.  The
# per-trial outputs follow from the inputs (joins, amounts, tranches), the
# sampled distributions pass KS tests against scipy's, the rows are the same
# bits for any thread count, after SIGTERM and resume, after extend, with
# compression, and a --precision stop keeps the rows of the blocks it
# summarized; adding an investor leaves every other input's column alone
# (common random numbers by name); xarray and netCDF4 open the group; a
# non-boolean value is a clear error.
# Statistical checks: each KS test fails below p = 1e-6 (P_FAIL about 1e-6
# per check with the fixed seed, as the other statistical tests).
# Licence: see LICENSE at the top of the repository.
import os
import re
import signal

import h5py
import numpy as np
from scipy import stats

from dstest import Checker, differences, run, scenario, start, text, tmpdir

P_FAIL = 1e-6
N = 50000
ON = ["--set", "output.per_trial_inputs=true"]
OA = scenario("openai-2026.yaml")
SMOKE = scenario("smoke.yaml")
c = Checker(verbose=True)
d = tmpdir()


def path(name):
    return os.path.join(d, name)


def inputs(p):
    """(names, kinds, units, trial, value) of /inputs."""
    with h5py.File(p, "r") as f:
        g = f["inputs"]
        return ([text(x) for x in g["input"][()]], [text(x) for x in g["input_kind"][()]],
                [text(x) for x in g["input_units"][()]], g["trial"][()], g["value"][()])


def inputs_differ(a, b):
    return [k for k in differences(a, b) if k.startswith("inputs")]


# ---- 1. openai-2026: no cap, three investors, tranches, correlated joins ----
base = path("oa.h5")
run(["run", OA, "-n", N, *ON, "--set", "output.per_trial=true", "-o", base, "-q", "--threads", 2])
names, kinds, units, trial, value = inputs(base)
col = {n: value[:, j] for j, n in enumerate(names)}
with h5py.File(base, "r") as f:
    tr = {k: f["trials"][k][()] for k in f["trials"]}
    inv = [text(x) for x in f["trials/investor"][()]]
    g = f["inputs"]
    c.ok(text(g.attrs["run_status"]) == "complete" and int(g.attrs["trials"]) == N
         and text(g.attrs["scenario"]) == "openai-2026", "/inputs carries trials, run_status, scenario")
    fixed = [text(x) for x in g.attrs["fixed_inputs"]]
    fixed_values = g.attrs["fixed_values"]
    eff = f["effective_config"].asstr()[()]

c.ok(value.shape == (N, len(names)) and np.array_equal(trial, np.arange(N)),
     f"value is [trial, input] {value.shape}, trial 0..N-1")
c.ok(re.search(r"^  per_trial_inputs: true$", eff, re.M) is not None,
     "the effective scenario says per_trial_inputs: true")
# Every input of the scenario is either a column or a fixed input, in the
# scenario's order; no fixed input has a column.
c.ok("price.volatility" in fixed and "price.volatility" not in names
     and abs(fixed_values[fixed.index("price.volatility")] - 0.30) < 1e-15,
     f"fixed inputs are attributes, not columns ({fixed})")
for n, k, u in zip(names, kinds, units):
    want = "dist"
    if n.startswith("join."):
        want = "join_uniform"
    elif n.startswith("tranche.") and not n.endswith(".month"):
        want = "tranche_uniform"
    c.ok(k == want, f"{n}: kind {k} (expected {want})")
    if n.startswith("amount.") or n == "round.pre_money":
        c.ok(u == "USD billion", f"{n}: units {u}")
    if n == "price.initial":
        c.ok(u == "USD per GPU hour", f"{n}: units {u}")

# Joins: bit i of joined_mask and investor_joined are (join.<I> < p_i).
p_join = {"Nvidia": 0.85, "Microsoft": 0.45, "Amazon": 0.75}
for i, name in enumerate(inv):
    u = col[f"join.{name}"]
    joined = u < p_join[name]
    c.ok(np.array_equal((tr["joined_mask"] >> np.uint64(i)) & np.uint64(1), joined.astype(np.uint64)),
         f"joined_mask bit {i} == (join.{name} < {p_join[name]}) in every trial")
    c.ok(np.array_equal(tr["investor_joined"][:, i], joined.astype(np.uint8)),
         f"investor_joined[{name}] == (join.{name} < p)")
    # No cap: the commitment is the amount input where joined, else 0.
    a = np.where(joined, col[f"amount.{name}"], 0.0)
    c.ok(np.array_equal(tr["investor_amount"][:, i], a),
         f"investor_amount[{name}] == amount.{name} where joined, 0 elsewhere (bit for bit)")
# Amazon's second tranche (share 0.6, q 0.7) pays when tranche.Amazon.2 < 0.7;
# the first (q 1) always.
k = inv.index("Amazon")
a = tr["investor_amount"][:, k]
paid = a * 0.4 + np.where(col["tranche.Amazon.2"] < 0.7, a * 0.6, 0.0)
c.ok(np.allclose(tr["investor_paid"][:, k], paid, rtol=1e-12, atol=0),
     "investor_paid[Amazon] == 0.4 a + 0.6 a (tranche.Amazon.2 < 0.7)")
c.ok(np.all(col["tranche.Amazon.1"] < 1.0), "tranche.Amazon.1 (q = 1) is a uniform below 1")
# The correlated joins keep uniform marginals and carry the copula's
# dependence (rho 0.4 on the normal scale: Spearman's about 0.38).
rs = stats.spearmanr(col["join.Nvidia"], col["join.Amazon"])[0]
c.ok(0.33 < rs < 0.43, f"Spearman(join.Nvidia, join.Amazon) = {rs:.3f}, near 0.38")

# KS: each sampled column against its scipy distribution.
ln = stats.lognorm(s=0.5, scale=18)
lo, hi = ln.cdf(8), ln.cdf(60)
laws = {
    "amount.Nvidia": stats.beta(4, 1.5, loc=10, scale=20).cdf,
    "amount.Microsoft": stats.uniform(1, 9).cdf,
    "amount.Amazon": lambda x: (ln.cdf(x) - lo) / (hi - lo),
    "round.pre_money": stats.triang((730 - 700) / 130, loc=700, scale=130).cdf,
    "price.initial": stats.uniform(1.7, 0.7).cdf,
    "price.drift": stats.triang((-0.30 + 0.36) / 0.16, loc=-0.36, scale=0.16).cdf,
    "round_trip.Nvidia": stats.uniform(0.6, 0.4).cdf,
    "tranche.Amazon.2.month": stats.uniform(6, 30).cdf,
    "join.Nvidia": stats.uniform().cdf,
    "join.Microsoft": stats.uniform().cdf,
    "tranche.Amazon.2": stats.uniform().cdf,
}
for n, cdf in laws.items():
    r = stats.kstest(col[n], cdf)
    c.ok(r.pvalue > P_FAIL, f"KS {n}: D = {r.statistic:.4f}, p = {r.pvalue:.3g} (fails below {P_FAIL})")

# xarray (h5netcdf) and netCDF4 open the group; the README's conditioning example.
import xarray as xr

x = xr.open_dataset(base, group="inputs", engine="h5netcdf")
t = xr.open_dataset(base, group="trials", engine="h5netcdf")
c.ok(x.value.dims == ("trial", "input") and "input_kind" in x.coords and "input_units" in x.coords,
     f"xarray: value{x.value.dims}, coordinates {list(x.coords)}")
p_cond = float(t.target_met.where(x.value.sel(input="amount.Amazon") > 25).mean())
sel = col["amount.Amazon"] > 25
c.ok(abs(p_cond - tr["target_met"][sel].mean()) < 1e-12,
     f"xarray: P(target met | amount.Amazon > 25) = {p_cond:.4f}, as numpy computes it")
x.close()
t.close()
try:
    import netCDF4
except ImportError:
    netCDF4 = None
if netCDF4 is not None:
    with netCDF4.Dataset(base) as nc:
        v = nc.groups["inputs"].variables["value"]
        c.ok(v.dimensions == ("trial", "input") and v.shape == (N, len(names)), "netCDF4 opens /inputs")
else:
    print("netCDF4 not installed: its check skipped")

# ---- 2. Threads, compression: the same bits ----
one = path("t1.h5")
run(["run", OA, "-n", N, *ON, "--set", "output.per_trial=true", "-o", one, "-q", "--threads", 1])
c.ok(not differences(base, one), f"1 and 2 threads: bit-identical files ({differences(base, one)[:5]})")
z = path("deflate.h5")
run(["run", OA, "-n", N, *ON, "--set", "output.compression=deflate", "--set", "output.per_trial=false",
     "-o", z, "-q", "--threads", 2])
c.ok(np.array_equal(inputs(z)[4].view(np.uint64), value.view(np.uint64)),
     "compressed /inputs holds the same bits")
with h5py.File(z, "r") as f:
    c.ok(f["inputs/value"].compression == "gzip" and "trials" not in f,
         "output.compression compresses /inputs; per_trial_inputs alone writes no /trials")

# ---- 3. Common random numbers by name: one more investor ----
with open(OA) as f:
    src = f.read()
extra = src.replace("\ncorrelations:", "\n  - name: Extra\n    join_probability: 0.5\n"
                    "    amount: {dist: uniform, min: 1, max: 3}\n\ncorrelations:", 1)
c.ok(extra != src, "the scenario with one more investor was made")
sc2 = path("oa-extra.yaml")
with open(sc2, "w") as f:
    f.write(extra)
wide = path("extra.h5")
run(["run", sc2, "-n", 10000, *ON, "-o", wide, "-q"])
n2, _, _, _, v2 = inputs(wide)
c.ok(set(names) < set(n2) and "amount.Extra" in n2, "the wider scenario has every input and more")
same = [n for n in names if np.array_equal(v2[:, n2.index(n)].view(np.uint64),
                                           value[:10000, names.index(n)].view(np.uint64))]
c.ok(same == names, f"every other input's column is bit-identical (differ: {sorted(set(names) - set(same))})")

# ---- 4. SIGTERM, resume; extend; --precision (smoke: fast) ----
NS = 400000
ref = path("smoke-ref.h5")
run(["run", SMOKE, "-n", NS, *ON, "-o", ref, "-q", "--threads", 2])
rn, _, _, rt, rv = inputs(ref)
stopped = path("smoke-stop.h5")
p = start(["run", SMOKE, "-n", NS, *ON, "-o", stopped, "--threads", 1])
for line in p.stderr:
    m = re.match(r"progress: .*\((\d+)%\)", line)
    if m and int(m.group(1)) >= 20:
        break
p.send_signal(signal.SIGTERM)
p.communicate(timeout=300)
with h5py.File(stopped, "r") as f:
    kept = int(f.attrs["trials"])
    status = text(f.attrs["run_status"])
    rows = f["inputs/value"].shape[0]
    c.ok(np.array_equal(f["inputs/value"][()].view(np.uint64), rv[:kept].view(np.uint64)),
         "an interrupted run's rows are the uninterrupted run's first rows")
if c.ok(status == "interrupted" and 0 < kept < NS and kept % 4096 == 0 and rows == kept,
        f"SIGTERM (exit {p.returncode}): {status}, {kept} trials, {rows} rows of /inputs"):
    run(["run", "--resume", stopped, "--threads", 2, "-q"])
    diff = differences(ref, stopped)
    c.ok(not diff, f"resumed after SIGTERM: bit-identical to the uninterrupted run ({diff[:5]})")

short = path("smoke-short.h5")
run(["run", SMOKE, "-n", 10000, *ON, "-o", short, "-q"])
ext = path("smoke-ext.h5")
run(["extend", short, "-n", 15000, "-o", ext, "-q", "--threads", 2])
ref25 = path("smoke-25k.h5")
run(["run", SMOKE, "-n", 25000, *ON, "-o", ref25, "-q"])
diff = differences(ext, ref25)
c.ok(not diff and inputs(ext)[4].shape[0] == 25000,
     f"extend 10000 + 15000: /inputs and the file bit-identical to 25000 straight ({diff[:5]})")

prec = path("smoke-prec.h5")
run(["run", SMOKE, *ON, "--precision", "total:1", "--max-trials", NS, "-o", prec, "-q"])
with h5py.File(prec, "r") as f:
    kept = int(f.attrs["trials"])
    pv = f["inputs/value"][()]
c.ok(kept == 8 * 4096 and pv.shape[0] == kept and np.array_equal(pv.view(np.uint64), rv[:kept].view(np.uint64)),
     f"--precision stop at {kept} trials: that many rows, the reference's first")

# ---- 5. The key: default, --set, errors ----
plain = path("plain.h5")
run(["run", SMOKE, "-n", 5000, "-o", plain, "-q"])
with h5py.File(plain, "r") as f:
    c.ok("inputs" not in f and "per_trial_inputs: false" in f["effective_config"].asstr()[()],
         "default: no /inputs, per_trial_inputs: false in the effective scenario")
cp = run(["check", SMOKE, "--set", "output.per_trial_inputs=maybe"], expect=2)
c.ok("output.per_trial_inputs" in cp.stderr and "maybe" in cp.stderr,
     f"--set output.per_trial_inputs=maybe: {cp.stderr.strip()[:200]}")
bad = path("bad.yaml")
with open(SMOKE) as f:
    lines = f.read()
with open(bad, "w") as f:
    f.write(lines.replace("  per_trial: true", "  per_trial: true\n  per_trial_inputs: 3"))
cp = run(["check", bad], expect=2)
c.ok(re.search(r"bad\.yaml:\d+:\d+: .*output\.per_trial_inputs", cp.stderr) is not None,
     f"a non-boolean in the file: file:line:col and the key ({cp.stderr.strip()[:200]})")
# ---- 6. Price paths from the inputs: no shocks, no jumps ----
# With volatility 0 and no jumps, MODEL.md 3.6 leaves ln p_j = ln p_0 +
# mu (j + 1)/12 for month j: each trial's row must follow from that trial's
# sampled p_0 and drift, for horizons that are and are not whole lane
# groups and tiles (1, 3, 7, 13 months) and trial counts that end within a
# lane group of a second block.
for h in (1, 3, 7, 13):
    pp = path(f"paths-{h}.h5")
    run(["run", SMOKE, "-n", "4117", "-o", pp, "--force", "--quiet", "--seed", str(40 + h), *ON,
         "--set", "output.price_paths=true", "--set", f"compute.horizon_months={h}",
         "--set", "compute.price.volatility=0", "--set", "compute.price.jumps.rate=0",
         "--set", "compute.price.initial={dist: uniform, min: 1, max: 3}",
         "--set", "compute.price.drift={dist: uniform, min: -0.5, max: 0.2}"])
    names, _, _, _, value = inputs(pp)
    col = {n: value[:, k] for k, n in enumerate(names)}
    with h5py.File(pp, "r") as f:
        got = f["trials/price_path"][()]
        final = f["trials/final_price"][()]
    months = np.arange(1, h + 1) / 12.0
    want = np.exp(np.log(col["price.initial"])[:, None] + col["price.drift"][:, None] * months[None, :])
    err = float(np.max(np.abs(got / want - 1.0))) if got.shape == want.shape else float("inf")
    c.ok(got.shape == (4117, h) and err < 1e-13,
         f"horizon {h}: every trial's price path is p0 exp(mu t) of its own inputs (max rel. error {err:.1e})")
    c.ok(np.array_equal(final.view(np.uint64), got[:, -1].view(np.uint64)),
         f"horizon {h}: final_price is the path's last month, bit for bit")
c.done()
