# tests/analyst/test_summary.py
# `dealsim summary FILE [--json]`: the table equals what `run` printed, the
# JSON equals the file's stored numbers bit for bit, bad files fail cleanly.
# Licence: see LICENSE at the top of the repository.
import json
import math
import os
import shutil
import signal
import time

import h5py
import numpy as np

from dstest import Checker, run, scenario, start, text as s, tmpdir

c = Checker()
d = tmpdir()


def same(j, h):
    """A JSON number (None = NaN/inf) equals a stored float exactly."""
    h = float(h)
    if not math.isfinite(h):
        return j is None
    return j is not None and float(j) == h


# --- the table: the same as `run` printed (run adds only "Wrote FILE") ---
a = os.path.join(d, "a.h5")
cp = run(["run", scenario("smoke.yaml"), "-o", a, "--threads", "2"])
sm = run(["summary", a])
c.ok(cp.stdout == sm.stdout + f"\nWrote {a}\n", "summary table == run's table")
# With /sensitivity the table ends with the top drivers, named from the
# scenario (an accumulator read back from a file keeps no model).
sa = os.path.join(d, "sens.h5")
cps = run(["run", scenario("smoke.yaml"), "-o", sa, "--set", "output.sensitivity=true"])
sms = run(["summary", sa])
c.ok("What drives total" in cps.stdout and cps.stdout == sms.stdout + f"\nWrote {sa}\n",
     "with sensitivity: summary table == run's table, drivers included")
c.ok(sm.stderr == "", "no warning for a complete run")
c.ok(run(["summary", "--help"]).stdout.startswith("Usage: dealsim summary"), "summary --help")
c.ok("summary" in run(["--help"]).stdout, "--help lists summary")

# --- --json: every number equals what the file stores ---
doc = json.loads(run(["summary", a, "--json"]).stdout)
c.ok(doc["format"] == 1, "format 1")
with h5py.File(a, "r") as f:
    for k in ("scenario", "run_status"):
        c.ok(doc[k] == s(f.attrs[k]), f"root attribute {k}")
    for k in ("seed", "trials", "trials_requested", "block_size", "threads", "mpi_ranks"):
        c.ok(doc[k] == int(f.attrs[k]), f"root attribute {k}")
    c.ok(same(doc["wall_seconds"], f.attrs["wall_seconds"]), "wall_seconds")
    c.ok(doc["file_format_version"] == [int(v) for v in f.attrs["file_format_version"]],
         "file_format_version")
    g = f["summary"]
    names = [s(n) for n in g["output"][()]]
    qs = g["quantile"][()]
    c.ok(list(doc["outputs"]) == names, "outputs in file order")
    c.ok([float(q) for q in doc["quantile_levels"]] == [float(q) for q in qs], "quantile levels")
    bad = []
    for i, n in enumerate(names):
        o = doc["outputs"][n]
        for k in ("count", "nan_count"):
            if o[k] != int(g[k][i]):
                bad.append((n, k))
        for k in ("mean", "sd", "stderr", "min", "max"):
            if not same(o[k], g[k][i]):
                bad.append((n, k))
        for j, q in enumerate(qs):
            key = repr(float(q))
            if not same(o["quantiles"][key], g["quantiles"][i, j]):
                bad.append((n, key))
        if o["type"] != s(g["type"][i]) or o["units"] != s(g["output_units"][i]):
            bad.append((n, "type/units"))
    c.ok(not bad, f"/summary numbers equal bit for bit (mismatches: {bad[:5]})")
    # Probabilities are the boolean outputs' means.
    for k in ("closed", "target_met", "oversubscribed"):
        i = names.index(k)
        c.ok(same(doc["probabilities"][k]["p"], g["mean"][i]) and
             same(doc["probabilities"][k]["stderr"], g["stderr"][i]), f"probability {k}")
    gi = f["investors"]
    inv = doc["investors"]
    c.ok([v["name"] for v in inv] == [s(n) for n in gi["investor"][()]], "investor names")
    bad = [(v["name"], k) for i, v in enumerate(inv)
           for k in ("join_probability", "join_stderr", "amount_mean", "paid_mean", "stake_mean")
           if not same(v[k], gi[k][i])]
    c.ok(not bad, f"/investors equal bit for bit (mismatches: {bad})")
    gc = f["coalitions"]
    co = doc["coalitions"]
    c.ok(len(co) == gc["mask"].shape[0], "every coalition")
    bad = [k for k, v in enumerate(co)
           if v["mask"] != int(gc["mask"][k]) or v["count"] != int(gc["count"][k])
           or v["members"] != s(gc["members"][k])
           or not same(v["probability"], gc["probability"][k])
           or not same(v["mean_total"], gc["mean_total"][k])]
    c.ok(not bad, f"/coalitions equal bit for bit (mismatches at {bad})")

# NaN is null: an output with no finite values (stake_total without a
# valuation is absent, so use a scenario where nobody can join: hhi is NaN).
z = os.path.join(d, "z.h5")
run(["run", scenario("smoke.yaml"), "-o", z, "--quiet", "-n", "5000",
     "--set", "investors.Alpha.join_probability=0", "--set", "investors.Beta.join_probability=0"])
zdoc = json.loads(run(["summary", z, "--json"]).stdout)
c.ok(zdoc["outputs"]["hhi"]["mean"] is None and zdoc["outputs"]["hhi"]["count"] == 0,
     "NaN mean is null in JSON")

# --- an interrupted run: summarised, with a warning giving its trials ---
p = os.path.join(d, "int.h5")
proc = start(["run", scenario("smoke.yaml"), "-o", p, "-n", "1e9",
              "--threads", "1", "--set", "output.per_trial=false"])
time.sleep(1.0)
proc.send_signal(signal.SIGINT)
out, _ = proc.communicate(timeout=120)
c.ok(proc.returncode == 130, f"interrupted run exits 130 (got {proc.returncode})")
if proc.returncode == 130:
    with h5py.File(p, "r") as f:
        held = int(f.attrs["trials"])
    si = run(["summary", p])
    c.ok("warning" in si.stderr and f"holds {held} " in si.stderr and "interrupted" in si.stderr,
         f"warning names the trials held: {si.stderr.strip()}")
    c.ok(out == si.stdout + f"\nWrote {p}\n", "interrupted: summary table == run's table")
    c.ok(json.loads(run(["summary", p, "--json"]).stdout)["run_status"] == "interrupted",
         "JSON run_status interrupted")

# --- bad files: exit 2 and one line naming the problem ---
txt = os.path.join(d, "notes.txt")
with open(txt, "w") as f:
    f.write("not a result file\n")
alien = os.path.join(d, "alien.h5")
with h5py.File(alien, "w") as f:
    f["x"] = np.arange(3)
newer = os.path.join(d, "newer.h5")
shutil.copy(a, newer)
with h5py.File(newer, "r+") as f:
    f.attrs["file_format_version"] = np.array([4, 0], dtype=np.int32)
gone = os.path.join(d, "nostate.h5")
shutil.copy(a, gone)
with h5py.File(gone, "r+") as f:
    del f["state/bucket_counts"]
bent = os.path.join(d, "bent.h5")
shutil.copy(a, bent)
with h5py.File(bent, "r+") as f:
    nt = f["state/node_trials"]
    nt[0] = nt[0] + 1
for path, needle in [
    (os.path.join(d, "missing.h5"), "cannot read"),
    (txt, "not an HDF5 file"),
    (alien, "not a dealsim result file"),
    (newer, "file_format_version 4.0"),
    (gone, "damaged /state"),
    (bent, "damaged /state"),
]:
    for extra in ([], ["--json"]):
        cp = run(["summary", path] + extra, expect=2)
        lines = cp.stderr.strip().split("\n")
        c.ok(len(lines) == 1 and needle in lines[0] and lines[0].startswith("dealsim: error:"),
             f"{os.path.basename(path)}: one line with '{needle}': {cp.stderr.strip()}")
        c.ok(cp.stdout == "", f"{os.path.basename(path)}: nothing on stdout")
run(["summary"], expect=2)
run(["summary", a, "--bogus"], expect=2)
c.done()
