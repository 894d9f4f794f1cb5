# tests/engine/test_extend.py
# `dealsim extend` of a run that ended inside a block (10000 trials, not a
# multiple of the 4096-trial block) by 15000 trials gives the file of one
# straight 25000-trial run, bit for bit.
# Licence: see LICENSE at the top of the repository.
import os

import h5py
import numpy as np

from dstest import Checker, run, run_to_file, scenario, tmpdir

# Root attributes that describe the run rather than its results.
RUN_ATTRS = {"threads", "wall_seconds", "created_utc", "finished_utc", "hostname", "mpi_ranks"}


def contents(path):
    """{name: value} of every dataset and every result attribute."""
    out = {}
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                out[name] = obj[()]
            for k, v in obj.attrs.items():
                # Dimension-scale links are object references, file-local.
                if k not in ("DIMENSION_LIST", "REFERENCE_LIST"):
                    out[name + "@" + k] = v
        f.visititems(visit)
        # The effective scenario records the output file (-o), which
        # differs between these runs by design.
        text = f["effective_config"].asstr()[()]
        out["effective_config"] = "\n".join(
            l for l in text.splitlines() if not l.lstrip().startswith("file:"))
        for k, v in f.attrs.items():
            if k not in RUN_ATTRS:
                out["@" + k] = v
    return out


def same(a, b):
    if isinstance(a, np.floating):
        return isinstance(b, np.floating) and a.tobytes() == b.tobytes()  # NaN == NaN
    if isinstance(a, np.ndarray):
        if a.dtype.kind == "f":
            return a.shape == b.shape and a.tobytes() == b.tobytes()  # bits, NaNs included
        return a.shape == b.shape and np.array_equal(a, b)
    return a == b


c = Checker()
d = tmpdir()
sets = ["--set", "output.per_trial=true"]
base = run_to_file("smoke.yaml", os.path.join(d, "base.h5"), "-n", "10000", *sets, threads=2)
with h5py.File(base, "r") as f:
    c.ok(int(f.attrs["trials"]) == 10000, "the base run holds 10000 trials")
ext = os.path.join(d, "ext.h5")
run(["extend", base, "-n", "15000", "-o", ext, "--quiet", "--threads", "3"])
ref = run_to_file("smoke.yaml", os.path.join(d, "ref.h5"), "-n", "25000", *sets, threads=1)
a, b = contents(ext), contents(ref)
c.ok(set(a) == set(b), f"same datasets and attributes (only in one: {sorted(set(a) ^ set(b))[:6]})")
diff = [k for k in b if k in a and not same(a[k], b[k])]
c.ok(not diff, f"extended run is bit-identical to a straight 25000-trial run (differs: {diff[:6]})")
c.ok(len(a.get("trials/total", [])) == 25000, "25000 per-trial rows")
c.done()
