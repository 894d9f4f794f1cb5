# tests/notebook/test_notebook.py
# Executes notebooks/explore.ipynb headless (jupyter nbconvert) on small real runs and checks every figure.
# Licence: see LICENSE at the top of the repository.
#
# Three files from configs/openai-2026.yaml, 40000 trials (about 0.1 s each):
#   default   the scenario's own output.per_trial (must include total, closed, target_met,
#             joined_mask, ...), no /sensitivity: the fallback figures from /coalitions and /trials
#   bare      output.per_trial false: distributions from /histograms, fallbacks from /coalitions
#   sens      bare plus a stand-in /sensitivity group (the layout described for it: dims input,
#             output, bin; first_order, first_order_stderr, rank_correlation, bool_probability),
#             executed to HTML: the real tornado and bin chart, whose x axis must be the top
#             driver's bin_value in its input_units (amount.Amazon, USD billion)
#   join      sens with Amazon's amount fixed: a join is the top driver, its axis the uniform U
#   many      tests/data/good/sixty_four_investors.yaml: the pooled "other" coalition row
# A run fails on a failed cell (nbconvert exits non-zero), on fewer image/png outputs than
# EXPECTED_FIGURES, or on fewer "FIGURE OK:" markers (printed by the notebook's show() after it
# has checked that every panel has a title and labelled axes). The top-driver chart prints
# "TOP DRIVER AXIS: input | units | first to last x | x label | view lo to hi", checked against
# the file and against the axis' view (every bin shown).
import base64
import html as html_lib
import json
import os
import re
import shutil
import subprocess

import h5py
import numpy as np

from dstest import SRC, Checker, run, tmpdir

EXPECTED_FIGURES = 11
NOTEBOOK = os.path.join(SRC, "notebooks", "explore.ipynb")
SCENARIO = os.path.join(SRC, "configs", "openai-2026.yaml")
TRIALS = 40000

checker = Checker()
check = checker.ok


def run_dealsim(out, *sets):
    cmd = ["run", SCENARIO, "-n", str(TRIALS), "--threads", "2", "--quiet", "-o", out]
    for s in sets:
        cmd += ["--set", s]
    run(cmd)


def strip_sensitivity(path):
    """Delete the file's /sensitivity group, to exercise the fallbacks."""
    with h5py.File(path, "a") as f:
        if "sensitivity" in f:
            del f["sensitivity"]


def execute(result, to, name, tmp):
    env = dict(os.environ, DEALSIM_RESULT=result, MPLBACKEND="Agg",
               JUPYTER_RUNTIME_DIR=os.path.join(tmp, "jupyter-runtime"),
               IPYTHONDIR=os.path.join(tmp, "ipython"), MPLCONFIGDIR=os.path.join(tmp, "mpl"))
    cmd = ["/usr/bin/python3", "-m", "jupyter", "nbconvert", "--to", to, "--execute",
           "--ExecutePreprocessor.timeout=300", "--ExecutePreprocessor.kernel_name=python3",
           "--output-dir", tmp, "--output", name, NOTEBOOK]
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    check(p.returncode == 0, f"{name}: nbconvert --to {to} failed (a cell failed?):\n"
          + re.sub(r"\x1b\[[0-9;]*m", "", p.stderr)[-4000:])
    return p.returncode == 0


def check_notebook(path, name, expect_text):
    nb = json.load(open(path))
    pngs, text, errors = 0, [], []
    for cell in nb["cells"]:
        for o in cell.get("outputs", []):
            if o["output_type"] == "error":
                errors.append(o["ename"])
            if o["output_type"] == "stream":
                text.append("".join(o["text"]))
            if "image/png" in o.get("data", {}):
                png = base64.b64decode(o["data"]["image/png"])
                check(png.startswith(b"\x89PNG") and len(png) > 5000, f"{name}: an empty or broken PNG")
                pngs += 1
    text = "".join(text)
    ok = re.findall(r"^FIGURE OK: (.+)$", text, re.M)
    check(not errors, f"{name}: error outputs {errors}")
    check(pngs >= EXPECTED_FIGURES, f"{name}: {pngs} image/png outputs, {EXPECTED_FIGURES} expected")
    check(len(ok) == EXPECTED_FIGURES and all(t.strip() for t in ok),
          f"{name}: {len(ok)} titled figures checked, {EXPECTED_FIGURES} expected: {ok}")
    check(f"ALL FIGURES OK: {EXPECTED_FIGURES}" in text, f"{name}: the final figure count is missing")
    for t in expect_text:
        check(t in text, f"{name}: expected {t!r} in the printed output")
    print(f"{name}: {pngs} figures, {len(ok)} checked", flush=True)
    return text


def check_driver_axis(text, result, name):
    """The top-driver chart's x axis: the input with the largest |first_order| on target_met,
    drawn over its /sensitivity/bin_value (the bins' centres in the input's units), labelled
    with those units (a join or tranche: U, and when it joins)."""
    with h5py.File(result, "r") as f:
        g = f["sensitivity"]
        outs = list(g["bool_output"].asstr()[()])
        fos = list(g["output"].asstr()[()])
        s1 = g["first_order"][()][:, fos.index("target_met")]
        k = int(np.nanargmax(np.abs(s1)))
        top = g["input"].asstr()[k]
        kind, units = g["input_kind"].asstr()[k], g["input_units"].asstr()[k]
        x = g["bin_value"][k]
        check("target_met" in outs, f"{name}: target_met is a bool_output")
    lines = re.findall(r"^TOP DRIVER AXIS: (.+)$", text, re.M)
    check(len(lines) == 1, f"{name}: one TOP DRIVER AXIS line, found {lines}")
    if len(lines) != 1:
        return None
    fields = [t.strip() for t in lines[0].split(" | ")]
    check(len(fields) == 5, f"{name}: the TOP DRIVER AXIS line has 5 fields: {lines[0]!r}")
    if len(fields) != 5:
        return None
    got_top, got_units, rng, label, view = fields
    lo, hi = (float(v) for v in rng.split(" to "))
    v_lo, v_hi = (float(v) for v in view.removeprefix("view ").split(" to "))
    # The points are drawn where the axis shows them (a USD axis once got a uniform's 0..1 view).
    check(v_lo <= lo and hi <= v_hi, f"{name}: the x view {v_lo} to {v_hi} hides bins at {lo} to {hi}")
    check(got_top == top, f"{name}: the chart's top driver {got_top!r}, the file's {top!r}")
    uniform = kind != "dist"
    check(got_units == ("U" if uniform else units), f"{name}: axis units {got_units!r}, input_units {units!r}")
    check(np.isclose(lo, np.nanmin(x), rtol=1e-8, atol=0) and np.isclose(hi, np.nanmax(x), rtol=1e-8, atol=0),
          f"{name}: the x axis runs over bin_value ({lo} to {hi}; the file: {np.nanmin(x)} to {np.nanmax(x)})")
    if uniform:
        what = "joins" if kind == "join_uniform" else "the tranche is paid"
        check(label == f"U of {top} ({what} when U < p)", f"{name}: a uniform's axis label {label!r}")
    else:
        check(label.startswith(top) and "(" in label and "bin" not in label,
              f"{name}: the axis label {label!r} names the input and its units, not a bin index")
    print(f"{name}: top driver {top} ({kind}), axis {label}", flush=True)
    return top, kind


def main():
    tmp = tmpdir(prefix="ds_notebook_")
    default = os.path.join(tmp, "default.h5")
    run_dealsim(default)
    strip_sensitivity(default)
    with h5py.File(default, "r") as f:
        have = set(f["trials"].keys()) if "trials" in f else set()
    want = {"total", "paid", "gpu_hours", "round_trip_share", "closed", "target_met", "joined_mask"}
    check(want <= have, f"the scenario's default per_trial lacks {sorted(want - have)}")
    if execute(default, "notebook", "default.ipynb", tmp):
        check_notebook(os.path.join(tmp, "default.ipynb"), "default",
                       ["/trials/total", "No /sensitivity group", "from /trials instead"])

    bare = os.path.join(tmp, "bare.h5")
    run_dealsim(bare, "output.per_trial=false")
    sens = os.path.join(tmp, "sens.h5")
    shutil.copy(bare, sens)   # keeps the real /sensitivity the run wrote
    strip_sensitivity(bare)
    if execute(bare, "notebook", "bare.ipynb", tmp):
        check_notebook(os.path.join(tmp, "bare.ipynb"), "bare",
                       ["/histograms", "per-trial data: none", "mean total of each coalition"])

    # 64 investors: /coalitions ends with the pooled "other" row, which the fallbacks leave out.
    many = os.path.join(tmp, "many.h5")
    run(["run", os.path.join(SRC, "tests", "data", "good", "sixty_four_investors.yaml"), "-n",
         "20000", "--threads", "2", "--quiet", "-o", many, "--set", "output.per_trial=false"])
    strip_sensitivity(many)
    with h5py.File(many, "r") as f:
        check(f["coalitions/pooled"][-1] == 1, "64 investors: the last coalition row is pooled")
    if execute(many, "notebook", "many.ipynb", tmp):
        check_notebook(os.path.join(tmp, "many.ipynb"), "many",
                       ["/investors amount_if_joined_*", "mean total of each coalition"])

    with h5py.File(sens, "r") as f:
        check("sensitivity" in f and "bool_probability" in f["sensitivity"],
              "the run wrote /sensitivity with bool_probability")
    html = os.path.join(tmp, "sens.html")
    if execute(sens, "html", "sens.html", tmp):
        check(os.path.isfile(html), "the HTML report was not written")
        page = open(html, encoding="utf-8").read()
        n_img = page.count("data:image/png;base64,")
        check(n_img >= EXPECTED_FIGURES, f"HTML report: {n_img} images, {EXPECTED_FIGURES} expected")
        # What the cells printed (the page also holds their source, which names every marker).
        printed = html_lib.unescape("".join(re.findall(
            r'data-mime-type="text/plain">\s*<pre>(.*?)</pre>', page, re.S)))
        ok = re.findall(r"^FIGURE OK: (.+)$", printed, re.M)
        check(len(ok) == EXPECTED_FIGURES, f"HTML report: {len(ok)} figure markers: {ok}")
        check(f"ALL FIGURES OK: {EXPECTED_FIGURES}" in printed, "HTML report: final count missing")
        check("No /sensitivity" not in printed,
              "HTML report: /sensitivity present but a fallback was drawn")
        check(any(t.startswith("Sensitivity of total to the inputs") for t in ok),
              "HTML report: no tornado from /sensitivity")
        check(any("across bins of the top driver" in t for t in ok),
              "HTML report: no bin chart from /sensitivity")
        r = check_driver_axis(printed, sens, "sens")
        check(r is not None and r[1] == "dist" and "USD billion" in printed,
              "sens: the scenario's top driver is a distribution input in USD billion")
        print(f"sens: HTML report with {n_img} images", flush=True)

    # Amazon's amount fixed: a join becomes the top driver of target_met, drawn against its U.
    join = os.path.join(tmp, "join.h5")
    run_dealsim(join, "output.per_trial=false", "investors.Amazon.amount=30")
    if execute(join, "notebook", "join.ipynb", tmp):
        text = check_notebook(os.path.join(tmp, "join.ipynb"), "join", [])
        r = check_driver_axis(text, join, "join")
        check(r is not None and r[1] == "join_uniform", f"join: the top driver is a join ({r})")
    if os.environ.get("DS_KEEP_TMP") == "1":
        print("kept", tmp)


if __name__ == "__main__":
    main()
    checker.done()
