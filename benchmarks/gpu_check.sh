#!/usr/bin/env bash
# The GPU verification of issue 18, for the H200 machine (CuPy 14 / CUDA 13, numba-cuda,
# NumPy, PyTorch preinstalled; nothing downloadable). Run from the repository root:
#     bash benchmarks/gpu_check.sh            (about 6 minutes at most)
# It installs nothing: the package is used from the source tree (PYTHONPATH). It prints
# the device, the versions, the tests/cuda results and the anchor table for the resolution note.
set -u
cd "$(dirname "$0")/.."
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1
PY=${PYTHON:-python3}
echo "== machine"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
$PY - <<'PYEOF'
import numpy, numba
import autograd_cv as ag
print("numpy", numpy.__version__, "numba", numba.__version__)
try:
    import cupy
    print("cupy", cupy.__version__, "cuda runtime", cupy.cuda.runtime.runtimeGetVersion())
except Exception as error:
    print("cupy: ", error)
print("ag.cuda.is_available():", ag.cuda.is_available(), ag.cuda.why_unavailable() or "")
PYEOF
echo "== tests/cuda (the GPU against the CPU)"
timeout 240 $PY -m pytest -q -p no:randomly -p no:cacheprovider -o addopts="" tests/cuda \
    tests/kernels/test_cuda_kernels.py tests/test_backend.py 2>&1 | tail -25
echo "== the anchor table (each framework in its own process; medians of 3 rounds)"
timeout 150 $PY benchmarks/gpu.py --rounds 3 --repeats 20 2>&1 | tail -15
