# tests/slurm/test_slurm.py
# Brings up a real one-node Slurm cluster (munge + slurmctld + slurmd, all in a
# temporary directory), submits scripts/slurm/dealsim.sbatch, sends it the
# wall-time signal, checks the requeue and the restart, and compares the result
# with a plain run.  Licence: see LICENSE at the top of the repository.
#
# Needs root and Debian's slurm-wlm and munge (scripts/dev installs them).
# Never touches /etc/slurm or /etc/munge; every daemon is started here and
# stopped here by its PID, also when a check fails.  DS_KEEP_TMP=1 keeps the
# directory (configuration, daemon logs, job output).
import ctypes
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

import h5py

from dstest import SRC, Checker, contents, differences, run_status, tmpdir

SBATCH_SCRIPT = os.path.join(SRC, "scripts", "slurm", "dealsim.sbatch")

# ---- the switches the lead flips when the MPI and checkpoint builds land -------
# EXPECT_RESUME: the job is stopped with USR1 (checkpoint, exit 75), requeued,
# resumed with `dealsim run --resume`, and must finish bit-identical to a
# plain run.  False keeps the older TERM path (interrupted, exit 130).
EXPECT_RESUME = True
# MPI_BIN: the MPI build (DS_MPI_DEALSIM, which scripts/dev test sets) runs the
# job as 2 ranks x 1 thread through "srun --mpi=pmix" (this cluster's
# MpiDefault is none); without it the serial binary runs as 1 rank x 2 threads.
MPI_BIN = os.environ.get("DS_MPI_DEALSIM") or None
if MPI_BIN:
    DEALSIM_BIN, LAUNCH, RANKS, THREADS = MPI_BIN, "srun --mpi=pmix", 2, 1
else:
    DEALSIM_BIN, LAUNCH, RANKS, THREADS = os.environ["DEALSIM"], "srun", 1, 2
# DS_SLURM_LAUNCH overrides the launcher, to try another (e.g. "mpirun --allow-run-as-root").
LAUNCH = os.environ.get("DS_SLURM_LAUNCH", LAUNCH)
# Sized so that the whole job takes ~10-45 s on 2 cores (loaded or not).
SCENARIO = os.path.join(SRC, "configs", "smoke.yaml")
TRIALS = "2e7"
RUN_OPTS = ["-n", TRIALS, "--seed", "7", "--set", "output.per_trial=false"]
# The USR1 goes out once the job's log shows this much progress (dealsim
# prints a progress line every 10%), so that it lands mid-run on a fast
# machine as on a slow one.
SIGNAL_AT_PERCENT = 20
STEP_TIMEOUT_S = 120    # any single wait below
# The whole test gives up after this long, well inside ctest's TIMEOUT (600),
# so that it still stops its daemons and prints their logs.
DEADLINE = time.time() + 480
DONE_STATES = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY",
               "BOOT_FAIL", "DEADLINE", "PREEMPTED"}

checker = Checker(verbose=True)
check, failures = checker.ok, checker.failures


def free_port(taken):
    """A random TCP port in a high range that nothing listens on (so that two
    copies of this test, or a real Slurm, cannot clash)."""
    for _ in range(200):
        port = random.randint(20000, 59999)
        if port in taken:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("", port))
            except OSError:
                continue
        taken.add(port)
        return port
    raise RuntimeError("no free port found")


# The reaper: a detached process (child of init, so that neither ctest's
# kill of the test's process tree nor a SIGKILL reaches it) that waits for the
# test to end and then kills whatever still carries this cluster's SLURM_CONF
# (slurmstepd and the job's processes are not the test's children).  The test
# stops it by its PID when it has cleaned up itself.
REAPER = r"""
import os, signal, sys, time
test_pid, conf = int(sys.argv[1]), sys.argv[2]
if os.fork():
    os._exit(0)
print(os.getpid(), flush=True)
os.close(1)   # the test reads up to end of file
mark = ("SLURM_CONF=" + conf).encode()
while True:
    try:
        os.kill(test_pid, 0)
    except ProcessLookupError:
        break
    time.sleep(1)
for e in os.listdir("/proc"):
    if e.isdigit() and int(e) != os.getpid():
        try:
            with open("/proc/%s/environ" % e, "rb") as f:
                if mark in f.read().split(b"\0"):
                    os.kill(int(e), signal.SIGKILL)
        except OSError:
            pass
"""


class Cluster:
    """A one-node Slurm cluster in directory d; start() then stop() (always)."""

    def __init__(self, d):
        self.d = d
        self.host = socket.gethostname().split(".")[0]
        self.conf = os.path.join(d, "slurm.conf")
        self.munge_socket = os.path.join(d, "munge", "munge.socket")
        self.procs = {}      # name -> Popen
        self.reaper = None   # PID of the reaper process
        self.env = dict(os.environ, SLURM_CONF=self.conf)
        for k in list(self.env):
            # A surrounding job's variables would confuse sbatch and srun.
            if k.startswith("SLURM_") and k != "SLURM_CONF":
                del self.env[k]

    def path(self, *p):
        return os.path.join(self.d, *p)

    def cmd(self, *args, timeout=30, check_rc=True):
        cp = subprocess.run(list(args), env=self.env, capture_output=True, text=True, timeout=timeout)
        if check_rc and cp.returncode != 0:
            raise RuntimeError(f"{' '.join(args)}: exit {cp.returncode}: {cp.stdout}{cp.stderr}")
        return cp.stdout

    def start_daemon(self, name, args):
        # Foreground daemons (-D, --foreground) are this process's children,
        # so their PIDs are known; PR_SET_PDEATHSIG takes them down even if
        # the test itself is killed (SIGKILL at ctest's timeout skips finally).
        def die_with_parent():
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGTERM, 0, 0, 0)   # PR_SET_PDEATHSIG = 1
        logf = open(self.path(name + ".stdout"), "w")
        self.procs[name] = subprocess.Popen(args, env=self.env, stdout=logf, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, preexec_fn=die_with_parent)
        logf.close()

    def start(self):
        for sub in ("munge", "state", "spool", "log"):
            os.makedirs(self.path(sub), mode=0o700)
        r = subprocess.run([sys.executable, "-c", REAPER, str(os.getpid()), self.conf],
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                           text=True, timeout=30, start_new_session=True, check=True)
        self.reaper = int(r.stdout.split()[0])
        # munge: a fresh key, everything under d.
        key = self.path("munge", "munge.key")
        subprocess.run(["mungekey", "--create", "--keyfile", key], check=True, timeout=30)
        os.chmod(key, 0o600)
        self.start_daemon("munged", [
            "munged", "--foreground", "--force", "--key-file", key, "--socket", self.munge_socket,
            "--pid-file", self.path("munge", "munged.pid"), "--log-file", self.path("log", "munged.log"),
            "--seed-file", self.path("munge", "munged.seed")])
        self.wait_for(lambda: os.path.exists(self.munge_socket), "munged's socket", 30)

        # The node as slurmd sees it, with RealMemory a bit below what it reports
        # (slurmd drains a node that has less than configured).
        c = subprocess.run(["slurmd", "-C"], capture_output=True, text=True, timeout=30, check=True).stdout
        node = dict(re.findall(r"(\w+)=(\S+)", c.splitlines()[0]))
        cpus = int(node.get("CPUs", os.cpu_count()))
        mem = int(int(node.get("RealMemory", "2048")) * 0.9)
        topo = " ".join(f"{k}={node[k]}" for k in ("Boards", "SocketsPerBoard", "CoresPerSocket",
                                                   "ThreadsPerCore") if k in node)
        ports = set()
        self.ctld_port, self.slurmd_port = free_port(ports), free_port(ports)
        p = self.path
        conf = f"""# generated by tests/slurm/test_slurm.py
ClusterName=dstest{os.getpid()}
SlurmctldHost={self.host}
SlurmctldPort={self.ctld_port}
SlurmdPort={self.slurmd_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
# cred_expire also sets how long a requeued job waits before it may start
# again (default 120 s); the minimum keeps the test short.
AuthInfo=socket={self.munge_socket},cred_expire=10
StateSaveLocation={p("state")}
SlurmdSpoolDir={p("spool")}
SlurmctldPidFile={p("slurmctld.pid")}
SlurmdPidFile={p("slurmd.pid")}
SlurmctldLogFile={p("log", "slurmctld.log")}
SlurmdLogFile={p("log", "slurmd.log")}
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SwitchType=switch/none
MpiDefault=none
PlugStackConfig={p("plugstack.conf")}
MailProg=/bin/true
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
JobRequeue=1
MinJobAge=600
KillWait=10
SchedulerType=sched/backfill
# Look at pending jobs every 2 s (default 60 s), so the requeued job starts
# soon after cred_expire.
SchedulerParameters=sched_interval=2,bf_interval=1
NodeName={self.host} CPUs={cpus} {topo} RealMemory={mem} State=UNKNOWN
PartitionName=test Nodes={self.host} Default=YES MaxTime=INFINITE State=UP
"""
        with open(self.conf, "w") as f:
            f.write(conf)
        open(p("plugstack.conf"), "w").close()   # not the system's /etc/slurm/plugstack.conf
        self.start_daemon("slurmctld", ["slurmctld", "-D", "-c", "-f", self.conf])
        self.wait_for(lambda: self.cmd("scontrol", "ping", check_rc=False).find("UP") >= 0,
                      "slurmctld answering scontrol ping", 60)
        self.start_daemon("slurmd", ["slurmd", "-D", "-f", self.conf, "-N", self.host])
        self.wait_for(lambda: self.node_state() == "idle", f"node {self.host} idle in sinfo", 90)

    def node_state(self):
        return self.cmd("sinfo", "-h", "-N", "-n", self.host, "-o", "%T", check_rc=False).strip()

    def wait_for(self, cond, what, timeout, give_up=None):
        """Polls cond() until it holds; fails at the timeout, at the test's
        own deadline, when a daemon dies, or when give_up() returns a reason."""
        t0 = time.time()
        while time.time() - t0 < timeout:
            if time.time() > DEADLINE:
                raise RuntimeError(f"the test's deadline passed while waiting for {what}")
            for name, pr in self.procs.items():
                if pr.poll() is not None:
                    raise RuntimeError(f"{name} exited with {pr.returncode} while waiting for {what}")
            if cond():
                print(f"ok:   {what} after {time.time() - t0:.1f} s", flush=True)
                return
            why = give_up() if give_up else None
            if why and not cond():   # cond may have come true meanwhile
                raise RuntimeError(f"{why} while waiting for {what}")
            time.sleep(0.5)
        raise RuntimeError(f"timed out after {timeout} s waiting for {what}")

    def job(self, jobid):
        """scontrol show job as a dict (empty once the job is gone)."""
        out = self.cmd("scontrol", "-o", "show", "job", str(jobid), check_rc=False)
        return dict(re.findall(r"(\w+)=(\S*)", out))

    def our_pids(self):
        """PIDs of processes that carry this cluster's SLURM_CONF in their
        environment: the daemons' children, slurmstepd, the job's processes."""
        me = f"SLURM_CONF={self.conf}".encode()
        pids = []
        for e in os.listdir("/proc"):
            if not e.isdigit() or int(e) == os.getpid():
                continue
            try:
                with open(f"/proc/{e}/environ", "rb") as f:
                    if me in f.read().split(b"\0"):
                        pids.append(int(e))
            except OSError:
                pass
        return pids

    def stop(self):
        try:
            self.cmd("scancel", "--full", "--signal=KILL", "--user=root", timeout=20, check_rc=False)
        except Exception as exc:
            print("scancel:", exc)
        for name in ("slurmd", "slurmctld", "munged"):
            pr = self.procs.get(name)
            if pr is None or pr.poll() is not None:
                continue
            pr.send_signal(signal.SIGTERM)
            try:
                pr.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pr.kill()
                pr.wait(timeout=10)
        # slurmstepd and the job's processes are not the daemons' children.
        for pid in self.our_pids():
            if pid == self.reaper:
                continue
            try:
                os.kill(pid, signal.SIGKILL)
                print(f"killed leftover process {pid}")
            except OSError:
                pass
        if self.reaper:
            try:
                os.kill(self.reaper, signal.SIGTERM)
            except OSError:
                pass
            self.reaper = None

    def dump_logs(self, top):
        """Prints the end of every log under top (daemons' and jobs')."""
        for root, _, files in os.walk(top):
            for fn in sorted(files):
                if fn.endswith((".log", ".stdout", ".out")):
                    fp = os.path.join(root, fn)
                    with open(fp, errors="replace") as f:
                        text = f.read()
                    print(f"----- {fp} (last 4000 characters) -----\n{text[-4000:]}")


def plain_run(out, *extra):
    args = [DEALSIM_BIN, "run", SCENARIO, "-o", out, "--force", "--quiet"] + list(extra)
    cp = subprocess.run(args, capture_output=True, text=True, timeout=300)
    if cp.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: exit {cp.returncode}: {cp.stderr}")
    return out


def main(d):
    if os.geteuid() != 0:
        print("SKIP: this test runs the Slurm daemons as root")
        return 77
    missing = [b for b in ("munged", "mungekey", "slurmctld", "slurmd", "sbatch", "h5dump")
               if shutil.which(b) is None and not os.path.exists("/usr/sbin/" + b)]
    if missing:
        print("missing:", missing, "(bash scripts/dev installs slurm-wlm and munge)")
        return 1
    os.environ["PATH"] += ":/usr/sbin"
    helptext = subprocess.run([DEALSIM_BIN, "run", "--help"], capture_output=True, text=True, timeout=30).stdout
    if not EXPECT_RESUME and "--resume" in helptext:
        print("NOTE: this dealsim has --resume: set EXPECT_RESUME = True in tests/slurm/test_slurm.py", flush=True)

    # The comparison must see a difference where there is one, else the final
    # check would pass vacuously.
    a = plain_run(os.path.join(d, "cmp-a.h5"), "-n", "5000", "--threads", "1")
    b = plain_run(os.path.join(d, "cmp-b.h5"), "-n", "5000", "--threads", "2")
    c = plain_run(os.path.join(d, "cmp-c.h5"), "-n", "5000", "--seed", "8")
    check(not differences(contents(a), contents(b)), "comparison: 1 and 2 threads are identical")
    check(len(differences(contents(a), contents(c))) > 5, "comparison: another seed differs")

    cl = Cluster(os.path.join(d, "cluster"))
    os.makedirs(cl.d)
    try:
        cl.start()
        return job_checks(cl, d)
    except Exception as exc:
        check(False, f"{type(exc).__name__}: {exc}")
        return 1
    finally:
        if failures:
            cl.dump_logs(d)
        cl.stop()
        left = cl.our_pids()
        check(not left, f"no process of the cluster is left ({left})")


def job_checks(cl, d):
    out = os.path.join(d, "job.h5")
    joblog = os.path.join(d, "job-%j.out")
    # Today's binary dies on USR1; TERM makes it stop at a block boundary
    # with an interrupted file (exit 130), which the script also requeues.
    stop_signal = "USR1" if EXPECT_RESUME else "TERM"
    env = dict(cl.env, DEALSIM_BIN=DEALSIM_BIN, DEALSIM_LAUNCH=LAUNCH, DEALSIM_STOP_SIGNAL=stop_signal,
               # task/none gives the ranks no CPU masks: binding would pile
               # every rank's threads onto the first cores.
               OMP_PROC_BIND="false")
    cp = subprocess.run(["sbatch", "--parsable", f"--chdir={d}", f"--output={joblog}",
                         f"--ntasks={RANKS}", f"--cpus-per-task={THREADS}", "--time=15",
                         SBATCH_SCRIPT, SCENARIO, out] + RUN_OPTS,
                        env=env, capture_output=True, text=True, timeout=30)
    if not check(cp.returncode == 0, f"sbatch accepted the job ({cp.stderr.strip()})"):
        return 1
    jobid = cp.stdout.strip().split(";")[0]
    joblog = joblog.replace("%j", jobid)

    def log():
        try:
            with open(joblog) as f:
                return f.read()
        except OSError:
            return ""

    def progress():
        p = [int(x) for x in re.findall(r"^progress: .*\((\d+)%\)", log(), re.M)]
        return max(p) if p else 0
    def ended():
        st = cl.job(jobid).get("JobState")
        return f"job {jobid} ended ({st})" if st in DONE_STATES else None
    cl.wait_for(lambda: cl.job(jobid).get("JobState") == "RUNNING" and "step:" in log(),
                f"job {jobid} running its step", STEP_TIMEOUT_S, ended)
    cl.wait_for(lambda: progress() >= SIGNAL_AT_PERCENT, f"the run at {SIGNAL_AT_PERCENT}%",
                STEP_TIMEOUT_S, ended)
    check(cl.job(jobid).get("JobState") == "RUNNING" and progress() < 100,
          f"the job still runs when signalled ({progress()}%)")
    cl.cmd("scancel", "--signal=USR1", "--batch", jobid)
    t_signal = time.time()

    # The requeue: Restarts=1 and the job pending or running again.
    def requeued():
        j = cl.job(jobid)
        return j.get("Restarts") == "1" and j.get("JobState") in ("PENDING", "RUNNING", "REQUEUED")
    cl.wait_for(requeued, "the job requeued (Restarts=1)", STEP_TIMEOUT_S, ended)
    first = log()
    expect_rc = 75 if EXPECT_RESUME else 130
    check(f"step exited with {expect_rc}" in first, f"the first step exited with {expect_rc}")
    check("requeueing job " + jobid in first, "the script requeued the job")
    check(os.path.exists(out) and run_status(out) == "interrupted", "the checkpoint file is interrupted")
    with h5py.File(out, "r") as f:
        done = int(f.attrs["trials"])
    check(0 < done < float(TRIALS), f"the checkpoint holds part of the trials ({done})")

    # A requeued job may start again only after cred_expire (10 s here, in
    # slurm.conf's AuthInfo) and the next scheduling pass.
    j = cl.job(jobid)
    print(f"requeued job: JobState={j.get('JobState')} Reason={j.get('Reason')} "
          f"StartTime={j.get('StartTime')}", flush=True)
    cl.wait_for(lambda: "SLURM_RESTART_COUNT=1" in log(), "the second start (SLURM_RESTART_COUNT=1)",
                STEP_TIMEOUT_S, ended)
    print(f"second start {time.time() - t_signal:.1f} s after the signal", flush=True)
    cl.wait_for(lambda: cl.job(jobid).get("JobState") in DONE_STATES, "the job finished", 300)
    j = cl.job(jobid)
    check(j.get("Restarts") == "1", f"the job started twice, no more (Restarts={j.get('Restarts')})")
    text = log()
    print(f"----- job output -----\n{text}----- end -----", flush=True)
    check(text.count("SLURM_RESTART_COUNT=0") == 1 and text.count("SLURM_RESTART_COUNT=1") == 1,
          "the appended output shows two starts, restart count 0 then 1")
    check("resuming " + out in text, "the second start resumes the checkpoint")

    if not EXPECT_RESUME:
        # Today's binary has no --resume: the restarted job fails with a
        # usage error and leaves the checkpoint as it was.
        check(j.get("JobState") == "FAILED" and j.get("ExitCode") == "2:0",
              f"without --resume the second start fails with exit 2 "
              f"(JobState={j.get('JobState')} ExitCode={j.get('ExitCode')})")
        check(run_status(out) == "interrupted", "the checkpoint is untouched")
        print("NOTE: EXPECT_RESUME is False: the final bit-identity check is not run", flush=True)
        return 1 if failures else 0

    check(j.get("JobState") == "COMPLETED" and j.get("ExitCode") == "0:0",
          f"the resumed job completes (JobState={j.get('JobState')} ExitCode={j.get('ExitCode')})")
    check(run_status(out) == "complete", "the final file is complete")
    ref = plain_run(os.path.join(d, "serial.h5"), *RUN_OPTS, "--threads", "1")
    diff = differences(contents(ref), contents(out))
    check(not diff, f"the requeued and resumed job is bit-identical to a serial run (differs: {diff[:8]})")
    return 1 if failures else 0


def on_term(signum, frame):
    # A SIGTERM (e.g. Ctrl-C's cousin from a CI runner) unwinds through the
    # finally blocks, which stop the daemons.
    raise SystemExit(f"killed by signal {signum}")


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, on_term)
    tmp = tmpdir(prefix="dealsim-slurm-")  # removed at exit, after the daemons are stopped
    t0 = time.time()
    rc = main(tmp)
    if os.environ.get("DS_KEEP_TMP") == "1":
        print("kept", tmp)
    rc = 1 if failures else rc
    print(f"{'FAILED' if rc else 'passed'} in {time.time() - t0:.0f} s ({len(failures)} failures)")
    sys.exit(rc)
