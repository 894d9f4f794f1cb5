# tests/engine/test_closed_forms.py
# The engine against closed forms (MODEL.md 3), each within a tolerance
# derived from the standard error.
# Licence: see LICENSE at the top of the repository.
#
# Tolerances: a z-test fails beyond Z_MAX = 5 standard errors.  Seeds are
# fixed, so each test is deterministic; for a correct engine the chance that
# a given seed lands beyond 5 sigma is about 6e-7 per check.  Quantiles
# add the sketch's relative accuracy (1e-3) to the sampling error.
#
# DS_SAMPLING=latin_hypercube (ctest engine_closed_forms_lhs) runs every
# scenario with --sampling latin_hypercube: the same closed forms must hold
# (the marginals are exact under stratification; z-tests that use /summary's
# stderr then use the block-spread standard error, the others the iid
# formula, which only overstates the error when stratification reduces it),
# plus the exact per-block join counts of stratified uniforms below.
import math
import os

import numpy as np
from scipy import stats

from dstest import Checker, read_trials, run_to_file, summary, tmpdir
import h5py

Z_MAX = 5.0
SKETCH_ALPHA = 1e-3
SAMPLING = os.environ.get("DS_SAMPLING", "monte_carlo")
c = Checker()
d = tmpdir()
_run_to_file = run_to_file


def run_to_file(scen, out, *extra):
    return _run_to_file(scen, out, "--sampling", SAMPLING, *extra)


# ---- joins, correlated joins, paid, closing (closed_forms.yaml) ----
f = run_to_file("closed_forms.yaml", os.path.join(d, "cf.h5"))
tr = read_trials(f)
n = len(tr["total"])
p = {"A": 0.7, "B": 0.4, "C": 0.55}
with h5py.File(f, "r") as h:
    inv = [x.decode() if isinstance(x, bytes) else x for x in h["investors/investor"][()]]
    jp = h["investors/join_probability"][()]
    js = h["investors/join_stderr"][()]
for i, name in enumerate(inv):
    c.z(jp[i], math.sqrt(p[name] * (1 - p[name]) / n), p[name], f"P(join {name})", Z_MAX)
    binom = math.sqrt(jp[i] * (1 - jp[i]) / n)
    if SAMPLING == "monte_carlo":
        c.ok(abs(js[i] - binom) < 1e-12, f"join_stderr {name}")
    else:
        # The blocks' spread of the join fractions (README, Sampling): the
        # joins are stratified, so it is far below the binomial one.
        c.ok(0 <= js[i] < binom, f"join_stderr {name} {js[i]:.3g} below the binomial {binom:.3g} under LHS")

mask = tr["joined_mask"].astype(np.uint64)
both = ((mask & np.uint64(3)) == np.uint64(3)).mean()
a, b = stats.norm.ppf(p["A"]), stats.norm.ppf(p["B"])
p_ab = stats.multivariate_normal(mean=[0, 0], cov=[[1, 0.5], [0.5, 1]]).cdf([a, b])
c.z(both, math.sqrt(p_ab * (1 - p_ab) / n), p_ab, "P(A and B join) with rho 0.5 (bivariate normal)", Z_MAX)
# C is uncorrelated: independent of A.
pac = ((mask & np.uint64(5)) == np.uint64(5)).mean()
c.z(pac, math.sqrt(0.7 * 0.55 * (1 - 0.7 * 0.55) / n), 0.7 * 0.55, "P(A and C) independent", Z_MAX)

if SAMPLING == "latin_hypercube":
    # Within each full block the 4096 stratified uniforms of join.C (not
    # correlated) put exactly floor(pB) or ceil(pB) of them below p; join.A,
    # the first correlated input, has Z = eps_A, so the same up to a
    # rounding of Phi(Phi^-1(U)) at the threshold (+-1 allowed).
    B = 4096
    nfull = n // B
    for bit, name, slack in ((0, "A", 1), (2, "C", 0)):
        j = ((mask[: nfull * B] >> np.uint64(bit)) & np.uint64(1)).reshape(nfull, B).sum(axis=1)
        lo, hi = math.floor(p[name] * B) - slack, math.ceil(p[name] * B) + slack
        c.ok(nfull >= 40 and ((j >= lo) & (j <= hi)).all(),
             f"LHS: joins of {name} per full block in [{lo}, {hi}]: {j.min()}..{j.max()} over {nfull} blocks")
    with h5py.File(f, "r") as h:
        c.ok(h.attrs["sampling"] == "latin_hypercube", "root attribute sampling")
        c.ok("sampling: latin_hypercube" in h["effective_config"].asstr()[()], "effective_config sampling")

# E[paid] = sum p_i a_i sum_k phi_k q_k (the copula does not change means).
e_paid = 0.7 * 10 * (0.5 + 0.5 * 0.6) + 0.4 * 20 * (0.25 * 0.9 + 0.75 * 0.5) + 0.55 * 5
s = summary(f)
c.z(s["paid"]["mean"], s["paid"]["stderr"], e_paid, "E[paid]", Z_MAX)
e_total = 0.7 * 10 + 0.4 * 20 + 0.55 * 5
c.z(s["total"]["mean"], s["total"]["stderr"], e_total, "E[total]", Z_MAX)
c.ok(np.allclose(tr["paid"] + tr["unpaid"], tr["total"], rtol=1e-12, atol=1e-12), "paid + unpaid == total")
c.ok(np.array_equal(tr["closed"].astype(bool), tr["total"] >= 10), "closed == total >= minimum_close")
c.ok(np.array_equal(tr["target_met"].astype(bool), tr["total"] >= 25), "target_met == total >= target")
c.ok(np.allclose(tr["shortfall"], np.maximum(0, 25 - tr["total"])), "shortfall")
nz = tr["total"] > 0
c.ok(np.isnan(tr["hhi"][~nz]).all() and np.isfinite(tr["hhi"][nz]).all(), "hhi NaN exactly when total = 0")
c.ok(s["hhi"]["nan_count"] == (~nz).sum(), "summary counts hhi NaNs")
# P(closed): total >= 10 unless only C joins or nobody joins.
c.ok(abs(s["closed"]["mean"] - tr["closed"].mean()) <= 1e-12, "summary mean of a boolean is its probability")

# Median and mean of the GBM price (kappa = 0, lambda = 0).
with h5py.File(f, "r") as h:
    qs = h["price_fan/quantile"][()]
    fan = h["price_fan/price_quantiles"][()]
    pmean = h["price_fan/price_mean"][()]
mu, sig, p0, dt = -0.3, 0.4, 2.0, 1 / 12
iq = int(np.argmin(abs(qs - 0.5)))
for m in (1, 6, 12, 24):
    med = p0 * math.exp(mu * m * dt)
    # sd of the sample median of ln p: sqrt(pi/2) * sigma_m / sqrt(n)
    se_log = math.sqrt(math.pi / 2) * sig * math.sqrt(m * dt) / math.sqrt(n)
    err = abs(math.log(fan[m - 1, iq] / med))
    c.ok(err <= Z_MAX * se_log + SKETCH_ALPHA, f"median price month {m}: {fan[m-1, iq]:.6g} vs {med:.6g}")
    mean = p0 * math.exp(mu * m * dt + sig**2 * m * dt / 2)
    sd = mean * math.sqrt(math.exp(sig**2 * m * dt) - 1)
    c.z(pmean[m - 1], sd / math.sqrt(n), mean, f"mean price month {m}", Z_MAX)

# ---- Poisson jump count (jumps.yaml) ----
f = run_to_file("jumps.yaml", os.path.join(d, "j.h5"))
fp = read_trials(f)["final_price"]
k = np.rint(np.log(fp / 2.0) / 0.5).astype(int)
c.ok(np.allclose(np.log(fp / 2.0) / 0.5, k, atol=1e-9), "jump sizes are exactly 0.5")
lam = 3.0  # per year over 12 months
kmax = 9
obs = np.array([(k == j).sum() for j in range(kmax)] + [(k >= kmax).sum()])
pmf = np.array([stats.poisson.pmf(j, lam) for j in range(kmax)] + [stats.poisson.sf(kmax - 1, lam)])
chi2, pval = stats.chisquare(obs, pmf * len(k))
c.ok(pval > 1e-6, f"jump count ~ Poisson(3): chi2 {chi2:.2f}, p = {pval:.3g} (fail below 1e-6)")
c.z(k.mean(), math.sqrt(lam / len(k)), lam, "mean jump count", Z_MAX)

# ---- mean reversion (meanrev.yaml) ----
f = run_to_file("meanrev.yaml", os.path.join(d, "mr.h5"))
lp = np.log(read_trials(f)["final_price"])
H, kap, sig, mu = 36, 1.5, 0.5, -0.2
var = sig**2 * dt * sum((1 - kap * dt) ** (2 * j) for j in range(H))
c.z(lp.mean(), math.sqrt(var / len(lp)), math.log(2.0) + mu * H * dt, "E[ln p_H] with mean reversion", Z_MAX)
# sd of the sample variance of a normal: var * sqrt(2/(n-1))
c.z(lp.var(ddof=1), var * math.sqrt(2 / (len(lp) - 1)), var, "Var[ln p_H] with mean reversion", Z_MAX)

# ---- cap (cap.yaml) ----
f = run_to_file("cap.yaml", os.path.join(d, "cap.h5"))
tr = read_trials(f)
over = tr["raw_total"] > 40
c.ok(over.any() and (~over).any(), "cap scenario has both cases")
c.ok(np.array_equal(tr["oversubscribed"].astype(bool), over), "oversubscribed == raw_total > cap")
c.ok((tr["total"][over] == 40.0).all(), "total == cap exactly when oversubscribed")
c.ok(np.array_equal(tr["total"][~over], tr["raw_total"][~over]), "total == raw_total below the cap")
amt = tr["investor_amount"]
c.ok(np.allclose(amt.sum(axis=1), tr["total"], rtol=1e-12), "sum of allocations == total")
ratio = amt[over] / tr["total"][over, None]
c.ok((amt[over] <= 40 + 1e-12).all() and np.isfinite(ratio).all(), "allocations bounded")
c.ok(np.allclose(tr["hhi"][over], (ratio**2).sum(axis=1), rtol=1e-12), "hhi from allocations")
c.ok(np.allclose(tr["top_share"][over], ratio.max(axis=1), rtol=1e-12), "top_share from allocations")
c.done()
