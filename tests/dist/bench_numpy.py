#!/usr/bin/python3
# tests/dist/bench_numpy.py
# ns per draw of numpy's Generator(PCG64DXSM) for the draws `ds_dist_tool bench` times.
# Licence: see LICENSE at the top of the repository.
#
# Same protocol as the C benchmark: median of 5 repeats of 10^7 draws, one
# generator.  numpy is called vectorised (size=10^7 per call), its fastest use;
# the truncated normals use scipy.stats.truncnorm.rvs on the same generator,
# as numpy has none.  Not a ctest test (timings are not pass/fail).
# Usage: /usr/bin/python3 tests/dist/bench_numpy.py
import time

import numpy as np
from scipy import stats

N = 10_000_000
REPEATS = 5


def main():
    g = np.random.Generator(np.random.PCG64DXSM(1))
    pert = (2.0, 4.0)  # pert(0, 1, 4), lambda 4: Beta(1 + 4/4, 1 + 4*3/4) on [0, 4]
    draws = [
        ("normal", lambda: g.standard_normal(N)),
        ("exponential", lambda: g.standard_exponential(N)),
        ("gamma(0.5)", lambda: g.standard_gamma(0.5, N)),
        ("gamma(4)", lambda: g.standard_gamma(4.0, N)),
        ("beta(4,1.5)", lambda: g.beta(4.0, 1.5, N)),
        ("uniform(2,5)", lambda: g.uniform(2.0, 5.0, N)),
        ("triangular(0,1,4)", lambda: g.triangular(0.0, 1.0, 4.0, N)),
        ("truncnormal(0,1)[-1,0]", lambda: stats.truncnorm.rvs(-1, 0, size=N, random_state=g)),
        ("truncnormal(0,1)[4,5]", lambda: stats.truncnorm.rvs(4, 5, size=N, random_state=g)),
        ("lognormal(1,0.5)", lambda: g.lognormal(0.0, 0.5, N)),
        ("pert(0,1,4)", lambda: 4.0 * g.beta(*pert, N)),
        ("poisson(0.0833)", lambda: g.poisson(0.0833, N)),
    ]
    print(f"numpy {np.__version__}, Generator(PCG64DXSM), vectorised")
    print(f"{'draw':<24} {'ns/draw':>10}")
    for name, fn in draws:
        t = []
        for _ in range(REPEATS):
            t0 = time.perf_counter()
            fn()
            t.append((time.perf_counter() - t0) / N * 1e9)
        print(f"{name:<24} {sorted(t)[REPEATS // 2]:10.2f}", flush=True)


if __name__ == "__main__":
    main()
