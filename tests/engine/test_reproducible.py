# tests/engine/test_reproducible.py
# MODEL.md 6: bit-identical datasets for any thread count; a run of N trials
# is a prefix of a run of M > N trials; interruption keeps a valid prefix.
# Licence: see LICENSE at the top of the repository.
import os
import signal
import subprocess
import time

import h5py

from dstest import (DEALSIM, Checker, contents, differences, leftovers, read_trials, run_status, run_to_file,
                    same_value, scenario, text, tmpdir)

c = Checker()
d = tmpdir()
sets = ["--set", "output.per_trial=true", "--set", "output.price_paths=true", "--set", "output.per_trial_inputs=true"]
# 10 blocks and a partial one: enough for the scheduler to interleave.
files = {t: run_to_file("smoke.yaml", os.path.join(d, f"t{t}.h5"), "-n", "43000", *sets, threads=t)
         for t in (1, 2, 3)}
ref = contents(files[1])
c.ok(len(ref) > 40, f"the file has many datasets ({len(ref)})")
for t in (2, 3):
    diff = differences(ref, contents(files[t]))
    c.ok(not diff, f"{t} threads: bit-identical to 1 thread (differs: {diff[:5]})")

# Prefix: 10000 trials (not a whole number of blocks) vs 20000.
a = read_trials(run_to_file("smoke.yaml", os.path.join(d, "n1.h5"), "-n", "10000", *sets, threads=2))
b = read_trials(run_to_file("smoke.yaml", os.path.join(d, "n2.h5"), "-n", "20000", *sets, threads=3))
for k in a:
    c.ok(same_value(a[k], b[k][: len(a[k])]), f"prefix: /trials/{k} of 10000 trials == first 10000 of 20000")

# Interruption: SIGINT mid-run -> exit 130, a valid file marked interrupted
# whose trials are a prefix of the uninterrupted run.
big = os.path.join(d, "big.h5")
p = subprocess.Popen([DEALSIM, "run", scenario("smoke.yaml"), "-n", "100000000", "-o", big, "--force",
                      "--threads", "2", "--set", "output.per_trial=[total, gpu_hours]"],
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
time.sleep(2.0)
p.send_signal(signal.SIGINT)
out, err = p.communicate(timeout=120)
c.ok(p.returncode == 130, f"SIGINT exits 130 (got {p.returncode}: {err[-300:]})")
c.ok(os.path.exists(big) and not leftovers(big), "interrupted run leaves the file, no partial or lock")
if os.path.exists(big):
    with h5py.File(big, "r") as f:
        status = text(f.attrs["run_status"])
        done = int(f.attrs["trials"])
        tot = f["trials/total"][()]
        cnt = int(f["summary/count"][0] + f["summary/nan_count"][0])
    c.ok(status == "interrupted", f"run_status = {status}")
    c.ok(0 < done < 100000000 and done % 4096 == 0, f"trials done {done} is a whole number of blocks")
    c.ok(len(tot) == done and cnt == done, "datasets and summaries hold exactly the trials done")
    if 0 < done <= 2000000:
        full = read_trials(run_to_file("smoke.yaml", os.path.join(d, "pre.h5"), "-n", str(done),
                                       "--set", "output.per_trial=[total, gpu_hours]", threads=1))
        c.ok(same_value(full["total"], tot), "interrupted file is a prefix of the full run")
# SIGTERM (a batch system's time limit) is handled like SIGINT.
term = os.path.join(d, "term.h5")
p = subprocess.Popen([DEALSIM, "run", scenario("smoke.yaml"), "-n", "100000000", "-o", term, "--force",
                      "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
time.sleep(1.0)
p.send_signal(signal.SIGTERM)
out, err = p.communicate(timeout=120)
c.ok(p.returncode == 130, f"SIGTERM exits 130 (got {p.returncode})")
if os.path.exists(term):
    c.ok(run_status(term) == "interrupted", "SIGTERM: run_status = interrupted")
else:
    c.ok(False, "SIGTERM leaves a file")
c.done()
