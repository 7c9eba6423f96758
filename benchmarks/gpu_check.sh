#!/usr/bin/env bash
# The GPU verification of issue 18, for the H200 machine (CuPy 14 / CUDA 13, NumPy,
# PyTorch, pytest-xdist preinstalled; nothing downloadable). From the repository root:
#     bash benchmarks/gpu_check.sh [smoke] [tests] [epoch] [cli] [profile] [bench]   (default: all)
# The package is used from the source tree (PYTHONPATH); wheels in .whl/ (graphviz) are put
# beside it under /tmp/site. MNIST's IDX files are read from $GPU_DATA/mnist (default
# .gpu_data/mnist, carried to the machine).
# Full logs go to $OUT (or /tmp/gpu_check); the terminal gets the summaries, last the tables.
# Preparing the carried folders here, once (both are in .git/info/exclude):
#     mkdir -p .gpu_data/mnist && cp ../shared/data/mnist/*.gz .gpu_data/mnist/
#     python -m pip download --no-deps --only-binary=:all: -d .whl graphviz
# then run it through the device tool with carry [".gpu_data", ".whl"]. Session 11's runs
# took 70-125 s (benchmarks/gpu_runs/).
set -u
cd "$(dirname "$0")/.."
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1
PY=${PYTHON:-python3}
LOGS=${OUT:-/tmp/gpu_check}
DATA=${GPU_DATA:-.gpu_data}
mkdir -p "$LOGS"
exec > >(tee "$LOGS/check.log") 2>&1
STAGES=${*:-smoke tests epoch cli profile bench}
has() { [[ " $STAGES " == *" $1 "* ]]; }
SECONDS=0

# The package's own dependencies that the GPU machine's image lacks (graphviz, for
# autograd_cv.viz), carried as wheels in .whl/: what `pip install autograd-cv` would bring.
if ls .whl/*.whl >/dev/null 2>&1; then
    $PY -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl \
        && export PYTHONPATH=$PYTHONPATH:/tmp/site
fi
echo "== machine"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm --format=csv,noheader || true
lscpu | grep -m1 "Model name" || true
$PY - <<'PYEOF'
import numpy, numba
print("python", __import__("sys").version.split()[0], "numpy", numpy.__version__,
      "numba", numba.__version__)
for name in ("cupy", "torch"):
    try:
        module = __import__(name)
        print(name, getattr(module, "__version__", "?"))
    except Exception as error:
        print(name, "missing:", error)
PYEOF

if has smoke; then
    echo "== smoke (each basic path once against the CPU) [${SECONDS}s]"
    timeout 120 $PY benchmarks/gpu_smoke.py 2>&1 | tee "$LOGS/smoke.log" | cut -c1-300
fi

if has tests; then
    echo "== tests/cuda (the GPU against the CPU) [${SECONDS}s]"
    workers=$($PY -c "import xdist" 2>/dev/null && echo "-n 8")
    limit=$($PY -c "import pytest_timeout" 2>/dev/null && echo "--timeout 90")
    timeout 200 $PY -m pytest -q -p no:cacheprovider -o addopts="" $workers $limit \
        -rfE --tb=short tests/cuda >"$LOGS/tests.log" 2>&1
    echo "pytest exit: $?"
    grep -E "^(FAILED|ERROR)" "$LOGS/tests.log" | cut -c1-240 | head -60
    tail -3 "$LOGS/tests.log"
fi

if has epoch; then
    echo "== epochs: LeNet-5 on MNIST, AlexNetSmall-BN CIFAR-sized [${SECONDS}s]"
    timeout 150 $PY benchmarks/gpu_epoch.py --mnist "$DATA/mnist" --cifar-steps 60 \
        2>&1 | tee "$LOGS/epoch.log" | tail -40
fi

if has cli; then
    echo "== autograd-cv train --device cuda: LeNet-5, one MNIST epoch, then eval [${SECONDS}s]"
    timeout 120 $PY -m autograd_cv train --device cuda --model lenet5 --dataset mnist \
        --data-dir "$DATA" --epochs 1 --no-progress --out /tmp/gpu_cli 2>&1 | tail -4
    timeout 60 $PY -m autograd_cv eval --device cuda --checkpoint /tmp/gpu_cli/model.npz \
        --data-dir "$DATA" 2>&1 | head -2
fi

if has profile; then
    echo "== where a step's time goes [${SECONDS}s]"
    timeout 90 $PY benchmarks/gpu_profile.py --top 8 2>&1 | tee "$LOGS/profile.log"
fi

if has bench; then
    echo "== the anchor table (each framework in its own process; medians of rounds) [${SECONDS}s]"
    timeout 200 $PY benchmarks/gpu.py --rounds "${ROUNDS:-3}" --repeats 20 \
        2>&1 | tee "$LOGS/bench.log" | tail -40
fi
echo "== done in ${SECONDS}s"
