# tests/cli/test_cli_input.py
# What the command line reads and where it writes: a byte-order mark before a
# valid scenario, an unwritable standard output (> /dev/full) for every
# command, --set addressing investors by name (an index only in brackets),
# one whole-number grammar for -n/--seed/--threads and scenario files, and
# why a scenario file cannot be opened.  Real processes.
# Licence: see LICENSE at the top of the repository.
import os
import shutil
import subprocess

from dstest import DEALSIM, Checker, run, scenario, tmpdir
c = Checker()
d = tmpdir()
smoke = scenario("smoke.yaml")
text = open(smoke, "rb").read()

# A UTF-8 byte-order mark (as some editors write) is accepted, and /config
# keeps the file verbatim.
bom = os.path.join(d, "bom.yaml")
with open(bom, "wb") as f:
    f.write(b"\xef\xbb\xbf" + text)
cp = run(["check", bom])
c.ok("valid" in cp.stdout, "a scenario with a BOM is valid")
out = os.path.join(d, "bom.h5")
run(["run", bom, "-n", "1000", "--quiet", "-o", out])
import h5py  # noqa: E402
with h5py.File(out, "r") as f:
    c.ok(f["config"][()] == b"\xef\xbb\xbf" + text, "/config keeps the BOM verbatim")

# Standard output that cannot be written: exit 1 and a message on stderr.
if os.path.exists("/dev/full"):
    for args in (["check", smoke],
                 ["run", smoke, "-n", "1000", "-o", os.path.join(d, "full.h5")],
                 ["stream", "--seed", "1", "--source", "x", "--block", "0", "-n", "100000"],
                 ["sample", "--dist", "1", "-n", "3"]):
        with open("/dev/full", "w") as full:
            cp = subprocess.run([DEALSIM] + args, stdout=full, stderr=subprocess.PIPE, text=True)
        c.ok(cp.returncode == 1 and "cannot write" in cp.stderr,
             f"{args[0]} > /dev/full: exit 1 with a message ({cp.returncode}: {cp.stderr.strip()[-160:]})")
else:
    print("skipped: no /dev/full")

# --set: investors by name only.  An investor named "1" is investors.1; the
# second investor is investors[1]; investors.1 never means an index.
named = os.path.join(d, "named1.yaml")
with open(named, "w") as f:
    # The first investor is named "1": index 1 would be the other one.
    f.write(text.decode().replace("name: Alpha", 'name: "1"').replace("join.Alpha", "join.1"))
cp = run(["check", named, "--set", "investors.1.join_probability=0.125"])
one, beta = cp.stdout.split('  - name: "1"\n')[1].split("  - name: Beta\n")
c.ok("join_probability: 0.125" in one and "join_probability: 0.125" not in beta,
     "investors.1 is the investor named 1 (the first), not the one at index 1")
cp = run(["check", smoke, "--set", "investors[1].join_probability=0.125"])
beta = cp.stdout.split("name: Beta")[1]
c.ok("join_probability: 0.125" in beta.split("- name:")[0], "investors[1] is the second investor")
cp = run(["check", smoke, "--set", "investors.1.join_probability=0.125"], expect=2)
c.ok("expected an entry name" in cp.stderr and "investors[0]" in cp.stderr,
     f"investors.1 without such a name: refused, the bracket form suggested: {cp.stderr.strip()}")

# One whole-number grammar: what trials:/seed: refuse, -n/--seed refuse.
for opt, v in [("-n", "0x10"), ("-n", "0x1p4"), ("-n", " 5"), ("-n", "5 "), ("-n", "1.5"), ("-n", ""),
               ("--seed", " 5"), ("--seed", "0x10"), ("--seed", "2e19"), ("--threads", "0x2"),
               ("--threads", " 2")]:
    cp = run(["run", smoke, opt, v, "--quiet", "-o", os.path.join(d, "g.h5"), "--force"], expect=2)
    c.ok(opt in cp.stderr, f"{opt} {v!r} refused: {cp.stderr.strip()[:120]}")
    cp = run(["check", smoke, "--set", ("trials" if opt == "-n" else "seed") + "=" + v], expect=2) \
        if opt != "--threads" and v.strip() == v and v else None
    if cp is not None:
        c.ok("expected an integer" in cp.stderr, f"the scenario refuses {v!r} too: {cp.stderr.strip()[:120]}")
for opt, v in [("-n", "1e3"), ("-n", "+7"), ("--seed", "18446744073709551615"), ("--seed", "1e19")]:
    run(["run", smoke, opt, v, "--quiet", "-o", os.path.join(d, "g.h5"), "--force"])
    c.ok(True, f"{opt} {v!r} accepted")

# Why a scenario cannot be opened.
cp = run(["check", os.path.join(d, "missing.yaml")], expect=2)
c.ok("no such file" in cp.stderr, f"missing file: says so: {cp.stderr.strip()}")
cp = run(["check", d], expect=2)
c.ok("is a directory" in cp.stderr, f"a directory: says so: {cp.stderr.strip()}")
secret = os.path.join(d, "secret.yaml")
shutil.copy(smoke, secret)
os.chmod(secret, 0)
os.chmod(d, 0o755)
if os.geteuid() != 0:
    cp = run(["check", secret], expect=2)
    c.ok("Permission denied" in cp.stderr, f"unreadable file: says so: {cp.stderr.strip()}")
elif shutil.which("setpriv"):
    cp = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", DEALSIM, "check", secret],
                        capture_output=True, text=True)
    c.ok(cp.returncode == 2 and "cannot open the scenario file: Permission denied" in cp.stderr,
         f"unreadable file (as nobody): says so ({cp.returncode}): {cp.stderr.strip()}")
else:
    print("skipped: permission denied (root without setpriv)")
c.done()
