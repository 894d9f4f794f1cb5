# tests/cli/test_output_safety.py
# The result file cannot be damaged or misdirected: two concurrent runs on one
# output (with and without HDF5's own locking), symlinks planted at the output
# and at the old partial name, device/directory/fifo/dangling targets, parents
# that are files or read-only, overwrite without --force, a failed write that
# must leave nothing behind (created directories included).  Real processes.
# Licence: see LICENSE at the top of the repository.
import glob
import os
import shutil
import stat
import subprocess
import time

import h5py

from dstest import DEALSIM, Checker, differences, leftovers, run, scenario, small_file_limit, tmpdir

c = Checker()
d = tmpdir()
smoke = scenario("smoke.yaml")
# A refusal must come before the first trial: with this many trials a run
# that started would take hours, so a quick exit proves the order.
HUGE = "1e12"
FAST_S = 5.0  # generous for a loaded 2-core machine; a refusal takes ~50 ms


def refused(args, needle, what, env=None):
    t0 = time.monotonic()
    cp = run(["run", smoke, "-n", HUGE, "--quiet"] + args, expect=2, env=env)
    dt = time.monotonic() - t0
    c.ok(dt < FAST_S, f"{what}: refused before the first trial ({dt:.2f} s)")
    c.ok(needle in cp.stderr, f"{what}: message says {needle!r}: {cp.stderr.strip()[:200]}")
    return cp


# --- two concurrent runs on one output: one wins, the other exits 2 at once.
race_args = ["-n", "1500000", "--threads", "1", "--quiet", "--set", "output.per_trial=true"]
solo = os.path.join(d, "solo.h5")
run(["run", smoke, "-o", solo] + race_args)
for locking in (None, "FALSE"):
    env = dict(os.environ)
    if locking:
        env["HDF5_USE_FILE_LOCKING"] = locking
    tag = f"HDF5_USE_FILE_LOCKING={locking or 'default'}"
    out = os.path.join(d, f"race-{locking or 'default'}.h5")
    first = subprocess.Popen([DEALSIM, "run", smoke, "-o", out] + race_args, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while not glob.glob(glob.escape(out) + ".partial.*") and time.monotonic() < deadline \
            and first.poll() is None:
        time.sleep(0.01)
    started = first.poll() is None
    t0 = time.monotonic()
    second = subprocess.run([DEALSIM, "run", smoke, "-o", out] + race_args, env=env,
                            capture_output=True, text=True)
    dt = time.monotonic() - t0
    fo, fe = first.communicate()
    c.ok(started, f"{tag}: the first run was still running when the second started")
    c.ok(first.returncode == 0, f"{tag}: the first run succeeds ({first.returncode}: {fe.strip()[:200]})")
    c.ok(second.returncode == 2, f"{tag}: the second exits 2 ({second.returncode}: {second.stderr.strip()[:200]})")
    c.ok(dt < FAST_S, f"{tag}: the second is refused at once ({dt:.2f} s)")
    c.ok("another run" in second.stderr and ".partial." in second.stderr,
         f"{tag}: the refusal names the other run's file: {second.stderr.strip()[:200]}")
    diff = differences(out, solo)
    c.ok(diff == [], f"{tag}: the surviving file equals a solo run (differing: {diff})")
    c.ok(leftovers(out) == [], f"{tag}: no partial or lock left: {leftovers(out)}")

# --- a run killed outright (SIGKILL: no cleanup) leaves its partial and the
# lock file; neither blocks the next run, which never touches that partial.
out = os.path.join(d, "killed.h5")
victim_run = subprocess.Popen([DEALSIM, "run", smoke, "-o", out] + race_args,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
deadline = time.monotonic() + 30
while not glob.glob(glob.escape(out) + ".partial.*") and time.monotonic() < deadline:
    time.sleep(0.01)
victim_run.kill()
victim_run.wait()
left = glob.glob(glob.escape(out) + ".partial.*")
c.ok(len(left) == 1 and os.path.exists(out + ".lock"), f"a killed run leaves its partial and lock: {leftovers(out)}")
size = os.path.getsize(left[0]) if left else -1
t0 = time.monotonic()
run(["run", smoke, "-o", out, "-n", "2000", "--quiet"])
c.ok(h5py.is_hdf5(out), "the next run succeeds despite the killed run's leftovers")
c.ok(left and os.path.exists(left[0]) and os.path.getsize(left[0]) == size,
     "the killed run's partial is left as it was")
c.ok(not os.path.exists(out + ".lock"), "the lock file is removed by the run that took it")

# --- symlinks.
victim = os.path.join(d, "victim.txt")
precious = b"precious, not a result file\n"
with open(victim, "wb") as f:
    f.write(precious)
# At the name older versions wrote to (and any name another run might guess):
# never followed, never removed.
out = os.path.join(d, "planted.h5")
os.symlink(victim, out + ".partial")
stale = out + ".partial.1.0123456789abcdef"  # a killed run's leftover
with open(stale, "wb") as f:
    f.write(precious)
run(["run", smoke, "-n", "2000", "--quiet", "-o", out])
c.ok(open(victim, "rb").read() == precious, "symlink at OUT.partial: its target untouched")
c.ok(os.path.islink(out + ".partial"), "symlink at OUT.partial: left alone")
c.ok(open(stale, "rb").read() == precious, "another run's partial file is left alone")
c.ok(h5py.is_hdf5(out), "the output is written beside them")
# At the output itself: refused without --force; with it the link is replaced,
# its target never written through.
out = os.path.join(d, "link.h5")
os.symlink(victim, out)
refused(["-o", out], "--force", "symlink at the output without --force")
run(["run", smoke, "-n", "2000", "--quiet", "-o", out, "--force"])
c.ok(open(victim, "rb").read() == precious, "symlink at the output: its target untouched")
c.ok(not os.path.islink(out) and h5py.is_hdf5(out), "symlink at the output: replaced by the file")

# --- targets that are not regular files: exit 2 before the first trial, nothing created.
dev_before = os.stat("/dev/null")
refused(["-o", "/dev/null", "--force"], "character device", "-o /dev/null --force")
dev_after = os.lstat("/dev/null")
c.ok(stat.S_ISCHR(dev_after.st_mode) and dev_after.st_rdev == dev_before.st_rdev, "/dev/null is still the device")
c.ok(leftovers("/dev/null") == [], "nothing created in /dev")

existing_dir = os.path.join(d, "existing_dir")
os.mkdir(existing_dir)
refused(["-o", existing_dir, "--force"], "directory", "-o existing_dir --force")
refused(["-o", existing_dir], "directory", "-o existing_dir")
c.ok(os.listdir(existing_dir) == [] and leftovers(existing_dir) == [], "existing_dir: nothing created")

newdir = os.path.join(d, "newdir")
refused(["-o", newdir + "/"], "directory", "-o dir/")
c.ok(not os.path.exists(newdir), "-o dir/: the directory is not created")

os.symlink(existing_dir, os.path.join(d, "dirlink"))
refused(["-o", os.path.join(d, "dirlink"), "--force"], "symbolic link to a directory", "symlink to a directory")
os.symlink(os.path.join(d, "nowhere"), os.path.join(d, "dangling"))
refused(["-o", os.path.join(d, "dangling"), "--force"], "symbolic link", "dangling symlink")
c.ok(not os.path.exists(os.path.join(d, "nowhere")), "dangling symlink: its target is not created")
fifo = os.path.join(d, "fifo")
os.mkfifo(fifo)
refused(["-o", fifo, "--force"], "fifo", "a fifo")

plain = os.path.join(d, "plain")
with open(plain, "wb") as f:
    f.write(precious)
refused(["-o", os.path.join(plain, "sub", "x.h5")], "not a directory", "a parent that is a file")
c.ok(open(plain, "rb").read() == precious, "a parent that is a file: untouched")

# A read-only directory: root ignores permissions, so that case runs as nobody.
ro = os.path.join(d, "ro")
os.mkdir(ro)
os.chmod(d, 0o755)
os.chmod(ro, 0o555)
if os.geteuid() == 0:
    setpriv = shutil.which("setpriv")
    if setpriv:
        t0 = time.monotonic()
        cp = subprocess.run([setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", DEALSIM, "run", smoke,
                             "-n", HUGE, "--quiet", "-o", os.path.join(ro, "sub", "x.h5")],
                            capture_output=True, text=True)
        dt = time.monotonic() - t0
        if cp.returncode in (126, 127) or "failed to execute" in cp.stderr or "cannot open the scenario" in cp.stderr:
            print(f"skipped: nobody cannot reach the program or the scenario: {cp.stderr.strip()[:160]}")
        else:
            c.ok(cp.returncode == 2 and dt < FAST_S and "cannot create directories" in cp.stderr,
                 f"read-only directory (as nobody): exit 2 fast ({cp.returncode}, {dt:.2f} s): {cp.stderr.strip()[:200]}")
    else:
        print("skipped: read-only directory (running as root without setpriv)")
else:
    refused(["-o", os.path.join(ro, "x.h5")], "not writable", "a read-only directory")
    refused(["-o", os.path.join(ro, "sub", "x.h5")], "cannot create directories", "under a read-only directory")
c.ok(os.listdir(ro) == [], "read-only directory: nothing created")
os.chmod(ro, 0o755)

# --- overwrite without --force: a usage error, exit 2, the file untouched.
out = os.path.join(d, "kept.h5")
run(["run", smoke, "-n", "2000", "--quiet", "-o", out])
before = open(out, "rb").read()
refused(["-o", out], "--force", "overwrite without --force")
c.ok(open(out, "rb").read() == before and leftovers(out) == [], "overwrite without --force: untouched")

# --- a write that fails mid-run (a file size limit stands in for a full disk)
# leaves nothing: no file, no partial, no lock, no directories it created.


top = os.path.join(d, "made")
full = os.path.join(top, "by", "run", "full.h5")
cp = subprocess.run([DEALSIM, "run", smoke, "-n", "2000000", "-o", full, "--quiet",
                     "--set", "output.per_trial=true"], capture_output=True, text=True,
                    preexec_fn=small_file_limit)
c.ok(cp.returncode == 1, f"a failed write exits 1 ({cp.returncode}: {cp.stderr.strip()[:200]})")
c.ok(not os.path.exists(top), f"a failed run removes the directories it created: {os.listdir(d)}")
c.done()
