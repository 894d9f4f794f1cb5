# tests/bench/numpy_model.py
# An independent, vectorised numpy implementation of one trial of MODEL.md §3: the statistical reference for the engine and the baseline of the speed benchmark.
# Licence: see LICENSE at the top of the repository.
"""Vectorised numpy reference of the deal model (shared/MODEL.md §3).

Written from MODEL.md and CONFIG.md alone: it shares no code, no random streams
and no sampling algorithms with the C engine, so agreement between the two in
distribution is evidence that both follow the contract.  It is also the
baseline of tests/bench/bench.py, so it is meant to be a competent numpy
program: every step is vectorised over the trials of a chunk; the only Python
loops run over months, investors and tranches.

Run it with Debian's python (numpy, scipy, PyYAML):

    /usr/bin/python3 tests/bench/numpy_model.py configs/openai-2026.yaml \
        -n 200000 --seed 1 --time [--out result.npz]

Layout of the work for a chunk of n trials:
  1. draw every named input (copula-driven ones from Z = L·eps, the rest
     directly from their own law);
  2. draw the price shocks: eps (H×n) and the jumps (see _draw_jumps for the
     exact Poisson-process trick used);
  3. the deterministic part (outcomes_from_draws): joins, cap, tranches,
     outcomes, circular financing, valuation, price path, compute bought.
Step 3 is a pure function of the draws so that the self-check can compare it
with a plain per-trial loop.
"""

import argparse
import math
import sys
import time

import numpy as np
import yaml
from scipy import special, stats

DT = 1.0 / 12.0  # one month in years (MODEL.md units)
DEFAULT_CHUNK = 16384  # trials per chunk: each H×n work array stays under ~10 MB at H = 60 (measured fastest)
MAX_HORIZON = 600
MAX_INVESTORS = 64
SHARE_SUM_TOL = 1e-9  # CONFIG.md: tranche shares sum to 1 within 1e-9
# Rejection sampling of a truncated normal is used when at least this fraction
# of proposals is accepted; below it, inversion (scipy truncnorm.ppf) is cheaper.
REJECTION_MIN_ACCEPT = 0.25

SCALAR_OUTPUTS = (
    "total", "raw_total", "paid", "unpaid", "investors_joined", "joined_mask",
    "closed", "target_met", "oversubscribed", "shortfall", "hhi", "top_share",
    "round_trip", "net_new", "round_trip_share", "compute_spend", "gpu_hours",
    "avg_price", "final_price",
)
VALUATION_OUTPUTS = ("post_money", "stake_total")
BOOLEAN_OUTPUTS = frozenset({"closed", "target_met", "oversubscribed"})
COUNT_OUTPUTS = frozenset({"investors_joined", "joined_mask"})


class ScenarioError(ValueError):
    """A scenario this model cannot accept (the engine's loader is the judge of
    the full CONFIG.md rules; this model checks what its maths needs)."""


# ---------------------------------------------------------------------------
# Distributions (MODEL.md §2)
#
# Each law offers sample(rng, n) (any exact method: the fastest numpy one) and
# ppf(u) (the inverse CDF, used for copula-driven inputs).  from_latent(z)
# maps a standard-normal latent through F^-1(Phi(z)); laws for which that has a
# closed form in z override it to avoid the loss of tail precision in Phi.
# ---------------------------------------------------------------------------

class Dist:
    is_fixed = False

    def sample(self, rng, n):
        raise NotImplementedError

    def ppf(self, u):
        raise NotImplementedError

    def from_latent(self, z):
        return self.ppf(special.ndtr(z))


class Fixed(Dist):
    is_fixed = True

    def __init__(self, value):
        self.value = float(value)

    def sample(self, rng, n):
        return np.full(n, self.value)

    def ppf(self, u):
        return np.full(np.shape(u), self.value)


class Uniform(Dist):
    def __init__(self, lo, hi):
        if not lo < hi:
            raise ScenarioError(f"uniform needs min < max, got {lo}, {hi}")
        self.lo, self.hi = float(lo), float(hi)

    def sample(self, rng, n):
        return rng.uniform(self.lo, self.hi, n)

    def ppf(self, u):
        return self.lo + (self.hi - self.lo) * np.asarray(u)


class Triangular(Dist):
    def __init__(self, lo, mode, hi):
        if not (lo <= mode <= hi and lo < hi):
            raise ScenarioError(f"triangular needs min <= mode <= max, min < max, got {lo}, {mode}, {hi}")
        self.lo, self.mode, self.hi = float(lo), float(mode), float(hi)

    def sample(self, rng, n):
        return rng.triangular(self.lo, self.mode, self.hi, n)

    def ppf(self, u):
        u = np.asarray(u, dtype=float)
        lo, c, hi = self.lo, self.mode, self.hi
        fc = (c - lo) / (hi - lo)  # CDF at the mode
        left = lo + np.sqrt(u * (hi - lo) * (c - lo))
        right = hi - np.sqrt((1.0 - u) * (hi - lo) * (hi - c))
        return np.where(u < fc, left, right)


class ScaledBeta(Dist):
    """min + (max-min)·Beta(a, b): the `beta` law and, with its shape
    parameters, `pert`."""

    def __init__(self, a, b, lo=0.0, hi=1.0):
        if not (a > 0 and b > 0 and lo < hi):
            raise ScenarioError(f"beta needs alpha > 0, beta > 0, min < max, got {a}, {b}, {lo}, {hi}")
        self.a, self.b, self.lo, self.hi = float(a), float(b), float(lo), float(hi)

    def sample(self, rng, n):
        return self.lo + (self.hi - self.lo) * rng.beta(self.a, self.b, n)

    def ppf(self, u):
        # scipy's betaincinv is accurate to a few ulp, inside MODEL.md's 1e-10.
        return self.lo + (self.hi - self.lo) * special.betaincinv(self.a, self.b, u)


def make_pert(lo, mode, hi, lam=4.0):
    if not (lo <= mode <= hi and lo < hi and lam > 0):
        raise ScenarioError(f"pert needs min <= mode <= max, min < max, lambda > 0, got {lo}, {mode}, {hi}, {lam}")
    width = hi - lo
    return ScaledBeta(1.0 + lam * (mode - lo) / width, 1.0 + lam * (hi - mode) / width, lo, hi)


class Normal(Dist):
    """N(mean, sd²) conditioned on [lo, hi] (either bound may be infinite)."""

    def __init__(self, mean, sd, lo=-math.inf, hi=math.inf):
        if not sd > 0:
            raise ScenarioError(f"normal needs sd > 0, got {sd}")
        if not lo < hi:
            raise ScenarioError(f"normal truncation needs min < max, got {lo}, {hi}")
        self.mean, self.sd = float(mean), float(sd)
        self.lo, self.hi = float(lo), float(hi)
        self.alpha = (self.lo - self.mean) / self.sd
        self.beta = (self.hi - self.mean) / self.sd
        self.truncated = math.isfinite(self.lo) or math.isfinite(self.hi)
        # Mass of the untruncated law inside the bounds, computed on the side
        # of the smaller tail so that far-tail windows keep their precision.
        if self.alpha > 0:
            self.mass = special.ndtr(-self.alpha) - special.ndtr(-self.beta)
        else:
            self.mass = special.ndtr(self.beta) - special.ndtr(self.alpha)
        if self.truncated and not self.mass > 0:
            raise ScenarioError(f"normal truncated to [{lo}, {hi}] has no mass")

    def sample(self, rng, n):
        if not self.truncated:
            return self.mean + self.sd * rng.standard_normal(n)
        if self.mass < REJECTION_MIN_ACCEPT:
            return self.ppf(rng.random(n))
        # Vectorised rejection: draw, keep what falls inside, redraw the rest.
        out = np.empty(n)
        todo = np.arange(n)
        while todo.size:
            x = self.mean + self.sd * rng.standard_normal(todo.size)
            ok = (x >= self.lo) & (x <= self.hi)
            out[todo[ok]] = x[ok]
            todo = todo[~ok]
        return out

    def ppf(self, u):
        if not self.truncated:
            return self.mean + self.sd * special.ndtri(u)
        x = self.mean + self.sd * stats.truncnorm.ppf(u, self.alpha, self.beta)
        return np.clip(x, self.lo, self.hi)

    def from_latent(self, z):
        if not self.truncated:
            return self.mean + self.sd * np.asarray(z)  # F^-1(Phi(z)) exactly
        return self.ppf(special.ndtr(z))


class LogNormal(Dist):
    """exp(N(ln median, sigma²)) conditioned on [lo, hi]: the log is a
    truncated normal on [ln lo, ln hi]."""

    def __init__(self, median, sigma, lo=0.0, hi=math.inf):
        if not (median > 0 and sigma > 0):
            raise ScenarioError(f"lognormal needs median > 0, sigma > 0, got {median}, {sigma}")
        if lo < 0:
            raise ScenarioError(f"lognormal min must be >= 0, got {lo}")
        log_lo = math.log(lo) if lo > 0 else -math.inf
        log_hi = math.log(hi) if math.isfinite(hi) else math.inf
        self.log = Normal(math.log(median), sigma, log_lo, log_hi)
        self.lo, self.hi = float(lo), float(hi)

    def _back(self, y):
        # exp of a log inside [ln lo, ln hi] may round just outside [lo, hi].
        return np.clip(np.exp(y), self.lo, self.hi)

    def sample(self, rng, n):
        return self._back(self.log.sample(rng, n))

    def ppf(self, u):
        return self._back(self.log.ppf(u))

    def from_latent(self, z):
        return self._back(self.log.from_latent(z))


class Bernoulli(Dist):
    def __init__(self, p):
        if not 0.0 <= p <= 1.0:
            raise ScenarioError(f"bernoulli needs p in [0, 1], got {p}")
        self.p = float(p)

    def sample(self, rng, n):
        return (rng.random(n) < self.p).astype(float)

    def ppf(self, u):
        # Generalised inverse inf{x : F(x) >= u}: 0 on (0, 1-p], 1 above.
        return (np.asarray(u) > 1.0 - self.p).astype(float)


class Discrete(Dist):
    def __init__(self, values, weights):
        values = np.asarray(values, dtype=float)
        weights = np.asarray(weights, dtype=float)
        if values.ndim != 1 or values.shape != weights.shape or values.size == 0:
            raise ScenarioError("discrete needs values[] and weights[] of the same non-zero length")
        if np.any(weights < 0) or not weights.sum() > 0:
            raise ScenarioError("discrete weights must be >= 0 and not all zero")
        self.values, self.prob = values, weights / weights.sum()
        # For inversion the atoms are taken in increasing order of value, so
        # that ppf is the true (monotone) inverse CDF the copula needs.
        order = np.argsort(values, kind="stable")
        self.sorted_values = values[order]
        self.sorted_cdf = np.cumsum(self.prob[order])

    def sample(self, rng, n):
        return self.values[rng.choice(self.values.size, size=n, p=self.prob)]

    def ppf(self, u):
        idx = np.searchsorted(self.sorted_cdf, u, side="left")
        return self.sorted_values[np.minimum(idx, self.sorted_values.size - 1)]


class Mixture(Dist):
    def __init__(self, weights, components):
        w = np.asarray(weights, dtype=float)
        if w.size == 0 or np.any(w < 0) or not w.sum() > 0:
            raise ScenarioError("mixture weights must be >= 0 and not all zero")
        self.prob = w / w.sum()
        self.components = components
        self.cum = np.cumsum(self.prob)
        self.cum[-1] = 1.0
        self.starts = self.cum - self.prob

    def sample(self, rng, n):
        which = rng.choice(len(self.components), size=n, p=self.prob)
        out = np.empty(n)
        for j, comp in enumerate(self.components):
            sel = np.flatnonzero(which == j)
            if sel.size:
                out[sel] = comp.sample(rng, sel.size)
        return out

    def ppf(self, u):
        # MODEL.md §2: [0,1) is split into intervals ∝ weight in component
        # order; the uniform is rescaled inside the chosen interval.
        u = np.asarray(u, dtype=float)
        idx = np.minimum(np.searchsorted(self.cum, u, side="right"), len(self.components) - 1)
        out = np.empty(u.shape)
        for j, comp in enumerate(self.components):
            sel = idx == j
            if np.any(sel):
                v = (u[sel] - self.starts[j]) / self.prob[j]
                out[sel] = comp.ppf(np.clip(v, 0.0, np.nextafter(1.0, 0.0)))
        return out


_DIST_KEYS = {
    "fixed": {"value"},
    "uniform": {"min", "max"},
    "triangular": {"min", "mode", "max"},
    "pert": {"min", "mode", "max", "lambda"},
    "beta": {"alpha", "beta", "min", "max"},
    "normal": {"mean", "sd", "min", "max"},
    "lognormal": {"median", "sigma", "min", "max"},
    "bernoulli": {"p"},
    "discrete": {"values", "weights"},
    "mixture": {"components"},
}


def _num(x, where):
    """A YAML scalar as a float; PyYAML reads '1e6' (no dot) as a string."""
    if isinstance(x, bool):
        raise ScenarioError(f"{where}: expected a number, found {x!r}")
    if isinstance(x, (int, float)):
        return float(x)
    if isinstance(x, str):
        try:
            return float(x)
        except ValueError:
            pass
    raise ScenarioError(f"{where}: expected a number, found {x!r}")


def parse_dist(node, where, extra_keys=()):
    """An uncertain value: a number (fixed) or {dist: NAME, ...}."""
    if not isinstance(node, dict):
        return Fixed(_num(node, where))
    kind = node.get("dist")
    if kind not in _DIST_KEYS:
        raise ScenarioError(f"{where}: unknown dist {kind!r}")
    unknown = set(node) - _DIST_KEYS[kind] - {"dist"} - set(extra_keys)
    if unknown:
        raise ScenarioError(f"{where}: unknown keys {sorted(unknown)} for dist {kind}")

    def g(key, default=None):
        if key in node:
            return _num(node[key], f"{where}.{key}")
        if default is None:
            raise ScenarioError(f"{where}: {kind} needs {key}")
        return default

    if kind == "fixed":
        return Fixed(g("value"))
    if kind == "uniform":
        return Uniform(g("min"), g("max"))
    if kind == "triangular":
        return Triangular(g("min"), g("mode"), g("max"))
    if kind == "pert":
        return make_pert(g("min"), g("mode"), g("max"), g("lambda", 4.0))
    if kind == "beta":
        return ScaledBeta(g("alpha"), g("beta"), g("min", 0.0), g("max", 1.0))
    if kind == "normal":
        return Normal(g("mean"), g("sd"), g("min", -math.inf), g("max", math.inf))
    if kind == "lognormal":
        return LogNormal(g("median"), g("sigma"), g("min", 0.0), g("max", math.inf))
    if kind == "bernoulli":
        return Bernoulli(g("p"))
    if kind == "discrete":
        return Discrete([_num(v, f"{where}.values") for v in node["values"]],
                        [_num(v, f"{where}.weights") for v in node["weights"]])
    comps, weights = [], []
    for j, c in enumerate(node["components"]):
        cw = f"{where}.components[{j}]"
        if not isinstance(c, dict) or "weight" not in c:
            raise ScenarioError(f"{cw}: a mixture component is a distribution with a weight")
        weights.append(_num(c["weight"], f"{cw}.weight"))
        comps.append(parse_dist(c, cw, extra_keys=("weight",)))
    return Mixture(weights, comps)


# ---------------------------------------------------------------------------
# Scenario
# ---------------------------------------------------------------------------

class Input:
    """One named input (CONFIG.md "Input names").  kind is 'dist' (a value
    drawn from `dist`), 'join' or 'tranche' (a uniform compared with the
    threshold `p`)."""

    def __init__(self, name, kind, dist=None, p=None):
        self.name, self.kind, self.dist, self.p = name, kind, dist, p

    @property
    def is_fixed(self):
        return self.kind == "dist" and self.dist.is_fixed


class Scenario:
    def __init__(self, doc, label="<scenario>"):
        if not isinstance(doc, dict):
            raise ScenarioError(f"{label}: a scenario is a mapping")
        self.label = label
        self.name = str(doc.get("name", "scenario"))
        self.trials = int(_num(doc.get("trials", 1000000), "trials"))
        self.seed = int(_num(doc.get("seed", 0), "seed"))
        self.inputs = {}

        rnd = doc.get("round") or {}
        self.target = _num(rnd["target"], "round.target")
        self.cap = _num(rnd["cap"], "round.cap") if "cap" in rnd else None
        self.minimum_close = _num(rnd["minimum_close"], "round.minimum_close") if "minimum_close" in rnd else None
        self.has_valuation = "pre_money" in rnd
        if self.has_valuation:
            self._add(Input("round.pre_money", "dist", parse_dist(rnd["pre_money"], "round.pre_money")))

        comp = doc["compute"]
        self.H = int(_num(comp["horizon_months"], "compute.horizon_months"))
        if not 1 <= self.H <= MAX_HORIZON:
            raise ScenarioError(f"compute.horizon_months must be in 1..{MAX_HORIZON}, got {self.H}")

        invs = doc["investors"]
        if not 1 <= len(invs) <= MAX_INVESTORS:
            raise ScenarioError(f"investors: 1..{MAX_INVESTORS} entries, got {len(invs)}")
        self.investors = []
        for inv in invs:
            name = str(inv["name"])
            p = _num(inv["join_probability"], f"investors.{name}.join_probability")
            if not 0.0 <= p <= 1.0:
                raise ScenarioError(f"investors.{name}.join_probability must be in [0, 1]")
            self._add(Input(f"join.{name}", "join", p=p))
            self._add(Input(f"amount.{name}", "dist", parse_dist(inv["amount"], f"investors.{name}.amount")))
            self._add(Input(f"round_trip.{name}", "dist",
                            parse_dist(inv.get("round_trip", 0.0), f"investors.{name}.round_trip")))
            tranches = []
            for k, tr in enumerate(inv.get("tranches") or [{"share": 1.0, "month": 0.0}], start=1):
                share = _num(tr["share"], f"investors.{name}.tranches[{k}].share")
                q = _num(tr.get("probability", 1.0), f"investors.{name}.tranches[{k}].probability")
                if share < 0 or not 0.0 <= q <= 1.0:
                    raise ScenarioError(f"investors.{name}.tranches[{k}]: share >= 0, probability in [0, 1]")
                self._add(Input(f"tranche.{name}.{k}", "tranche", p=q))
                self._add(Input(f"tranche.{name}.{k}.month", "dist",
                                parse_dist(tr.get("month", 0.0), f"investors.{name}.tranches[{k}].month")))
                tranches.append((k, share, q))
            if abs(sum(t[1] for t in tranches) - 1.0) > SHARE_SUM_TOL:
                raise ScenarioError(f"investors.{name}: tranche shares must sum to 1")
            self.investors.append((name, tranches))
        self.n_investors = len(self.investors)

        self._add(Input("compute.share", "dist", parse_dist(comp.get("share", 1.0), "compute.share")))
        sched = comp.get("schedule", "even")
        m = np.arange(1, self.H + 1, dtype=float)
        if sched == "even":
            w = np.ones(self.H)
        elif sched == "front_loaded":
            w = self.H - m + 1.0
        elif isinstance(sched, list):
            w = np.array([_num(x, "compute.schedule") for x in sched])
            if w.size != self.H:
                raise ScenarioError(f"compute.schedule: {self.H} weights expected, got {w.size}")
        else:
            raise ScenarioError(f"compute.schedule: even, front_loaded or a list, got {sched!r}")
        if np.any(w < 0) or not np.any(w > 0):
            raise ScenarioError("compute.schedule weights must be >= 0, not all zero")
        self.weights = w
        # W_s = Σ_{m>s} w_m for s = 0..H (W_H = 0); money arriving at s is
        # spent within the horizon only when W_s > 0.
        self.W = np.concatenate([np.cumsum(w[::-1])[::-1], [0.0]])
        self.inv_W = np.zeros(self.H + 1)
        np.divide(1.0, self.W, out=self.inv_W, where=self.W > 0)

        price = comp["price"]
        self._add(Input("price.initial", "dist", parse_dist(price["initial"], "compute.price.initial")))
        self._add(Input("price.drift", "dist", parse_dist(price.get("drift", 0.0), "compute.price.drift")))
        self._add(Input("price.volatility", "dist",
                        parse_dist(price.get("volatility", 0.0), "compute.price.volatility")))
        self._add(Input("price.mean_reversion", "dist",
                        parse_dist(price.get("mean_reversion", 0.0), "compute.price.mean_reversion")))
        jumps = price.get("jumps")
        self.has_jumps = jumps is not None
        if self.has_jumps:
            self._add(Input("price.jumps.rate", "dist", parse_dist(jumps["rate"], "compute.price.jumps.rate")))
            self.jump_size = parse_dist(jumps["size"], "compute.price.jumps.size")

        self._setup_copula(doc.get("correlations") or [])

    def _add(self, inp):
        self.inputs[inp.name] = inp

    def _setup_copula(self, corrs):
        names, pairs = [], {}
        for j, c in enumerate(corrs):
            if not (isinstance(c, list) and len(c) == 3):
                raise ScenarioError(f"correlations[{j}]: expected [input, input, rho]")
            a, b, rho = str(c[0]), str(c[1]), _num(c[2], f"correlations[{j}]")
            for x in (a, b):
                if x not in self.inputs:
                    raise ScenarioError(f"correlations[{j}]: unknown input {x!r}")
                if self.inputs[x].is_fixed:
                    raise ScenarioError(f"correlations[{j}]: {x} is fixed and cannot be correlated")
                if x not in names:
                    names.append(x)
            key = frozenset((a, b))
            if a == b or key in pairs or not -1.0 < rho < 1.0:
                raise ScenarioError(f"correlations[{j}]: a pair of distinct inputs, once, rho in (-1, 1)")
            pairs[key] = rho
        self.corr_names = names
        k = len(names)
        R = np.eye(k)
        for key, rho in pairs.items():
            a, b = sorted(key, key=names.index)
            R[names.index(a), names.index(b)] = R[names.index(b), names.index(a)] = rho
        self.R = R
        if k:
            lam_min = float(np.linalg.eigvalsh(R)[0])
            if not lam_min > 0:
                raise ScenarioError(f"correlations: matrix not positive definite (smallest eigenvalue {lam_min:.6g})")
            self.chol = np.linalg.cholesky(R)
        else:
            self.chol = np.zeros((0, 0))

    @property
    def scalar_outputs(self):
        return SCALAR_OUTPUTS + (VALUATION_OUTPUTS if self.has_valuation else ())

    @property
    def investor_names(self):
        return [name for name, _ in self.investors]


def load_scenario(path):
    with open(path, encoding="utf-8") as f:
        return Scenario(yaml.safe_load(f), label=str(path))


# ---------------------------------------------------------------------------
# Drawing a chunk of trials
# ---------------------------------------------------------------------------

def draw_inputs(scn, rng, n):
    """Every named input for n trials: a dict name -> array (n,) or, for a
    fixed value, a Python float (broadcasts).  Joins and tranche conditions
    come back as boolean arrays (U < threshold)."""
    latent = {}
    if scn.corr_names:
        # Z = L·eps per trial; as rows: Z = eps @ L^T.
        z = rng.standard_normal((n, len(scn.corr_names))) @ scn.chol.T
        latent = {name: z[:, j] for j, name in enumerate(scn.corr_names)}
    out = {}
    for name, inp in scn.inputs.items():
        z = latent.get(name)
        if inp.kind == "dist":
            if inp.dist.is_fixed:
                out[name] = inp.dist.value
            elif z is not None:
                out[name] = inp.dist.from_latent(z)
            else:
                out[name] = inp.dist.sample(rng, n)
        else:
            if z is not None:
                out[name] = special.ndtr(z) < inp.p
            elif inp.p >= 1.0:
                out[name] = np.ones(n, dtype=bool)  # U < 1 always
            elif inp.p <= 0.0:
                out[name] = np.zeros(n, dtype=bool)
            else:
                out[name] = rng.random(n) < inp.p
    return out


def draw_jumps(scn, rng, n, rate):
    """Sum of the jump sizes in each month, (H, n), or None without jumps.

    N_m ~ Poisson(λ·dt) independently over the H months of a trial is the same
    law as K ~ Poisson(λ·H·dt) jumps in total, each in a month drawn uniformly
    and independently from 1..H (Poisson splitting).  That needs n Poisson
    draws instead of n·H and costs a few integers per jump."""
    if not scn.has_jumps:
        return None
    H = scn.H
    lam = np.broadcast_to(np.asarray(rate, dtype=float), (n,))
    counts = rng.poisson(lam * (H * DT))
    total = int(counts.sum())
    if total == 0:
        return np.zeros((H, n))
    month = rng.integers(0, H, size=total)
    trial = np.repeat(np.arange(n), counts)
    sizes = scn.jump_size.sample(rng, total)
    return np.bincount(month * n + trial, weights=sizes, minlength=H * n).reshape(H, n)


def draw_chunk(scn, rng, n):
    inp = draw_inputs(scn, rng, n)
    eps = rng.standard_normal((scn.H, n))
    jumps = draw_jumps(scn, rng, n, inp["price.jumps.rate"]) if scn.has_jumps else None
    return inp, eps, jumps


# ---------------------------------------------------------------------------
# The deterministic part of a trial
# ---------------------------------------------------------------------------

def log_price_path(scn, inp, eps, jumps, n):
    """ln p_m, (H, n): d_m = (1-κdt)·d_{m-1} + σ√dt·ε_m + J_m,
    ln p_m = ln p0 + μ·m·dt + d_m.  eps is overwritten."""
    H = scn.H
    x = eps
    x *= np.asarray(inp["price.volatility"]) * math.sqrt(DT)
    if jumps is not None:
        x += jumps
    decay = 1.0 - np.asarray(inp["price.mean_reversion"]) * DT
    # The recursion runs month by month over contiguous rows of n trials
    # (np.cumsum along axis 0 strides across rows and is several times slower).
    if decay.ndim == 0 and float(decay) == 1.0:
        for m in range(1, H):
            x[m] += x[m - 1]  # κ = 0: a plain random walk
    else:
        for m in range(1, H):
            x[m] += decay * x[m - 1]
    months = (np.arange(1, H + 1) * DT)[:, None]
    x += np.log(np.asarray(inp["price.initial"], dtype=float)) + np.asarray(inp["price.drift"]) * months
    return x


def _nan_where_zero(num, den):
    out = np.full(np.broadcast(num, den).shape, np.nan)
    np.divide(num, den, out=out, where=den != 0)
    return out


def outcomes_from_draws(scn, inp, eps, jumps, n, per_investor=True):
    """All outputs of MODEL.md §4 for n trials from their draws."""
    I, H = scn.n_investors, scn.H
    names = scn.investor_names

    # §3.1 joins, amounts, cap
    join = np.empty((n, I), dtype=bool)
    raw = np.empty((n, I))
    for i, name in enumerate(names):
        join[:, i] = inp[f"join.{name}"]
        raw[:, i] = np.where(join[:, i], inp[f"amount.{name}"], 0.0)
    raw_total = raw.sum(axis=1)
    if scn.cap is not None:
        over = raw_total > scn.cap
        scale = np.where(over, scn.cap / np.where(over, raw_total, 1.0), 1.0)
        a = raw * scale[:, None]
        total = np.where(over, scn.cap, raw_total)  # exactly the cap
    else:
        over = np.zeros(n, dtype=bool)
        a, total = raw, raw_total

    # §3.6 price path and the per-arrival-month factors of §3.7:
    # G_s = Σ_{m>s} (w_m / W_s) / p_m for s = 0..H (0 where W_s = 0), by a
    # reverse cumulative sum of w_m / p_m over months.
    logp = log_price_path(scn, inp, eps, jumps, n)
    if getattr(scn, "fan", None) is not None:
        scn.fan.add(logp)
    final_price = np.exp(logp[H - 1])
    np.negative(logp, out=logp)
    np.exp(logp, out=logp)  # now 1 / p_m
    logp *= scn.weights[:, None]
    G = np.empty((H + 1, n))
    G[H] = 0.0
    for s in range(H - 1, -1, -1):  # G[s] = Σ_{m = s+1..H} w_m / p_m (row s ↔ month s+1)
        np.add(G[s + 1], logp[s], out=G[s])
    spendable = scn.W > 0
    G *= scn.inv_W[:, None]
    cols = np.arange(n)

    # §3.2 tranches, with the money spent and the GPU-hours bought per tranche
    paid_i = np.zeros((n, I))
    unpaid = np.zeros(n)
    spent = np.zeros(n)
    gpu = np.zeros(n)
    for i, (name, tranches) in enumerate(scn.investors):
        for k, share, _q in tranches:
            amt = a[:, i] * share
            pays = inp[f"tranche.{name}.{k}"]
            pay = np.where(pays, amt, 0.0)
            paid_i[:, i] += pay
            unpaid += amt - pay
            month = inp[f"tranche.{name}.{k}.month"]
            if isinstance(month, float):
                s = min(max(math.floor(month), 0), H)
                if spendable[s]:
                    spent += pay
                    gpu += pay * G[s]
            else:
                s = np.clip(np.floor(month), 0, H).astype(np.intp)
                spent += pay * spendable[s]
                gpu += pay * G[s, cols]
    paid = paid_i.sum(axis=1)
    cs = inp["compute.share"]

    out = {}
    out["total"] = total
    out["raw_total"] = raw_total
    out["paid"] = paid
    out["unpaid"] = unpaid
    out["investors_joined"] = join.sum(axis=1).astype(np.uint64)
    bits = np.left_shift(np.uint64(1), np.arange(I, dtype=np.uint64))
    out["joined_mask"] = (join.astype(np.uint64) * bits).sum(axis=1, dtype=np.uint64)
    if scn.minimum_close is None:
        out["closed"] = (total > 0).astype(np.uint8)
    else:
        out["closed"] = (total >= scn.minimum_close).astype(np.uint8)
    out["target_met"] = (total >= scn.target).astype(np.uint8)
    out["oversubscribed"] = over.astype(np.uint8)
    out["shortfall"] = np.maximum(0.0, scn.target - total)

    # §3.3 concentration, NaN when total = 0
    share = np.zeros((n, I))
    pos = total > 0
    np.divide(a, total[:, None], out=share, where=pos[:, None])
    out["hhi"] = np.where(pos, (share * share).sum(axis=1), np.nan)
    out["top_share"] = np.where(pos, share.max(axis=1), np.nan)

    # §3.4 circular financing
    rt = np.zeros(n)
    for i, name in enumerate(names):
        rt += paid_i[:, i] * inp[f"round_trip.{name}"]
    out["round_trip"] = rt
    out["net_new"] = paid - rt
    out["round_trip_share"] = _nan_where_zero(rt, paid)

    # §3.7 compute bought
    out["compute_spend"] = cs * spent
    out["gpu_hours"] = cs * gpu
    out["avg_price"] = _nan_where_zero(out["compute_spend"], out["gpu_hours"])
    out["final_price"] = final_price

    # §3.5 valuation
    if scn.has_valuation:
        post = inp["round.pre_money"] + total
        out["post_money"] = post
        out["stake_total"] = total / post

    if per_investor:
        out["investor_amount"] = a
        out["investor_paid"] = paid_i
        out["investor_joined"] = join.astype(np.uint8)
        if scn.has_valuation:
            out["investor_stake"] = a / out["post_money"][:, None]
    return out


# ---------------------------------------------------------------------------
# Driver
# ---------------------------------------------------------------------------

def iter_chunks(scn, n_trials, rng, chunk=DEFAULT_CHUNK, per_investor=True):
    """Yields (start, outputs of trials start..start+len-1), chunk by chunk."""
    start = 0
    while start < n_trials:
        n = min(chunk, n_trials - start)
        inp, eps, jumps = draw_chunk(scn, rng, n)
        yield start, outcomes_from_draws(scn, inp, eps, jumps, n, per_investor)
        start += n


def simulate(scn, n_trials, seed=0, chunk=DEFAULT_CHUNK, per_investor=True):
    """Per-trial arrays of every output for n_trials trials.  Only the output
    arrays grow with n_trials; the work arrays are bounded by `chunk`."""
    rng = np.random.Generator(np.random.PCG64DXSM(seed))
    result = None
    for start, out in iter_chunks(scn, n_trials, rng, chunk, per_investor):
        if result is None:
            result = {k: np.empty((n_trials,) + v.shape[1:], dtype=v.dtype) for k, v in out.items()}
        n = len(out["total"])
        for k, v in out.items():
            result[k][start:start + n] = v
    return result


class FanSketch:
    """The price fan as dealsim computes it, the way a careful numpy user
    would without keeping H x trials values: per month, integer counts of
    log-buckets of relative width 1e-3 (np.bincount) and the sum of p_m."""

    ALPHA = 1e-3

    def __init__(self, H):
        self.H = H
        self.inv_log_gamma = 1.0 / math.log((1 + self.ALPHA) / (1 - self.ALPHA))
        self.counts = None
        self.lo = 0
        self.price_sum = np.zeros(H)

    def add(self, logp):  # logp: (H, n)
        keys = np.ceil(logp * self.inv_log_gamma).astype(np.int64)
        lo, hi = int(keys.min()), int(keys.max())
        if self.counts is None:
            self.lo, self.counts = lo, np.zeros((self.H, hi - lo + 1), dtype=np.int64)
        if lo < self.lo or hi >= self.lo + self.counts.shape[1]:
            nlo = min(lo, self.lo)
            nhi = max(hi, self.lo + self.counts.shape[1] - 1)
            grown = np.zeros((self.H, nhi - nlo + 1), dtype=np.int64)
            grown[:, self.lo - nlo:self.lo - nlo + self.counts.shape[1]] = self.counts
            self.lo, self.counts = nlo, grown
        width = self.counts.shape[1]
        flat = (keys - self.lo) + (np.arange(self.H) * width)[:, None]
        self.counts += np.bincount(flat.ravel(), minlength=self.H * width).reshape(self.H, width)
        self.price_sum += np.exp(logp).sum(axis=1)

    def quantiles(self, qs):
        cum = np.cumsum(self.counts, axis=1)
        n = cum[:, -1:]
        ranks = np.floor(np.asarray(qs)[None, :] * (n - 1))
        idx = np.array([np.searchsorted(cum[m], ranks[m], side="right") for m in range(self.H)])
        gamma = (1 + self.ALPHA) / (1 - self.ALPHA)
        return 2 * gamma ** (idx + self.lo) / (gamma + 1)


def summarise(scn, res, qs, bins=100):
    """What dealsim's file holds for the scalar outputs: count, NaN count,
    mean, sd, stderr, min, max, quantiles and a histogram of each."""
    out = {}
    for k in scn.scalar_outputs:
        v = res[k].astype(float)
        fin = v[np.isfinite(v)]
        if fin.size == 0:
            continue
        sd = fin.std(ddof=1) if fin.size > 1 else math.nan
        out[k] = dict(count=fin.size, nan=v.size - fin.size, mean=fin.mean(), sd=sd,
                      stderr=sd / math.sqrt(fin.size), min=fin.min(), max=fin.max(),
                      quantiles=np.quantile(fin, qs, method="lower"),
                      hist=np.histogram(fin, bins=bins))
    return out


def _count(text):
    v = float(text)
    if v < 1 or v != int(v):
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text}")
    return int(v)


def main(argv=None):
    ap = argparse.ArgumentParser(description="numpy reference of the dealsim model (MODEL.md §3)")
    ap.add_argument("scenario")
    ap.add_argument("-n", "--trials", type=_count, default=None, help="trials (default: the scenario's)")
    ap.add_argument("--seed", type=int, default=None, help="numpy seed (default: the scenario's)")
    ap.add_argument("--chunk", type=_count, default=DEFAULT_CHUNK, help="trials per chunk")
    ap.add_argument("--out", help="save the per-trial arrays to this .npz file")
    ap.add_argument("--time", action="store_true", help="print trials/s of the simulation")
    ap.add_argument("--quiet", action="store_true", help="no summary table")
    ap.add_argument("--summaries", action="store_true",
                    help="also compute dealsim's summaries (moments, quantiles and histograms of "
                         "every output, the price fan), inside the timing")
    args = ap.parse_args(argv)

    scn = load_scenario(args.scenario)
    n = args.trials if args.trials is not None else scn.trials
    seed = args.seed if args.seed is not None else scn.seed
    t0 = time.perf_counter()
    qs = [0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99]
    if args.summaries:
        scn.fan = FanSketch(scn.H)
    res = simulate(scn, n, seed, args.chunk, per_investor=args.out is not None)
    if args.summaries:
        summarise(scn, res, qs)
        scn.fan.quantiles(qs)
    elapsed = time.perf_counter() - t0
    if args.time:
        print(f"numpy_model: {n} trials in {elapsed:.3f} s = {n / elapsed:.1f} trials/s "
              f"(chunk {args.chunk}, 1 process{', with summaries' if args.summaries else ''})")
    if not args.quiet:
        for k in scn.scalar_outputs:
            v = res[k].astype(float)
            fin = v[np.isfinite(v)]
            mean = fin.mean() if fin.size else math.nan
            print(f"  {k:18s} mean {mean:14.6g}   nan {v.size - fin.size}")
    if args.out:
        np.savez(args.out, investor=np.array(scn.investor_names), **res)
    return 0


if __name__ == "__main__":
    sys.exit(main())
