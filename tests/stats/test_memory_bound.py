# tests/stats/test_memory_bound.py
# Memory and file size are bounded whatever the trials (stats.h, "Memory
# bound"): 64 independent investors at 2e5 and 4e5 trials (nearly every
# trial a new coalition) give the same peak RSS and file size; a 600-month
# path of volatility 2 (the widest the loader accepts over 600 months) stays
# under the bound `dealsim check` prints.
# Licence: see LICENSE at the top of the repository.
import os
import re
import shutil
import subprocess
import sys
import tempfile

DEALSIM = os.environ["DEALSIM"]
SRC = os.environ["DS_SOURCE_DIR"]
MIB = 1024.0 * 1024.0
# What is not summaries or blocks: the program, libc, OpenMP, the HDF5
# library and its caches (measured about 10 MiB; a margin on top).
OVERHEAD = 32 * MIB
failures = []


def check(cond, what):
    print(("ok:   " if cond else "FAIL: ") + what, flush=True)
    if not cond:
        failures.append(what)


def run_rss(args):
    """Runs dealsim; returns its own peak RSS in bytes (wait4, this child only)."""
    p = subprocess.Popen([DEALSIM] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = p.stdout.read(), p.stderr.read()
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        sys.stderr.write(out.decode() + err.decode())
        raise AssertionError("dealsim %s: exit %d" % (" ".join(args), p.returncode))
    return ru.ru_maxrss * 1024  # KiB on Linux


def bound(scen, sets, threads):
    """(total, file_state) in bytes from the Memory line of `dealsim check`."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    out = subprocess.run([DEALSIM, "check", scen] + sets, capture_output=True, text=True,
                         env=env, check=True).stdout
    m = re.search(r"Memory: at most ([\d.]+) MiB a thread \+ ([\d.]+) MiB shared = ([\d.]+) MiB "
                  r"with (\d+) threads?.*at most ([\d.]+) MiB", out)
    check(m is not None and int(m.group(4)) == threads, "check prints the memory bound")
    return float(m.group(3)) * MIB, float(m.group(5)) * MIB


d = tempfile.mkdtemp(prefix="dealsim-mem-")
try:
    s64 = os.path.join(SRC, "tests", "data", "good", "sixty_four_investors.yaml")
    rss, size = {}, {}
    # 48 and 96 whole blocks: the same binary decomposition (2 forest nodes,
    # no tail), so only growth with trials is measured -- /state holds one
    # row per forest node (at most 65), each with its sensitivity records.
    for n in (196608, 393216):
        out = os.path.join(d, "s64_%d.h5" % n)
        rss[n] = run_rss(["run", s64, "-n", str(n), "-o", out, "--force", "--quiet",
                          "--threads", "1"])
        size[n] = os.path.getsize(out)
        print("64 investors, %d trials: peak RSS %.1f MiB, file %.2f MiB"
              % (n, rss[n] / MIB, size[n] / MIB))
    # A forest node's sensitivity records (stats.h: K inputs x O outputs x
    # (6 + 2 bins) doubles) may add per doubling of the trials: the forest
    # holds up to one node a level more, and the allocator keeps some freed
    # nodes; bounded by 64 levels, so logarithmic, not linear, in trials.
    import h5py
    with h5py.File(out, "r") as f:
        node = 0  # no /sensitivity unless output.sensitivity is on
        if "sensitivity" in f:
            g = f["sensitivity"]
            node = g["input"].shape[0] * g["output"].shape[0] * (6 + 2 * g["bin"].shape[0]) * 8
    check(rss[393216] <= rss[196608] * 1.03 + 1 * MIB + 6 * node,
          "RSS does not grow with trials (beyond %.1f MiB of sensitivity nodes a doubling)"
          % (6 * node / MIB))
    check(size[393216] <= size[196608] * 1.01, "file size does not grow with trials")
    total, fstate = bound(s64, [], 1)
    check(rss[393216] <= total + OVERHEAD,
          "RSS %.1f MiB within the bound %.1f MiB + overhead" % (rss[393216] / MIB, total / MIB))
    check(size[393216] <= fstate + 4 * MIB, "file within the summaries' bound")

    smoke = os.path.join(SRC, "configs", "smoke.yaml")
    sets = ["--set", "compute.horizon_months=600", "--set", "compute.price.volatility=2",
            "--set", "compute.price.drift=0", "--set", "compute.price.jumps.rate=0",
            "--set", "output.per_trial=false"]
    out = os.path.join(d, "wide.h5")
    r = run_rss(["run", smoke, *sets, "-n", "8192", "-o", out, "--force", "--quiet",
                 "--threads", "2"])
    total, fstate = bound(smoke, sets, 2)
    sz = os.path.getsize(out)
    print("600 months, volatility 2, 8192 trials, 2 threads: peak RSS %.1f MiB (bound %.1f), "
          "file %.1f MiB (bound %.1f)" % (r / MIB, total / MIB, sz / MIB, fstate / MIB))
    check(r <= total + OVERHEAD, "600 months: RSS within the bound")
    check(sz <= fstate + 4 * MIB, "600 months: file within the bound")
finally:
    shutil.rmtree(d, ignore_errors=True)
if failures:
    print("%d checks failed" % len(failures))
    sys.exit(1)
print("all checks passed")
