"""Patch matching: the siamese branches share weights, the metrics match brute force, the
sampled pairs are what they claim, the warp moves ink as asked, and a few steps learn."""

from __future__ import annotations

import numpy as np
import pytest

import autograd_cv as ag
from autograd_cv.models import SiameseNet
from autograd_cv.vision.tasks import matching as M


@pytest.fixture(scope="module")
def digits():
    images, labels = M.load_patches("mnist-mini", train=False)
    return images[:400], labels[:400]


def brute_auc(distances: np.ndarray, same: np.ndarray) -> float:
    """Every (matching, non-matching) pair: 1 if the match is closer, 1/2 on a tie."""
    total = 0.0
    for d_match in distances[same]:
        for d_other in distances[~same]:
            total += 1.0 if d_match < d_other else 0.5 if d_match == d_other else 0.0
    return total / (same.sum() * (~same).sum())


def brute_fpr(distances: np.ndarray, same: np.ndarray, recall: float) -> float:
    """Try every threshold, keep the smallest reaching the recall, report its FPR."""
    for threshold in sorted(set(distances.tolist())):
        accepted = distances <= threshold
        if accepted[same].mean() >= recall:
            return float(accepted[~same].mean())
    raise AssertionError("no threshold reaches the recall")


@pytest.mark.parametrize("seed", range(6))
def test_auc_and_fpr95_match_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    count = int(rng.integers(5, 60))
    same = rng.random(count) < 0.4
    same[:2] = (True, False)
    # Few distinct values, so ties between matching and non-matching pairs happen.
    distances = rng.integers(0, 8, count) / 4.0 + same * rng.uniform(-0.5, 0.2)
    assert M.roc_auc(distances, same) == pytest.approx(brute_auc(distances, same))
    for recall in (0.5, 0.95, 1.0):
        assert M.fpr_at_recall(distances, same, recall) == pytest.approx(
            brute_fpr(distances, same, recall)
        )


def test_metrics_on_worked_cases_and_bad_input() -> None:
    same = np.array([True, True, False, False])
    assert M.roc_auc(np.array([0.1, 0.2, 0.3, 0.4]), same) == 1.0
    assert M.roc_auc(np.array([0.3, 0.4, 0.1, 0.2]), same) == 0.0
    assert M.roc_auc(np.ones(4), same) == 0.5
    # 20 matches at 0..19, one at 100: 95% recall needs the 20th match, threshold 19.
    distances = np.concatenate([np.arange(20.0), [100.0], [10.5, 18.5, 19.0, 50.0]])
    labels = np.arange(25) < 21
    assert M.fpr_at_recall(distances, labels) == 3 / 4
    with pytest.raises(ValueError, match="roc_auc"):
        M.roc_auc(np.ones(3), np.ones(3, bool))
    with pytest.raises(ValueError, match="fpr_at_recall.*shapes"):
        M.fpr_at_recall(np.ones(3), np.array([True, False]))


def test_nearest_and_retrieval_against_a_loop() -> None:
    rng = np.random.default_rng(3)
    queries, gallery = rng.normal(size=(30, 5)), rng.normal(size=(50, 5))
    found = M.nearest(queries, gallery, k=3, chunk=7)
    for query, row in zip(queries, found):
        order = np.argsort([np.linalg.norm(query - g) for g in gallery])
        assert list(row) == list(order[:3])
    labels = rng.integers(0, 3, 50)
    # Gallery rows query themselves: each is its own nearest neighbour.
    assert M.retrieval_accuracy(gallery[:20], labels[:20], gallery, labels) == 1.0
    expected = np.mean([labels[np.argmin([np.linalg.norm(q - g) for g in gallery])] == label
                        for q, label in zip(queries, labels[:30])])  # fmt: skip
    assert M.retrieval_accuracy(queries, labels[:30], gallery, labels) == pytest.approx(expected)


def test_siamese_shapes_and_unit_embeddings() -> None:
    model = SiameseNet(width=4, embedding=8)
    x = ag.tensor(np.random.default_rng(0).random((5, 1, 28, 28), dtype=np.float32))
    embedded = model(x)
    assert embedded.shape == (5, 8)
    np.testing.assert_allclose(np.linalg.norm(embedded.numpy(), axis=1), 1.0, rtol=1e-5)
    assert model.pair(x, x[::-1]).shape == (5,)
    with pytest.raises(ValueError, match=r"SiameseNet.forward.*\(N, 1, 28, 28\).*\(5, 1, 20, 20\)"):
        model(ag.tensor(np.zeros((5, 1, 20, 20), np.float32)))
    with pytest.raises(ValueError, match="SiameseNet.pair.*share one shape"):
        model.pair(x, x[:2])


def test_both_branches_reach_the_same_parameters(digits) -> None:
    images, _ = digits
    model = SiameseNet(width=4, embedding=8)
    model.eval()  # batch statistics fixed, so each side's share of the gradient is separable
    a, b = ag.tensor(images[:6]), ag.tensor(images[6:12])

    def gradients(detach_a: bool, detach_b: bool) -> list[np.ndarray]:
        model.zero_grad()
        first, second = model(a), model(b)
        first = first.detach() if detach_a else first
        second = second.detach() if detach_b else second
        ((first - second) ** 2).sum().backward()
        return [p.grad.numpy().copy() for p in model.parameters() if p.grad is not None]

    both, only_a, only_b = gradients(False, False), gradients(False, True), gradients(True, False)
    assert len(both) == len(only_a) == len(only_b) == len(list(model.parameters()))
    for total, from_a, from_b in zip(both, only_a, only_b):
        # One tensor of weights receives both branches' contributions, summed.
        np.testing.assert_allclose(total, from_a + from_b, rtol=1e-4, atol=1e-6)
    assert all(np.abs(g).sum() > 0 for g in only_a) and all(np.abs(g).sum() > 0 for g in only_b)
    # pair() runs both sides through that one branch: its gradient reaches every parameter.
    model.zero_grad()
    model.pair(a, b).sum().backward()
    assert all(p.grad is not None and np.abs(p.grad.numpy()).sum() > 0
               for p in model.parameters())  # fmt: skip


def test_triplets_and_held_out_pairs_are_what_they_claim(digits) -> None:
    images, labels = digits
    rng = np.random.default_rng(0)
    anchors = rng.integers(0, len(images), 100)
    table = M._by_class(labels)
    positives = M._same_class(anchors, labels, table, rng)
    negatives = M._other_class(anchors, labels, table, rng)
    assert (labels[positives] == labels[anchors]).all() and (positives != anchors).all()
    assert (labels[negatives] != labels[anchors]).all()
    others = M._other_instance(anchors, labels, table, rng)
    assert (others != anchors).all() and 0.2 < (labels[others] == labels[anchors]).mean() < 0.8
    first, second, same = M.held_out_pairs(images, labels, 40, "class", seed=1)
    assert first.shape == second.shape == (40, 1, 28, 28) and same.sum() == 20
    again = M.held_out_pairs(images, labels, 40, "class", seed=1)
    assert np.array_equal(first, again[0]) and np.array_equal(second, again[1])
    a, b, same = M.held_out_pairs(images, labels, 40, "instance", seed=1)
    # Two warps of one digit are closer in pixels, on average, than warps of two digits.
    distance = np.linalg.norm((a - b).reshape(40, -1), axis=1)
    assert distance[same].mean() < distance[~same].mean()
    triplet = M.sample_triplets(images, labels, anchors[:8], "instance", rng)
    assert all(t.shape == (8, 1, 28, 28) for t in triplet)
    with pytest.raises(ValueError, match="sample_triplets: mode"):
        M.sample_triplets(images, labels, anchors, "pixel", rng)
    with pytest.raises(ValueError, match=r"train_matching: .*\(400, 1, 28, 28\) and \(399,\)"):
        M.train_matching(SiameseNet(width=4), images, labels[:-1], log=None)


def test_warp_moves_rotates_and_keeps_range() -> None:
    image = np.zeros((1, 1, 28, 28), np.float32)
    image[0, 0, 10:14, 8:12] = 1.0
    rng = np.random.default_rng(0)
    # No motion: the identity, exactly.
    same = M.warp(image, rng, shift=0, angle=0, scale=(1, 1), noise=0)
    np.testing.assert_allclose(same, image, atol=1e-6)
    # A pure shift of 2 px right and 1 down, checked on the ink's centre of mass.
    rows, cols = np.indices((28, 28))

    def centre(x):
        return (rows * x).sum() / x.sum(), (cols * x).sum() / x.sum()

    class Fixed:
        """A stand-in generator returning chosen draws, to pin the warp's parameters."""

        def __init__(self, draws):
            self.draws = list(draws)

        def uniform(self, low, high, size):
            return np.broadcast_to(np.asarray(self.draws.pop(0), float), size)

    moved = M.warp(image, Fixed([0.0, 1.0, [2.0, 1.0]]), noise=0)[0, 0]
    np.testing.assert_allclose(centre(moved), np.add(centre(image[0, 0]), (1.0, 2.0)), atol=1e-6)
    # A quarter turn about the centre (13.5, 13.5), with the scale (1.0) left alone.
    turned = M.warp(image, Fixed([90.0, 1.0, [0.0, 0.0]]), angle=90, noise=0)[0, 0]
    y, x = np.array(centre(image[0, 0])) - 13.5
    assert turned.sum() == pytest.approx(image.sum(), rel=1e-4)
    # The output at (x, y) from the centre reads the source at (y, -x).
    np.testing.assert_allclose(np.array(centre(turned)) - 13.5, (x, -y), atol=1e-4)
    noisy = M.warp(np.repeat(image, 4, 0), rng)
    assert noisy.dtype == np.float32 and 0 <= noisy.min() and noisy.max() <= 1
    with pytest.raises(ValueError, match=r"warp: expected \(N, C, H, W\).*\(28, 28\)"):
        M.warp(image[0, 0], rng)


@pytest.mark.parametrize("mode", M.MODES)
def test_a_few_steps_lower_the_loss_and_metrics_come_out(digits, mode: str) -> None:
    images, labels = digits
    model = SiameseNet(width=4, embedding=8)
    history = M.train_matching(
        model, images[:128], labels[:128], mode, epochs=4, batch_size=32, lr=5e-3, log=None
    )
    assert history[-1]["triplet"] < history[0]["triplet"]
    scores = M.evaluate_matching(model, images, labels, mode, pairs=100, gallery=50)
    assert set(scores) == {"auc", "fpr95", "top1", "pixel_auc", "pixel_fpr95", "pixel_top1"}
    assert all(0.0 <= value <= 1.0 for value in scores.values())
