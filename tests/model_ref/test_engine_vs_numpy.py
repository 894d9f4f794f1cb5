# tests/model_ref/test_engine_vs_numpy.py
# Statistical cross-check of the C engine against the independent numpy reference model (tests/bench/numpy_model.py).
# Licence: see LICENSE at the top of the repository.
"""Engine vs numpy reference, output by output.

For each scenario below the engine runs

    $DEALSIM run SCENARIO -n N --seed S -o TMP.h5 --force --quiet --set output.per_trial=true

and the numpy model (written from MODEL.md alone, with its own generator and
another seed) simulates the same scenario.  Both samples of every scalar
output of MODEL.md §4 are then compared:

  NaN count      two-proportion z-test on the fraction of NaN trials;
  booleans       two-proportion z-test (closed, target_met, oversubscribed);
  counts         chi-square test of homogeneity on the categories
                 (investors_joined, joined_mask), plus the z-test of means;
  continuous     two-sample Kolmogorov–Smirnov test on the finite values and
                 a z-test of the means with both standard errors.
Per-investor arrays (amount, paid, joined) are compared the same way when the
engine writes them.  The engine's own per-trial values must also satisfy the
identities of MODEL.md §3 (paid + unpaid = total, NaN exactly when the
denominator is 0, total = cap exactly when oversubscribed, ...).

Thresholds.  A statistical check fails when its p-value is below P_FAIL =
1e-6.  Seeds are fixed, so the run is deterministic; P_FAIL bounds the chance
that a correct engine fails for a given choice of seeds.  With about 400
checks in all, that chance is at most ~4e-4 (Bonferroni).  At 1e5 trials per
side, a mean shift of about 0.02 standard deviations is detected.

Run by ctest (label stat) or by hand:
    PYTHONPATH=tests DEALSIM=build/dealsim /usr/bin/python3 tests/model_ref/test_engine_vs_numpy.py [--only NAME] [--scale F]
"""

import argparse
import math
import os
import subprocess
import sys
import time

import h5py
import numpy as np
from scipy import stats

from bench import numpy_model as nm
from dstest import DEALSIM, SRC as SOURCE_DIR, tmpdir

P_FAIL = 1e-6
# Two-sided z beyond which a z-test has p < P_FAIL (≈ 4.89).
Z_FAIL = float(-stats.norm.ppf(P_FAIL / 2))
# Before the KS test values are rounded to this many mantissa bits (relative
# 2^-36 ≈ 1.5e-11), so that atoms the two programs compute with different
# rounding (total = cap, hhi = 1, shortfall = 0, ...) fall on the same value;
# continuous values are moved far less than any distribution difference the
# test can see.
KS_MANTISSA_BITS = 36
# Categories of a count expected fewer times than this (pooled) are merged
# before the chi-square test, which needs expected counts of about 5 or more.
CHI2_MIN_EXPECTED = 5.0
# Identities hold to rounding: a few dozen operations in double precision.
IDENTITY_REL_TOL = 1e-9
IDENTITY_ABS_TOL = 1e-12
# Wall-clock limit of one engine run (seconds).
ENGINE_TIMEOUT_S = 300

# (label, scenario path relative to the source tree, trials, engine seed, numpy seed)
CASES = [
    ("smoke", "configs/smoke.yaml", 20_000, 101, 9_001),
    ("openai-2026", "configs/openai-2026.yaml", 200_000, 102, 9_002),
    ("cap_valuation", "tests/model_ref/scenarios/cap_valuation.yaml", 100_000, 103, 9_003),
    ("tranches_front", "tests/model_ref/scenarios/tranches_front.yaml", 100_000, 104, 9_004),
    ("jumps_list", "tests/model_ref/scenarios/jumps_list.yaml", 100_000, 105, 9_005),
    ("sparse_nan", "tests/model_ref/scenarios/sparse_nan.yaml", 100_000, 106, 9_006),
]


class Report:
    """Collects every check with its p-value; failures are listed at the end."""

    def __init__(self):
        self.failures = []
        self.n_checks = 0

    def check(self, case, what, p, detail=""):
        self.n_checks += 1
        ok = p >= P_FAIL
        print(f"  {'ok  ' if ok else 'FAIL'} {what:44s} p = {p:9.3g}  {detail}")
        if not ok:
            self.failures.append(f"{case}: {what}: p = {p:.3g} {detail}")

    def fail(self, case, message):
        self.n_checks += 1
        print(f"  FAIL {message}")
        self.failures.append(f"{case}: {message}")

    def identity(self, case, what, holds):
        if holds:
            self.n_checks += 1
            print(f"  ok   identity {what}")
        else:
            self.fail(case, f"identity {what}")


def p_two_proportions(k1, n1, k2, n2):
    """Two-sided p of the pooled two-proportion z-test."""
    pooled = (k1 + k2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return 1.0  # both samples all 0 or all 1: identical
    z = (k1 / n1 - k2 / n2) / se
    return float(2 * stats.norm.sf(abs(z)))


def p_means(x, y):
    """Two-sided p of the z-test of means with both standard errors."""
    se = math.sqrt(x.var(ddof=1) / x.size + y.var(ddof=1) / y.size) if min(x.size, y.size) > 1 else 0.0
    diff = x.mean() - y.mean()
    if se == 0:
        scale = max(abs(x.mean()), abs(y.mean()), IDENTITY_ABS_TOL)
        return 1.0 if abs(diff) <= IDENTITY_REL_TOL * scale else 0.0
    return float(2 * stats.norm.sf(abs(diff) / se))


def p_chi2_categories(x, y):
    cats = np.union1d(np.unique(x), np.unique(y))
    cx = np.array([np.sum(x == c) for c in cats], dtype=float)
    cy = np.array([np.sum(y == c) for c in cats], dtype=float)
    # expected count of a cell in the smaller sample under homogeneity
    expected_min = (cx + cy) * min(x.size, y.size) / (x.size + y.size)
    rare = expected_min < CHI2_MIN_EXPECTED
    if rare.any():
        cx = np.append(cx[~rare], cx[rare].sum())
        cy = np.append(cy[~rare], cy[rare].sum())
    keep = (cx + cy) > 0
    table = np.vstack([cx[keep], cy[keep]])
    if table.shape[1] < 2:
        return 1.0, int(table.shape[1])
    return float(stats.chi2_contingency(table, correction=False)[1]), int(table.shape[1])


def quantise(x):
    """Round to KS_MANTISSA_BITS mantissa bits by integer rounding of the
    IEEE bit pattern (the carry crosses binades, so 1 − ulp rounds to 1)."""
    x = np.ascontiguousarray(x, dtype=np.float64)
    drop = 52 - KS_MANTISSA_BITS
    bits = x.view(np.int64)
    rounded = (bits + np.int64(1 << (drop - 1))) & ~np.int64((1 << drop) - 1)
    return rounded.view(np.float64)


def compare_sample(report, case, name, e, r, kind):
    """Compares the engine's sample e with the reference sample r."""
    if kind == "boolean":
        e, r = e.astype(np.int64), r.astype(np.int64)
        report.check(case, f"{name}: P(true)", p_two_proportions(int(e.sum()), e.size, int(r.sum()), r.size),
                     f"engine {e.mean():.5f} ref {r.mean():.5f}")
        return
    if kind == "count":
        e, r = e.astype(np.uint64), r.astype(np.uint64)
        p, k = p_chi2_categories(e, r)
        report.check(case, f"{name}: chi-square ({k} cells)", p)
        ef, rf = e.astype(float), r.astype(float)
        report.check(case, f"{name}: mean", p_means(ef, rf), f"engine {ef.mean():.6g} ref {rf.mean():.6g}")
        return
    e, r = e.astype(float), r.astype(float)
    ne, nr = int(np.isnan(e).sum()), int(np.isnan(r).sum())
    report.check(case, f"{name}: NaN fraction", p_two_proportions(ne, e.size, nr, r.size),
                 f"engine {ne} ref {nr}")
    ef, rf = e[np.isfinite(e)], r[np.isfinite(r)]
    if np.isinf(e).any():
        report.fail(case, f"{name}: engine wrote {int(np.isinf(e).sum())} infinite values")
    if ef.size == 0 or rf.size == 0:
        if ef.size != rf.size:
            report.fail(case, f"{name}: finite values in only one sample (engine {ef.size}, ref {rf.size})")
        return
    report.check(case, f"{name}: KS", float(stats.ks_2samp(quantise(ef), quantise(rf)).pvalue))
    report.check(case, f"{name}: mean", p_means(ef, rf), f"engine {ef.mean():.6g} ref {rf.mean():.6g}")


def kind_of(name):
    if name in nm.BOOLEAN_OUTPUTS:
        return "boolean"
    if name in nm.COUNT_OUTPUTS:
        return "count"
    return "continuous"


def close(a, b):
    return bool(np.all(np.isclose(a, b, rtol=IDENTITY_REL_TOL, atol=IDENTITY_ABS_TOL, equal_nan=True)))


def check_identities(report, case, scn, e):
    """MODEL.md §3 relations that every engine trial must satisfy exactly
    (to rounding)."""
    f = {k: v.astype(float) for k, v in e.items() if k in scn.scalar_outputs}
    total, paid = f["total"], f["paid"]
    report.identity(case, "paid + unpaid = total", close(paid + f["unpaid"], total))
    report.identity(case, "net_new = paid - round_trip", close(f["net_new"], paid - f["round_trip"]))
    report.identity(case, "shortfall = max(0, target - total)", close(f["shortfall"], np.maximum(0, scn.target - total)))
    report.identity(case, "target_met = total >= target", np.array_equal(f["target_met"] == 1, total >= scn.target))
    closed = total >= scn.minimum_close if scn.minimum_close is not None else total > 0
    report.identity(case, "closed = total >= minimum_close", np.array_equal(f["closed"] == 1, closed))
    over = f["oversubscribed"] == 1
    if scn.cap is None:
        report.identity(case, "no cap: never oversubscribed, total = raw_total",
                        not over.any() and close(total, f["raw_total"]))
    else:
        report.identity(case, "oversubscribed = raw_total > cap", np.array_equal(over, f["raw_total"] > scn.cap))
        report.identity(case, "total = cap exactly when oversubscribed", bool(np.all(total[over] == scn.cap)))
        report.identity(case, "total = raw_total otherwise", close(total[~over], f["raw_total"][~over]))
    report.identity(case, "hhi, top_share NaN iff total = 0",
                    np.array_equal(np.isnan(f["hhi"]), total == 0) and np.array_equal(np.isnan(f["top_share"]), total == 0))
    pos = total > 0
    h, t = f["hhi"][pos], f["top_share"][pos]
    report.identity(case, "top_share^2 <= hhi <= top_share <= 1",
                    bool(np.all(t * t <= h * (1 + IDENTITY_REL_TOL)) and np.all(h <= t * (1 + IDENTITY_REL_TOL))
                         and np.all(t <= 1 + IDENTITY_REL_TOL)))
    report.identity(case, "round_trip_share NaN iff paid = 0", np.array_equal(np.isnan(f["round_trip_share"]), paid == 0))
    report.identity(case, "round_trip_share = round_trip / paid",
                    close(f["round_trip_share"][paid > 0], f["round_trip"][paid > 0] / paid[paid > 0]))
    g = f["gpu_hours"]
    report.identity(case, "avg_price NaN iff gpu_hours = 0", np.array_equal(np.isnan(f["avg_price"]), g == 0))
    report.identity(case, "avg_price = compute_spend / gpu_hours",
                    close(f["avg_price"][g > 0], f["compute_spend"][g > 0] / g[g > 0]))
    report.identity(case, "0 <= compute_spend <= paid", bool(np.all((f["compute_spend"] >= 0)
                                                                   & (f["compute_spend"] <= paid * (1 + IDENTITY_REL_TOL)))))
    report.identity(case, "final_price > 0", bool(np.all(f["final_price"] > 0)))
    mask = e["joined_mask"].astype(np.uint64)
    popcount = np.zeros(mask.size, dtype=np.uint64)
    for i in range(scn.n_investors):
        popcount += (mask >> np.uint64(i)) & np.uint64(1)
    report.identity(case, "investors_joined = popcount(joined_mask)",
                    np.array_equal(popcount, e["investors_joined"].astype(np.uint64)))
    report.identity(case, "joined_mask < 2^n", bool(scn.n_investors >= 64 or np.all(mask < (np.uint64(1) << np.uint64(scn.n_investors)))))
    if scn.has_valuation:
        report.identity(case, "stake_total = total / post_money", close(f["stake_total"], total / f["post_money"]))
        report.identity(case, "post_money > total", bool(np.all(f["post_money"] > total)))


def run_engine(dealsim, scenario, n, seed, out):
    cmd = [dealsim, "run", scenario, "-n", str(n), "--seed", str(seed), "-o", out, "--force", "--quiet",
           "--set", "output.per_trial=true"]
    print("  $ " + " ".join(cmd))
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=ENGINE_TIMEOUT_S)
    return proc, time.perf_counter() - t0


def run_case(report, dealsim, tmpdir, label, rel_path, n, engine_seed, numpy_seed):
    print(f"\n== {label}: {rel_path}, {n} trials (engine seed {engine_seed}, numpy seed {numpy_seed})")
    path = os.path.join(SOURCE_DIR, rel_path)
    if not os.path.exists(path):
        report.fail(label, f"scenario {path} not found")
        return
    scn = nm.load_scenario(path)
    out = os.path.join(tmpdir, f"{label}.h5")
    try:
        proc, secs = run_engine(dealsim, path, n, engine_seed, out)
    except subprocess.TimeoutExpired:
        report.fail(label, f"engine ran longer than {ENGINE_TIMEOUT_S} s")
        return
    if proc.returncode != 0:
        report.fail(label, f"engine exited with {proc.returncode}: {proc.stderr.strip()[-2000:]}")
        return
    t0 = time.perf_counter()
    ref = nm.simulate(scn, n, numpy_seed)
    print(f"  engine {secs:.2f} s, numpy model {time.perf_counter() - t0:.2f} s")

    engine = {}
    with h5py.File(out, "r") as f:
        trials_attr = f.attrs.get("trials")
        if trials_attr is not None and int(trials_attr) != n:
            report.fail(label, f"root attribute trials = {int(trials_attr)}, expected {n}")
        if "trials" not in f:
            report.fail(label, "no /trials group although output.per_trial=true")
            return
        grp = f["trials"]
        for name in scn.scalar_outputs:
            if name not in grp:
                report.fail(label, f"/trials/{name} missing (output.per_trial=true asks for every scalar)")
                continue
            data = grp[name][...]
            if data.shape != (n,):
                report.fail(label, f"/trials/{name} has shape {data.shape}, expected ({n},)")
                continue
            engine[name] = data
        per_investor = {k: grp[k][...] for k in ("investor_amount", "investor_paid", "investor_joined")
                        if k in grp}

    for name in scn.scalar_outputs:
        if name in engine:
            compare_sample(report, label, name, engine[name], ref[name], kind_of(name))
    if all(name in engine for name in scn.scalar_outputs):
        check_identities(report, label, scn, engine)
    if not per_investor:
        print("  (no per-investor arrays in /trials: not compared)")
    for key, data in per_investor.items():
        if data.shape != (n, scn.n_investors):
            report.fail(label, f"/trials/{key} has shape {data.shape}, expected ({n}, {scn.n_investors})")
            continue
        kind = "boolean" if key == "investor_joined" else "continuous"
        for i, inv in enumerate(scn.investor_names):
            compare_sample(report, label, f"{key}[{inv}]", data[:, i], ref[key][:, i], kind)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dealsim", default=DEALSIM, help="the program (default $DEALSIM, else build/dealsim)")
    ap.add_argument("--only", action="append", help="run only this case label (repeatable)")
    ap.add_argument("--scale", type=float, default=1.0, help="multiply every trial count (deeper manual runs)")
    args = ap.parse_args(argv)

    dealsim = args.dealsim
    if not (os.path.isfile(dealsim) and os.access(dealsim, os.X_OK)):
        # ctest here does not understand a "skipped" exit code: not having the
        # program is a failure, with the reason spelled out.
        print(f"FAIL: the dealsim program {dealsim!r} does not exist or is not executable; "
              f"build it (cmake --build build) or set DEALSIM, then rerun this test.")
        return 1

    print(f"engine vs numpy reference; fail when p < {P_FAIL:g} (|z| > {Z_FAIL:.2f}); program {dealsim}")
    report = Report()
    t0 = time.perf_counter()
    scratch = tmpdir(prefix="ds-model-ref-")
    for label, rel, n, es, ns in CASES:
        if args.only and label not in args.only:
            continue
        run_case(report, dealsim, scratch, label, rel, max(1, int(n * args.scale)), es, ns)
    print(f"\n{report.n_checks} checks in {time.perf_counter() - t0:.1f} s, {len(report.failures)} failed")
    for line in report.failures:
        print("FAILED: " + line)
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
