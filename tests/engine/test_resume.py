# tests/engine/test_resume.py
# Stopping and continuing keep the bits: runs stopped by SIGTERM, SIGUSR1 or
# SIGKILL (with --checkpoint-every) at random moments, resumed with other
# thread counts (twice), and extended runs all end bit-identical to one
# uninterrupted run; every refused resume exits 2 with a one-line message and
# leaves its file byte for byte as it was.  Real processes, real files.
# Licence: see LICENSE at the top of the repository.
#
# Per-trial rows, price paths and inputs (/inputs) are on, so a resume must regenerate the rows
# of the blocks its file already holds.  The moments are random with a fixed
# seed: a progress percentage, then a delay scaled by the measured length of
# the reference run, so that they fall inside the run on a fast machine and a
# loaded one alike.
import glob
import os
import random
import re
import shutil
import signal
import time

import h5py
import numpy as np

from dstest import (Checker, contents, differences, leftovers, run, run_status, scenario, sha256, start, text,
                    tmpdir)

BLOCK = 4096
N = int(os.environ.get("DS_RESUME_TRIALS", "1000000"))  # ~1.3 s on one core here
SETS = ["--set", "output.per_trial=true", "--set", "output.price_paths=true", "--set", "output.per_trial_inputs=true"]
SMOKE = scenario("smoke.yaml")
rng = random.Random(20261201)
c = Checker()
d = tmpdir()


def path(name):
    return os.path.join(d, name)


def attrs(p):
    with h5py.File(p, "r") as f:
        return {"status": text(f.attrs["run_status"]), "trials": int(f.attrs["trials"]),
                "rows": "trials" in f}


def launch(out, threads, *extra):
    """A run with progress lines on stderr (a line every 10%), to time the signal by."""
    return start(["run", SMOKE, "-n", N, *SETS, "-o", out, "--force", "--threads", threads, *extra])


def stop(p, sig, percent, until=None):
    """Sends sig to p at a random moment after its progress reached percent
    (and until() holds): within the next ~8% of the run, so that the stop
    lands inside the run whatever the machine's load.  Returns (exit code,
    stderr) and the moment (seconds after the start)."""
    t0 = time.monotonic()
    for line in p.stderr:
        m = re.match(r"progress: .*\((\d+)%\)", line)
        if m and int(m.group(1)) >= percent:
            break
    while until and not until() and p.poll() is None:
        time.sleep(0.01)
    time.sleep(rng.uniform(0.0, 0.08) * T1)
    p.send_signal(sig)
    t = time.monotonic() - t0
    _, err = p.communicate(timeout=300)
    return p.returncode, err, t


def interrupted_ok(p, tag):
    """The file of a stopped run: whole, interrupted, a whole number of blocks short of N."""
    if not c.ok(os.path.exists(p), f"{tag}: the final name holds a file"):
        return False
    a = attrs(p)
    print(f"{tag}: {a['trials']} trials kept", flush=True)
    c.ok(a["status"] == "interrupted", f"{tag}: run_status {a['status']}")
    return c.ok(0 < a["trials"] < N and a["trials"] % BLOCK == 0,
                f"{tag}: {a['trials']} trials, a whole number of blocks short of {N}")


def identical(p, tag):
    diff = differences(ref, contents(p))
    c.ok(not diff, f"{tag}: bit-identical to the uninterrupted run (differs: {diff[:6]})")


# ---- the reference: one uninterrupted run on one thread, timed ----
t0 = time.monotonic()
run(["run", SMOKE, "-n", N, *SETS, "-o", path("ref.h5"), "--quiet", "--threads", 1])
T1 = time.monotonic() - t0
print(f"reference: {N} trials in {T1:.2f} s on one thread")
ref = contents(path("ref.h5"))
c.ok(attrs(path("ref.h5"))["status"] == "complete" and len(ref["trials/total"]) == N,
     "the reference is complete with a row a trial")

# ---- SIGTERM at random moments, resumed with another thread count ----
for i in range(3):
    f = path(f"term{i}.h5")
    percent = rng.choice(((10, 20), (30, 40, 50), (60, 70, 80))[i])  # early, middle, late
    rc, err, t = stop(launch(f, 1), signal.SIGTERM, percent)
    tag = f"SIGTERM after {percent}% ({t:.2f} s)"
    c.ok(rc == 130, f"{tag}: exit 130 (got {rc}: {err.strip()[-200:]})")
    if not interrupted_ok(f, tag):
        continue
    c.ok(not leftovers(f), f"{tag}: no partial or lock left ({leftovers(f)})")
    if i == 0:
        # A second stop: the resumed run (3 threads) stopped again, then
        # resumed once more (2 threads, naming the scenario too).
        first = attrs(f)["trials"]
        p = start(["run", "--resume", f, "--threads", 3])
        rc, err, _ = stop(p, signal.SIGTERM, 0)
        tag2 = f"{tag}, resumed and stopped again"
        c.ok(rc == 130, f"{tag2}: exit 130 (got {rc}: {err.strip()[-200:]})")
        if interrupted_ok(f, tag2):
            c.ok(attrs(f)["trials"] > first, f"{tag2}: more trials than the first stop "
                                              f"({attrs(f)['trials']} > {first})")
        run(["run", SMOKE, *SETS, "--resume", f, "--threads", 2, "--quiet"])
        identical(f, f"{tag}, resumed twice (3 then 2 threads)")
    else:
        run(["run", "--resume", f, "--threads", 2, "--quiet"])
        identical(f, f"{tag}, resumed on 2 threads")
    c.ok(run_status(f) == "complete" and not leftovers(f), f"{tag}: complete, nothing left beside it")
    os.remove(f)

# ---- SIGUSR1 (Slurm's warning): exit 75; resumed into another file ----
f, out = path("usr1.h5"), path("usr1-resumed.h5")
percent = rng.choice((10, 20, 30, 40, 50, 60, 70))
rc, err, t = stop(launch(f, 2), signal.SIGUSR1, percent)
tag = f"SIGUSR1 after {percent}% ({t:.2f} s)"
c.ok(rc == 75, f"{tag}: exit 75 (got {rc}: {err.strip()[-200:]})")
if interrupted_ok(f, tag):
    before = sha256(f)
    run(["run", "--resume", f, "--threads", 1, "-o", out, "--quiet"])
    identical(out, f"{tag}, resumed on 1 thread into -o OUT")
    c.ok(sha256(f) == before, f"{tag}: resuming into -o OUT leaves the interrupted file as it was")
for p in (f, out):
    if os.path.exists(p):
        os.remove(p)

# ---- SIGKILL of a run with --checkpoint-every 0.3 ----
for i in range(2):
    f = path(f"kill{i}.h5")
    percent = rng.choice((20, 30, 40, 50, 60))
    p = launch(f, 1, "--checkpoint-every", "0.3")
    # Killed once the first checkpoint has the final name.
    rc, _, t = stop(p, signal.SIGKILL, percent, until=lambda: os.path.exists(f))
    tag = f"SIGKILL after {percent}% ({t:.2f} s)"
    c.ok(rc == -signal.SIGKILL, f"{tag}: killed (got {rc})")
    if not c.ok(os.path.exists(f), f"{tag}: the final name holds a checkpoint"):
        continue
    try:
        a = attrs(f)
    except OSError as e:
        c.ok(False, f"{tag}: h5py opens the checkpoint ({e})")
        continue
    print(f"{tag}: the checkpoint holds {a['trials']} trials", flush=True)
    c.ok(a["status"] == "interrupted", f"{tag}: the checkpoint's run_status is {a['status']}")
    c.ok(0 < a["trials"] < N and a["trials"] % BLOCK == 0, f"{tag}: the checkpoint holds {a['trials']} "
                                                            f"trials, a whole number of blocks")
    c.ok(not a["rows"], f"{tag}: the checkpoint has no /trials rows")
    # The killed run's partial and lock stay (the partial is the user's; a
    # kill during a checkpoint also leaves that checkpoint's aside file,
    # FILE.partial.<pid>.<hex>.ckpt); none stops the resume, which must not
    # touch them.
    partials = glob.glob(glob.escape(f) + ".partial.*")
    c.ok(partials and all(f".partial.{p.pid}." in q for q in partials),
         f"{tag}: only the killed run's partial files are left ({partials})")
    kept = {q: sha256(q) for q in partials}
    if i == 0:
        cp = run(["summary", f])
        c.ok("warning" in cp.stderr and "not a complete run" in cp.stderr and cp.stdout.strip(),
             f"summary of a checkpoint: exit 0, a table and a warning ({cp.stderr.strip()[:160]})")
    run(["run", "--resume", f, "--threads", 2, "--quiet"])
    identical(f, f"{tag}, resumed on 2 threads")
    c.ok(all(os.path.exists(q) and sha256(q) == h for q, h in kept.items()),
         f"{tag}: the resume left the killed run's partial untouched")
    for q in [f] + leftovers(f):
        os.remove(q)
ref = None  # frees its memory

# ---- extend: 8192 + 12288 == 20480 in one run ----
run(["run", SMOKE, "-n", 20480, *SETS, "-o", path("n20480.h5"), "--quiet", "--threads", 1])
e = path("extend.h5")
run(["run", SMOKE, "-n", 8192, *SETS, "-o", e, "--quiet", "--threads", 2])
run(["extend", e, "-n", 12288, "--threads", 1, "--quiet"])
diff = differences(path("n20480.h5"), e)
c.ok(not diff, f"extend: 8192 + 12288 trials == 20480 in one run (differs: {diff[:6]})")
# Into another file: the original stays as it was.
before = sha256(e)
run(["run", SMOKE, "-n", 24576, *SETS, "-o", path("n24576.h5"), "--quiet", "--threads", 2])
run(["extend", e, "-n", 4096, "-o", path("extend2.h5"), "--threads", 2, "--quiet"])
diff = differences(path("n24576.h5"), path("extend2.h5"))
c.ok(not diff, f"extend -o OUT: 20480 + 4096 == 24576 in one run (differs: {diff[:6]})")
c.ok(sha256(e) == before, "extend -o OUT leaves FILE as it was")
# The comparison is not vacuous: one more block is a difference.
c.ok(len(differences(path("n20480.h5"), path("n24576.h5"))) > 5, "the comparison sees 4096 more trials")

# ---- refusals: exit 2, one line naming the problem, the file unchanged ----
# A small interrupted file (no per-trial rows) to doctor.
base = path("base.h5")
# Its first progress line (10%) would be hours away: stopped by the clock.
p = start(["run", SMOKE, "-n", "1e9", "-o", base, "--quiet", "--threads", 2])
time.sleep(0.3)
p.send_signal(signal.SIGTERM)
_, err = p.communicate(timeout=300)
rc = p.returncode
c.ok(rc == 130 and run_status(base) == "interrupted", f"an interrupted file to refuse ({rc})")


def doctored(name, edit):
    p = path(name)
    shutil.copy(base, p)
    with h5py.File(p, "r+") as f:
        edit(f)
    return p


def set_attr(key, value):
    def edit(f):
        f.attrs[key] = value
    return edit


def drop(name):
    def edit(f):
        del f[name]
    return edit


def bump_state_count(f):
    x = f["state/node_n"][()]
    x[0, 0] += 1
    f["state/node_n"][...] = x


def refused(p, needle, what, scen=SMOKE, extra=(), expect=2):
    """dealsim run [scen] --resume p extra...: refused, one line with needle, p unchanged."""
    before = sha256(p) if os.path.exists(p) else None
    cp = run(["run"] + ([scen] if scen else []) + ["--resume", p, *extra, "--quiet"], expect=None)
    lines = cp.stderr.strip().splitlines()
    # A usage error adds the conventional "Try 'dealsim run --help'." hint.
    lines = [l for l in lines if not l.startswith("Try 'dealsim")]
    c.ok(cp.returncode == expect, f"{what}: exit {expect} (got {cp.returncode})")
    c.ok(len(lines) == 1 and needle in lines[0], f"{what}: one line saying {needle!r}: {cp.stderr.strip()!r}")
    after = sha256(p) if os.path.exists(p) else None
    c.ok(after == before, f"{what}: {os.path.basename(p)} unchanged")
    c.ok(not leftovers(p), f"{what}: nothing left beside it ({leftovers(p)})")


other_program = path("other.h5")
with h5py.File(other_program, "w") as f:
    f["x"] = np.arange(3)
    f.attrs["run_status"] = "interrupted"
not_hdf5 = path("text.h5")
with open(not_hdf5, "w") as f:
    f.write("not a result file\n")
renamed_scenario = path("smoke-changed.yaml")
with open(SMOKE) as f:
    with open(renamed_scenario, "w") as g:
        changed = f.read().replace("  cap: 12 ", "  cap: 13 ")
        assert "cap: 13" in changed
        g.write(changed)

refused(path("n20480.h5"), "is complete", "a complete file")
refused(base, "seed", "another seed", scen=None, extra=["--seed", "7"])
refused(base, "another scenario", "another scenario", scen=scenario("openai-2026.yaml"))
refused(base, "another scenario", "a changed scenario of the same name", scen=renamed_scenario)
refused(base, "-n is not allowed", "-n with --resume", extra=["-n", "5000"])
refused(doctored("bs.h5", set_attr("block_size", np.uint64(2048))), "blocks of 2048",
        "another block size")
refused(doctored("fv.h5", set_attr("file_format_version", np.array([2, 2], dtype=np.int32))),
        "file_format_version 2.2", "another format version")
refused(path("missing.h5"), "No such file", "a missing file")
c.ok(not os.path.exists(path("missing.h5")), "a missing file is not created")
refused(not_hdf5, "not an HDF5 file", "a file that is not HDF5")
refused(other_program, "not a dealsim result file", "HDF5 of another program")
refused(doctored("nostate.h5", drop("state")), "/state", "a file without /state")
# A damaged /state: refused with exit 2 and one clean line naming the problem.
for name, edit, needle, what in (
        ("s-missing.h5", drop("state/node_mean"), "saved state cannot be used", "a /state dataset missing"),
        ("s-count.h5", bump_state_count, "saved state cannot be used", "a /state count that does not add up"),
        ("s-trials.h5", lambda f: f.attrs.modify("trials", np.uint64(int(f.attrs["trials"]) - BLOCK)),
         "damaged", "a trials attribute that /state contradicts")):
    refused(doctored(name, edit), needle, what)
c.done()
