"""kNN against a brute-force loop; the hinge-loss linear SVM on raw pixels and on HOG."""

from __future__ import annotations

import numpy as np
import pytest

from autograd_cv.classic import LinearSVM, NearestNeighbor, hog_features
from autograd_cv.data import MNISTMini


def _brute_force(train_x, train_y, test_x, k):
    # Independent reference: a Python loop, distances by subtraction, explicit voting.
    predictions = []
    for query in test_x.reshape(len(test_x), -1).astype(np.float64):
        dist = [float(((query - p) ** 2).sum()) for p in train_x.reshape(len(train_x), -1)]
        nearest = sorted(range(len(dist)), key=lambda i: (dist[i], i))[:k]
        votes: dict[int, list[int]] = {}
        for rank, i in enumerate(nearest):
            votes.setdefault(int(train_y[i]), []).append(rank)
        predictions.append(max(votes, key=lambda c: (len(votes[c]), -min(votes[c]))))
    return np.array(predictions)


@pytest.mark.parametrize("k", [1, 3, 4])
def test_knn_matches_brute_force(k):
    rng = np.random.default_rng(k)
    train_x = rng.integers(0, 4, (60, 2, 3)).astype(np.float32)  # small ints: many ties
    train_y = rng.integers(0, 3, 60) * 10  # labels need not be 0..C-1
    test_x = rng.integers(0, 4, (25, 2, 3)).astype(np.float32)
    model = NearestNeighbor(k=k, chunk_size=7).fit(train_x, train_y)
    assert np.array_equal(model.predict(test_x), _brute_force(train_x, train_y, test_x, k))
    dist, index = model.kneighbors(test_x)
    assert dist.shape == index.shape == (25, k)
    reference = ((test_x.reshape(25, 1, -1) - train_x.reshape(1, 60, -1)) ** 2).sum(axis=2)
    assert np.allclose(model.distances(test_x), reference)
    assert np.allclose(dist, np.sort(reference, axis=1)[:, :k])


def test_knn_on_mnist_and_argument_errors():
    train, test = MNISTMini(train=True), MNISTMini(train=False)
    model = NearestNeighbor(k=1, chunk_size=64).fit(train.images[:1000] / 255, train.labels[:1000])
    assert model.score(test.images[:100] / 255, test.labels[:100]) > 0.7  # chance is 0.1
    with pytest.raises(ValueError, match="features"):
        model.predict(np.zeros((2, 5)))
    with pytest.raises(ValueError, match="k=5"):
        NearestNeighbor(k=5).fit(np.zeros((3, 2)), np.zeros(3, int))


def test_linear_svm_separates_gaussian_blobs():
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 3, (4, 5))
    y = rng.integers(0, 4, 400)
    x = (centres[y] + rng.normal(0, 1, (400, 5))).astype(np.float32)
    svm = LinearSVM(5, 4, reg=1e-3)
    history = svm.fit(x, y, epochs=8, batch_size=32, lr=0.01, seed=0)
    assert history[-1] < 0.5 * history[0]
    assert svm.score(x, y) > 0.9


def test_hog_svm_beats_chance_on_mnist():
    train, test = MNISTMini(train=True), MNISTMini(train=False)
    x_train = hog_features(train.images[:1500] / 255)
    x_test = hog_features(test.images[:300] / 255)
    assert x_train.shape == (1500, 3 * 3 * 4 * 9)
    svm = LinearSVM(x_train.shape[1], 10, reg=1e-4)
    svm.fit(x_train, train.labels[:1500], epochs=10, batch_size=32, lr=0.05, seed=0)
    assert svm.score(x_test, test.labels[:300]) > 0.8  # chance is 0.1
