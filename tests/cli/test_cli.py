# tests/cli/test_cli.py
# The `dealsim` program as a user meets it: help, exit codes, errors on bad
# usage, check, sample, stream, run's summary and progress, no overwrite
# without --force, nothing left behind on failure.
# Licence: see LICENSE at the top of the repository.
import os
import subprocess

import h5py
import numpy as np

from dstest import DEALSIM, Checker, leftovers, run, scenario, small_file_limit, tmpdir

c = Checker()
d = tmpdir()


# Help teaches: every command documented, exit 0; no arguments is a usage error.
cp = run(["--help"])
for word in ("run", "check", "sample", "stream", "Exit codes"):
    c.ok(word in cp.stdout, f"--help mentions {word}")
for cmd in ("run", "check", "sample", "stream"):
    cp = run([cmd, "--help"])
    c.ok(cp.stdout.startswith("Usage: dealsim " + cmd), f"{cmd} --help")
run([], expect=2)
c.ok("dealsim" in run(["--version"]).stdout, "--version")

# Usage errors exit 2 with a message naming the problem.
for args, needle in [
    (["frobnicate"], "unknown command"),
    (["run"], "missing SCENARIO"),
    (["run", scenario("smoke.yaml"), "-n", "abc"], "-n needs"),
    (["run", scenario("smoke.yaml"), "-n", "0"], "-n needs"),
    (["run", scenario("smoke.yaml"), "-n", "1.5"], "-n needs"),
    (["run", scenario("smoke.yaml"), "--threads", "0"], "--threads"),
    (["run", scenario("smoke.yaml"), "--seed", "18446744073709551616"], "--seed"),
    (["run", scenario("smoke.yaml"), "--bogus"], "unknown option"),
    (["stream", "--seed", "1"], "required"),
    (["sample"], "--dist is required"),
    (["check", "/nonexistent/x.yaml"], "x.yaml"),
]:
    cp = run(args, expect=2)
    c.ok(needle in cp.stderr, f"{' '.join(args)}: stderr mentions {needle!r}: {cp.stderr.strip()[:120]}")

# A scenario error is exit 2 with file:line:col.
cp = run(["run", scenario("smoke.yaml"), "--set", "round.target=-5"], expect=2)
c.ok("--set:1:" in cp.stderr and "target" in cp.stderr, f"bad --set names its position: {cp.stderr.strip()}")

# -n before a bad --set: the error still names that --set as the first.
cp = run(["run", scenario("smoke.yaml"), "-n", "100", "--set", "round.target=-5"], expect=2)
c.ok(cp.stderr.startswith("--set:1:"), f"-n does not shift --set positions: {cp.stderr.strip()}")

# -o, -n and --seed are recorded in the file's effective scenario.
odd = os.path.join(d, 'odd: "name" #1.h5')
run(["run", scenario("smoke.yaml"), "-n", "5000", "--seed", "77", "-o", odd, "--quiet"])
with h5py.File(odd, "r") as f:
    eff = f["effective_config"].asstr()[()]
c.ok("trials: 5000" in eff and "seed: 77" in eff, "effective scenario has -n and --seed")
c.ok('file: "' + odd.replace('"', '\\"') + '"' in eff, "effective scenario has the -o path")

# check prints the effective scenario and the description.
for cfg in ("openai-2026.yaml", "openai-2026-wide.yaml", "smoke.yaml"):
    cp = run(["check", scenario(cfg)])
    c.ok("investors:" in cp.stdout and "price.path" in cp.stdout, f"check {cfg}")

# sample: N lines of numbers in the support.
cp = run(["sample", "--dist", "{dist: uniform, min: 2, max: 3}", "-n", "1000", "--seed", "4"])
x = np.array([float(v) for v in cp.stdout.split()])
c.ok(len(x) == 1000 and x.min() >= 2 and x.max() < 3, "sample uniform")
cp = run(["sample", "--dist", "{dist: uniform, min: 3, max: 2}"], expect=2)
c.ok("min" in cp.stderr, f"sample rejects min > max: {cp.stderr.strip()}")

# stream: decimal 64-bit numbers.
cp = run(["stream", "--seed", "1", "--source", "x", "--block", "0", "-n", "5"])
c.ok(len(cp.stdout.split()) == 5, "stream -n 5")

# run: summary table on stdout, plain progress lines on a non-terminal stderr.
out = os.path.join(d, "sub", "smoke.h5")
cp = run(["run", scenario("smoke.yaml"), "-o", out, "-n", "50000"])
for needle in ("P(closed)", "P(target_met)", "coalitions", "gpu_hours", "Wrote " + out):
    c.ok(needle in cp.stdout, f"summary mentions {needle!r}")
c.ok("progress:" in cp.stderr, "progress lines on stderr")
c.ok(os.path.exists(out) and not leftovers(out), "file written, no partial or lock left")
with h5py.File(out, "r") as f:
    c.ok(int(f.attrs["trials"]) == 50000, "trials attribute")

# No overwrite without --force: a usage error (exit 2), file untouched, no partial left.
before = open(out, "rb").read()
cp = run(["run", scenario("smoke.yaml"), "-o", out, "-n", "1000"], expect=2)
c.ok("--force" in cp.stderr, f"refusal says --force: {cp.stderr.strip()}")
c.ok(open(out, "rb").read() == before, "existing file untouched")
c.ok(not leftovers(out), "no partial or lock after refusal")
run(["run", scenario("smoke.yaml"), "-o", out, "-n", "1000", "--force", "--quiet"])
with h5py.File(out, "r") as f:
    c.ok(int(f.attrs["trials"]) == 1000, "--force overwrites")

# A write that fails mid-run (the file size limit stands in for a full disk):
# exit 1 with an HDF5 error, and neither the file nor its .partial is left.
full = os.path.join(d, "full.h5")
cp = subprocess.run([DEALSIM, "run", scenario("smoke.yaml"), "-n", "2000000", "-o", full,
                     "--quiet", "--set", "output.per_trial=true"], capture_output=True, text=True,
                    preexec_fn=small_file_limit)
c.ok(cp.returncode == 1, f"a failed write exits 1 (got {cp.returncode}: {cp.stderr.strip()[:200]})")
c.ok("HDF5" in cp.stderr or "writ" in cp.stderr, f"the error says what failed: {cp.stderr.strip()[:200]}")
c.ok(not os.path.exists(full) and not leftovers(full), "nothing left behind after a failed write")

# --quiet prints nothing on success.
cp = run(["run", scenario("smoke.yaml"), "-o", out, "-n", "1000", "--force", "--quiet"])
c.ok(cp.stdout == "" and cp.stderr == "", "--quiet is quiet")
c.done()
