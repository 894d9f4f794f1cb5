# tests/h5/test_hostile_files.py
# Every reader of result files (summary, compare, run --resume, extend) on
# damaged files: a valid file with bytes overwritten where HDF5 keeps its
# metadata (the superblock and object headers at the start, the heaps and
# B-trees written last), and truncated.  Each must end with exit 0, 1 or 2
# and a message, never a crash, a hang or a sanitizer report.  Mutants that
# crash are kept in the scratch directory (DS_KEEP_TMP=1) to become
# regression files.
# Licence: see LICENSE at the top of the repository.
import os
import random
import subprocess
import sys

from dstest import DEALSIM, SRC, tmpdir

MUTANTS = int(os.environ.get("DS_HOSTILE_MUTANTS", "60"))
TIMEOUT = 60  # seconds a command may take on a damaged file

d = tmpdir("dealsim-hostile-")
base = os.path.join(d, "base.h5")
subprocess.run([DEALSIM, "run", os.path.join(SRC, "configs", "smoke.yaml"), "-n", "5000",
                "--set", "output.per_trial=[total, closed]", "-o", base, "-q"], check=True)
data = open(base, "rb").read()
good = os.path.join(d, "good.h5")
with open(good, "wb") as f:
    f.write(data)
rng = random.Random(20261201)
failures = []
checks = 0


def mutate():
    b = bytearray(data)
    kind = rng.random()
    if kind < 0.25:
        return b[: rng.randrange(len(b))]                 # truncated
    # Where the metadata lives: the first 16 KiB and the last 64 KiB.
    lo = rng.random() < 0.5
    span = (0, min(16384, len(b))) if lo else (max(0, len(b) - 65536), len(b))
    for _ in range(rng.randint(1, 12)):
        p = rng.randrange(*span)
        n = rng.choice((1, 1, 2, 4, 8, 16))
        b[p:p + n] = bytes(rng.randrange(256) for _ in range(n))
    return b


for i in range(MUTANTS):
    m = os.path.join(d, f"m{i}.h5")
    with open(m, "wb") as f:
        f.write(mutate())
    out = os.path.join(d, "out.h5")
    for cmd in (["summary", m], ["summary", m, "--json"], ["compare", good, m],
                ["run", "--resume", m, "-o", out, "--force", "-q"],
                ["extend", m, "-n", "4096", "-o", out, "--force", "-q"]):
        checks += 1
        try:
            cp = subprocess.run([DEALSIM] + cmd, capture_output=True, text=True, timeout=TIMEOUT)
            rc = cp.returncode
            err = cp.stderr
        except subprocess.TimeoutExpired:
            rc, err = "timeout", ""
        sanitizer = "Sanitizer" in err or "runtime error" in err
        if rc not in (0, 1, 2) or sanitizer or (rc in (1, 2) and not err.strip()):
            failures.append(f"mutant {i} ({m}): dealsim {' '.join(cmd[:1])}: exit {rc}: {err.strip()[-300:]}")
            print("FAIL:", failures[-1])
    if not os.environ.get("DS_KEEP_TMP") and not any(f"mutant {i} " in x for x in failures):
        os.remove(m)

print(f"{checks - len(failures)} passed, {len(failures)} failed")
sys.exit(1 if failures else 0)
