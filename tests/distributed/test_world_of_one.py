"""autograd_cv.distributed in one process (no mpiexec), and the engine hooks it is built on."""

from __future__ import annotations

import numpy as np
import pytest

import autograd_cv as ag
from autograd_cv import distributed as dist
from autograd_cv import functional as F
from autograd_cv.autograd import hooks
from autograd_cv.data import ArrayDataset, DataLoader
from autograd_cv.models import MLP


@pytest.fixture(autouse=True)
def _outside_mpiexec(monkeypatch):
    for name in dist._LAUNCHER_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(dist, "_world", None)


# ----- the engine: post-accumulate-grad hooks run during the walk -----------------------
def test_post_accumulate_hook_runs_as_soon_as_a_leaf_is_final_not_at_the_end():
    rng = np.random.default_rng(0)
    x = ag.tensor(rng.standard_normal((4, 3)))
    w1 = ag.tensor(rng.standard_normal((3, 5)), requires_grad=True)
    w2 = ag.tensor(rng.standard_normal((5, 2)), requires_grad=True)
    events = []
    hidden = F.relu(x @ w1)
    hidden.register_hook(lambda grad: events.append("hidden"))
    w1.register_post_accumulate_grad_hook(lambda leaf: events.append("w1"))
    w2.register_post_accumulate_grad_hook(lambda leaf: events.append("w2"))
    (hidden @ w2).sum().backward()
    # w2's last consumer is the output matmul: its hook fires before the walk reaches relu.
    assert events == ["w2", "hidden", "w1"]


def test_post_accumulate_hook_sees_the_whole_gradient_of_a_shared_leaf():
    w = ag.tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    seen = []
    w.register_post_accumulate_grad_hook(lambda leaf: seen.append(leaf.grad.numpy().copy()))
    w.grad = ag.tensor(np.ones(3))  # accumulation adds to what is there
    ((w * w).sum() + (3 * w).sum() + ag.exp(w).sum()).backward()
    expected = 1 + 2 * w.numpy() + 3 + np.exp(w.numpy())
    assert len(seen) == 1
    np.testing.assert_allclose(seen[0], expected)


def test_queued_callback_runs_after_every_gradient_is_accumulated_and_only_once():
    a = ag.tensor(np.ones(2), requires_grad=True)
    b = ag.tensor(np.ones(2), requires_grad=True)
    calls = []

    def on_ready(leaf):
        hooks.queue_callback(lambda: calls.append((a.grad is not None, b.grad is not None)))

    a.register_post_accumulate_grad_hook(on_ready)
    ((a * 2).sum() + (b * 3).sum()).backward()
    assert calls == [(True, True)]
    (b * 3).sum().backward()  # a is not used: its hook, and so no callback, runs
    assert calls == [(True, True)]


def test_removed_post_hooks_stop_running_and_ag_grad_never_runs_them():
    w = ag.tensor(np.ones(3), requires_grad=True)
    calls = []
    handle = w.register_post_accumulate_grad_hook(lambda leaf: calls.append(1))
    ag.grad((w * w).sum(), w)
    assert calls == []
    (w * w).sum().backward()
    assert calls == [1]
    handle.remove()
    (w * w).sum().backward()
    assert calls == [1]


def test_post_hook_on_a_non_leaf_is_refused_with_its_shape():
    w = ag.tensor(np.ones(3), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"only a leaf.*\(3,\)"):
        (w * 2).register_post_accumulate_grad_hook(lambda leaf: None)


# ----- a world of one ---------------------------------------------------------------------
def test_without_mpiexec_the_world_is_one_process_and_collectives_are_identities():
    world = dist.init()
    assert (world.rank, world.size, world.comm) == (0, 1, None)
    assert dist.rank() == 0 and dist.world_size() == 1 and dist.is_main_process()
    values = np.array([1.0, 2.0], dtype=np.float32)
    assert dist.all_reduce(values, op="mean") is values
    np.testing.assert_array_equal(values, [1.0, 2.0])
    tensor = ag.tensor(np.arange(3.0))
    assert dist.broadcast(tensor) is tensor
    dist.barrier()


def test_init_again_keeps_the_world_and_its_timeout_unless_given(monkeypatch):
    monkeypatch.setenv("AUTOGRAD_CV_MPI_TIMEOUT", "7")
    world = dist.init()
    assert world.timeout == 7.0
    assert dist.init(timeout=2) is world and world.timeout == 2
    assert dist.init() is world and world.timeout == 2


def test_bad_arguments_name_the_function():
    with pytest.raises(ValueError, match="all_reduce: op must be one of"):
        dist.all_reduce(np.ones(2), op="prod")
    with pytest.raises(TypeError, match="all_reduce: op='mean' needs a floating-point"):
        dist.all_reduce(np.ones(2, dtype=np.int64), op="mean")
    with pytest.raises(ValueError, match=r"broadcast: root must be in \[0, 1\)"):
        dist.broadcast(np.ones(2), root=1)
    with pytest.raises(ValueError, match="timeout must be positive"):
        dist.init(timeout=0)
    with pytest.raises(ValueError, match="DistributedSampler: need 0 <= rank < num_replicas"):
        dist.DistributedSampler(range(10), num_replicas=2, rank=2)


def test_mpiexec_without_mpi4py_is_a_clear_error(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_mpi4py(name, *args, **kwargs):
        if name.startswith("mpi4py"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setenv("PMI_RANK", "0")
    monkeypatch.setattr(builtins, "__import__", no_mpi4py)
    with pytest.raises(RuntimeError, match=r"mpiexec but mpi4py is not installed.*\[mpi\]"):
        dist.init()


def test_ddp_in_a_world_of_one_is_the_plain_model():
    ag.manual_seed(0)
    model = MLP([4, 8, 3])
    wrapped = dist.DistributedDataParallel(model)
    x = ag.tensor(np.random.default_rng(1).standard_normal((5, 4)).astype(np.float32))
    np.testing.assert_array_equal(wrapped(x).numpy(), model(x).numpy())
    assert [p is q for p, q in zip(wrapped.parameters(), model.parameters())] == [True] * 4
    assert list(wrapped.state_dict()) == ["module." + k for k in model.state_dict()]
    with pytest.raises(TypeError, match="expected an nn.Module"):
        dist.DistributedDataParallel(lambda x: x)


def test_buckets_hold_at_most_the_cap_last_layer_first_and_one_dtype_each():
    params = [ag.tensor(np.zeros(n, dtype), requires_grad=True)
              for n, dtype in [(100, np.float32), (300, np.float32), (50, np.float32),
                               (2000, np.float32), (10, np.float64)]]  # fmt: skip
    buckets = dist._make_buckets(params, cap_bytes=1600)
    assert [[p.data.size for p in b.params] for b in buckets] == [[100, 300], [50], [2000], [10]]
    assert all(b.buffer.dtype == b.params[0].dtype for b in buckets)


# ----- DistributedSampler -----------------------------------------------------------------
@pytest.mark.parametrize("n, replicas", [(20, 2), (23, 4), (5, 3), (64, 1)])
@pytest.mark.parametrize("drop_last", [False, True])
def test_ranks_share_one_order_round_robin(n, replicas, drop_last):
    shares = [dist.DistributedSampler(range(n), replicas, r, seed=3, drop_last=drop_last)
              for r in range(replicas)]  # fmt: skip
    for sampler in shares:
        sampler.set_epoch(2)
    lists = [list(sampler) for sampler in shares]
    assert len({len(s) for s in lists}) == 1 and all(len(s) == len(shares[0]) for s in lists)
    interleaved = np.stack(lists, axis=1).reshape(-1)
    order = np.random.default_rng([3, 2]).permutation(n)
    if drop_last:
        np.testing.assert_array_equal(interleaved, order[: n - n % replicas])
    else:
        np.testing.assert_array_equal(interleaved, np.resize(order, len(interleaved)))
        assert set(interleaved.tolist()) == set(range(n))


def test_per_rank_batches_together_are_the_single_process_batches():
    dataset = ArrayDataset(np.zeros((40, 1, 2, 2), np.uint8), np.arange(40))
    single = DataLoader(dataset, 8, shuffle=True, seed=5)
    single.set_epoch(1)
    ranks = []
    for rank in range(2):
        loader = DataLoader(dataset, 4, sampler=dist.DistributedSampler(dataset, 2, rank, seed=5))
        loader.set_epoch(1)
        ranks.append([labels.numpy() for _, labels in loader])
    for index, (_, labels) in enumerate(single):
        together = np.stack([ranks[0][index], ranks[1][index]], axis=1).reshape(-1)
        np.testing.assert_array_equal(together, labels.numpy())
    assert len(single) == len(ranks[0]) == 5


def test_epochs_differ_and_unshuffled_order_is_sequential():
    sampler = dist.DistributedSampler(range(50), 1, 0, seed=0)
    first = list(sampler)
    sampler.set_epoch(1)
    assert list(sampler) != first and sorted(first) == list(range(50))
    plain = dist.DistributedSampler(range(7), 2, 1, shuffle=False)
    assert list(plain) == [1, 3, 5, 0]
