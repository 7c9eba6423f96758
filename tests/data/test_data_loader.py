"""ArrayDataset and DataLoader: coverage of every sample, reproducible shuffles, batching."""

from __future__ import annotations

import numpy as np
import pytest

from autograd_cv import Tensor
from autograd_cv.data import ArrayDataset, DataLoader, Dataset, RandomHorizontalFlip, ToFloat


def make_dataset(n: int = 10, transform=None) -> ArrayDataset:
    images = np.arange(n * 1 * 2 * 3, dtype=np.uint8).reshape(n, 1, 2, 3)
    return ArrayDataset(images, np.arange(n), transform=transform)


def epoch_labels(loader: DataLoader) -> np.ndarray:
    return np.concatenate([labels.numpy() for _, labels in loader])


def test_batches_have_the_promised_types_and_shapes():
    loader = DataLoader(make_dataset(10), batch_size=4)
    batches = list(loader)
    assert len(loader) == len(batches) == 3
    assert [len(labels) for _, labels in batches] == [4, 4, 2]
    images, labels = batches[0]
    assert isinstance(images, Tensor) and isinstance(labels, Tensor)
    assert not images.requires_grad
    assert images.dtype == np.float32 and images.shape == (4, 1, 2, 3)
    assert labels.dtype == np.int64
    np.testing.assert_allclose(images.numpy(), make_dataset(10).images[:4] / np.float32(255))


@pytest.mark.parametrize("shuffle", [False, True])
def test_every_sample_exactly_once_per_epoch(shuffle):
    loader = DataLoader(make_dataset(23), batch_size=5, shuffle=shuffle, seed=3)
    for _ in range(3):
        assert sorted(epoch_labels(loader).tolist()) == list(range(23))


def test_images_stay_paired_with_their_labels():
    dataset = make_dataset(17)
    for images, labels in DataLoader(dataset, batch_size=4, shuffle=True, seed=0):
        expected = dataset.images[labels.numpy()] / np.float32(255)
        np.testing.assert_array_equal(images.numpy(), expected)


def test_shuffle_is_reproducible_and_differs_across_epochs():
    run_a = DataLoader(make_dataset(50), batch_size=8, shuffle=True, seed=42)
    run_b = DataLoader(make_dataset(50), batch_size=8, shuffle=True, seed=42)
    epochs_a = [epoch_labels(run_a) for _ in range(3)]
    epochs_b = [epoch_labels(run_b) for _ in range(3)]
    for a, b in zip(epochs_a, epochs_b, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(epochs_a[0], epochs_a[1])
    assert not np.array_equal(epochs_a[1], epochs_a[2])
    other_seed = DataLoader(make_dataset(50), batch_size=8, shuffle=True, seed=43)
    assert not np.array_equal(epoch_labels(other_seed), epochs_a[0])


def test_set_epoch_resumes_the_same_order():
    run = DataLoader(make_dataset(30), batch_size=7, shuffle=True, seed=1)
    epochs = [epoch_labels(run) for _ in range(4)]
    resumed = DataLoader(make_dataset(30), batch_size=7, shuffle=True, seed=1)
    resumed.set_epoch(2)
    np.testing.assert_array_equal(epoch_labels(resumed), epochs[2])
    np.testing.assert_array_equal(epoch_labels(resumed), epochs[3])


def test_unseeded_shuffle_still_differs_across_epochs():
    loader = DataLoader(make_dataset(40), batch_size=40, shuffle=True)
    assert not np.array_equal(epoch_labels(loader), epoch_labels(loader))


def test_set_epoch_also_reseeds_random_transforms():
    def flips(start_epoch: int) -> list[np.ndarray]:
        dataset = make_dataset(20, transform=RandomHorizontalFlip(seed=5))
        loader = DataLoader(dataset, batch_size=20, transform=RandomHorizontalFlip(seed=6))
        loader.set_epoch(start_epoch)
        return [next(iter(loader))[0].numpy() for _ in range(2)]

    np.testing.assert_array_equal(flips(0)[1], flips(1)[0])


def test_drop_last():
    loader = DataLoader(make_dataset(10), batch_size=4, drop_last=True, shuffle=True, seed=0)
    assert len(loader) == 2
    batches = list(loader)
    assert [len(labels) for _, labels in batches] == [4, 4]
    exact = DataLoader(make_dataset(8), batch_size=4, drop_last=True)
    assert len(exact) == len(list(exact)) == 2


def test_loader_transform_runs_after_dataset_transform():
    calls = []

    def dataset_transform(images):
        calls.append("dataset")
        return ToFloat()(images)

    def loader_transform(images):
        calls.append("loader")
        assert images.dtype == np.float32
        return images * 2

    loader = DataLoader(
        make_dataset(4, dataset_transform), batch_size=4, transform=loader_transform
    )
    images, _ = next(iter(loader))
    assert calls == ["dataset", "loader"]
    assert images.numpy().max() == pytest.approx(2 * 23 / 255)


def test_batches_never_alias_the_dataset():
    dataset = ArrayDataset(np.zeros((4, 1, 2, 2), np.float32), np.zeros(4, np.int64))
    images, _ = next(iter(DataLoader(dataset, batch_size=4)))
    images.numpy()[...] += 1
    assert dataset.images.max() == 0


def test_generic_dataset_falls_back_to_stacking_samples():
    class Squares(Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, index):
            return np.full((1, 2, 2), index, np.float32), index * index

    images, labels = next(iter(DataLoader(Squares(), batch_size=5)))
    assert images.shape == (5, 1, 2, 2)
    assert labels.tolist() == [0, 1, 4, 9, 16]


def test_array_dataset_single_sample_and_checks():
    dataset = make_dataset(3, transform=ToFloat())
    image, label = dataset[2]
    assert image.shape == (1, 2, 3) and image.dtype == np.float32 and label == 2
    with pytest.raises(ValueError, match=r"labels must have shape \(3,\)"):
        ArrayDataset(np.zeros((3, 1, 2, 2)), np.zeros(4, np.int64))
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        ArrayDataset(np.zeros((3, 2, 2)), np.zeros(3, np.int64))


def test_bad_batch_size_is_explained():
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(make_dataset(3), batch_size=0)
