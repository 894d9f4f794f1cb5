# tests/h5/test_readme_examples.py
# The README's examples run as written: every ```python block, and every ./build/dealsim line of the ```sh blocks.
# Licence: see LICENSE at the top of the repository.
#
# In a scratch directory holding a copy of configs/, `dealsim run
# configs/openai-2026.yaml -n 20000 -o results/openai-2026.h5` writes the
# file `bash scripts/dev run` writes (smaller, and with /inputs); then each python block runs
# there with Debian's python (matplotlib without a display), and each
# ./build/dealsim command runs with this build's binary, trials capped at
# 20000 and absolute /tmp paths moved into the scratch directory.  A block
# that fails prints its text and its error: the README is what to fix.
import os
import re
import shlex
import shutil
import subprocess
import sys

from dstest import DEALSIM, SRC, Checker, run, tmpdir

N = "20000"

c = Checker()
tmp = tmpdir("dealsim-readme-")
shutil.copytree(os.path.join(SRC, "configs"), os.path.join(tmp, "configs"))
os.makedirs(os.path.join(tmp, "results"))
with open(os.path.join(SRC, "README.md"), encoding="utf-8") as f:
    readme = f.read()
blocks = re.findall(r"^```(\w*)\n(.*?)^```", readme, flags=re.S | re.M)
python = [b for lang, b in blocks if lang == "python"]
shell = [b for lang, b in blocks if lang == "sh"]
c.ok(len(python) >= 2, f"{len(python)} python blocks in README.md")

os.chdir(tmp)
# With /inputs, which the README's conditioning example reads.
run(["run", "configs/openai-2026.yaml", "-n", N, "--set", "output.per_trial_inputs=true",
     "-o", "results/openai-2026.h5"])

env = dict(os.environ, MPLBACKEND="Agg")
for k, code in enumerate(python):
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp, env=env, capture_output=True, text=True,
                       timeout=300)
    if r.returncode != 0:
        sys.stderr.write(f"--- README python block {k + 1}:\n{code}--- error:\n{r.stderr[-3000:]}\n")
    c.ok(r.returncode == 0, f"README python block {k + 1} runs (exit {r.returncode})")


def commands(block):
    """The ./build/dealsim commands of a sh block, continuation lines joined."""
    for line in block.replace("\\\n", " ").splitlines():
        words = shlex.split(line, comments=True)
        if words and words[0] == "./build/dealsim":
            yield words[1:]


def adapted(args):
    """Trials capped at N (and given when a run has none), /tmp/... moved into the scratch directory."""
    out = []
    for i, a in enumerate(args):
        if i > 0 and args[i - 1] == "-n":
            a = N if float(a) > float(N) else a
        elif a.startswith("/tmp/"):
            a = os.path.join(tmp, a[len("/tmp/"):])
        out.append(a)
    if out and out[0] in ("run", "extend") and "-n" not in out:
        out += ["-n", N]
    return out


ran = 0
for block in shell:
    for args in commands(block):
        args = adapted(args)
        r = subprocess.run([DEALSIM] + args, cwd=tmp, capture_output=True, text=True, timeout=300)
        if r.returncode != 0:
            sys.stderr.write(f"--- dealsim {shlex.join(args)}: exit {r.returncode}\n{r.stderr[-2000:]}\n")
        c.ok(r.returncode == 0, f"README: dealsim {shlex.join(args)}")
        ran += 1
c.ok(ran >= 5, f"{ran} ./build/dealsim commands in README.md")
c.done()
