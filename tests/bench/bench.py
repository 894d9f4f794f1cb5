# tests/bench/bench.py
# Benchmark of dealsim (speed per core, threads, memory, per-trial I/O) against the numpy reference model; prints numbers, is not a test.
# Licence: see LICENSE at the top of the repository.
"""dealsim benchmark.

Everything is measured side by side in one run on this machine, each timing
repeated and summarised by its median (machines are noisy: quote medians and
ratios, not single runs):

  (a) trials/s of `dealsim run SCENARIO --threads 1` and of the numpy model
      (numpy_model.py, one process, vectorised) on the same scenario; the
      ratio is the speed-up per core; and the same dealsim run with
      output.sensitivity on, whose extra run time is printed beside it;
  (b) dealsim with 2 threads against 1 thread;
      (a) and (b) run in interleaved rounds (each command once a round) and
      each ratio is the median of the rounds' ratios, so that a machine
      whose speed drifts slows both sides of a ratio alike;
  (c) peak resident memory of dealsim without per-trial output for two trial
      counts (default 1e6 and 1e7): it must not grow with the trial count;
  (d) the run with every scalar written per trial against
      max(the same run without per-trial output, the time dd takes to write
      the same number of bytes to the same directory with fdatasync);
  (e) optionally, trials/s for a list of thread counts (--threads-list);
  (f) with the MPI build (--mpi-dealsim, default build-mpi/dealsim when it
      exists): time and trials/s for 1, 2, 3 ranks x 1 thread (--ranks-list)
      under mpirun, against the serial build with 1 thread;
  (g) the cost of --checkpoint-every 10 on a long run (--n-checkpoint,
      default 1e8): the same run with and without checkpoints;
  (h) time to an answer, one core: the wall time until SE(mean total) <=
      0.05 ($B) and SE(P(target met)) <= 0.001 (and a 10x tighter pair),
      for dealsim --precision with plain Monte Carlo and with Latin
      hypercube sampling, and for the numpy model run with the trial count
      plain Monte Carlo needs (the smallest N with sd^2/N <= tol^2 for each
      target, from dealsim's own Monte Carlo run); whole-process wall times.

Run with Debian's python from the repository root:
    /usr/bin/python3 tests/bench/bench.py [--dealsim build/dealsim] [--quick] [--json out.json]

dealsim times are wall-clock times of the whole program (start-up, summaries
and the HDF5 file included: at 1e6 trials start-up is negligible).  The numpy
rate is the model's own timer around its simulation (interpreter start-up and
imports excluded), which favours numpy slightly.  Runs (a)-(c) pass
`--set output.per_trial=false` (and every dealsim run `--set output.sensitivity=false`,
as the numpy model computes no sensitivity) so that they time the simulation, not the
disk; (d) times the disk.  Peak memory comes from wait4(2)'s rusage of each
dealsim process (the same number `/usr/bin/time -v` prints as "Maximum
resident set size").
"""

import argparse
import json
import math
import os
import platform
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.path.dirname(os.path.dirname(HERE))
PYTHON = "/usr/bin/python3"  # Debian's python with numpy/scipy/PyYAML
# Peak RSS is "flat" when the larger trial count needs at most this much more
# memory than the smaller (allocator noise, a larger HDF5 chunk cache, ...).
RSS_FLAT_RATIO = 1.10
SEED = 20260128
MIB = 1 << 20
# One thread for BLAS/OpenMP inside numpy: the comparison is per core.
SINGLE_THREAD_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def count(text):
    v = float(text)
    if v < 1 or v != int(v):
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text}")
    return int(v)


def machine_info():
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    return {"nproc": usable, "cpu_count": os.cpu_count(), "cpu_model": model,
            "kernel": platform.release(), "python": platform.python_version(), "hostname": platform.node()}


def show(cmd):
    return " ".join(shlex.quote(c) for c in cmd)


def timed(cmd, env=None, label=""):
    """Runs cmd; returns (wall seconds, peak RSS in KiB, stdout).  Exits the
    benchmark with the program's stderr when it fails."""
    print(f"    $ {show(cmd)}", flush=True)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    if proc.returncode != 0:
        sys.exit(f"bench: {label or cmd[0]} failed with exit code {proc.returncode}:\n{stderr[-3000:]}")
    return wall, usage.ru_maxrss, stdout  # ru_maxrss is in KiB on Linux


class Bench:
    def __init__(self, args):
        self.args = args
        self.results = {"machine": machine_info(), "commands": {}}
        self.workdir = args.workdir or tempfile.mkdtemp(prefix="dealsim-bench-")
        os.makedirs(self.workdir, exist_ok=True)

    def out(self, tag):
        return os.path.join(self.workdir, f"bench-{tag}.h5")

    def dealsim_cmd(self, n, threads, per_trial, tag, sensitivity=False):
        cmd = [self.args.dealsim, "run", self.args.scenario, "-n", str(n), "--seed", str(SEED), "-o", self.out(tag),
               "--force", "--quiet", "--set", f"output.per_trial={'true' if per_trial else 'false'}",
               "--set", f"output.sensitivity={'true' if sensitivity else 'false'}"]
        if threads is not None:
            cmd[3:3] = ["--threads", str(threads)]
        return cmd

    def dealsim(self, n, threads, per_trial=False, tag="run", sensitivity=False):
        """Median wall time and the largest peak RSS over the repeats."""
        cmd = self.dealsim_cmd(n, threads, per_trial, tag, sensitivity)
        self.results["commands"][f"dealsim n={n} threads={threads} per_trial={per_trial}"
                                 + (" sensitivity" if sensitivity else "")] = show(cmd)
        walls, rss = [], []
        for _ in range(self.args.repeats):
            w, r, _ = timed(cmd, label="dealsim")
            walls.append(w)
            rss.append(r)
        size = os.path.getsize(self.out(tag))
        if not per_trial:
            os.remove(self.out(tag))
        return {"n": n, "threads": threads, "walls_s": walls, "median_s": statistics.median(walls),
                "rate": n / statistics.median(walls), "max_rss_kib": max(rss), "file_bytes": size}

    def numpy_cmd(self, n, summaries=False):
        return [PYTHON, os.path.join(HERE, "numpy_model.py"), self.args.scenario, "-n", str(n), "--seed",
                str(SEED), "--time", "--quiet"] + (["--summaries"] if summaries else [])

    @staticmethod
    def numpy_once(cmd):
        """One run of the numpy model, one thread: (wall seconds, its own trials/s)."""
        w, _, stdout = timed(cmd, env=dict(os.environ, **SINGLE_THREAD_ENV), label="numpy_model")
        m = re.search(r"= ([0-9.]+) trials/s", stdout)
        if not m:
            sys.exit(f"bench: cannot read the rate from numpy_model's output:\n{stdout}")
        return w, float(m.group(1))

    def numpy_model(self, n, summaries=False):
        cmd = self.numpy_cmd(n, summaries)
        self.results["commands"][f"numpy_model n={n} summaries={summaries}"] = show(cmd)
        rates, walls = [], []
        for _ in range(self.args.repeats):
            w, rate = self.numpy_once(cmd)
            rates.append(rate)
            walls.append(w)
        return {"n": n, "rates": rates, "rate": statistics.median(rates), "median_process_s": statistics.median(walls)}

    def dd(self, nbytes):
        mib = max(1, math.ceil(nbytes / MIB))
        target = os.path.join(self.workdir, "ddtest")
        cmd = ["dd", "if=/dev/zero", f"of={target}", "bs=1M", f"count={mib}", "conv=fdatasync"]
        self.results["commands"]["dd"] = show(cmd)
        walls = []
        for _ in range(self.args.repeats):
            w, _, _ = timed(cmd, label="dd")
            walls.append(w)
            os.remove(target)
        return {"mib": mib, "walls_s": walls, "median_s": statistics.median(walls)}

    # -- the sections ------------------------------------------------------

    def per_core_rounds(self, with_two):
        """(a) and (b) in rounds: each round runs every command once, in the
        same order, so that a machine whose speed drifts over minutes (a VM
        with steal time) slows all of them alike; each ratio is the median
        of its per-round ratios."""
        a = self.args
        cmds = {"t1": self.dealsim_cmd(a.n_dealsim, 1, False, "t1"),
                "t1sens": self.dealsim_cmd(a.n_dealsim, 1, False, "t1sens", sensitivity=True)}
        if with_two:
            cmds["t2"] = self.dealsim_cmd(a.n_dealsim, 2, False, "t2")
        np_cmds = {"numpy": self.numpy_cmd(a.n_numpy), "numpy_summaries": self.numpy_cmd(a.n_numpy, True)}
        for k, c in cmds.items():
            self.results["commands"][f"dealsim {k}"] = show(c)
        for k, c in np_cmds.items():
            self.results["commands"][k] = show(c)
        rates = {k: [] for k in list(cmds) + list(np_cmds)}
        for _ in range(a.repeats):
            for k, c in cmds.items():
                w, _, _ = timed(c, label="dealsim")
                rates[k].append(a.n_dealsim / w)
            for k, c in np_cmds.items():
                rates[k].append(self.numpy_once(c)[1])
        for k in cmds:
            os.remove(self.out(k))

        def ratio(x, y):
            return statistics.median(p / q for p, q in zip(rates[x], rates[y]))

        med = {k: statistics.median(v) for k, v in rates.items()}
        r = {"rates": rates, "median_rates": med, "ratio_per_core": ratio("t1", "numpy"),
             "ratio_per_core_same_summaries": ratio("t1", "numpy_summaries"),
             "sensitivity_cost": 1.0 / ratio("t1sens", "t1") - 1.0}
        self.results["a"] = r
        print(f"\n(a) one core: dealsim --threads 1 ({a.n_dealsim} trials) vs numpy model ({a.n_numpy} trials), "
              f"{a.repeats} interleaved rounds")
        print(f"    dealsim 1 thread: {med['t1']:,.0f} trials/s (median), summaries and file included")
        print(f"    numpy model, draws and outputs only: {med['numpy']:,.0f} trials/s")
        print(f"    numpy model, with the same summaries: {med['numpy_summaries']:,.0f} trials/s")
        print(f"    => dealsim / numpy per core = {r['ratio_per_core']:.2f}x (outputs only), "
              f"{r['ratio_per_core_same_summaries']:.2f}x (same summaries); medians of the rounds' ratios")
        print(f"    dealsim 1 thread with output.sensitivity: {med['t1sens']:,.0f} trials/s => sensitivity costs "
              f"{100 * r['sensitivity_cost']:+.0f}% run time; {ratio('t1sens', 'numpy'):.2f}x the numpy model "
              f"(outputs only)")
        if with_two:
            r2 = ratio("t2", "t1")
            self.results["b"] = {"median_rate_2threads": med["t2"], "ratio_2_over_1": r2}
            note = "" if self.results["machine"]["nproc"] >= 2 else " (this machine has fewer than 2 usable cores)"
            print(f"\n(b) 2 threads vs 1 thread ({a.n_dealsim} trials), in the same rounds")
            print(f"    dealsim 2 threads: {med['t2']:,.0f} trials/s => 2/1 = {r2:.2f}x{note}")

    def memory(self):
        a = self.args
        print(f"\n(c) peak RSS without per-trial output, {a.rss_counts} trials, default threads")
        runs = [self.dealsim(n, None, tag=f"rss{n}") for n in a.rss_counts]
        ratio = runs[-1]["max_rss_kib"] / runs[0]["max_rss_kib"]
        flat = ratio <= RSS_FLAT_RATIO
        self.results["c"] = {"runs": runs, "rss_ratio": ratio, "flat": flat, "flat_ratio_limit": RSS_FLAT_RATIO}
        for r in runs:
            print(f"    {r['n']:>12,} trials: peak RSS {r['max_rss_kib'] / 1024:8.1f} MiB, "
                  f"{r['rate']:,.0f} trials/s")
        print(f"    => RSS ratio {ratio:.3f} ({'flat' if flat else 'NOT flat'}: limit {RSS_FLAT_RATIO})")
        return {r["n"]: r for r in runs}

    def io(self, by_n):
        a = self.args
        n = a.n_io
        print(f"\n(d) every scalar per trial ({n} trials) vs max(no per-trial output, dd)")
        base = by_n.get(n) or self.dealsim(n, None, tag="io-base")
        pt = self.dealsim(n, None, per_trial=True, tag="io-pt")
        dd = self.dd(pt["file_bytes"])
        os.remove(self.out("io-pt"))
        floor = max(base["median_s"], dd["median_s"])
        ratio = pt["median_s"] / floor
        print(f"    all cores computing: per-trial run {pt['median_s']:.2f} s ({pt['file_bytes'] / MIB:.0f} MiB); "
              f"without {base['median_s']:.2f} s; dd {dd['mib']} MiB {dd['median_s']:.2f} s")
        print(f"    => per-trial / max(without, dd) = {ratio:.2f}")
        # The writer is a thread of its own: with every core computing it
        # competes for CPU (copying into the page cache is CPU work); leaving
        # it one core shows the overlap itself.
        t = max(1, self.results["machine"]["nproc"] - 1)
        base_t = self.dealsim(n, t, tag="io-base-t")
        pt_t = self.dealsim(n, t, per_trial=True, tag="io-pt-t")
        os.remove(self.out("io-pt-t"))
        ratio_t = pt_t["median_s"] / max(base_t["median_s"], dd["median_s"])
        print(f"    {t} computing thread(s), one core left to the writer: per-trial {pt_t['median_s']:.2f} s; "
              f"without {base_t['median_s']:.2f} s => ratio {ratio_t:.2f}")
        self.results["d"] = {"per_trial": pt, "no_per_trial": base, "dd": dd, "ratio": ratio,
                             "threads_for_writer_core": t, "per_trial_t": pt_t, "no_per_trial_t": base_t,
                             "ratio_t": ratio_t}

    def thread_list(self):
        a = self.args
        print(f"\n(e) threads {a.threads_list} ({a.n_dealsim} trials)")
        runs = [self.dealsim(a.n_dealsim, t, tag=f"tl{t}") for t in a.threads_list]
        base = next((r for r in runs if r["threads"] == 1), runs[0])
        for r in runs:
            print(f"    {r['threads']:3d} threads: {r['rate']:,.0f} trials/s, "
                  f"speed-up {r['rate'] / base['rate']:.2f}x over {base['threads']}")
        self.results["e"] = {"runs": runs}

    def ranks(self):
        a = self.args
        print(f"\n(f) MPI ranks {a.ranks_list} x 1 thread ({a.n_dealsim} trials), {a.mpi_dealsim}")
        runs = []
        for r in a.ranks_list:
            cmd = (["mpirun", "--oversubscribe", "--allow-run-as-root", "-np", str(r), "-x", "OMP_NUM_THREADS"]
                   + [a.mpi_dealsim] + self.dealsim_cmd(a.n_dealsim, None, False, f"mpi{r}")[1:])
            self.results["commands"][f"mpi ranks={r}"] = show(cmd)
            env = dict(os.environ, OMP_NUM_THREADS="1")
            walls = [timed(cmd, env=env, label="mpirun dealsim")[0] for _ in range(a.repeats)]
            med = statistics.median(walls)
            runs.append({"ranks": r, "walls_s": walls, "median_s": med, "rate": a.n_dealsim / med})
        base = runs[0]
        for r in runs:
            print(f"    {r['ranks']} rank(s): {r['median_s']:.2f} s, {r['rate']:,.0f} trials/s, "
                  f"speed-up {r['rate'] / base['rate']:.2f}x over {base['ranks']} (mpirun start-up included)")
        self.results["f"] = {"runs": runs}

    def checkpoint_cost(self):
        a = self.args
        n = a.n_checkpoint
        print(f"\n(g) --checkpoint-every 10 ({n} trials, default threads)")
        plain = self.dealsim(n, None, tag="ck-plain")
        cmd = self.dealsim_cmd(n, None, False, "ck") + ["--checkpoint-every", "10"]
        self.results["commands"]["checkpoint"] = show(cmd)
        walls = [timed(cmd, label="dealsim --checkpoint-every")[0] for _ in range(a.repeats)]
        med = statistics.median(walls)
        over = med / plain["median_s"] - 1.0
        print(f"    without: {plain['median_s']:.2f} s; with a checkpoint every 10 s: {med:.2f} s "
              f"=> overhead {100 * over:+.2f}%")
        self.results["g"] = {"plain": plain, "walls_s": walls, "median_s": med, "overhead": over}

    def time_to_answer(self):
        a = self.args
        print("\n(h) time to an answer, one core: SE(mean total) <= tol_total, SE(P(target met)) <= tol_p")
        self.results["h"] = []
        for tol_t, tol_p in ((0.05, 0.001), (0.005, 0.0001)):
            row = {"tol_total": tol_t, "tol_target_met": tol_p}
            for sampling in ("monte_carlo", "latin_hypercube"):
                tag = f"tta-{sampling}"
                cmd = self.dealsim_cmd(a.max_trials_tta, 1, False, tag)
                del cmd[cmd.index("-n"):cmd.index("-n") + 2]  # --max-trials says it
                cmd += ["--sampling", sampling, "--precision", f"total:{tol_t}",
                    "--precision", f"target_met:{tol_p}", "--max-trials", str(a.max_trials_tta)]
                self.results["commands"][f"tta {sampling} {tol_t} {tol_p}"] = show(cmd)
                walls = [timed(cmd, label=f"dealsim --sampling {sampling}")[0] for _ in range(a.repeats)]
                _, _, js = timed([a.dealsim, "summary", self.out(tag), "--json"], label="dealsim summary")
                os.remove(self.out(tag))
                summ = json.loads(js)
                total = next(o for o in summ["outputs"] if o["name"] == "total") \
                    if isinstance(summ["outputs"], list) else summ["outputs"]["total"]
                p = summ["probabilities"]["target_met"]
                p = p["p"] if isinstance(p, dict) else p
                row[sampling] = {"walls_s": walls, "median_s": statistics.median(walls), "trials": summ["trials"],
                                 "sd_total": total["sd"], "p_target_met": p}
            mc = row["monte_carlo"]
            n_np = max(math.ceil(mc["sd_total"] ** 2 / tol_t ** 2), math.ceil(mc["p_target_met"] * (1 - mc["p_target_met"]) / tol_p ** 2))
            npm = self.numpy_model(n_np)
            row["numpy"] = {"trials": n_np, "median_process_s": npm["median_process_s"], "rate": npm["rate"],
                            "compute_s": n_np / npm["rate"]}
            lhs = row["latin_hypercube"]
            print(f"    tolerances {tol_t} $B / {tol_p}:")
            print(f"      dealsim MC : {mc['median_s']:8.2f} s, stopped at {mc['trials']:,} trials")
            print(f"      dealsim LHS: {lhs['median_s']:8.2f} s, stopped at {lhs['trials']:,} trials")
            print(f"      numpy model: {npm['median_process_s']:8.2f} s for the {n_np:,} trials plain MC needs "
                  f"({row['numpy']['compute_s']:.2f} s of it simulating)")
            print(f"      => numpy / dealsim MC = {npm['median_process_s'] / mc['median_s']:.2f}x, "
                  f"numpy / dealsim LHS = {npm['median_process_s'] / lhs['median_s']:.2f}x, "
                  f"MC / LHS = {mc['median_s'] / lhs['median_s']:.2f}x (wall, start-up included)")
            self.results["h"].append(row)

    def run(self):
        m = self.results["machine"]
        print(f"machine: {m['cpu_model']}, nproc {m['nproc']} (cpu_count {m['cpu_count']}), "
              f"Linux {m['kernel']}, host {m['hostname']}")
        print(f"dealsim {self.args.dealsim}; scenario {self.args.scenario}; repeats {self.args.repeats} (medians); "
              f"workdir {self.workdir}")
        sections = self.args.sections
        if "a" in sections or "b" in sections:
            self.per_core_rounds("b" in sections)
        by_n = self.memory() if "c" in sections else {}
        if "d" in sections:
            self.io(by_n)
        if self.args.threads_list:
            self.thread_list()
        if "f" in sections:
            if os.path.exists(self.args.mpi_dealsim):
                self.ranks()
            else:
                print(f"\n(f) skipped: no MPI build at {self.args.mpi_dealsim} (cmake -DDEALSIM_MPI=ON)")
        if "g" in sections:
            self.checkpoint_cost()
        if "h" in sections:
            self.time_to_answer()
        print("\nCommands:")
        for k, v in self.results["commands"].items():
            print(f"  {k}: {v}")
        if self.args.json:
            with open(self.args.json, "w") as f:
                json.dump(self.results, f, indent=2)
            print(f"numbers saved to {self.args.json}")
        if not self.args.workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description="dealsim benchmark (prints numbers; not a test)")
    ap.add_argument("--dealsim", default=os.path.join("build", "dealsim"), help="the program (default build/dealsim)")
    ap.add_argument("--scenario", default=os.path.join("configs", "openai-2026.yaml"))
    ap.add_argument("--n-dealsim", type=count, default=None, help="trials for dealsim in (a), (b), (e) [1e6]")
    ap.add_argument("--n-numpy", type=count, default=None, help="trials for the numpy model in (a) [2e5]")
    ap.add_argument("--rss-counts", default=None, help="trial counts for (c) [1e6,1e7]")
    ap.add_argument("--n-io", type=count, default=None, help="trials for (d) [1e7]")
    ap.add_argument("--repeats", type=int, default=None, help="repeats of every timing [3; 1 with --quick]")
    ap.add_argument("--threads-list", default=None, help="(e): e.g. 1,2,4,8,16")
    ap.add_argument("--sections", default="abcdfgh", help="which of a, b, c, d, f, g, h to run [abcdfgh]")
    ap.add_argument("--mpi-dealsim", default=os.path.join("build-mpi", "dealsim"),
                    help="the MPI build for (f) [build-mpi/dealsim]")
    ap.add_argument("--ranks-list", default="1,2,3", help="(f): MPI rank counts [1,2,3]")
    ap.add_argument("--n-checkpoint", type=count, default=None, help="trials for (g) [1e8; 1e6 with --quick]")
    ap.add_argument("--max-trials-tta", type=count, default=None, help="(h): --max-trials of each run [1e9]")
    ap.add_argument("--quick", action="store_true", help="small counts, one repeat: a smoke run")
    ap.add_argument("--workdir", help="directory for output files and ddtest (kept); default a temporary one")
    ap.add_argument("--json", help="save the numbers to this file")
    args = ap.parse_args(argv)

    q = args.quick
    args.n_dealsim = args.n_dealsim or (100_000 if q else 1_000_000)
    args.n_numpy = args.n_numpy or (50_000 if q else 200_000)
    args.rss_counts = [count(x) for x in (args.rss_counts or ("1e5,1e6" if q else "1e6,1e7")).split(",")]
    args.n_io = args.n_io or (100_000 if q else 10_000_000)
    args.repeats = args.repeats or (1 if q else 3)
    args.threads_list = [int(t) for t in args.threads_list.split(",")] if args.threads_list else []
    args.ranks_list = [int(r) for r in args.ranks_list.split(",")]
    args.max_trials_tta = args.max_trials_tta or 1_000_000_000
    args.n_checkpoint = args.n_checkpoint or (1_000_000 if q else 100_000_000)
    for path, what in ((args.dealsim, "the dealsim program"), (args.scenario, "the scenario")):
        if not os.path.exists(path):
            sys.exit(f"bench: {what} {path!r} not found (run from the repository root, or pass --dealsim/--scenario)")
    Bench(args).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
