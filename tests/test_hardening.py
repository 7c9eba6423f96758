"""Hardening: no leak over a long training run, nothing unpickled, damaged files refused."""

from __future__ import annotations

import io
import os
import pickle
import resource
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest

import autograd_cv as ag
from autograd_cv import functional as F
from autograd_cv import nn, optim


def _rss_mb() -> float:
    """Current resident set size in MB (Linux), else the peak."""
    statm = Path("/proc/self/statm")
    if statm.exists():
        return int(statm.read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@pytest.mark.slow
def test_memory_stays_flat_over_1000_training_steps() -> None:
    ag.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(4 * 6 * 6, 10))  # fmt: skip
    optimizer = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    rng = np.random.default_rng(0)
    images = ag.tensor(rng.random((16, 1, 12, 12), dtype=np.float32))
    labels = ag.tensor(rng.integers(0, 10, 16))
    losses: list[float] = []
    after_warmup = None
    for step in range(1000):
        loss = F.cross_entropy(model(images), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())  # a float, so no graph is kept
        if step == 100:
            after_warmup = _rss_mb()
    grown = _rss_mb() - after_warmup
    assert grown < 50, f"RSS grew by {grown:.1f} MB over 900 steps"
    assert losses[-1] < losses[0]


def test_detach_and_item_keep_no_graph() -> None:
    x = ag.tensor(np.ones(3), requires_grad=True)
    loss = (x.exp() * 2).sum()
    kept = loss.detach()
    assert kept.node is None and not kept.requires_grad and isinstance(loss.item(), float)


def _npz_with_object_array(payload: object) -> bytes:
    """A .npz whose one member is an object array: loading it would unpickle `payload`."""
    member = io.BytesIO()
    np.save(member, np.array([payload], dtype=object), allow_pickle=True)
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("weights.npy", member.getvalue())
    return archive.getvalue()


class _Exploit:
    """Unpickling this creates a file: proof that code ran."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


def test_crafted_pickle_payload_is_never_unpickled(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    evil = tmp_path / "model.npz"
    evil.write_bytes(_npz_with_object_array(_Exploit(str(marker))))
    with pytest.raises(ValueError, match="object array"):
        ag.load(evil)
    assert not marker.exists(), "loading a checkpoint ran code from it"
    plain_pickle = tmp_path / "model2.npz"
    plain_pickle.write_bytes(pickle.dumps(_Exploit(str(marker))))
    with pytest.raises(ValueError):
        ag.load(plain_pickle)
    assert not marker.exists()


def test_checkpoint_truncated_at_any_byte_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ckpt.npz"
    ag.save({"model": {"w": np.arange(50, dtype=np.float32)}, "epoch": 3}, path)
    whole = path.read_bytes()
    for cut in sorted({0, 1, 10, len(whole) // 3, len(whole) // 2, len(whole) - 20,
                       len(whole) - 1}):  # fmt: skip
        damaged = tmp_path / f"cut{cut}.npz"
        damaged.write_bytes(whole[:cut])
        with pytest.raises(ValueError, match=str(damaged.name)):
            ag.load(damaged)
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_hooks_and_grad_mode_are_safe_with_threads() -> None:
    errors: list[BaseException] = []

    def work(seed: int, disable: bool) -> None:
        try:
            rng = np.random.default_rng(seed)
            for _ in range(50):
                x = ag.tensor(rng.random(5), requires_grad=True)
                seen = []
                x.register_hook(lambda g, seen=seen: seen.append(g.numpy().copy()))
                if disable:
                    with ag.no_grad():
                        assert not (x * 2).requires_grad
                y = (x * x).sum()
                y.backward()
                np.testing.assert_allclose(x.grad.numpy(), 2 * x.numpy())
                assert len(seen) == 1
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(i, i % 2 == 0)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
