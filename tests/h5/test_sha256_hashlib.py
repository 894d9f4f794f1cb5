# tests/h5/test_sha256_hashlib.py
# dealsim's SHA-256 (sim/core/sha256.c) against Python's hashlib for every length 0..300.
# Licence: see LICENSE at the top of the repository.
import hashlib
import os
import subprocess

from dstest import Checker

MAX = 300


def main():
    tool = os.environ["DS_H5_WRITER"]
    out = subprocess.run([tool, "sha256", str(MAX)], check=True, capture_output=True,
                         text=True).stdout.split("\n")
    data = bytes((i * 7 + 3) & 255 for i in range(MAX + 1))
    c = Checker()
    for n in range(MAX + 1):
        want = "%d %s" % (n, hashlib.sha256(data[:n]).hexdigest())
        c.ok(out[n] == want, "length %d: got %r, want %r" % (n, out[n], want))
    c.done()


if __name__ == "__main__":
    main()
