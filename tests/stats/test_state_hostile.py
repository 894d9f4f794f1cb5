# tests/stats/test_state_hostile.py
# A damaged or hostile /state must never crash the reader or the import.
# Licence: see LICENSE at the top of the repository.
#
# A real result file (configs/smoke.yaml) is copied and damaged with h5py in
# many ways (missing or wrong state_version, wrong types, ranks, a huge
# declared extent with no data, a subgroup, inconsistent indices, truncated
# arrays, a truncated file); `stats_state --import` (env DS_STATE_TOOL) must
# exit 3 (DS_ERR_FORMAT) or 4 (another clean error) with a message, never be
# killed by a signal, and exit 0 on the intact file.
import os
import shutil
import subprocess

import h5py
import numpy as np

from dstest import Checker, run, scenario, tmpdir

checker = Checker()
check = checker.ok


def run_import(tool, path):
    return subprocess.run([tool, "--import", path], capture_output=True, text=True, timeout=120)


def replace(g, name, data, **kw):
    del g[name]
    g.create_dataset(name, data=data, **kw)


def main():
    tool = os.environ["DS_STATE_TOOL"]
    tmp = tmpdir(prefix="ds-state-")
    good = os.path.join(tmp, "good.h5")
    r = run(["run", scenario("smoke.yaml"), "-q", "--force",
             "--set", "output.file=" + good, "--set", "output.per_trial=false",
             "--set", "trials=50000"], expect=None)
    check(r.returncode == 0, "dealsim run: %s" % r.stderr)
    r = run_import(tool, good)
    check(r.returncode == 0, "intact file: exit %d %s" % (r.returncode, r.stderr))

    def drop_version(g):
        del g.attrs["state_version"]

    def future_version(g):
        g.attrs["state_version"] = np.int32(99)

    def float_version(g):
        g.attrs["state_version"] = 1.5

    def float32_mean(g):
        replace(g, "node_mean", g["node_mean"][()].astype(np.float32))

    def rank3_buckets(g):
        replace(g, "bucket_counts", np.zeros((2, 2, 2), np.uint64))

    def huge_extent(g):
        # 2^40 elements declared, nothing written: must be refused, not allocated.
        del g["node_level"]
        g.create_dataset("node_level", shape=(1 << 40,), dtype=np.uint64, chunks=(1024,))

    def unwritten(g):
        # A modest extent, never written: fill values are not state.
        del g["bucket_counts"]
        g.create_dataset("bucket_counts", shape=(1 << 20,), dtype=np.uint64, chunks=(4096,))

    def compressed(g):
        replace(g, "node_mean", g["node_mean"][()], compression="gzip", chunks=True)

    def subgroup(g):
        g.create_group("extra")

    def overlapping_nodes(g):
        ix = g["node_index"][()]
        ix[-1] = 0
        g["node_index"][...] = ix

    def level_too_big(g):
        lv = g["node_level"][()]
        lv[0] = 200
        g["node_level"][...] = lv

    def truncated_buckets(g):
        replace(g, "bucket_counts", g["bucket_counts"][()][:10])

    def string_array(g):
        replace(g, "node_trials", np.array(["x"] * len(g["node_trials"]), dtype=h5py.string_dtype()))

    def bad_offsets(g):
        off = g["sketch_neg_offset"][()]
        off[:] = np.uint64(2**63)
        g["sketch_neg_offset"][...] = off
        ln = g["sketch_neg_len"][()]
        ln[:] = 5
        g["sketch_neg_len"][...] = ln

    def no_state(g):
        f = g.file
        del f["state"]

    def long_name(g):
        g.create_dataset("x" * 300, data=np.zeros(1, np.uint64))

    # Block spreads (state version 4; stats.h "Standard errors").
    def block_count_too_big(g):
        a = g["node_block_count"][()]
        a[0, 0] = (1 << int(g["node_level"][0])) + 1
        replace(g, "node_block_count", a)

    def tail_block_count(g):
        a = g["node_block_count"][()]
        a[-1, 0] = 1  # the last row is the short last block: never a replicate
        replace(g, "node_block_count", a)

    def block_m2_negative(g):
        a = g["node_block_m2"][()]
        a[0, 0] = -1.0
        replace(g, "node_block_m2", a)

    def block_mean_nan(g):
        a = g["node_block_mean"][()]
        a[0, 0] = np.nan
        replace(g, "node_block_mean", a)

    def block_mean_missing(g):
        del g["node_block_mean"]

    def block_count_wrong_shape(g):
        replace(g, "node_block_count", g["node_block_count"][()][:, :3])

    def block_arrays_without_count(g):
        del g["node_block_count"]

    def sampling_unknown(g):
        replace(g, "sampling", np.uint64(7))

    # The conditional arrays (state version 5): inconsistent counts, masks,
    # a missing array beside the others, a wrong shape.
    def cond_count_too_big(g):
        v = g["node_cond_n"][()]
        v[0, 0] += 1 << 40
        g["node_cond_n"][...] = v

    def cond_count_mismatch(g):
        v = g["node_cond_n"][()]
        v[0, 1] += 1   # output 1 given closed counts one more trial than output 0
        g["node_cond_n"][...] = v

    def cond_missing_m2(g):
        del g["node_cond_m2"]

    def cond_wrong_shape(g):
        replace(g, "node_cond_mean", g["node_cond_mean"][()][:, :-1])

    def cond_closed_too_many(g):
        v = g["node_coalition_closed"][()]
        v[0] = 1 << 50
        g["node_coalition_closed"][...] = v

    def cond_coal_masks(g):
        m = g["coalition_sketch_mask"][()]
        replace(g, "coalition_sketch_mask", m[::-1].copy())

    def cond_too_many_masks(g):
        replace(g, "coalition_sketch_mask", np.arange(40, dtype=np.uint64))

    def cond_min_max(g):
        v = g["node_cond_min"][()]
        v[0, 0] = 1e300
        g["node_cond_min"][...] = v

    cases = [drop_version, future_version, float_version, float32_mean, rank3_buckets,
             cond_count_too_big, cond_count_mismatch, cond_missing_m2, cond_wrong_shape,
             cond_closed_too_many, cond_coal_masks, cond_too_many_masks, cond_min_max,
             huge_extent, unwritten, compressed, subgroup, overlapping_nodes, level_too_big, truncated_buckets,
             string_array, bad_offsets, no_state, long_name, block_count_too_big, tail_block_count,
             block_m2_negative, block_mean_nan, block_mean_missing, block_count_wrong_shape,
             block_arrays_without_count, sampling_unknown]
    def refused(source, fns):
        """Each fn damages a copy of source's /state; the import must refuse it."""
        for fn in fns:
            path = os.path.join(tmp, fn.__name__ + ".h5")
            shutil.copy(source, path)
            with h5py.File(path, "r+") as f:
                fn(f["state"])
            r = run_import(tool, path)
            check(r.returncode == 3, "%s: exit %d (expected 3, a format error): %s"
                  % (fn.__name__, r.returncode, r.stderr.strip()))
            check(r.stderr.strip() != "", "%s: no message" % fn.__name__)
            if os.environ.get("DS_VERBOSE"):
                print(fn.__name__, "->", r.returncode, r.stderr.strip())

    refused(good, cases)

    # The conditional ratio spreads (state version 6, latin_hypercube only;
    # stats.h ds_rspread): a good LHS state, then each kind of damage.
    lhs = os.path.join(tmp, "lhs.h5")
    r = run(["run", scenario("smoke.yaml"), "-q", "--force", "--sampling", "latin_hypercube",
             "--set", "output.file=" + lhs, "--set", "output.per_trial=false",
             "--set", "trials=50000"], expect=None)
    check(r.returncode == 0, "dealsim run (latin_hypercube): %s" % r.stderr)
    r = run_import(tool, lhs)
    check(r.returncode == 0, "intact LHS file: exit %d %s" % (r.returncode, r.stderr))
    with h5py.File(lhs, "r") as f:
        check("node_cond_block_count" in f["state"], "an LHS state has the ratio spreads")

    def poke(name, where, value, why):
        """A case that sets state array `name` at `where` to value(g)."""
        def case(g):
            a = g[name][()]
            a[where] = value(g)
            replace(g, name, a)
        case.__name__ = why
        return case

    crs_count_too_big = poke("node_cond_block_count", (0, 0), lambda g: (1 << int(g["node_level"][0])) + 1,
                             "crs_count_too_big")
    crs_tail_count = poke("node_cond_block_count", (-1, 0), lambda g: 1,  # the tail is never a replicate
                          "crs_tail_count")
    crs_m2_negative = poke("node_cond_block_sum_m2", (0, 0), lambda g: -1.0, "crs_m2_negative")
    crs_mean_nan = poke("node_cond_block_sum_mean", (0, 0), lambda g: np.nan, "crs_mean_nan")
    crs_count_mean_too_big = poke("node_cond_block_count_mean", (0, 0), lambda g: 1e9,  # > a block's trials
                                  "crs_count_mean_too_big")

    def crs_missing_cross(g):
        del g["node_cond_block_cross_m2"]

    def crs_without_count(g):
        del g["node_cond_block_count"]

    def crs_wrong_shape(g):
        replace(g, "node_cond_block_count", g["node_cond_block_count"][()][:, :-1])

    def crs_under_monte_carlo(g):
        replace(g, "sampling", np.uint64(0))

    refused(lhs, [crs_count_too_big, crs_tail_count, crs_m2_negative, crs_mean_nan, crs_count_mean_too_big,
                  crs_missing_cross, crs_without_count, crs_wrong_shape, crs_under_monte_carlo])
    # A version-5 LHS state (before the ratio spreads) still imports.
    path = os.path.join(tmp, "lhs_version5.h5")
    shutil.copy(lhs, path)
    with h5py.File(path, "r+") as f:
        g = f["state"]
        for name in [k for k in g if k.startswith("node_cond_block_")]:
            del g[name]
        g.attrs["state_version"] = np.int32(5)
    r = run_import(tool, path)
    check(r.returncode == 0, "version-5 LHS state: exit %d %s" % (r.returncode, r.stderr))

    # A version-3 state (before block spreads and the method, and before the
    # conditional summaries: made without them) still imports.
    path = os.path.join(tmp, "version3.h5")
    r = run(["run", scenario("smoke.yaml"), "-q", "--force",
             "--set", "output.file=" + path, "--set", "output.per_trial=false",
             "--set", "trials=50000", "--set", "output.conditional=false"], expect=None)
    check(r.returncode == 0, "dealsim run (conditional off): %s" % r.stderr)
    with h5py.File(path, "r+") as f:
        g = f["state"]
        for name in ("node_block_count", "node_block_mean", "node_block_m2", "sampling"):
            del g[name]
        g.attrs["state_version"] = np.int32(3)
    r = run_import(tool, path)
    check(r.returncode == 0, "version-3 state: exit %d %s" % (r.returncode, r.stderr))

    # A truncated file: HDF5 cannot read it; a clean error, no crash.
    path = os.path.join(tmp, "truncated.h5")
    with open(good, "rb") as src, open(path, "wb") as dst:
        dst.write(src.read(os.path.getsize(good) // 2))
    r = run_import(tool, path)
    check(r.returncode in (3, 4), "truncated file: exit %d: %s" % (r.returncode, r.stderr))
    check(r.stderr.strip() != "", "truncated file: no message")
    checker.done()


if __name__ == "__main__":
    main()
