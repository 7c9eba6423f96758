"""torch.utils.data's surface: default_collate, DataLoader over any map-style dataset (with
worker processes), TensorDataset, Subset, ConcatDataset, random_split."""

from __future__ import annotations

from collections import namedtuple

import numpy as np
import pytest

import autograd_cv as ag
from autograd_cv.utils.data import (
    ConcatDataset,
    DataLoader,
    Subset,
    TensorDataset,
    default_collate,
    get_worker_info,
    random_split,
)


class Regression:
    """A plain map-style dataset (not a Dataset subclass): float targets, dict extras."""

    def __len__(self):
        return 10

    def __getitem__(self, index):
        return np.full(3, index, np.float32), index / 4, {"id": index, "name": f"s{index}"}


class Noisy:
    """Samples drawn from the package generator, so workers' seeding shows."""

    def __len__(self):
        return 12

    def __getitem__(self, index):
        info = get_worker_info()
        worker = -1 if info is None else info.id
        return ag.rand(2), worker


class Failing:
    def __len__(self):
        return 8

    def __getitem__(self, index):
        if index == 5:
            raise KeyError("sample 5 is broken")
        return np.zeros(2)


def test_default_collate_keeps_kinds():
    Pair = namedtuple("Pair", "x y")
    batch = default_collate([(np.ones(2, np.float32), 0.75, 3, True, "a"),
                             (np.zeros(2, np.float32), 0.25, 4, False, "b")])  # fmt: skip
    images, floats, ints, flags, names = batch
    assert images.shape == (2, 2) and images.dtype == np.float32
    np.testing.assert_array_equal(floats.numpy(), np.float32([0.75, 0.25]))
    assert ints.dtype == np.int64 and flags.dtype == np.bool_ and names == ["a", "b"]
    pairs = default_collate([Pair(ag.ones(2), 1), Pair(ag.zeros(2), 2)])
    assert isinstance(pairs, Pair) and pairs.x.shape == (2, 2) and pairs.y.tolist() == [1, 2]
    with pytest.raises(TypeError, match="default_collate: cannot batch samples of type object"):
        default_collate([object()])
    with pytest.raises(
        ValueError, match=r"cannot stack a sample of shape \(3,\) onto one of \(2,\)"
    ):
        default_collate([ag.ones(2), ag.ones(3)])


def test_loader_over_any_map_style_dataset():
    loader = DataLoader(Regression(), batch_size=4, drop_last=True, pin_memory=True)
    batches = list(loader)
    assert len(batches) == len(loader) == 2
    images, targets, extras = batches[1]
    np.testing.assert_array_equal(targets.numpy(), np.float32([1.0, 1.25, 1.5, 1.75]))
    assert images.shape == (4, 3) and extras["id"].tolist() == [4, 5, 6, 7]
    assert extras["name"] == ["s4", "s5", "s6", "s7"]
    custom = DataLoader(Regression(), batch_size=3, collate_fn=lambda samples: len(samples))
    assert list(custom) == [3, 3, 3, 1]


def test_workers_give_the_same_batches_in_the_same_order():
    dataset = Regression()
    plain = list(DataLoader(dataset, batch_size=3, shuffle=True, seed=5))
    parallel = list(DataLoader(dataset, batch_size=3, shuffle=True, seed=5, num_workers=2))
    assert len(plain) == len(parallel) == 4
    for one, two in zip(plain, parallel):
        np.testing.assert_array_equal(one[0].numpy(), two[0].numpy())
        np.testing.assert_array_equal(one[1].numpy(), two[1].numpy())


def test_workers_are_real_processes_seeded_reproducibly():
    def run():
        ag.manual_seed(11)
        return list(DataLoader(Noisy(), batch_size=2, num_workers=3))

    first, second = run(), run()
    workers = [int(ids.numpy()[0]) for _, ids in first]
    assert workers == [0, 1, 2, 0, 1, 2]  # batch i goes to worker i % 3
    for (a, _), (b, _) in zip(first, second):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    draws = np.concatenate([values.numpy() for values, _ in first[:3]])
    assert len(np.unique(draws)) == draws.size  # the workers' generators differ


def test_worker_errors_name_the_batch_and_the_cause():
    loader = DataLoader(Failing(), batch_size=2, num_workers=2)
    with pytest.raises(RuntimeError, match=r"(?s)worker 0 failed on batch 2.*sample 5 is broken"):
        list(loader)


def test_tensor_dataset_subset_concat_and_random_split():
    features, targets = ag.randn(10, 3), ag.arange(10)
    dataset = TensorDataset(features, targets)
    x, y = dataset[4]
    np.testing.assert_array_equal(x.numpy(), features.numpy()[4])
    assert y.item() == 4 and len(dataset) == 10
    with pytest.raises(ValueError, match=r"TensorDataset: the tensors differ in length"):
        TensorDataset(ag.zeros(3), ag.zeros(4))
    subset = Subset(dataset, [9, 0])
    assert subset[0][1].item() == 9 and len(subset) == 2
    joined = ConcatDataset([subset, dataset])
    assert len(joined) == 12 and joined[2][1].item() == 0 and joined[-1][1].item() == 9
    ag.manual_seed(0)
    parts = random_split(dataset, [0.7, 0.3])
    assert [len(p) for p in parts] == [7, 3]
    assert sorted(parts[0].indices + parts[1].indices) == list(range(10))
    ag.manual_seed(0)
    assert random_split(dataset, [7, 3])[0].indices == parts[0].indices
    with pytest.raises(ValueError, match="random_split: the lengths"):
        random_split(dataset, [4, 4])
    loader = DataLoader(dataset, batch_size=4, shuffle=True)
    xs, ys = next(iter(loader))
    assert xs.shape == (4, 3) and ys.dtype == np.int64


def test_loader_refuses_what_is_not_a_dataset():
    with pytest.raises(TypeError, match="DataLoader: the dataset \\(int\\) needs __getitem__"):
        DataLoader(3)
    with pytest.raises(ValueError, match="num_workers must be a non-negative int"):
        DataLoader(Regression(), num_workers=-1)
