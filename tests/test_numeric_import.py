"""At run time numeric imports neither SymPy nor derive, and imports quickly."""
import json
import subprocess
import sys

PROBE = r"""
import json, sys, time
t0 = time.perf_counter()
import numpy
t1 = time.perf_counter()
import numeric, numeric.layers, numeric.init, numeric.optim, numeric.gradcheck, numeric.train
from numeric.kernels import kernels
kernels.names()   # imports every generated numeric/kernels/*.py
t2 = time.perf_counter()
bad = sorted(m for m in sys.modules if m.split(".")[0] in ("sympy", "derive", "mpmath"))
print(json.dumps({"numpy": t1 - t0, "numeric": t2 - t1, "bad": bad,
                  "scipy": "scipy.special" in sys.modules}))
"""


def _probe():
    run = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                         timeout=120, check=True)
    return json.loads(run.stdout)


def test_numeric_imports_neither_sympy_nor_derive():
    info = _probe()
    assert info["bad"] == [], f"numeric pulled in {info['bad']}"
    assert not info["scipy"], "scipy.special must be imported lazily (on first kernel use)"


def test_import_time():
    # measured: the best of three fresh interpreters; numeric's own share excludes NumPy
    runs = [_probe() for _ in range(3)]
    own = min(r["numeric"] for r in runs)
    total = min(r["numpy"] + r["numeric"] for r in runs)
    print(f"\nimport numeric (own share) {own * 1e3:.1f} ms; with NumPy {total * 1e3:.1f} ms")
    assert own < 0.3
    assert total < 1.0  # generous sanity bound: NumPy's own import varies with machine load
