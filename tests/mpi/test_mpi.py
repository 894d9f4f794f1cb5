# tests/mpi/test_mpi.py
# MPI runs (issue "Cluster scale" 3, 4): the MPI build's file is the serial
# build's for every rank and thread count; errors are reported once and end
# every rank; a dead rank ends the job; an interrupted MPI run resumes on
# another rank count to the same bits.
# Licence: see LICENSE at the top of the repository.
import os
import signal
import subprocess
import sys
import time

import h5py

from dstest import DEALSIM, SRC, Checker, differences, scenario, tmpdir

MPI_DEALSIM = os.environ["DS_MPI_DEALSIM"]
MPIRUN = ["mpirun", "--oversubscribe", "--allow-run-as-root"]
LIMIT = 120  # seconds: no MPI run here may take longer (a hang fails the test)


def build_differences(p, q):
    """differences() between the serial and the MPI build's files; git_commit
    is left out: the two builds may have been configured at different
    commits (it is provenance of the program, not of the results)."""
    return [k for k in differences(p, q) if k != "@git_commit"]


def mpirun(np_, threads, args, expect=0, env=None):
    e = dict(os.environ, OMP_NUM_THREADS=str(threads))
    if env:
        e.update(env)
    cmd = MPIRUN + ["-np", str(np_), "-x", "OMP_NUM_THREADS", MPI_DEALSIM] + args
    cp = subprocess.run(cmd, capture_output=True, text=True, env=e, timeout=LIMIT)
    if expect is not None and cp.returncode != expect:
        sys.stderr.write(cp.stdout + cp.stderr)
        raise AssertionError(f"{' '.join(cmd)}: exit {cp.returncode}, expected {expect}")
    return cp


c = Checker()
d = tmpdir()
sets = ["--set", "output.per_trial=true", "--set", "output.price_paths=true"]
inputs = ["--set", "output.per_trial_inputs=true"]
smoke = scenario("smoke.yaml")
serial = os.path.join(d, "serial.h5")
subprocess.run([DEALSIM, "run", smoke, "-n", "43000", *sets, *inputs, "-o", serial, "-q"], check=True)

# 1. Every rank and thread count gives the serial file (43000 trials: 10 blocks
# and a partial one, so the last rank's share ends inside a block).
for np_ in (1, 2, 3):
    for t in (1, 2):
        out = os.path.join(d, f"r{np_}t{t}.h5")
        mpirun(np_, t, ["run", smoke, "-n", "43000", *sets, *inputs, "-o", out, "-q"])
        diff = build_differences(serial, out)
        c.ok(not diff, f"{np_} ranks x {t} threads: bit-identical to the serial build (differs: {diff[:5]})")
        with h5py.File(out, "r") as f:
            c.ok(int(f.attrs["mpi_ranks"]) == np_, f"{np_} ranks: mpi_ranks = {f.attrs['mpi_ranks']}")
        c.ok(not [n for n in os.listdir(d) if ".partial" in n or n.endswith(".lock")],
             f"{np_} ranks x {t} threads: no partial or lock file left")

# Latin hypercube sampling: the block spreads (and the stratified inputs)
# give the serial file's bits on any rank count too.
lhs = ["--sampling", "latin_hypercube"]
lhs_serial = os.path.join(d, "lhs-serial.h5")
subprocess.run([DEALSIM, "run", smoke, "-n", "43000", *lhs, *sets, "-o", lhs_serial, "-q"], check=True)
for np_ in (2, 3):
    out = os.path.join(d, f"lhs-r{np_}.h5")
    mpirun(np_, 1, ["run", smoke, "-n", "43000", *lhs, *sets, "-o", out, "-q"])
    diff = build_differences(lhs_serial, out)
    c.ok(not diff, f"LHS, {np_} ranks: bit-identical to the serial build (differs: {diff[:5]})")

# Both MPI-IO layers of Open MPI 4.1 (ompio, the default, and ROMIO: the
# known risks of issue "Cluster scale" 3 are one hang and one crash, one in
# each) write the same file.
for io in ("ompio", "romio321"):
    out = os.path.join(d, f"io-{io}.h5")
    e = dict(os.environ, OMP_NUM_THREADS="1")
    cp = subprocess.run(MPIRUN + ["--mca", "io", io, "-np", "3", "-x", "OMP_NUM_THREADS", MPI_DEALSIM,
                                  "run", smoke, "-n", "43000", *sets, *inputs, "-o", out, "-q"],
                        capture_output=True, text=True, env=e, timeout=LIMIT)
    c.ok(cp.returncode == 0, f"MPI-IO {io}: exit {cp.returncode} {cp.stderr.strip()[-200:]}")
    if cp.returncode == 0:
        diff = build_differences(serial, out)
        c.ok(not diff, f"MPI-IO {io}, 3 ranks: bit-identical to the serial build (differs: {diff[:5]})")

# /inputs alone (output.per_trial_inputs without /trials): 2 ranks write it
# as the serial build does; compression is refused with ranks as for /trials.
only = ["--set", "output.per_trial=false", *inputs]
ref = os.path.join(d, "inputs-serial.h5")
subprocess.run([DEALSIM, "run", smoke, "-n", "43000", *only, "-o", ref, "-q"], check=True)
out = os.path.join(d, "inputs-r2.h5")
mpirun(2, 2, ["run", smoke, "-n", "43000", *only, "-o", out, "-q"])
diff = build_differences(ref, out)
with h5py.File(out, "r") as f:
    c.ok("inputs" in f and "trials" not in f and f["inputs/value"].shape[0] == 43000,
         "2 ranks, per_trial_inputs only: /inputs with 43000 rows, no /trials")
c.ok(not diff, f"/inputs alone, 2 ranks x 2 threads: bit-identical to the serial build (differs: {diff[:5]})")
cp = mpirun(2, 1, ["run", smoke, "-n", "43000", *only, "--set", "output.compression=deflate",
                   "-o", os.path.join(d, "inputs-z.h5"), "-q"], expect=2)
c.ok("compression" in cp.stderr and not os.path.exists(os.path.join(d, "inputs-z.h5")),
     f"/inputs with compression on 2 ranks: refused, no file ({cp.stderr.strip()[-160:]})")

# Without per-trial data, with the openai scenario (three investors, tranches).
ref = os.path.join(d, "oa-serial.h5")
subprocess.run([DEALSIM, "run", scenario("openai-2026.yaml"), "-n", "50000", "-o", ref, "-q"],
               check=True)
out = os.path.join(d, "oa-r3.h5")
mpirun(3, 1, ["run", scenario("openai-2026.yaml"), "-n", "50000", "-o", out, "-q"])
diff = build_differences(ref, out)
c.ok(not diff, f"openai-2026, 3 ranks: bit-identical (differs: {diff[:5]})")

# The summary table comes from rank 0 only.
cp = mpirun(3, 1, ["run", smoke, "-n", "20000", "-o", os.path.join(d, "table.h5")])
c.ok(cp.stdout.count("dealsim 0.") == 1 and cp.stdout.count("P(target_met)") == 1,
     "3 ranks: one summary table on stdout")

# 2. Errors are reported once and end every rank with the same exit code.
bad = os.path.join(SRC, "tests", "data", "bad", "misspelt_key.yaml")
cp = mpirun(3, 1, ["run", bad, "-o", os.path.join(d, "bad.h5")], expect=2)
c.ok((cp.stderr + cp.stdout).count("error:") == 1,
     f"a bad scenario on 3 ranks: one error message, exit 2 ({(cp.stderr + cp.stdout).count('error:')} seen)")
c.ok(not os.path.exists(os.path.join(d, "bad.h5")), "a bad scenario: no file")
# A scenario that differs between ranks (an MPMD launch: rank 1 another seed).
e = dict(os.environ, OMP_NUM_THREADS="1")
cmd = MPIRUN + ["-np", "1", MPI_DEALSIM, "run", smoke, "-n", "20000", "-o", os.path.join(d, "x.h5"),
                ":", "-np", "1", MPI_DEALSIM, "run", smoke, "-n", "20000", "--seed", "7",
                "-o", os.path.join(d, "x.h5")]
cp = subprocess.run(cmd, capture_output=True, text=True, env=e, timeout=LIMIT)
c.ok(cp.returncode == 2 and "differs from rank 0" in cp.stderr,
     f"another scenario on rank 1: exit 2 with a message (exit {cp.returncode}: {cp.stderr.strip()[:200]})")
c.ok(not os.path.exists(os.path.join(d, "x.h5")), "differing scenarios: no file")
# An output directory that one rank does not see: each rank in its own working
# directory, the output path relative (the same text, another directory).
wa, wb = os.path.join(d, "node-a"), os.path.join(d, "node-b")
os.makedirs(os.path.join(wa, "res"))
os.makedirs(os.path.join(wb, "res"))
cmd = MPIRUN + ["-np", "1", "--wdir", wa, MPI_DEALSIM, "run", smoke, "-n", "20000", *sets,
                "-o", "res/o.h5", ":", "-np", "1", "--wdir", wb, MPI_DEALSIM, "run", smoke,
                "-n", "20000", *sets, "-o", "res/o.h5"]
cp = subprocess.run(cmd, capture_output=True, text=True, env=e, timeout=LIMIT)
c.ok(cp.returncode == 2 and "cannot see" in cp.stderr,
     f"an output directory rank 1 cannot see: exit 2 with a message (exit {cp.returncode}: {cp.stderr.strip()[:200]})")
c.ok(not os.listdir(os.path.join(wa, "res")), "an unseen output: rank 0 leaves nothing behind")

# 3. A rank that dies ends the job (mpirun), never a hang.
dead = os.path.join(d, "dead.h5")
p = subprocess.Popen(MPIRUN + ["-np", "2", "-x", "OMP_NUM_THREADS", MPI_DEALSIM, "run", smoke,
                               "-n", "1e9", "-o", dead, "-q"],
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=e, text=True)
time.sleep(2.0)
ranks = subprocess.run(["pgrep", "-f", f"^{MPI_DEALSIM} run {smoke} -n 1e9 -o {dead}"],
                       capture_output=True, text=True).stdout.split()
c.ok(len(ranks) == 2, f"two ranks running ({ranks})")
if ranks:
    os.kill(int(ranks[-1]), signal.SIGKILL)
t0 = time.time()
try:
    p.communicate(timeout=60)
    c.ok(p.returncode != 0, f"a killed rank: the job ends with exit {p.returncode} after {time.time() - t0:.1f} s")
except subprocess.TimeoutExpired:
    p.kill()
    c.ok(False, "a killed rank: the job hung")
c.ok(not os.path.exists(dead), "a killed rank: no result file under the final name")

# 4. Interrupted on 2 ranks (SIGUSR1, which mpirun forwards to every rank at
# slightly different times), resumed on 3 ranks x 2 threads: the serial bits.
big = ["run", smoke, "-n", "6000000", *sets]
full = os.path.join(d, "big-serial.h5")
subprocess.run([DEALSIM] + big + ["-o", full, "-q"], check=True)
part = os.path.join(d, "big-mpi.h5")
p = subprocess.Popen(MPIRUN + ["-np", "2", "-x", "OMP_NUM_THREADS", MPI_DEALSIM] + big +
                     ["-o", part, "-q", "--checkpoint-every", "0.3"],
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=e, text=True)
time.sleep(2.0)
p.send_signal(signal.SIGUSR1)
out, err = p.communicate(timeout=LIMIT)
c.ok(p.returncode == 75, f"SIGUSR1 on 2 ranks: exit 75 ({p.returncode}; {err.strip()[-200:]})")
with h5py.File(part, "r") as f:
    n = int(f.attrs["trials"])
    c.ok(f.attrs["run_status"] == "interrupted" and 0 < n < 6000000 and n % 4096 == 0,
         f"the interrupted file holds a whole number of blocks ({n})")
mpirun(3, 2, ["run", "--resume", part, "-q"])
diff = build_differences(full, part)
c.ok(not diff, f"resumed on 3 ranks x 2 threads: bit-identical to the serial run (differs: {diff[:5]})")
c.done()
