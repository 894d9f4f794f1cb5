# tests/cli/test_memory_fit.py
# A run whose memory bound (stats.h ds_stats_memory_bound, printed by
# `check`) does not fit what the machine has lowers its thread count and
# says so, or is refused with exit 2 before anything is created.
# DEALSIM_MEMORY_MIB stands in for the machine's MemAvailable.
# Licence: see LICENSE at the top of the repository.
import os

import h5py

from dstest import Checker, run, scenario, tmpdir

c = Checker()
d = tmpdir()
oa = scenario("openai-2026.yaml")
out = os.path.join(d, "fit.h5")
cp = run(["run", oa, "-n", "20000", "--threads", "64", "-o", out, "-q"],
         env={"DEALSIM_MEMORY_MIB": "120"})
c.ok("64 threads would need more memory" in cp.stderr, f"a note says the threads were lowered ({cp.stderr.strip()})")
with h5py.File(out, "r") as f:
    t = int(f.attrs["threads"])
    c.ok(1 <= t < 64, f"the run used fewer threads ({t})")
ref = os.path.join(d, "ref.h5")
run(["run", oa, "-n", "20000", "--threads", "1", "-o", ref, "-q"])
from dstest import differences  # noqa: E402
c.ok(not differences(out, ref), "the lowered run gives the same bits")
small = os.path.join(d, "small", "no.h5")
cp = run(["run", oa, "-n", "20000", "-o", small, "-q"], expect=2, env={"DEALSIM_MEMORY_MIB": "10"})
c.ok("MiB are available" in cp.stderr, f"too little memory: exit 2 with a message ({cp.stderr.strip()})")
c.ok(not os.path.exists(os.path.dirname(small)), "too little memory: nothing created")
c.done()
