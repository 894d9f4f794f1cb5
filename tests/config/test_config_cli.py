#!/usr/bin/env python3
# tests/config/test_config_cli.py
# `dealsim check` on every broken scenario (tests/data/bad, plus an empty and
# a 10 MB file made here), on the shipped configs and with --set overrides.
# Licence: see LICENSE at the top of the repository.
#
# A bad file's first line is "# expect: LINE:SUBSTRING"; `dealsim check FILE`
# must exit with 2 and print "FILE:LINE:" and SUBSTRING to stderr, with no
# AddressSanitizer/UBSan report.  Environment: DEALSIM, DS_SOURCE_DIR,
# DS_BINARY_DIR (set by ds_add_py_test).
import os
import re
import subprocess
import sys
import tempfile

DEALSIM = os.environ["DEALSIM"]
SRC = os.environ["DS_SOURCE_DIR"]
BUILD = os.environ.get("DS_BINARY_DIR", tempfile.gettempdir())
SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "UndefinedBehaviorSanitizer",
                   "runtime error:")

failures = []


def run(args):
    r = subprocess.run([DEALSIM] + args, capture_output=True, timeout=60)
    return r.returncode, r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace")


def clean(err):
    return not any(m in err for m in SANITIZER_MARKS)


def expect_failure(path, line, substring, extra=()):
    code, _, err = run(["check", path, *extra])
    want = f"{path}:{line}:"
    if code != 2 or want not in err or substring not in err or not clean(err):
        failures.append(f"{path}: expected exit 2 with '{want}' and '{substring}', "
                        f"got exit {code}:\n{err[:2000]}")


def bad_files():
    bad_dir = os.path.join(SRC, "tests", "data", "bad")
    names = sorted(n for n in os.listdir(bad_dir) if n.endswith(".yaml"))
    for name in names:
        path = os.path.join(bad_dir, name)
        with open(path, "rb") as f:
            first = f.readline().decode("utf-8", "replace")
        m = re.match(r"# expect: (\d+):(.*)", first)
        if not m:
            failures.append(f"{path}: no '# expect: LINE:SUBSTRING' first line")
            continue
        expect_failure(path, int(m.group(1)), m.group(2).strip())
    return len(names)


def generated_files():
    os.makedirs(BUILD, exist_ok=True)
    empty = os.path.join(BUILD, "config_cli_empty.yaml")
    open(empty, "wb").close()
    expect_failure(empty, 1, "the file is empty")
    os.remove(empty)
    big = os.path.join(BUILD, "config_cli_10mb.yaml")
    with open(big, "wb") as f:
        f.write(b"name: big\ndescription: \"" + b"x" * (10 * 1024 * 1024) + b"\"\n")
    expect_failure(big, 1, "larger than the limit")
    os.remove(big)


def good_files():
    for rel in ("configs", os.path.join("tests", "data", "good")):
        d = os.path.join(SRC, rel)
        for name in sorted(n for n in os.listdir(d) if n.endswith(".yaml")):
            path = os.path.join(d, name)
            code, out, err = run(["check", path])
            if code != 0 or not clean(err):
                failures.append(f"{path}: expected exit 0, got {code}:\n{err[:2000]}")
                continue
            # The effective YAML printed by check must itself check clean and
            # print the same YAML again.
            yaml_text = out.split("\nScenario ", 1)[0]
            with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as t:
                t.write(yaml_text)
            code2, out2, err2 = run(["check", t.name])
            os.remove(t.name)
            body = lambda s: s.split("\n", 1)[1].split("\nScenario ", 1)[0]
            if code2 != 0 or body(out2) != body(out):
                failures.append(f"{path}: effective YAML does not check to itself "
                                f"(exit {code2}):\n{err2[:2000]}")


def overrides():
    smoke = os.path.join(SRC, "configs", "smoke.yaml")
    code, out, err = run(["check", smoke, "--set", "trials=1e7", "--set",
                          "investors.Alpha.join_probability=0.25"])
    if code != 0 or "trials: 10000000" not in out or "join_probability: 0.25" not in out:
        failures.append(f"--set good: exit {code}\n{out[:1500]}\n{err[:1500]}")
    code, _, err = run(["check", smoke, "--set", "trials=5", "--set", "round.cpa=3"])
    if code != 2 or "--set:2:7:" not in err or 'did you mean "cap"' not in err or not clean(err):
        failures.append(f"--set bad: exit {code}\n{err[:1500]}")


n_bad = bad_files()
generated_files()
good_files()
overrides()
for f in failures:
    print("FAIL", f, file=sys.stderr)
print(f"{n_bad} bad files + 2 generated, {len(failures)} failure(s)")
sys.exit(1 if failures else 0)
