#!/usr/bin/env python3
# tests/config/test_config_cli.py
# `dealsim check` on every broken scenario (tests/data/bad, plus an empty and
# a 10 MB file made here), on the shipped configs and with --set overrides.
# Licence: see LICENSE at the top of the repository.
#
# A bad file's first line is "# expect: LINE:SUBSTRING"; `dealsim check FILE`
# must exit with 2 and print "FILE:LINE:" and SUBSTRING to stderr, with no
# AddressSanitizer/UBSan report.
import os
import re

import dstest
from dstest import SRC, Checker, tmpdir

SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "UndefinedBehaviorSanitizer",
                   "runtime error:")
c = Checker()
d = tmpdir()


def run(args):
    cp = dstest.run(args, expect=None, timeout=60)
    return cp.returncode, cp.stdout, cp.stderr


def clean(err):
    return not any(m in err for m in SANITIZER_MARKS)


def expect_failure(path, line, substring, extra=()):
    code, _, err = run(["check", path, *extra])
    want = f"{path}:{line}:"
    c.ok(code == 2 and want in err and substring in err and clean(err),
         f"{path}: expected exit 2 with '{want}' and '{substring}', got exit {code}:\n{err[:2000]}")


def bad_files():
    bad_dir = os.path.join(SRC, "tests", "data", "bad")
    names = sorted(n for n in os.listdir(bad_dir) if n.endswith(".yaml"))
    for name in names:
        path = os.path.join(bad_dir, name)
        with open(path, "rb") as f:
            first = f.readline().decode("utf-8", "replace")
        m = re.match(r"# expect: (\d+):(.*)", first)
        if not c.ok(m, f"{path}: a '# expect: LINE:SUBSTRING' first line"):
            continue
        expect_failure(path, int(m.group(1)), m.group(2).strip())
    return len(names)


def generated_files():
    empty = os.path.join(d, "config_cli_empty.yaml")
    open(empty, "wb").close()
    expect_failure(empty, 1, "the file is empty")
    os.remove(empty)
    big = os.path.join(d, "config_cli_10mb.yaml")
    with open(big, "wb") as f:
        f.write(b"name: big\ndescription: \"" + b"x" * (10 * 1024 * 1024) + b"\"\n")
    expect_failure(big, 1, "larger than the limit")
    os.remove(big)


def good_files():
    for rel in ("configs", os.path.join("tests", "data", "good")):
        where = os.path.join(SRC, rel)
        for name in sorted(n for n in os.listdir(where) if n.endswith(".yaml")):
            path = os.path.join(where, name)
            code, out, err = run(["check", path])
            if not c.ok(code == 0 and clean(err), f"{path}: expected exit 0, got {code}:\n{err[:2000]}"):
                continue
            # The effective YAML printed by check must itself check clean and
            # print the same YAML again.
            yaml_text = out.split("\nScenario ", 1)[0]
            again = os.path.join(d, "effective-" + name)
            with open(again, "w") as t:
                t.write(yaml_text)
            code2, out2, err2 = run(["check", again])
            body = lambda s: s.split("\n", 1)[1].split("\nScenario ", 1)[0]
            c.ok(code2 == 0 and body(out2) == body(out),
                 f"{path}: effective YAML checks to itself (exit {code2}):\n{err2[:2000]}")


def overrides():
    smoke = os.path.join(SRC, "configs", "smoke.yaml")
    code, out, err = run(["check", smoke, "--set", "trials=1e7", "--set",
                          "investors.Alpha.join_probability=0.25"])
    c.ok(code == 0 and "trials: 10000000" in out and "join_probability: 0.25" in out,
         f"--set good: exit {code}\n{out[:1500]}\n{err[:1500]}")
    code, _, err = run(["check", smoke, "--set", "trials=5", "--set", "round.cpa=3"])
    c.ok(code == 2 and "--set:2:7:" in err and 'did you mean "cap"' in err and clean(err),
         f"--set bad: exit {code}\n{err[:1500]}")


n_bad = bad_files()
generated_files()
good_files()
overrides()
print(f"{n_bad} bad files + 2 generated")
c.done()
