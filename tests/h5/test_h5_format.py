# tests/h5/test_h5_format.py
# The result file read back the way analysts read it (h5py, xarray/h5netcdf, h5dump), checked against FORMAT.md.
# Licence: see LICENSE at the top of the repository.
#
# Files are written by the helper h5_write_smoke (the h5out API driven like
# the driver drives it) from configs/smoke.yaml with --set overrides:
#   full         per_trial true, price paths, a valuation; 4 blocks + 1000 trials
#   interrupted  per_trial true, price paths; 5 blocks requested, stopped after 2
#   listed       per_trial [total, closed, investors_joined, joined_mask], deflate:4
#   plain        the defaults (no per-trial data)
# Every group must open with xarray.open_dataset(engine="h5netcdf", group=G);
# every dataset has units and long_name and a dimension scale on every axis;
# /summary must agree with the per-trial data of the same file.
import hashlib
import math
import os
import subprocess

import h5py
import numpy as np
import xarray as xr

from dstest import SRC, Checker, tmpdir

B = 4096               # DS_BLOCK_SIZE
ALPHA = 1e-3           # DS_SKETCH_ALPHA: relative accuracy of every sketch quantile
MIN_ABS = 1e-12        # DS_SKETCH_MIN_ABS: |x| below this is a zero in a sketch
ROUND = 1e-9           # relative slack on ALPHA for rounding in exp() of a bucket estimate
REL_MEAN = 1e-12       # /summary mean vs numpy's mean of /trials (different summation order),
                       # relative to the mean absolute value
REL_SD = 1e-9          # sd: Chan's m2 updates vs numpy's two-pass variance

WRITER = os.environ["DS_H5_WRITER"]
SCENARIO = os.environ.get("DS_H5_SCENARIO", os.path.join(SRC, "configs", "smoke.yaml"))

checker = Checker()
check = checker.ok


S, F8, U8, U1, I4 = "str", np.float64, np.uint64, np.uint8, np.int32

# Fixed groups: variable -> (dims, dtype).  /trials is checked separately.
LAYOUT = {
    "/": {"config": ((), S), "effective_config": ((), S)},
    "summary": {
        "output": (("output",), S), "quantile": (("quantile",), F8),
        "type": (("output",), S), "output_units": (("output",), S),
        "output_long_name": (("output",), S), "rule": (("output",), S),
        "count": (("output",), U8), "nan_count": (("output",), U8),
        "posinf_count": (("output",), U8), "neginf_count": (("output",), U8),
        "quantiles_collapsed": (("output",), U8),
        "mean": (("output",), F8), "sd": (("output",), F8), "stderr": (("output",), F8),
        "min": (("output",), F8), "max": (("output",), F8),
        "quantiles": (("output", "quantile"), F8),
        "stderr_blocks": (("output",), F8), "stderr_block_count": (("output",), U8),
        "variance_reduction": (("output",), F8), "stderr_reliable": (("output",), U1),
    },
    "histograms": {
        "output": (("output",), S), "bin": (("bin",), U8), "edge": (("edge",), U8),
        "output_units": (("output",), S), "output_long_name": (("output",), S),
        "counts": (("output", "bin"), U8), "edges": (("output", "edge"), F8),
        "centre": (("output", "bin"), F8), "exceedance": (("output", "edge"), F8),
    },
    "investors": {
        "investor": (("investor",), S), "quantile": (("quantile",), F8),
        "join_probability": (("investor",), F8), "join_stderr": (("investor",), F8),
        "amount_mean": (("investor",), F8), "paid_mean": (("investor",), F8),
        "stake_mean": (("investor",), F8),
        "amount_quantiles": (("investor", "quantile"), F8),
        "paid_quantiles": (("investor", "quantile"), F8),
        **{f"{w}_if_joined_{k}": (("investor",), F8)
           for w in ("amount", "paid", "stake") for k in ("mean", "sd", "stderr")},
        "amount_if_joined_quantiles": (("investor", "quantile"), F8),
        "paid_if_joined_quantiles": (("investor", "quantile"), F8),
    },
    "coalitions": {
        "coalition": (("coalition",), S), "mask": (("coalition",), U8),
        "members": (("coalition",), S), "count": (("coalition",), U8),
        "probability": (("coalition",), F8), "mean_total": (("coalition",), F8),
        "pooled": (("coalition",), U1),
        "p_closed": (("coalition",), F8), "p_closed_stderr": (("coalition",), F8),
        "p_target_met": (("coalition",), F8), "p_target_met_stderr": (("coalition",), F8),
        "total_sd": (("coalition",), F8), "mean_total_stderr": (("coalition",), F8),
        "quantile": (("quantile",), F8), "total_quantiles": (("coalition", "quantile"), F8),
    },
    "conditional": {
        "condition": (("condition",), S), "output": (("output",), S),
        "quantile": (("quantile",), F8),
        "count": (("condition",), U8), "probability": (("condition",), F8),
        "probability_stderr": (("condition",), F8),
        "mean": (("condition", "output"), F8), "sd": (("condition", "output"), F8),
        "stderr": (("condition", "output"), F8), "nan_count": (("condition", "output"), U8),
        "quantiles": (("condition", "output", "quantile"), F8),
    },
    "price_fan": {
        "month": (("month",), I4), "quantile": (("quantile",), F8),
        "price_quantiles": (("month", "quantile"), F8), "price_mean": (("month",), F8),
        "initial_quantiles": (("quantile",), F8), "initial_mean": ((), F8),
    },
    "sensitivity": {
        "input": (("input",), S), "output": (("output",), S), "bin": (("bin",), F8),
        "bin_edge": (("bin_edge",), U8), "bin_edges": (("bin_edge",), F8),
        "first_order": (("input", "output"), F8),
        "first_order_stderr": (("input", "output"), F8),
        "rank_correlation": (("input", "output"), F8),
        "bin_mean": (("input", "output", "bin"), F8),
        "bin_count": (("input", "output", "bin"), U8),
        "bool_output": (("bool_output",), S),
        "bool_probability": (("input", "bool_output", "bin"), F8),
        "bool_probability_stderr": (("input", "bool_output", "bin"), F8),
        "input_kind": (("input",), S), "input_units": (("input",), S),
        "bin_value": (("input", "bin"), F8),
    },
    "convergence": {
        "checkpoint": (("checkpoint",), U8), "output": (("output",), S),
        "output_units": (("output",), S), "output_long_name": (("output",), S),
        "mean": (("checkpoint", "output"), F8), "stderr": (("checkpoint", "output"), F8),
    },
    "state": {
        "node": (("node",), U8), "accumulator": (("accumulator",), S),
        "node_coalition": (("node_coalition",), U8), "checkpoint": (("checkpoint",), U8),
        "output": (("output",), S), "sketch": (("sketch",), S),
        "bucket": (("bucket",), U8), "investor": (("investor",), S),
        "n_outputs": ((), U8), "n_investors": ((), U8), "horizon": ((), U8),
        "trials": ((), U8), "blocks": ((), U8), "block_size": ((), U8), "tail": ((), U8),
        "coalition_pooled": ((), U8), "tracked": (("tracked",), U8),
        "coalition_tracked": (("tracked",), U8),
        "node_other_trials": (("node",), U8), "node_other_sum_total": (("node",), F8),
        "sketch_pos_floor": (("sketch",), I4), "sketch_neg_floor": (("sketch",), I4),
        "sketch_pos_collapsed": (("sketch",), U8), "sketch_neg_collapsed": (("sketch",), U8),
        "node_level": (("node",), U8), "node_index": (("node",), U8),
        "node_trials": (("node",), U8), "node_coalition_offset": (("node",), U8),
        "node_coalition_count": (("node",), U8),
        "node_n": (("node", "accumulator"), U8), "node_nan": (("node", "accumulator"), U8),
        "node_posinf": (("node", "accumulator"), U8), "node_neginf": (("node", "accumulator"), U8),
        "node_mean": (("node", "accumulator"), F8), "node_m2": (("node", "accumulator"), F8),
        "node_min": (("node", "accumulator"), F8), "node_max": (("node", "accumulator"), F8),
        "node_coalition_mask": (("node_coalition",), U8),
        "node_coalition_trials": (("node_coalition",), U8),
        "node_coalition_sum_total": (("node_coalition",), F8),
        "checkpoint_blocks": (("checkpoint",), U8), "checkpoint_trials": (("checkpoint",), U8),
        "checkpoint_mean": (("checkpoint", "output"), F8),
        "checkpoint_stderr": (("checkpoint", "output"), F8),
        "bucket_counts": (("bucket",), U8),
        "sketch_count": (("sketch",), U8), "sketch_zero": (("sketch",), U8),
        "sketch_pos_lo": (("sketch",), I4), "sketch_pos_len": (("sketch",), U8),
        "sketch_pos_offset": (("sketch",), U8), "sketch_neg_lo": (("sketch",), I4),
        "sketch_neg_len": (("sketch",), U8), "sketch_neg_offset": (("sketch",), U8),
        "join_count": (("investor",), U8),
        "sensitivity_inputs": ((), U8), "sensitivity_record": (("sensitivity_record",), U8),
        "node_sensitivity": (("node", "sensitivity_record"), F8),
        "sampling": ((), U8),
        "node_block_count": (("node", "output"), U8),
        "node_block_mean": (("node", "output"), F8),
        "node_block_m2": (("node", "output"), F8),
        "conditional_conditions": ((), U8), "cond_accumulator": (("cond_accumulator",), U8),
        "coalition_sketch": (("coalition_sketch",), U8),
        "coalition_sketch_mask": (("coalition_sketch",), U8),
        **{f"node_cond_{k}": (("node", "cond_accumulator"), U8)
           for k in ("n", "nan", "posinf", "neginf")},
        **{f"node_cond_{k}": (("node", "cond_accumulator"), F8)
           for k in ("mean", "m2", "min", "max")},
        "node_coalition_closed": (("node_coalition",), U8),
        "node_coalition_target_met": (("node_coalition",), U8),
        "node_coalition_m2_total": (("node_coalition",), F8),
        "node_other_closed": (("node",), U8), "node_other_target_met": (("node",), U8),
        "node_other_m2_total": (("node",), F8),
    },
}

ROOT_ATTRS = {
    "Conventions": S, "title": S, "software_version": S, "git_commit": S,
    "file_format_version": I4, "created_utc": S, "finished_utc": S, "run_status": S,
    "scenario": S, "seed": U8, "trials": U8, "trials_requested": U8, "block_size": U8,
    "rng": S, "threads": I4, "mpi_ranks": I4, "hostname": S, "wall_seconds": F8,
    "compiler": S, "build_type": S, "hdf5_version": S, "sampling": S,
}


def write(path, trials, stop_blocks, *sets):
    cmd = [WRITER, "write", SCENARIO, path, str(trials), str(stop_blocks), "output.sensitivity=true"] + list(sets)
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        print(r.stdout, r.stderr)
        raise SystemExit("writer failed: %s" % " ".join(cmd))
    check(not os.path.exists(path + ".partial"), "%s: .partial left behind" % path)


def is_str_dtype(dt):
    info = h5py.check_string_dtype(dt)
    return info is not None and info.encoding == "utf-8" and info.length is None


def trial_layout(g):
    """Expected dims and dtypes of what is in /trials."""
    out = {}
    for name, d in g.items():
        if name == "trial":
            out[name] = (("trial",), U8)
        elif name == "investor":
            out[name] = (("investor",), S)
        elif name == "month":
            out[name] = (("month",), I4)
        elif name == "price_path":
            out[name] = (("trial", "month"), F8)
        elif name.startswith("investor_"):
            out[name] = (("trial", "investor"), U1 if name == "investor_joined" else F8)
        else:
            out[name] = (("trial",), d.dtype.type)
    return out


def check_structure(path):
    """Every group opens with xarray; dims, dtypes, units, long_name, scales."""
    with h5py.File(path, "r") as f:
        groups = ["/"] + sorted(k for k in f if isinstance(f[k], h5py.Group))
        expect_groups = set(LAYOUT) | ({"trials"} if "trials" in f else set())
        check(set(groups) == expect_groups, "%s: groups %s" % (path, groups))
        for gname in groups:
            g = f[gname]
            layout = trial_layout(g) if gname == "trials" else LAYOUT.get(gname, {})
            names = sorted(k for k in g if isinstance(g[k], h5py.Dataset))
            check(names == sorted(layout), "%s %s: datasets %s, expected %s"
                  % (path, gname, names, sorted(layout)))
            try:
                with xr.open_dataset(path, engine="h5netcdf", group=gname) as ds:
                    ds.load()
                    for name in names:
                        if name not in ds.variables:
                            check(False, "%s %s/%s: not seen by xarray" % (path, gname, name))
                            continue
                        dims, dtype = layout[name]
                        check(ds[name].dims == dims, "%s %s/%s: xarray dims %s, expected %s"
                              % (path, gname, name, ds[name].dims, dims))
                        for key in ("units", "long_name"):
                            check(isinstance(ds[name].attrs.get(key), str),
                                  "%s %s/%s: xarray lacks %s" % (path, gname, name, key))
            except Exception as e:  # noqa: BLE001 - report and go on
                check(False, "%s: xarray cannot open group %s: %r" % (path, gname, e))
            for name in names:
                d = g[name]
                dims, dtype = layout.get(name, ((), None))
                where = "%s %s/%s" % (path, gname, name)
                for key in ("units", "long_name"):
                    v = d.attrs.get(key)
                    check(isinstance(v, str) and v != "", "%s: %s missing or not a str" % (where, key))
                if dtype == S:
                    check(is_str_dtype(d.dtype), "%s: not a vlen UTF-8 string" % where)
                elif dtype is not None:
                    check(d.dtype == np.dtype(dtype), "%s: dtype %s, expected %s"
                          % (where, d.dtype, np.dtype(dtype)))
                check(d.ndim == len(dims), "%s: rank %d" % (where, d.ndim))
                if h5py.h5ds.is_scale(d.id):
                    check(d.ndim == 1 and name in dims, "%s: a scale not named like its dim" % where)
                    continue
                for i in range(d.ndim):
                    check(len(d.dims[i]) == 1, "%s: axis %d has %d scales" % (where, i, len(d.dims[i])))
                    if len(d.dims[i]) == 1:
                        sc = d.dims[i][0]
                        check(sc.parent.name == g.name and sc.name.split("/")[-1] == dims[i],
                              "%s: axis %d scale %s, expected %s/%s" % (where, i, sc.name, g.name, dims[i]))
    r = subprocess.run(["h5dump", "-H", path], capture_output=True, text=True)
    check(r.returncode == 0, "%s: h5dump -H exit %d: %s" % (path, r.returncode, r.stderr[-500:]))


def check_root(f, trials, requested, status):
    a = f.attrs
    for key, typ in ROOT_ATTRS.items():
        if key not in a:
            check(False, "root attribute %s missing" % key)
            continue
        v = a[key]
        if typ == S:
            check(isinstance(v, str), "root %s is %r, not a str" % (key, type(v)))
        elif key == "file_format_version":
            check(isinstance(v, np.ndarray) and v.dtype == np.int32 and list(v) == [3, 1],
                  "file_format_version %r" % (v,))
        else:
            check(isinstance(v, typ), "root %s is %r, expected %s" % (key, type(v), typ))
    check(a["Conventions"] == "CF-1.8", "Conventions")
    check(a["rng"] == "pcg64dxsm", "rng")
    check(a["block_size"] == B, "block_size")
    check(a["trials"] == trials, "trials %s, expected %d" % (a["trials"], trials))
    check(a["trials_requested"] == requested, "trials_requested")
    check(a["run_status"] == status, "run_status %s, expected %s" % (a["run_status"], status))
    check(a["scenario"] != "", "scenario name")
    # Every group carries the run's facts, so that one group read alone says what it holds.
    for name, g in f.items():
        if isinstance(g, h5py.Group):
            for key in ("trials", "run_status", "scenario"):
                check(key in g.attrs and g.attrs[key] == a[key],
                      "/%s attribute %s: %r, the root has %r" % (name, key, g.attrs.get(key), a[key]))
    # The thresholds behind closed, target_met, shortfall (MODEL.md 3.3).
    sm, tr = f["summary"], f.get("trials")
    target = sm.attrs["target"]
    rules = dict(zip(sm["output"].asstr()[:], sm["rule"].asstr()[:]))
    check(rules["target_met"] == "total >= %.17g" % target, "rule target_met %r" % rules["target_met"])
    check(rules["shortfall"] == "max(0, %.17g - total)" % target, "rule shortfall")
    mc = sm.attrs.get("minimum_close")
    check(rules["closed"] == ("total > 0" if mc is None else "total >= %.17g" % mc), "rule closed")
    for o in ("closed", "target_met", "shortfall", "oversubscribed"):
        if tr is not None and o in tr:
            check(tr[o].attrs["rule"] == rules[o], "/trials/%s rule" % o)
    for o in ("target_met", "shortfall"):
        if tr is not None and o in tr:
            check(tr[o].attrs["target"] == target, "/trials/%s target" % o)
    # /config is the scenario file verbatim, with its SHA-256.
    raw = f["config"][()]
    check(isinstance(raw, bytes), "config is not a string")
    check(hashlib.sha256(raw).hexdigest() == f["config"].attrs["sha256"], "sha256 of /config")
    with open(SCENARIO, "rb") as s:
        check(raw == s.read(), "/config differs from the scenario file")
    check(len(f["effective_config"][()]) > 0, "effective_config empty")


def sketch_ok(est, exact):
    return abs(est - exact) <= ALPHA * (1 + ROUND) * abs(exact) + MIN_ABS


def rank(q, n):
    return int(math.floor((n - 1) * q))  # the sketch's rank floor(q (n - 1))


def check_quantiles(where, est_row, values, qs):
    v = np.sort(values[~np.isnan(values)])
    if len(v) == 0:
        check(np.all(np.isnan(est_row)), "%s: quantiles of no values not NaN" % where)
        return
    for q, est in zip(qs, est_row):
        exact = v[rank(q, len(v))]
        check(sketch_ok(est, exact), "%s: q=%g estimate %r, exact %r" % (where, q, est, exact))


def close(a, b, scale, rel):
    return abs(a - b) <= rel * scale


def check_summary(f, n):
    s = f["summary"]
    names = list(s["output"].asstr()[:])
    qs = s["quantile"][:]
    count, nan = s["count"][:], s["nan_count"][:]
    check(np.all(count + nan == n), "count + nan_count != trials")
    q = s["quantiles"][:]
    for o, name in enumerate(names):
        row = q[o]
        if count[o] == 0:
            check(np.all(np.isnan(row)), "summary %s: quantiles of nothing" % name)
            continue
        check(np.all(np.diff(row) >= 0), "summary %s: quantiles decrease: %s" % (name, row))
        check(row[0] >= s["min"][o] and row[-1] <= s["max"][o], "summary %s: quantiles outside [min, max]" % name)
    check(s["quantiles"].attrs["estimator"] == "DDSketch log-bucket sketch, rank floor(q*(n-1))",
          "estimator attribute")
    check(s["quantiles"].attrs["relative_accuracy"] == ALPHA, "relative_accuracy attribute")
    types = list(s["type"].asstr()[:])
    for o, t in enumerate(types):
        if t == "bool" and count[o] > 0:
            check(0 <= s["mean"][o] <= 1, "summary %s: a probability outside [0, 1]" % names[o])
    # Histograms: every finite value in some bin; edges from the exact range.
    h = f["histograms"]
    counts, edges = h["counts"][:], h["edges"][:]
    check(np.all(counts.sum(axis=1) == count), "histogram counts do not add up to count")
    for o in range(len(names)):
        if count[o] == 0:
            check(np.all(np.isnan(edges[o])), "histogram edges of nothing")
            continue
        lo, hi = s["min"][o], s["max"][o]
        scale = max(abs(lo), abs(hi))
        if scale == 0:
            lo, hi = -0.5, 0.5
        elif hi - lo <= 1e-9 * scale:  # near-constant: mean +- alpha scale
            lo, hi = s["mean"][o] - ALPHA * scale, s["mean"][o] + ALPHA * scale
        check(edges[o][0] == lo and edges[o][-1] == hi, "histogram %s: edges %r..%r" % (names[o], edges[o][0], edges[o][-1]))
        check(np.all(np.diff(edges[o]) > 0), "histogram %s: edges not increasing" % names[o])
        check(np.array_equal(h["centre"][o], 0.5 * edges[o][:-1] + 0.5 * edges[o][1:]), "histogram %s: centres" % names[o])
        tail = np.concatenate([np.cumsum(counts[o][::-1])[::-1], [0]]) / np.float64(count[o])
        check(np.array_equal(h["exceedance"][o], tail), "histogram %s: exceedance" % names[o])
    return names, qs


def check_histogram_vs_values(name, counts, edges, x):
    """Bins agree with numpy's except for values within ALPHA of an edge."""
    x = x[~np.isnan(x)]
    exact, _ = np.histogram(x, bins=edges)
    lo = np.clip(np.searchsorted(edges, x - ALPHA * np.abs(x) - MIN_ABS, side="right") - 1, 0, len(counts) - 1)
    hi = np.clip(np.searchsorted(edges, x + ALPHA * np.abs(x) + MIN_ABS, side="right") - 1, 0, len(counts) - 1)
    ambiguous = int(np.sum(lo != hi))
    diff = int(np.abs(exact.astype(np.int64) - counts.astype(np.int64)).sum())
    check(diff <= 2 * ambiguous, "histogram %s: %d values moved, only %d near an edge" % (name, diff, ambiguous))


def check_trials(f, n, names, qs, valuation):
    """Per-trial data against the summaries of the same file."""
    t = f["trials"]
    s = f["summary"]
    check(t["trial"].shape == (n,) and np.array_equal(t["trial"][:], np.arange(n, dtype=np.uint64)),
          "/trials/trial is not 0..n-1")
    for name, d in t.items():
        if d.shape and d.shape[0] != n and name not in ("investor", "month"):
            check(False, "/trials/%s has %d rows, expected %d" % (name, d.shape[0], n))
        if name not in ("investor", "month"):
            check(d.maxshape[0] is None, "/trials/%s is not extendible" % name)
            chunk = int(np.prod(d.chunks)) * d.dtype.itemsize
            check(chunk <= (1 << 20), "/trials/%s: chunk of %d bytes" % (name, chunk))
    for o, name in enumerate(names):
        if name not in t:
            continue
        x = t[name][:].astype(np.float64)
        fin = x[~np.isnan(x)]
        where = "/trials/%s vs /summary" % name
        check(len(fin) == s["count"][o], where + ": count")
        if len(fin) == 0:
            continue
        scale = max(np.abs(fin).mean(), 1e-300)
        check(close(fin.mean(), s["mean"][o], scale, REL_MEAN), where + ": mean %r vs %r" % (fin.mean(), s["mean"][o]))
        if len(fin) > 1:
            check(close(fin.std(ddof=1), s["sd"][o], max(fin.std(ddof=1), 1e-300), REL_SD), where + ": sd")
        check(fin.min() == s["min"][o] and fin.max() == s["max"][o], where + ": min/max")
        check_quantiles(where, s["quantiles"][o], x, qs)
        check_histogram_vs_values(name, f["histograms/counts"][o], f["histograms/edges"][o], x)
    inv = f["investors"]
    if "investor_joined" in t:
        names_i = list(inv["investor"].asstr()[:])
        check(list(t["investor"].asstr()[:]) == names_i, "/trials/investor names")
        joined = t["investor_joined"][:]
        check(np.array_equal(inv["join_probability"][:], joined.mean(axis=0)), "join_probability")
        p = joined.mean(axis=0)
        check(np.allclose(inv["join_stderr"][:], np.sqrt(p * (1 - p) / n), rtol=1e-15, atol=0), "join_stderr")
        for var, ds in (("amount", "investor_amount"), ("paid", "investor_paid")):
            a = t[ds][:]
            for i in range(a.shape[1]):
                col = a[:, i]
                scale = max(np.abs(col).mean(), 1e-300)
                check(close(col.mean(), inv[var + "_mean"][i], scale, REL_MEAN), "%s_mean[%d]" % (var, i))
                check_quantiles("%s_quantiles[%d]" % (var, i), inv[var + "_quantiles"][i], col, qs)
        if valuation:
            st = t["investor_stake"][:]
            for i in range(st.shape[1]):
                fin = st[:, i][~np.isnan(st[:, i])]
                check(close(fin.mean(), inv["stake_mean"][i], max(np.abs(fin).mean(), 1e-300), REL_MEAN), "stake_mean[%d]" % i)
        else:
            check("investor_stake" not in t and np.all(np.isnan(inv["stake_mean"][:])), "stake without a valuation")
        # Coalitions against the per-trial join masks.
        jm = t["joined_mask"][:]
        bits = (joined.astype(np.uint64) << np.arange(joined.shape[1], dtype=np.uint64)).sum(axis=1, dtype=np.uint64)
        check(np.array_equal(jm, bits), "joined_mask vs investor_joined")
        masks, counts = np.unique(jm, return_counts=True)
        order = sorted(zip(masks.tolist(), counts.tolist()), key=lambda mc: (-mc[1], mc[0]))
        c = f["coalitions"]
        check(list(zip(c["mask"][:].tolist(), c["count"][:].tolist())) == order, "coalitions: masks/counts/order")
        check(np.array_equal(c["probability"][:], c["count"][:] / np.float64(n)), "coalitions: probability")
        total = t["total"][:]
        for k, (m, cnt) in enumerate(order):
            members = "+".join(names_i[i] for i in range(len(names_i)) if (m >> i) & 1)
            check(c["members"].asstr()[k] == members, "coalition %d members" % k)
            check(c["coalition"].asstr()[k] == (members or "nobody"), "coalition %d label" % k)
            sel = total[jm == m]
            check(close(sel.mean(), c["mean_total"][k], max(np.abs(sel).mean(), 1e-300), REL_MEAN), "coalition %d mean_total" % k)
    if "price_path" in t:
        pp = t["price_path"][:]
        pf = f["price_fan"]
        check(pp.shape[1] == pf["month"].shape[0], "price_path months")
        q0 = pf["initial_quantiles"][:]
        check(np.all(np.diff(q0) >= 0) and np.all(q0 > 0), "initial_quantiles increasing and > 0: %r" % q0)
        check(q0[0] <= pf["initial_mean"][()] <= q0[-1], "initial_mean inside the initial quantiles")
        check(np.array_equal(t["month"][:], np.arange(1, pp.shape[1] + 1)), "/trials/month")
        for m in range(pp.shape[1]):
            col = pp[:, m]
            check(close(col.mean(), pf["price_mean"][m], np.abs(col).mean(), REL_MEAN), "price_mean[%d]" % m)
            check_quantiles("price_quantiles[%d]" % m, pf["price_quantiles"][m], col, qs)


def check_convergence_state(f, n):
    s, c, st = f["summary"], f["convergence"], f["state"]
    nb = (n + B - 1) // B
    expect = []
    k = 1
    while k <= nb:
        expect.append(min(k * B, n))
        k *= 2
    if expect[-1] != n:
        expect.append(n)
    check(c["checkpoint"][:].tolist() == expect, "checkpoints %s, expected %s" % (c["checkpoint"][:].tolist(), expect))
    cnt = s["count"][:]
    last = c["mean"][-1]
    check(np.array_equal(last[cnt > 0], s["mean"][:][cnt > 0]), "last checkpoint mean != summary mean")
    check(st["trials"][()] == n and st["blocks"][()] == nb, "state trials/blocks")
    labels = list(st["accumulator"].asstr()[:])
    no = len(s["output"])
    check(labels[:no] == ["output/" + x for x in s["output"].asstr()[:]], "state accumulator labels")
    # The forest: the binary decomposition of the block count, levels
    # decreasing; per accumulator the nodes' counts add up to the summary's.
    lv, ix = st["node_level"][:].tolist(), st["node_index"][:].tolist()
    check(sum(1 << l for l in lv) == nb and lv == sorted(lv, reverse=True), "state forest %s" % lv)
    check(all((i << l) == sum(1 << x for x in lv[:j]) for j, (l, i) in enumerate(zip(lv, ix))),
          "state nodes not contiguous from block 0")
    check(np.array_equal(st["node_n"][:, :no].sum(axis=0), cnt), "state node_n")
    check(np.array_equal(st["node_nan"][:, :no].sum(axis=0), s["nan_count"][:]), "state node_nan")
    if len(lv) == 1:
        check(np.array_equal(st["node_mean"][0, :no][cnt > 0], s["mean"][:][cnt > 0]), "state node_mean")
    # Node checkpoints are formed from full blocks only: a short last block
    # is the tail (stats.h), whose checkpoint is the final fold.
    full = n // B
    pow2 = [(1 << k) * B for k in range(64) if (1 << k) <= full]
    check(st["checkpoint_trials"][:].tolist() == pow2, "state checkpoints %s" % st["checkpoint_trials"][:].tolist())
    check(st["checkpoint_blocks"][:].tolist() == [1 << k for k in range(len(pow2))], "state checkpoint_blocks")
    bc = st["bucket_counts"][:]
    for j in range(st["sketch"].shape[0]):
        po, pl = int(st["sketch_pos_offset"][j]), int(st["sketch_pos_len"][j])
        no_, nl = int(st["sketch_neg_offset"][j]), int(st["sketch_neg_len"][j])
        tot = bc[po:po + pl].sum() + bc[no_:no_ + nl].sum() + st["sketch_zero"][j]
        check(tot == st["sketch_count"][j], "state sketch %d: buckets do not add up" % j)
    check(np.array_equal(st["sketch_count"][:no], cnt), "state sketch_count of outputs")
    inv = f["investors"]
    check(np.array_equal(st["join_count"][:] / np.float64(n), inv["join_probability"][:]), "state join_count")
    agg = {}
    for m_, c_ in zip(st["node_coalition_mask"][:].tolist(), st["node_coalition_trials"][:].tolist()):
        agg[m_] = agg.get(m_, 0) + c_
    co = f["coalitions"]
    check(agg == dict(zip(co["mask"][:].tolist(), co["count"][:].tolist())), "state coalitions")
    check(st.attrs["description"].startswith("Mergeable state"), "state description")


def main():
    tmp = tmpdir(prefix="ds-h5-")
    val = "round.pre_money={dist: triangular, min: 730, mode: 750, max: 830}"
    # 1. Complete, with every per-trial dataset and a valuation.
    full = os.path.join(tmp, "out", "full.h5")
    n = 4 * B + 1000
    write(full, n, 0, "output.per_trial=true", "output.price_paths=true", val)
    check_structure(full)
    with h5py.File(full, "r") as f:
        check_root(f, n, n, "complete")
        names, qs = check_summary(f, n)
        check("post_money" in names and "stake_total" in names, "valuation outputs missing")
        check_trials(f, n, names, qs, True)
        check_convergence_state(f, n)
        check(f["trials/total"].compression is None, "compressed without output.compression")

    # 2. Interrupted after 2 of 5 blocks: /trials shrunk, status interrupted.
    intr = os.path.join(tmp, "intr.h5")
    write(intr, 5 * B, 2, "output.per_trial=true", "output.price_paths=true")
    check_structure(intr)
    with h5py.File(intr, "r") as f:
        done = 2 * B
        check_root(f, done, 5 * B, "interrupted")
        names, qs = check_summary(f, done)
        check("post_money" not in names, "valuation outputs without a valuation")
        for name, d in f["trials"].items():
            if name not in ("investor", "month"):
                check(d.shape[0] == done, "interrupted: /trials/%s has %d rows" % (name, d.shape[0]))
        check_trials(f, done, names, qs, False)
        check_convergence_state(f, done)

    # 3. A list of per-trial outputs, compressed.
    listed = os.path.join(tmp, "listed.h5")
    n3 = B + 10
    write(listed, n3, 0, "output.per_trial=[total, closed, investors_joined, joined_mask]",
          "output.compression=deflate:4")
    check_structure(listed)
    with h5py.File(listed, "r") as f:
        check(sorted(f["trials"]) == ["closed", "investors_joined", "joined_mask", "total", "trial"],
              "listed: /trials holds %s" % sorted(f["trials"]))
        d = f["trials/total"]
        check(d.compression == "gzip" and d.compression_opts == 4 and d.shuffle, "listed: deflate:4 with shuffle")
        check(f["trials/closed"].dtype == np.uint8 and f["trials/investors_joined"].dtype == np.uint64,
              "listed: boolean and count types")
        check(set(np.unique(f["trials/closed"][:]).tolist()) <= {0, 1}, "listed: booleans are 0/1")
        names, qs = check_summary(f, n3)
        check_trials(f, n3, names, qs, False)

    # 4. The defaults: no per-trial data, no /trials group.
    plain = os.path.join(tmp, "plain.h5")
    write(plain, 3000, 0, "output.per_trial=false")
    check_structure(plain)
    with h5py.File(plain, "r") as f:
        check("trials" not in f, "plain: /trials present")
        check_root(f, 3000, 3000, "complete")
        check_summary(f, 3000)
        check_convergence_state(f, 3000)
    checker.done()


if __name__ == "__main__":
    main()
