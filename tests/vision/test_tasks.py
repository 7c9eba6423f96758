"""The task pieces: metrics on worked cases, box deltas, proposals, the models' shapes and
a few training steps that lower the loss."""

from __future__ import annotations

import numpy as np
import pytest

import autograd_cv as ag
from autograd_cv import functional as F
from autograd_cv.kernels.regions import component_boxes
from autograd_cv.models.fcn import FCN, bilinear_kernel
from autograd_cv.models.rcnn import RCNN, FastRCNN
from autograd_cv.vision.datasets import DigitScenes
from autograd_cv.vision.tasks import detection as D
from autograd_cv.vision.tasks import segmentation as S


@pytest.fixture(scope="module")
def scenes():
    data = DigitScenes(source="mnist-mini", train=False, length=24, seed=1)
    return data.batch(range(len(data)))


def test_segmentation_scores_on_a_worked_confusion() -> None:
    truth = np.array([[0, 0, 1, 1], [10, 10, 10, 255]])
    predicted = np.array([[0, 1, 1, 1], [10, 10, 0, 10]])
    confusion = S.confusion_matrix(predicted, truth)
    assert confusion.sum() == 7  # the ignored pixel is not counted
    scores = S.segmentation_scores(confusion)
    # IoU: class 0: 1 / (1 + 1 + 1) ; class 1: 2 / 3 ; background: 2 / 3; others absent.
    np.testing.assert_allclose(scores["mean_iou"], (1 / 3 + 2 / 3 + 2 / 3) / 3)
    np.testing.assert_allclose(scores["pixel_accuracy"], 5 / 7)
    assert scores["iou"][5] is None


def test_average_precision_is_one_for_the_truth_and_lower_for_a_false_alarm() -> None:
    boxes = [np.array([[0, 0, 10, 10], [20, 20, 30, 30.0]]), np.array([[5, 5, 15, 15.0]])]
    labels = [np.array([3, 7]), np.array([3])]
    perfect = [{"boxes": b, "labels": lab, "scores": np.ones(len(lab))}
               for b, lab in zip(boxes, labels)]  # fmt: skip
    assert D.average_precision(perfect, boxes, labels)["map"] == 1.0
    # A confident wrong box ranked first for class 3: AP drops below 1 for that class.
    noisy = [dict(d) for d in perfect]
    noisy[0] = {"boxes": np.array([[40, 40, 50, 50], [0, 0, 10, 10], [20, 20, 30, 30.0]]),
                "labels": np.array([3, 3, 7]), "scores": np.array([0.99, 0.9, 0.9])}  # fmt: skip
    result = D.average_precision(noisy, boxes, labels)
    assert 0.5 < result["ap"][0] < 1.0 and result["ap"][1] == 1.0


def test_average_precision_of_the_true_boxes_of_real_scenes_is_one(scenes) -> None:
    _, _, boxes, labels = scenes
    truth = [{"boxes": b, "labels": lab, "scores": np.ones(len(lab))}
             for b, lab in zip(boxes, labels)]  # fmt: skip
    assert D.average_precision(truth, boxes, labels)["map"] == 1.0
    # Every box shifted by half its width: IoU 1/3, no hit at 0.5.
    shifted = [dict(d, boxes=d["boxes"] + (d["boxes"][:, 2:3] - d["boxes"][:, 0:1]) / 2
                    * np.array([1, 0, 1, 0])) for d in truth]  # fmt: skip
    assert D.average_precision(shifted, boxes, labels)["map"] == 0.0


def test_box_deltas_round_trip() -> None:
    rng = np.random.default_rng(0)
    proposals = np.concatenate([rng.uniform(0, 30, (20, 2)), rng.uniform(31, 60, (20, 2))], 1)
    targets = proposals + rng.uniform(-3, 3, proposals.shape)
    decoded = D.decode_deltas(proposals, D.encode_deltas(proposals, targets))
    np.testing.assert_allclose(decoded, targets, atol=1e-4)


def test_pair_iou_matches_box_iou() -> None:
    from autograd_cv.vision.ops import box_iou

    rng = np.random.default_rng(1)
    corners = rng.uniform(0, 30, (12, 2))
    boxes = np.concatenate([corners, corners + rng.uniform(1, 20, (12, 2))], 1)
    np.testing.assert_allclose(
        D.pair_iou(boxes[:7], boxes[7:]), box_iou(boxes[:7], boxes[7:]).numpy(), atol=1e-12
    )
    assert D.pair_iou(boxes[:1], boxes[:1])[0, 0] == pytest.approx(1.0)


def test_sampled_rois_hold_the_positive_fraction() -> None:
    truth = np.array([[10, 10, 30, 30.0]])
    proposals = np.array([[10, 10, 30, 31.0], [11, 10, 30, 30], [40, 40, 60, 60], [0, 0, 8, 8],
                          [30, 30, 50, 50], [12, 12, 31, 29]])  # fmt: skip
    labelled = D.label_all([proposals], [truth], [np.array([7])])
    candidates, classes, _ = labelled[0]
    assert len(candidates) == 7  # the true box joins the proposals
    np.testing.assert_array_equal(classes, [7, 7, 10, 10, 10, 7, 7])
    rois, cls, deltas = D.sample_rois(labelled, 4, np.random.default_rng(0), 0.5)
    assert rois.shape == (4, 5) and (rois[:, 0] == 0).all()
    assert (cls == 7).sum() == 2 and (cls == 10).sum() == 2
    truth_row = np.flatnonzero((rois[:, 1:] == truth).all(1))
    if len(truth_row):  # the true box's own deltas are zero
        np.testing.assert_allclose(deltas[truth_row], 0, atol=1e-6)


def test_component_boxes_find_each_blob() -> None:
    mask = np.zeros((1, 10, 12), dtype=bool)
    mask[0, 1:4, 1:3] = True  # 6 pixels
    mask[0, 4, 3] = True  # touches the first diagonally: the same component
    mask[0, 6:9, 7:11] = True
    mask[0, 0, 11] = True  # a single pixel: too small
    (boxes,) = component_boxes(mask, min_pixels=2)
    np.testing.assert_array_equal(sorted(boxes.tolist()), [[1, 1, 4, 5], [7, 6, 11, 9]])


def test_proposals_cover_the_digits(scenes) -> None:
    images, _, boxes, _ = scenes
    proposals = D.propose_regions(images)
    assert D.proposal_recall(proposals, boxes) > 0.9
    assert all(len(p) < 600 for p in proposals)


def test_fcn_shapes_and_bilinear_initialisation() -> None:
    model = FCN(width=4)
    assert model(ag.tensor(np.zeros((2, 1, 32, 48), np.float32))).shape == (2, 11, 32, 48)
    with pytest.raises(ValueError, match="multiples of 16"):
        model(ag.tensor(np.zeros((1, 1, 30, 32), np.float32)))
    x = np.random.default_rng(0).random((1, 1, 5, 5))
    up = F.conv_transpose2d(x, bilinear_kernel(1, 4), stride=2, padding=1).numpy()
    reference = F.interpolate(x, scale_factor=2, mode="bilinear").numpy()
    np.testing.assert_allclose(up[..., 1:-1, 1:-1], reference[..., 1:-1, 1:-1], atol=1e-12)


def test_a_few_fcn_steps_lower_the_loss(scenes) -> None:
    images, masks, _, _ = scenes
    model = FCN(width=4)
    history = S.train_segmentation(model, images, masks, epochs=4, batch_size=12, log=None)
    assert history[-1]["loss"] < history[0]["loss"]
    assert S.predict_masks(model, images[:3]).shape == (3, 64, 64)


@pytest.mark.parametrize("kind", [RCNN, FastRCNN])
def test_detectors_shapes_and_a_few_steps(scenes, kind) -> None:
    images, _, boxes, labels = scenes
    images, boxes, labels = images[:8], boxes[:8], labels[:8]
    proposals = D.propose_regions(images)
    model = kind(width=4)
    rois = np.array([[0, 1, 2, 30, 40], [1, 10, 10, 20, 20]], dtype=np.float32)
    scores, deltas = model(ag.tensor(images[:2]), rois)
    assert scores.shape == (2, 11) and deltas.shape == (2, 4)
    history = D.train_detector(model, images, boxes, labels, proposals, epochs=4, batch_size=4,
                               lr=3e-3, log=None)  # fmt: skip
    assert history[-1]["classification"] < history[0]["classification"]
    found = D.detect(model, images[:2], proposals[:2])
    assert len(found) == 2 and set(found[0]) == {"boxes", "labels", "scores"}
