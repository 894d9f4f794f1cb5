# tests/bench/test_numpy_model_selfcheck.py
# Checks the numpy reference model (numpy_model.py) on its own: known laws, closed forms of MODEL.md, and a plain per-trial loop.
# Licence: see LICENSE at the top of the repository.
"""Self-checks of the numpy reference model.

The engine is judged against numpy_model.py, so the reference must first be
shown right on its own, from facts that follow directly from MODEL.md:
sampled laws against scipy's CDFs, P(join) = p, E[paid] with fixed amounts,
the median of the price without mean reversion or jumps, the variance with
mean reversion, Poisson jump counts, the rules of the cap, NaN and the
horizon, the copula's rank correlation, and the vectorised kernel against a
straightforward per-trial loop written from MODEL.md §3.

Every seed is fixed, so the run is deterministic; the thresholds bound the
chance that a correct model fails for a given choice of seeds:
  Z_FAIL = 5      a z-score beyond it fails (two-sided p ≈ 5.7e-7)
  P_FAIL = 1e-6   a KS / chi-square p-value below it fails
Run: /usr/bin/python3 tests/bench/test_numpy_model_selfcheck.py
"""

import copy
import math
import os
import unittest

import numpy as np
import yaml
from scipy import special, stats

import numpy_model as nm  # beside this script, so on sys.path already
from dstest import tmpdir

Z_FAIL = 5.0
P_FAIL = 1e-6
# Deterministic identities hold to rounding only; this bounds the rounding of
# a few dozen additions and divisions in double precision.
REL_TOL = 1e-9
# MODEL.md §2: inversion must be accurate to 1e-10 relative.
INVERSION_REL_TOL = 1e-10
N_STAT = 200_000  # trials for the statistical checks


def rng_for(seed):
    return np.random.Generator(np.random.PCG64DXSM(seed))


def base_doc(**over):
    """A small scenario: one investor who always joins with 10, one tranche
    at month 0, constant price 2 over 12 months."""
    doc = {
        "name": "selfcheck",
        "round": {"target": 10},
        "investors": [{"name": "A", "join_probability": 1.0, "amount": 10.0}],
        "compute": {"horizon_months": 12, "price": {"initial": 2.0}},
    }
    for k, v in over.items():
        doc[k] = v
    return doc


def run(doc, n=N_STAT, seed=1, chunk=nm.DEFAULT_CHUNK):
    scn = nm.Scenario(copy.deepcopy(doc))
    return scn, nm.simulate(scn, n, seed, chunk)


def z_of_mean(x, expected):
    x = np.asarray(x, dtype=float)
    se = x.std(ddof=1) / math.sqrt(x.size)
    return (x.mean() - expected) / se if se > 0 else (0.0 if x.mean() == expected else math.inf)


def z_of_proportion(k, n, p):
    se = math.sqrt(p * (1 - p) / n)
    return (k / n - p) / se if se > 0 else (0.0 if k / n == p else math.inf)


class Distributions(unittest.TestCase):
    """sample() and ppf() of every law against scipy's CDF of the law as
    MODEL.md §2 defines it."""

    CASES = [
        ({"dist": "uniform", "min": 1, "max": 3}, stats.uniform(1, 2).cdf),
        ({"dist": "triangular", "min": 0, "mode": 1, "max": 4}, stats.triang(0.25, 0, 4).cdf),
        ({"dist": "pert", "min": 2, "mode": 3, "max": 7},
         stats.beta(1 + 4 * 1 / 5, 1 + 4 * 4 / 5, loc=2, scale=5).cdf),
        ({"dist": "pert", "min": 0, "mode": 0, "max": 1, "lambda": 2}, stats.beta(1, 3).cdf),
        ({"dist": "beta", "alpha": 4, "beta": 1.5, "min": 10, "max": 30}, stats.beta(4, 1.5, loc=10, scale=20).cdf),
        ({"dist": "normal", "mean": 1, "sd": 2}, stats.norm(1, 2).cdf),
        ({"dist": "normal", "mean": 1, "sd": 2, "min": 0}, stats.truncnorm(-0.5, np.inf, 1, 2).cdf),
        # a narrow far-tail window: exercises the inversion branch of sample()
        ({"dist": "normal", "mean": 0, "sd": 1, "min": 2, "max": 2.5}, stats.truncnorm(2, 2.5).cdf),
        ({"dist": "lognormal", "median": 18, "sigma": 0.5, "min": 8, "max": 60},
         lambda x: stats.truncnorm((math.log(8) - math.log(18)) / 0.5, (math.log(60) - math.log(18)) / 0.5,
                                   math.log(18), 0.5).cdf(np.log(x))),
        ({"dist": "lognormal", "median": 2, "sigma": 0.3}, stats.lognorm(0.3, scale=2).cdf),
        ({"dist": "mixture", "components": [
            {"weight": 1, "dist": "normal", "mean": -0.35, "sd": 0.1},
            {"weight": 3, "dist": "mixture", "components": [
                {"weight": 1, "dist": "uniform", "min": 0, "max": 1},
                {"weight": 1, "dist": "normal", "mean": 0.3, "sd": 0.1}]}]},
         lambda x: 0.25 * stats.norm(-0.35, 0.1).cdf(x)
         + 0.375 * stats.uniform(0, 1).cdf(x) + 0.375 * stats.norm(0.3, 0.1).cdf(x)),
    ]

    def test_continuous_laws(self):
        for j, (node, cdf) in enumerate(self.CASES):
            with self.subTest(node=node):
                d = nm.parse_dist(node, "case")
                rng = rng_for(100 + j)
                direct = d.sample(rng, N_STAT)
                inverted = d.ppf(rng.random(N_STAT))
                latent = d.from_latent(rng.standard_normal(N_STAT))
                for label, x in (("sample", direct), ("ppf", inverted), ("from_latent", latent)):
                    p = stats.kstest(x, cdf).pvalue
                    self.assertGreater(p, P_FAIL, f"{label}: KS p = {p:.3g}")

    def test_inversion_accuracy(self):
        u = np.linspace(1e-9, 1 - 1e-9, 10001)
        d = nm.parse_dist({"dist": "beta", "alpha": 4, "beta": 1.5}, "b")
        np.testing.assert_allclose(special.betainc(4, 1.5, d.ppf(u)), u, rtol=INVERSION_REL_TOL, atol=0)
        t = nm.parse_dist({"dist": "triangular", "min": 0, "mode": 1, "max": 4}, "t")
        np.testing.assert_allclose(stats.triang(0.25, 0, 4).cdf(t.ppf(u)), u, rtol=INVERSION_REL_TOL, atol=0)

    def test_discrete_and_bernoulli(self):
        d = nm.parse_dist({"dist": "discrete", "values": [5, 1, 3], "weights": [1, 2, 0]}, "d")
        rng = rng_for(7)
        for x in (d.sample(rng, N_STAT), d.ppf(rng.random(N_STAT))):
            self.assertEqual(set(np.unique(x)), {1.0, 5.0})
            self.assertLess(abs(z_of_proportion(np.sum(x == 5.0), N_STAT, 1 / 3)), Z_FAIL)
        # ppf is monotone in u (the inverse CDF), whatever the file order
        self.assertTrue(np.all(np.diff(d.ppf(np.linspace(0.001, 0.999, 999))) >= 0))
        b = nm.parse_dist({"dist": "bernoulli", "p": 0.3}, "b")
        for x in (b.sample(rng, N_STAT), b.ppf(rng.random(N_STAT))):
            self.assertLess(abs(z_of_proportion(np.sum(x == 1.0), N_STAT, 0.3)), Z_FAIL)

    def test_mixture_inversion_splits_unit_interval(self):
        # MODEL.md §2: [0,1) split ∝ weight in component order, uniform rescaled.
        m = nm.parse_dist({"dist": "mixture", "components": [
            {"weight": 1, "dist": "uniform", "min": 10, "max": 11},
            {"weight": 0, "dist": "fixed", "value": 99},
            {"weight": 3, "dist": "uniform", "min": 0, "max": 1}]}, "m")
        np.testing.assert_allclose(m.ppf(np.array([0.0, 0.125, 0.25, 0.625])), [10.0, 10.5, 0.0, 0.5],
                                   rtol=REL_TOL)


class Joining(unittest.TestCase):
    def test_join_probability_and_expected_paid(self):
        # Fixed amounts: E[paid] = Σ p_i·a_i·Σ_k φ_k q_k, E[unpaid] = Σ p_i·a_i·Σ_k φ_k (1 − q_k).
        doc = base_doc(investors=[
            {"name": "A", "join_probability": 0.3, "amount": 10.0,
             "tranches": [{"share": 0.5, "month": 1}, {"share": 0.5, "month": 3, "probability": 0.4}]},
            {"name": "B", "join_probability": 0.8, "amount": 4.0,
             "tranches": [{"share": 0.2, "month": 0, "probability": 0.9}, {"share": 0.8, "month": 2}]},
        ])
        scn, r = run(doc)
        for i, p in enumerate((0.3, 0.8)):
            k = int(r["investor_joined"][:, i].sum())
            self.assertLess(abs(z_of_proportion(k, N_STAT, p)), Z_FAIL)
        e_paid = 0.3 * 10 * (0.5 + 0.5 * 0.4) + 0.8 * 4 * (0.2 * 0.9 + 0.8)
        e_unpaid = 0.3 * 10 * 0.5 * 0.6 + 0.8 * 4 * 0.2 * 0.1
        self.assertLess(abs(z_of_mean(r["paid"], e_paid)), Z_FAIL)
        self.assertLess(abs(z_of_mean(r["unpaid"], e_unpaid)), Z_FAIL)
        np.testing.assert_allclose(r["paid"] + r["unpaid"], r["total"], rtol=REL_TOL)
        # mask and count agree with the per-investor joins
        j = r["investor_joined"].astype(np.uint64)
        np.testing.assert_array_equal(r["joined_mask"], j[:, 0] + 2 * j[:, 1])
        np.testing.assert_array_equal(r["investors_joined"], j.sum(axis=1))

    def test_correlated_joins(self):
        # P(both join) under the copula = Φ2(Φ⁻¹(p1), Φ⁻¹(p2); ρ), since join = Φ(Z) < p.
        rho, p1, p2 = 0.4, 0.85, 0.45
        doc = base_doc(investors=[{"name": "A", "join_probability": p1, "amount": 1.0},
                                  {"name": "B", "join_probability": p2, "amount": 1.0}],
                       correlations=[["join.A", "join.B", rho]])
        _, r = run(doc)
        both = int(np.sum(r["joined_mask"] == 3))
        expected = stats.multivariate_normal(mean=[0, 0], cov=[[1, rho], [rho, 1]]).cdf(
            [special.ndtri(p1), special.ndtri(p2)])
        self.assertLess(abs(z_of_proportion(both, N_STAT, expected)), Z_FAIL)

    def test_correlated_amounts_rank_correlation(self):
        # Spearman's rho of a Gaussian copula with correlation ρ is (6/π)·asin(ρ/2).
        rho = 0.6
        doc = base_doc(investors=[
            {"name": "A", "join_probability": 1.0, "amount": {"dist": "beta", "alpha": 2, "beta": 5}},
            {"name": "B", "join_probability": 1.0,
             "amount": {"dist": "lognormal", "median": 3, "sigma": 1, "min": 1, "max": 9}}],
            correlations=[["amount.A", "amount.B", rho]])
        scn = nm.Scenario(doc)
        inp = nm.draw_inputs(scn, rng_for(3), N_STAT)
        rs = stats.spearmanr(inp["amount.A"], inp["amount.B"]).correlation
        expected = 6 / math.pi * math.asin(rho / 2)
        se = 1.0 / math.sqrt(N_STAT)  # ≥ the sd of Spearman's rho for |ρ_s| < 1
        self.assertLess(abs(rs - expected), Z_FAIL * se)

    def test_join_direction_under_copula(self):
        # join = Φ(Z1) < p: a low latent means joining.  With amount.B = Φ(Z2)
        # (uniform on [0,1]) and corr(Z1, Z2) = ρ,
        # E[amount.B · 1{A joins}] = P(Z3 < Z2, Z1 < c) = Φ2(0, c; −ρ/√2), c = Φ⁻¹(p),
        # Z3 an independent standard normal.  A flipped direction (join when
        # Φ(Z1) > 1 − p) would give the opposite sign of dependence.
        rho, p = 0.6, 0.4
        doc = base_doc(investors=[{"name": "A", "join_probability": p, "amount": 1.0},
                                  {"name": "B", "join_probability": 1.0,
                                   "amount": {"dist": "uniform", "min": 0, "max": 1}}],
                       correlations=[["join.A", "amount.B", rho]])
        scn = nm.Scenario(doc)
        inp = nm.draw_inputs(scn, rng_for(4), N_STAT)
        r12 = -rho / math.sqrt(2)
        expected = stats.multivariate_normal(mean=[0, 0], cov=[[1, r12], [r12, 1]]).cdf([0.0, special.ndtri(p)])
        self.assertLess(abs(z_of_mean(inp["amount.B"] * inp["join.A"], expected)), Z_FAIL)

    def test_not_positive_definite_is_rejected(self):
        doc = base_doc(investors=[{"name": n, "join_probability": 0.5, "amount": 1.0} for n in "ABC"],
                       correlations=[["join.A", "join.B", 0.9], ["join.B", "join.C", 0.9],
                                     ["join.A", "join.C", -0.9]])
        with self.assertRaisesRegex(nm.ScenarioError, "smallest eigenvalue"):
            nm.Scenario(doc)


class CapAndNaN(unittest.TestCase):
    def test_cap(self):
        doc = base_doc(round={"target": 20, "cap": 25},
                       investors=[{"name": "A", "join_probability": 0.7, "amount": {"dist": "uniform", "min": 5, "max": 20}},
                                  {"name": "B", "join_probability": 0.7, "amount": {"dist": "uniform", "min": 5, "max": 20}}])
        _, r = run(doc, n=50_000)
        over = r["oversubscribed"].astype(bool)
        self.assertTrue(over.any() and (~over).any())
        np.testing.assert_array_equal(over, r["raw_total"] > 25)
        self.assertTrue(np.all(r["total"][over] == 25.0))  # exactly the cap
        np.testing.assert_allclose(r["investor_amount"].sum(axis=1), r["total"], rtol=REL_TOL)
        np.testing.assert_array_equal(r["total"][~over], r["raw_total"][~over])
        np.testing.assert_allclose(r["shortfall"], np.maximum(0, 20 - r["total"]), rtol=REL_TOL)

    def test_nan_rules(self):
        doc = base_doc(round={"target": 10, "minimum_close": 4},
                       investors=[{"name": "A", "join_probability": 0.3, "amount": {"dist": "uniform", "min": 1, "max": 5},
                                   "tranches": [{"share": 1, "month": 2, "probability": 0.5}]},
                                  {"name": "B", "join_probability": 0.3, "amount": 2.0,
                                   "tranches": [{"share": 1, "month": 12}]}])
        _, r = run(doc, n=50_000)
        zero_total = r["total"] == 0
        self.assertTrue(zero_total.any())
        np.testing.assert_array_equal(np.isnan(r["hhi"]), zero_total)
        np.testing.assert_array_equal(np.isnan(r["top_share"]), zero_total)
        np.testing.assert_array_equal(np.isnan(r["round_trip_share"]), r["paid"] == 0)
        np.testing.assert_array_equal(np.isnan(r["avg_price"]), r["gpu_hours"] == 0)
        np.testing.assert_array_equal(r["closed"].astype(bool), r["total"] >= 4)
        # B pays at month H: never spent within the horizon
        only_b = r["joined_mask"] == 2
        self.assertTrue(np.all(r["compute_spend"][only_b] == 0) and np.all(np.isnan(r["avg_price"][only_b])))


class PricePath(unittest.TestCase):
    def test_median_without_reversion_or_jumps(self):
        # κ = 0, λ = 0: ln p_m ~ N(ln p0 + μ m dt, σ² m dt), median p0·exp(μ m dt).
        p0, mu, sigma, H = 2.0, -0.3, 0.4, 24
        doc = base_doc(compute={"horizon_months": H, "price": {"initial": p0, "drift": mu, "volatility": sigma}})
        scn = nm.Scenario(doc)
        n = N_STAT
        inp, eps, jumps = nm.draw_chunk(scn, rng_for(11), n)
        logp = nm.log_price_path(scn, inp, eps, jumps, n)
        for m in (1, 6, H):
            median = p0 * math.exp(mu * m * nm.DT)
            below = int(np.sum(np.exp(logp[m - 1]) < median))
            self.assertLess(abs(z_of_proportion(below, n, 0.5)), Z_FAIL, f"month {m}")
            x = logp[m - 1] - math.log(p0) - mu * m * nm.DT
            var = sigma ** 2 * m * nm.DT
            self.assertGreater(stats.kstest(x / math.sqrt(var), "norm").pvalue, P_FAIL, f"month {m}")
        # final_price is p_H
        _, r = run(doc, n=n)
        median = p0 * math.exp(mu * H * nm.DT)
        self.assertLess(abs(z_of_proportion(int(np.sum(r["final_price"] < median)), n, 0.5)), Z_FAIL)

    def test_mean_reversion_variance(self):
        # d_m = a·d_{m−1} + σ√dt·ε_m with a = 1 − κ dt: Var d_m = σ² dt Σ_{j<m} a^{2j}.
        kappa, sigma, H = 3.0, 0.5, 36
        doc = base_doc(compute={"horizon_months": H,
                                "price": {"initial": 1.0, "volatility": sigma, "mean_reversion": kappa}})
        scn = nm.Scenario(doc)
        inp, eps, jumps = nm.draw_chunk(scn, rng_for(12), N_STAT)
        logp = nm.log_price_path(scn, inp, eps, jumps, N_STAT)
        a = 1 - kappa * nm.DT
        for m in (1, 12, H):
            var = sigma ** 2 * nm.DT * sum(a ** (2 * j) for j in range(m))
            p = stats.kstest(logp[m - 1] / math.sqrt(var), "norm").pvalue
            self.assertGreater(p, P_FAIL, f"month {m}")

    def test_jump_counts_and_sizes(self):
        # σ = 0, κ = 0, fixed size c: d_m − d_{m−1} = c·N_m, N_m ~ Poisson(λ dt);
        # d_H = c·Poisson(λ H dt).
        lam, c, H = 3.0, 0.25, 24
        doc = base_doc(compute={"horizon_months": H, "price": {"initial": 1.0, "jumps": {"rate": lam, "size": c}}})
        scn = nm.Scenario(doc)
        inp, eps, jumps = nm.draw_chunk(scn, rng_for(13), N_STAT)
        d = nm.log_price_path(scn, inp, eps, jumps, N_STAT)
        steps = np.diff(np.vstack([np.zeros(N_STAT), d]), axis=0) / c
        for label, counts, mean in (("month 1", steps[0], lam * nm.DT), ("month H", steps[H - 1], lam * nm.DT),
                                    ("horizon", d[H - 1] / c, lam * H * nm.DT)):
            k = np.rint(counts).astype(int)
            np.testing.assert_allclose(counts, k, atol=1e-9)
            top = max(int(stats.poisson(mean).ppf(1 - 1e-4)), 1)
            observed = np.bincount(np.minimum(k, top), minlength=top + 1)
            expected = stats.poisson(mean).pmf(np.arange(top + 1)) * N_STAT
            expected[top] = stats.poisson(mean).sf(top - 1) * N_STAT
            p = stats.chisquare(observed, expected).pvalue
            self.assertGreater(p, P_FAIL, label)

    def test_jump_mixture_moments(self):
        # Compound Poisson: E d_H = λ H dt E[Y], Var d_H = λ H dt E[Y²].
        lam, H = 2.0, 12
        size = {"dist": "mixture", "components": [{"weight": 0.5, "dist": "normal", "mean": -0.35, "sd": 0.1},
                                                  {"weight": 0.5, "dist": "normal", "mean": 0.30, "sd": 0.1}]}
        doc = base_doc(compute={"horizon_months": H, "price": {"initial": 1.0, "jumps": {"rate": lam, "size": size}}})
        _, r = run(doc)
        x = np.log(r["final_price"])
        ey, ey2 = 0.5 * (-0.35 + 0.30), 0.5 * (0.35 ** 2 + 0.30 ** 2) + 0.01
        self.assertLess(abs(z_of_mean(x, lam * H * nm.DT * ey)), Z_FAIL)
        self.assertLess(abs(z_of_mean((x - x.mean()) ** 2, lam * H * nm.DT * ey2)), Z_FAIL)


class ComputeBought(unittest.TestCase):
    def test_constant_price(self):
        # p_m ≡ p0: gpu_hours = compute_spend / p0 and avg_price = p0.
        doc = base_doc(compute={"horizon_months": 12, "share": {"dist": "uniform", "min": 0.5, "max": 1},
                                "price": {"initial": {"dist": "uniform", "min": 1, "max": 3}}})
        _, r = run(doc, n=20_000)
        p0 = r["compute_spend"] / r["gpu_hours"]
        np.testing.assert_allclose(r["avg_price"], p0, rtol=REL_TOL)
        np.testing.assert_allclose(r["final_price"], p0, rtol=REL_TOL)
        self.assertLess(abs(z_of_mean(r["compute_spend"], 10 * 0.75)), Z_FAIL)

    def test_uncertain_months_floored_and_clamped(self):
        # month ~ U(−6, H+6), floored and clamped to [0, H]: spent iff month < H,
        # so E[compute_spend] = amount·(H+6)/(H+12) with compute share 1.
        H = 12
        doc = base_doc(investors=[{"name": "A", "join_probability": 1.0, "amount": 10.0,
                                   "tranches": [{"share": 1, "month": {"dist": "uniform", "min": -6, "max": H + 6}}]}],
                       compute={"horizon_months": H, "price": {"initial": 2.0}})
        _, r = run(doc)
        spent = r["compute_spend"] > 0
        self.assertTrue(np.all(r["compute_spend"][spent] == 10.0))
        self.assertLess(abs(z_of_proportion(int(spent.sum()), N_STAT, (H + 6) / (H + 12))), Z_FAIL)

    def test_list_schedule_with_zero_tail(self):
        # weights zero after month 4: money arriving at month ≥ 4 is never spent.
        H = 8
        w = [1, 2, 0, 3, 0, 0, 0, 0]
        inv = [{"name": f"I{s}", "join_probability": 1.0, "amount": 1.0, "tranches": [{"share": 1, "month": s}]}
               for s in range(H + 1)]
        doc = base_doc(investors=inv, compute={"horizon_months": H, "schedule": w, "price": {"initial": 2.0}})
        _, r = run(doc, n=10)
        np.testing.assert_allclose(r["compute_spend"], 4.0, rtol=REL_TOL)  # arrivals at months 0..3
        np.testing.assert_allclose(r["gpu_hours"], 2.0, rtol=REL_TOL)

    def test_front_loaded_deterministic(self):
        # σ = 0, no jumps: p_m = p0·exp(μ m dt); check gpu_hours against the formula.
        H, p0, mu, s = 10, 2.0, -0.5, 3
        doc = base_doc(investors=[{"name": "A", "join_probability": 1.0, "amount": 6.0,
                                   "tranches": [{"share": 1, "month": s}]}],
                       compute={"horizon_months": H, "schedule": "front_loaded", "share": 0.5,
                                "price": {"initial": p0, "drift": mu}})
        _, r = run(doc, n=3)
        w = {m: H - m + 1 for m in range(1, H + 1)}
        Ws = sum(w[m] for m in range(s + 1, H + 1))
        expected = 0.5 * 6.0 * sum(w[m] / Ws / (p0 * math.exp(mu * m * nm.DT)) for m in range(s + 1, H + 1))
        np.testing.assert_allclose(r["gpu_hours"], expected, rtol=REL_TOL)
        np.testing.assert_allclose(r["compute_spend"], 3.0, rtol=REL_TOL)


def loop_reference(scn, inp, eps, jumps, t):
    """Trial t computed by a plain loop, written from MODEL.md §3 as literally
    as possible (no shared helpers with the vectorised kernel)."""
    def v(name):
        x = inp[name]
        return float(x) if isinstance(x, float) else x[t].item()

    H, dt = scn.H, 1.0 / 12.0
    names = scn.investor_names
    join = [bool(v(f"join.{n}")) for n in names]
    raw = [v(f"amount.{n}") if j else 0.0 for n, j in zip(names, join)]
    raw_total = sum(raw)
    over = scn.cap is not None and raw_total > scn.cap
    a = [r * scn.cap / raw_total for r in raw] if over else raw
    total = scn.cap if over else raw_total
    kappa, sigma = v("price.mean_reversion"), v("price.volatility")
    lnp0, mu = math.log(v("price.initial")), v("price.drift")
    d, p = 0.0, []
    for m in range(1, H + 1):
        jump = jumps[m - 1, t] if jumps is not None else 0.0
        d = (1 - kappa * dt) * d + sigma * math.sqrt(dt) * eps[m - 1, t] + jump
        p.append(math.exp(lnp0 + mu * m * dt + d))
    w = list(scn.weights)
    cs = v("compute.share")
    paid_i = [0.0] * len(names)
    unpaid = spend = gpu = 0.0
    for i, (n, tranches) in enumerate(scn.investors):
        for k, share, _q in tranches:
            amt = a[i] * share
            if not v(f"tranche.{n}.{k}"):
                unpaid += amt
                continue
            paid_i[i] += amt
            s = min(max(math.floor(v(f"tranche.{n}.{k}.month")), 0), H)
            Ws = sum(w[m - 1] for m in range(s + 1, H + 1))
            if Ws > 0:
                spend += cs * amt
                gpu += cs * amt * sum(w[m - 1] / Ws / p[m - 1] for m in range(s + 1, H + 1))
    paid = sum(paid_i)
    rt = sum(paid_i[i] * v(f"round_trip.{n}") for i, n in enumerate(names))
    out = {
        "total": total, "raw_total": raw_total, "paid": paid, "unpaid": unpaid,
        "investors_joined": sum(join), "joined_mask": sum(2 ** i for i, j in enumerate(join) if j),
        "closed": (total >= scn.minimum_close) if scn.minimum_close is not None else total > 0,
        "target_met": total >= scn.target, "oversubscribed": over,
        "shortfall": max(0.0, scn.target - total),
        "hhi": sum((x / total) ** 2 for x in a) if total > 0 else math.nan,
        "top_share": max(x / total for x in a) if total > 0 else math.nan,
        "round_trip": rt, "net_new": paid - rt, "round_trip_share": rt / paid if paid else math.nan,
        "compute_spend": spend, "gpu_hours": gpu, "avg_price": spend / gpu if gpu else math.nan,
        "final_price": p[H - 1],
    }
    if scn.has_valuation:
        post = v("round.pre_money") + total
        out["post_money"], out["stake_total"] = post, total / post
    return out, a, paid_i


class KernelAgainstLoop(unittest.TestCase):
    """The vectorised kernel and the plain loop agree trial by trial on a
    scenario that uses every feature."""

    DOC = {
        "name": "everything",
        "round": {"target": 30, "cap": 35, "minimum_close": 10,
                  "pre_money": {"dist": "pert", "min": 100, "mode": 120, "max": 200}},
        "investors": [
            {"name": "A", "join_probability": 0.7, "amount": {"dist": "uniform", "min": 5, "max": 25},
             "round_trip": {"dist": "beta", "alpha": 2, "beta": 2},
             "tranches": [{"share": 0.25, "month": 0},
                          {"share": 0.75, "month": {"dist": "triangular", "min": -3, "mode": 10, "max": 30},
                           "probability": 0.6}]},
            {"name": "B", "join_probability": 0.5,
             "amount": {"dist": "discrete", "values": [3, 8, 20], "weights": [1, 1, 2]},
             "tranches": [{"share": 0.5, "month": {"dist": "uniform", "min": 0, "max": 24}, "probability": 0.8},
                          {"share": 0.5, "month": 24}]},
            {"name": "C", "join_probability": 0.9,
             "amount": {"dist": "normal", "mean": 10, "sd": 4, "min": 0}, "round_trip": 0.5},
        ],
        "correlations": [["join.A", "join.B", 0.5], ["amount.A", "amount.C", 0.7],
                         ["tranche.A.2", "price.drift", -0.3]],
        "compute": {
            "share": {"dist": "uniform", "min": 0.5, "max": 0.9}, "horizon_months": 24,
            "schedule": "front_loaded",
            "price": {"initial": {"dist": "uniform", "min": 1.5, "max": 2.5},
                      "drift": {"dist": "normal", "mean": -0.3, "sd": 0.1},
                      "volatility": {"dist": "uniform", "min": 0.1, "max": 0.5},
                      "mean_reversion": {"dist": "uniform", "min": 0, "max": 2},
                      "jumps": {"rate": {"dist": "uniform", "min": 0, "max": 4},
                                "size": {"dist": "mixture", "components": [
                                    {"weight": 1, "dist": "normal", "mean": -0.3, "sd": 0.1},
                                    {"weight": 1, "dist": "normal", "mean": 0.3, "sd": 0.1}]}}},
        },
    }

    def test_trial_by_trial(self):
        n = 400
        for schedule in ("front_loaded", "even", [0, 1, 2, 0] * 5 + [0, 0, 0, 0]):
            with self.subTest(schedule=schedule):
                doc = copy.deepcopy(self.DOC)
                doc["compute"]["schedule"] = schedule
                scn = nm.Scenario(doc)
                inp, eps, jumps = nm.draw_chunk(scn, rng_for(21), n)
                eps0 = eps.copy()  # the kernel overwrites eps
                out = nm.outcomes_from_draws(scn, inp, eps, jumps, n)
                self.assertTrue(out["oversubscribed"].any())
                for t in range(n):
                    ref, a, paid_i = loop_reference(scn, inp, eps0, jumps, t)
                    for k, x in ref.items():
                        got = float(out[k][t])
                        if math.isnan(x):
                            self.assertTrue(math.isnan(got), f"{k}[{t}]")
                        else:
                            self.assertTrue(math.isclose(got, float(x), rel_tol=REL_TOL, abs_tol=1e-12),
                                            f"{k}[{t}]: {got} vs {x}")
                    np.testing.assert_allclose(out["investor_amount"][t], a, rtol=REL_TOL)
                    np.testing.assert_allclose(out["investor_paid"][t], paid_i, rtol=REL_TOL)


class Driver(unittest.TestCase):
    def test_shapes_dtypes_and_cli(self):
        scn = nm.Scenario(copy.deepcopy(KernelAgainstLoop.DOC))
        n = 10_007  # not a multiple of the chunk
        r = nm.simulate(scn, n, seed=5, chunk=4096)
        for k in scn.scalar_outputs:
            self.assertEqual(r[k].shape, (n,), k)
        for k in nm.BOOLEAN_OUTPUTS:
            self.assertEqual(r[k].dtype, np.uint8)
        for k in nm.COUNT_OUTPUTS:
            self.assertEqual(r[k].dtype, np.uint64)
        self.assertEqual(r["investor_amount"].shape, (n, 3))
        self.assertEqual(r["investor_stake"].shape, (n, 3))
        # Streams are consumed chunk by chunk, so (seed, chunk) fixes the result.
        r2 = nm.simulate(scn, n, seed=5, chunk=4096)
        np.testing.assert_array_equal(r["gpu_hours"], r2["gpu_hours"])
        tmp = tmpdir()
        path = os.path.join(tmp, "s.yaml")
        with open(path, "w") as f:
            yaml.safe_dump(KernelAgainstLoop.DOC, f)
        npz = os.path.join(tmp, "r.npz")
        self.assertEqual(nm.main([path, "-n", "1e3", "--seed", "2", "--out", npz, "--quiet"]), 0)
        with np.load(npz) as z:
            self.assertEqual(z["total"].shape, (1000,))
            self.assertEqual(list(z["investor"]), ["A", "B", "C"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
