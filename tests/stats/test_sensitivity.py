# tests/stats/test_sensitivity.py
# /sensitivity against analytic indices: a total that is a sum of independent
# uniform amounts (S_k = var_k / sum var, times 1 - 1/B^2 for equiprobable
# bins of a linear effect), joins with p = 1 (index 0), inputs that do not
# enter an output (index 0) -- each within 4 of its standard errors -- and
# identical bits for 1 and 3 threads and after `dealsim extend`.
# Licence: see LICENSE at the top of the repository.
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np

DEALSIM = os.environ["DEALSIM"]
failures = []


def check(cond, what):
    print(("ok:   " if cond else "FAIL: ") + what, flush=True)
    if not cond:
        failures.append(what)


WIDTHS = {"A": 1.0, "B": 2.0, "C": 3.0}
SCENARIO = """name: sensitivity_sum
trials: 100000
seed: 7
round:
  target: 1
  cap: 1000
  minimum_close: 0
investors:
""" + "".join("""  - name: %s
    join_probability: 1
    amount: {dist: uniform, min: 5, max: %g}
""" % (n, 5 + w) for n, w in WIDTHS.items()) + """
compute:
  share: 0.8
  horizon_months: 3
  price:
    initial: 2.0
    drift: {dist: uniform, min: -0.5, max: 0.5}
    volatility: 0.3
    mean_reversion: 0.5
output:
  per_trial: false
  sensitivity: true
"""
TRIALS = 200000
B = 20

with tempfile.TemporaryDirectory(prefix="dealsim-sens-") as d:
    scen = os.path.join(d, "sum.yaml")
    with open(scen, "w") as f:
        f.write(SCENARIO)
    res = {}
    for th in (1, 3):
        out = os.path.join(d, "t%d.h5" % th)
        subprocess.run([DEALSIM, "run", scen, "-n", str(TRIALS), "-o", out, "--force",
                        "--quiet", "--threads", str(th)], check=True, stdout=subprocess.DEVNULL)
        with h5py.File(out, "r") as f:
            g = f["sensitivity"]
            res[th] = {k: g[k][()] for k in g}
            attrs = {k: dict(g[k].attrs) for k in g}
    # A run that ended inside a block, extended (its /state, the tail dropped
    # and re-run): the same bits as one run of the total.
    part, ext = os.path.join(d, "part.h5"), os.path.join(d, "ext.h5")
    subprocess.run([DEALSIM, "run", scen, "-n", "50000", "-o", part, "--force", "--quiet",
                    "--threads", "2"], check=True, stdout=subprocess.DEVNULL)
    subprocess.run([DEALSIM, "extend", part, "-n", str(TRIALS - 50000), "-o", ext, "--quiet",
                    "--threads", "3"], check=True, stdout=subprocess.DEVNULL)
    with h5py.File(ext, "r") as f:
        g = f["sensitivity"]
        same = all(np.array_equal(g[k][()], res[1][k], equal_nan=g[k].dtype.kind == "f")
                   for k in res[1])
    check(same, "/sensitivity of an extended run identical to one run of the total")
    r = res[1]
    same = all(np.array_equal(r[k], res[3][k], equal_nan=r[k].dtype.kind == "f") for k in r)
    check(same, "/sensitivity identical for 1 and 3 threads")
    inputs = [x.decode() for x in r["input"]]
    outputs = [x.decode() for x in r["output"]]
    check(all("long_name" in attrs[k] and "units" in attrs[k] for k in
              ("first_order", "first_order_stderr", "rank_correlation", "bin_mean",
               "bin_count")), "every variable has units and long_name")
    check(r["bin_mean"].shape == (len(inputs), len(outputs), B), "dims (input, output, bin)")
    S, se, rho = r["first_order"], r["first_order_stderr"], r["rank_correlation"]
    o = outputs.index("raw_total")
    tot = sum(w * w for w in WIDTHS.values())
    for n, w in WIDTHS.items():
        k = inputs.index("amount." + n)
        want = w * w / tot * (1 - 1 / B**2)
        check(abs(S[k, o] - want) <= 4 * se[k, o],
              "S[amount.%s, raw_total] = %.4f +- %.4f, analytic %.4f" % (n, S[k, o], se[k, o], want))
        # corr(U, y) for y linear in U: sqrt of the variance share.
        want_r = w / np.sqrt(tot)
        check(abs(rho[k, o] - want_r) < 0.01,
              "rank correlation %.4f, analytic %.4f" % (rho[k, o], want_r))
    for n in WIDTHS:
        k = inputs.index("join." + n)
        check(abs(S[k, o]) <= 4 * se[k, o],
              "S[join.%s (p = 1), raw_total] = %.5f within 4 SE %.5f of 0" % (n, S[k, o], se[k, o]))
    kd = inputs.index("price.drift")
    check(abs(S[kd, o]) <= 4 * se[kd, o],
          "S[price.drift, raw_total] = %.5f within 4 SE %.5f of 0" % (S[kd, o], se[kd, o]))
    ka = inputs.index("amount.A")
    ob = outputs.index("closed")
    pc = r["bin_mean"][ka, ob]
    check(np.all(pc == 1.0), "P(closed) is 1 in every bin of amount.A")
    check(np.all(r["bin_count"][ka, o] > 0) and
          abs(int(r["bin_count"][ka, o].sum()) - TRIALS) == 0, "bin counts sum to the trials")
    # A bin mean of raw_total over amount.A's bins: the other amounts' mean
    # plus the bin's centre of amount.A.
    centre = 5 + WIDTHS["A"] * (np.arange(B) + 0.5) / B
    rest = sum(5 + w / 2 for n, w in WIDTHS.items() if n != "A")
    sd_rest = np.sqrt(sum(w * w / 12 for n, w in WIDTHS.items() if n != "A"))
    err = np.abs(r["bin_mean"][ka, o] - (centre + rest)) / (sd_rest / np.sqrt(TRIALS / B))
    check(np.all(err < 5), "bin means of raw_total follow amount.A (max %.1f SE)" % err.max())

    # The bins in the inputs' own units: bin_value is F^-1 of the bin's centre
    # (uniform amounts: min + width (b + 1/2) / B, price.drift likewise), the
    # uniform's centre itself for a join; kinds and units as /inputs labels them.
    kinds = [x.decode() for x in r["input_kind"]]
    units = [x.decode() for x in r["input_units"]]
    bc = (np.arange(B) + 0.5) / B
    for n, w in WIDTHS.items():
        k = inputs.index("amount." + n)
        check(kinds[k] == "dist" and units[k] == "USD billion", "amount.%s: dist, USD billion" % n)
        check(np.allclose(r["bin_value"][k], 5 + w * bc, rtol=1e-9, atol=0),
              "bin_value of amount.%s: the uniform's quantiles at the bin centres" % n)
        kj = inputs.index("join." + n)
        check(kinds[kj] == "join_uniform" and units[kj] == "1", "join.%s: join_uniform, 1" % n)
        check(np.array_equal(r["bin_value"][kj], bc), "bin_value of join.%s: the bin centres of U" % n)
    check(units[kd] == "1/year" and np.allclose(r["bin_value"][kd], -0.5 + bc, rtol=0, atol=1e-10),
          "bin_value of price.drift in 1/year: -0.5 + (b + 1/2) / B")
    check(all("units" in attrs[k] and "long_name" in attrs[k]
              for k in ("bin_value", "input_kind", "input_units")),
          "bin_value, input_kind, input_units have units and long_name")

    # An input with atoms: every trial of value x_j has U = F(x_j), so it sits
    # in the bin of the cumulative weight (0.3, 0.8, 1: bins 6, 16, 19), which
    # bin_value names; the other bins hold no trial and no value (NaN).
    disc = os.path.join(d, "disc.yaml")
    with open(disc, "w") as f:
        f.write(SCENARIO.replace("amount: {dist: uniform, min: 5, max: 6}",
                                 "amount: {dist: discrete, values: [7, 5, 9], weights: [5, 3, 2]}"))
    out = os.path.join(d, "disc.h5")
    subprocess.run([DEALSIM, "run", disc, "-n", "20000", "-o", out, "--force", "--quiet",
                    "--threads", "2"], check=True, stdout=subprocess.DEVNULL)
    with h5py.File(out, "r") as f:
        g = f["sensitivity"]
        k = [x.decode() for x in g["input"][()]].index("amount.A")
        bv = g["bin_value"][k]
        cnt = g["bin_count"][k, [x.decode() for x in g["output"][()]].index("raw_total")]
    want = np.full(B, np.nan)
    want[[6, 16, 19]] = [5, 7, 9]
    check(np.array_equal(bv, want, equal_nan=True),
          "bin_value of a discrete amount: its values in the bins of F(x_j), NaN elsewhere: %s" % bv)
    check(np.array_equal(cnt > 0, np.isfinite(bv)),
          "the discrete amount's trials are in exactly the bins bin_value names")

print("%d failure(s)" % len(failures))
sys.exit(1 if failures else 0)
