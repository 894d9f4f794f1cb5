# tests/engine/test_simd_paths.py
# The same bits on every x86-64 CPU: a run with each SIMD path forced
# (DEALSIM_SIMD=scalar|sse2|avx2|avx512, those this CPU has) and runs with
# glibc's CPU features masked (GLIBC_TUNABLES, so that libm would pick its
# SSE2 code instead of its FMA code, were any libm function on the result
# path) give bit-identical files: every dataset and root attribute but
# provenance (dstest.contents).  Two threads, so the merge tree is exercised.
# Licence: see LICENSE at the top of the repository.
import os

from dstest import Checker, differences, run, scenario, tmpdir

c = Checker()
d = tmpdir()

with open("/proc/cpuinfo") as f:
    flags = set(next((l for l in f if l.startswith("flags")), "").split())
paths = ["scalar", "sse2"] + (["avx2"] if "avx2" in flags else []) + \
        (["avx512"] if "avx512f" in flags else [])
# glibc 2.36 names (sysdeps/x86/cpu-tunables.c): a leading '-' disables.
MASK = "glibc.cpu.hwcaps=-AVX2,-FMA,-FMA4,-AVX,-AVX512F,-AVX512DQ,-AVX512BW,-AVX512VL,-AVX512CD"


def one(name, scen, env_extra):
    out = os.path.join(d, f"{name}.h5")
    env = dict(env_extra)
    run(["run", scenario(scen), "-n", "30000", "-o", out, "--force", "--quiet", "--threads", "2",
         "--set", "output.per_trial=true", "--set", "output.price_paths=true"], env=env)
    return out


for scen in ("openai-2026.yaml", "smoke.yaml"):
    ref = one(f"{scen}-auto", scen, {"DEALSIM_SIMD": "auto"})
    for p in paths:
        diff = differences(ref, one(f"{scen}-{p}", scen, {"DEALSIM_SIMD": p}))
        c.ok(not diff, f"{scen}: DEALSIM_SIMD={p} bit-identical to auto (differs: {diff[:5]})")
    for p in ("auto", "scalar"):
        diff = differences(ref, one(f"{scen}-mask-{p}", scen, {"DEALSIM_SIMD": p, "GLIBC_TUNABLES": MASK}))
        c.ok(not diff, f"{scen}: glibc CPU features masked, DEALSIM_SIMD={p}: bit-identical (differs: {diff[:5]})")
c.done()
