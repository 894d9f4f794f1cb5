# tests/rng/test_rng_numpy.py
# dealsim's PCG64-DXSM streams against numpy, bit for bit, at test time.
# Licence: see LICENSE at the top of the repository.
#
# Compares, over several seeds (0, 1, 2^64-1, the default scenario's), source
# names and blocks, more than 10^6 raw outputs in all, through both the test
# tool and the `dealsim stream` command a user would run; also the 53-bit
# uniforms, jump-ahead (numpy's advance), the SeedSequence words and FNV-1a.
import os
import subprocess

import numpy as np

from dstest import BUILD, DEALSIM, Checker

TOOL = os.path.join(BUILD, "tests", "rng", "rng_tool")

def fnv1a64(name):
    h = 0xCBF29CE484222325
    for b in name.encode("utf-8"):
        h ^= b
        h = (h * 0x100000001B3) % 2**64
    return h

def stream(seed, name, block):
    ss = np.random.SeedSequence(seed, spawn_key=(fnv1a64(name), block))
    return np.random.PCG64DXSM(ss)

def run(args):
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    return out.split()

checker = Checker()
def check(label, got, want):
    got, want = list(got), list(want)
    i = next((k for k, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))
    checker.ok(got == want, f"{label}: first difference at index {i}")

total = 0
seeds = [0, 1, 2**64 - 1, 20260128, 2**32, 12345678901234567]
names = ["amount.Nvidia", "join.Amazon", "price.path", "price.jumps", "", "ünïcode.名前"]
blocks = [0, 1, 7, 2**32 + 5, 2**64 - 1]
cases = [(s, n, b) for s in seeds for n in names[:3] for b in blocks[:2]]
cases += [(seeds[i % len(seeds)], names[i % len(names)], blocks[i % len(blocks)]) for i in range(12)]
for seed, name, block in cases:
    n = 30000
    want = [str(v) for v in stream(seed, name, block).random_raw(n)]
    got = run([TOOL, "raw", str(seed), name, str(block), str(n)])
    check(f"raw seed={seed} name={name!r} block={block}", got, want)
    total += n

# The user's command, on a long stream.
n = 200000
got = run([DEALSIM, "stream", "--seed", "20260128", "--source", "amount.Nvidia", "--block", "3", "-n", str(n)])
want = [str(v) for v in stream(20260128, "amount.Nvidia", 3).random_raw(n)]
check("dealsim stream", got, want)
total += n

# Uniforms: [0,1) is numpy's Generator.random(); (0,1) is ((x>>11)+0.5)*2^-53.
n = 100000
raw = stream(7, "u", 2).random_raw(n)
want01 = [float.hex(float(v >> np.uint64(11)) * 2.0**-53) for v in raw]
got01 = [float.hex(float.fromhex(x)) for x in run([TOOL, "uniform", "7", "u", "2", str(n)])]
check("uniform [0,1)", got01, want01)
gen = np.random.Generator(stream(7, "u", 2))
check("uniform == Generator.random", [float.hex(float(x)) for x in gen.random(n)], want01)
want0p = [float.hex((float(v >> np.uint64(11)) + 0.5) * 2.0**-53) for v in raw]
got0p = [float.hex(float.fromhex(x)) for x in run([TOOL, "uniform_pos", "7", "u", "2", str(n)])]
check("uniform (0,1)", got0p, want0p)
total += 2 * n

# Jump-ahead, including past 2^64 and 2^127.
for delta in [1, 1000, 2**40 + 3, 2**64 + 11, 2**127 - 1]:
    g = stream(3, "adv", 9)
    g.advance(delta)
    want = [str(v) for v in g.random_raw(1000)]
    check(f"advance {delta}", run([TOOL, "advance", "3", "adv", "9", str(delta), "1000"]), want)

# SeedSequence words, various entropy and key lengths.
for seed, key in [(0, ()), (1, (5,)), (2**64 - 1, (2**64 - 1, 2**64 - 1)), (2**33, (0, 1, 2, 3, 4))]:
    want = [str(v) for v in np.random.SeedSequence(seed, spawn_key=key).generate_state(16, np.uint32)]
    check(f"seedseq {seed} {key}", run([TOOL, "seedseq", str(seed), "16"] + [str(k) for k in key]), want)

for name in names:
    check(f"fnv {name!r}", run([TOOL, "fnv", name]), [str(fnv1a64(name))])

print(f"compared {total} outputs with numpy {np.__version__}")
checker.done()
