"""retain_freed_memory: a training step stops faulting in fresh pages once it is on."""

import subprocess
import sys
import textwrap

import pytest

from autograd_cv.memory import retain_freed_memory

# Ten MLP steps at batch 128 after a warm-up, in a fresh process (the setting is
# process-wide): prints the minor page faults per step.
STEPS = textwrap.dedent(
    """
    import resource, sys
    import numpy as np
    import autograd_cv as ag
    from autograd_cv import functional as F, models, optim
    from autograd_cv.memory import retain_freed_memory
    if sys.argv[1] == "on":
        assert retain_freed_memory()
    ag.manual_seed(0)
    model = models.MLP([784, 256, 256, 10])
    optimizer = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    rng = np.random.default_rng(0)
    x = ag.tensor(rng.normal(size=(128, 1, 28, 28)).astype(np.float32))
    y = rng.integers(0, 10, 128)
    def step():
        optimizer.zero_grad()
        F.cross_entropy(model(x), y).backward()
        optimizer.step()
    for _ in range(3):
        step()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(10):
        step()
    print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 10)
    """
)


def faults_per_step(mode: str) -> float:
    done = subprocess.run(
        [sys.executable, "-c", STEPS, mode], capture_output=True, text=True, check=True
    )
    return float(done.stdout.split()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt is Linux's")
def test_training_steps_reuse_freed_pages() -> None:
    default, retained = faults_per_step("off"), faults_per_step("on")
    # An MLP step touches megabytes of fresh pages by default (360-1,080 faults here).
    if default < 200:
        pytest.skip(f"this C library already reuses the pages ({default} faults per step)")
    assert retained < default / 20, (default, retained)


def test_retain_freed_memory_rejects_a_bad_limit() -> None:
    with pytest.raises(ValueError, match="limit_bytes"):
        retain_freed_memory(-1)
