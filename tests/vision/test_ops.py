"""vision.ops on hand-worked cases (the registry checks them on drawn inputs too)."""

from __future__ import annotations

import numpy as np
import pytest

import autograd_cv as ag
from autograd_cv.kernels.roi import roi_pool_argmax
from autograd_cv.ops import sampling
from autograd_cv.testing.fake_device import FakeArray, fake_device
from autograd_cv.vision import ops


def test_nms_keeps_the_best_of_each_overlapping_group() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30], [0, 0, 10, 9.0]])
    scores = np.array([0.9, 0.95, 0.5, 0.2])
    np.testing.assert_array_equal(ops.nms(boxes, scores, 0.5), [1, 2])
    # IoU(0, 1) = 81 / 119 = 0.68: a threshold above it keeps both.
    np.testing.assert_array_equal(ops.nms(boxes, scores, 0.7), [1, 0, 2])


def test_batched_nms_never_suppresses_across_classes() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [0, 0, 10, 10.0]])
    kept = ops.batched_nms(boxes, np.array([0.9, 0.8, 0.7]), np.array([0, 0, 1]), 0.5)
    np.testing.assert_array_equal(kept, [0, 2])


def test_nms_on_a_device_returns_its_indices_there() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30], [0, 0, 10, 9.0]])
    scores = np.array([0.9, 0.95, 0.5, 0.2])
    with fake_device("cuda") as device:
        on_device = ag.tensor(boxes, device="cuda")
        kept = ops.nms(on_device, scores, 0.5)  # host scores beside device boxes
        assert isinstance(kept, FakeArray) and device.to_host(kept).tolist() == [1, 2]
        kept = ops.batched_nms(on_device, scores, np.array([0, 1, 0, 0]), 0.5)
        assert isinstance(kept, FakeArray) and device.to_host(kept).tolist() == [1, 0, 2]


def test_box_iou_and_convert_worked_examples() -> None:
    a = np.array([[0, 0, 2, 2.0]])
    b = np.array([[1, 1, 3, 3.0], [0, 0, 2, 2.0], [5, 5, 6, 6.0]])
    np.testing.assert_allclose(ops.box_iou(a, b).numpy(), [[1 / 7, 1.0, 0.0]])
    cxcywh = ops.box_convert(b, "xyxy", "cxcywh").numpy()
    np.testing.assert_allclose(cxcywh[0], [2, 2, 2, 2])
    np.testing.assert_allclose(ops.box_convert(cxcywh, "cxcywh", "xyxy").numpy(), b)


def test_roi_align_of_a_ramp_reads_the_bin_centres() -> None:
    # On f(y, x) = x bilinear reads are exact, so each bin averages its samples' x.
    ramp = np.tile(np.arange(8.0), (8, 1))[None, None]
    out = ops.roi_align(ramp, [np.array([[1.0, 1.0, 5.0, 5.0]])], 2, aligned=True)
    np.testing.assert_allclose(out.numpy()[0, 0], [[1.5, 3.5], [1.5, 3.5]])


def test_roi_align_accepts_a_list_per_image_and_a_k5_array_alike() -> None:
    x = np.random.default_rng(0).random((2, 3, 6, 6))
    boxes = [np.array([[0, 0, 3, 3.0]]), np.array([[1, 1, 5, 4.0], [2, 0, 6, 6.0]])]
    rows = np.array([[0, 0, 0, 3, 3], [1, 1, 1, 5, 4], [1, 2, 0, 6, 6.0]])
    np.testing.assert_array_equal(
        ops.roi_align(x, boxes, 2).numpy(), ops.roi_align(x, rows, 2).numpy()
    )


def test_roi_pool_gradient_goes_to_each_bins_maximum() -> None:
    x = ag.tensor(np.arange(16.0).reshape(1, 1, 4, 4), requires_grad=True)
    out = ops.roi_pool(x, np.array([[0, 0, 0, 3, 3.0]]), 2)
    np.testing.assert_array_equal(out.numpy()[0, 0], [[5, 7], [13, 15]])
    out.sum().backward()
    assert x.grad.numpy().sum() == 4 and x.grad.numpy()[0, 0, 3, 3] == 1


@pytest.mark.parametrize("budget", [1, sampling.ROI_POOL_GATHER_BUDGET])
def test_roi_pool_gathered_argmax_matches_the_numba_kernel(budget, monkeypatch) -> None:
    # The devices' array form must pick the same element as the CPU kernel, ties (small
    # integers), -inf and NaN included, for boxes partly or wholly off the image.
    monkeypatch.setattr(sampling, "ROI_POOL_GATHER_BUDGET", budget)
    rng = np.random.default_rng(3)
    x = rng.integers(0, 4, (2, 3, 7, 9)).astype(np.float64)
    x[0, 0, :2, :2] = -np.inf
    x[1, 2, 3, 4] = np.nan
    x[1, 1, :, 5:] = np.nan
    corner = rng.uniform(-4, 10, (40, 2))
    rois = np.column_stack([rng.integers(0, 2, 40), corner, corner + rng.uniform(0, 8, (40, 2))])
    for output_size, scale in (((2, 3), 1.0), ((3, 1), 0.5), ((4, 4), 0.7)):
        want = roi_pool_argmax(x, rois, output_size, scale)
        got = sampling.roi_pool_argmax_gathered(x, rois, output_size, scale)
        np.testing.assert_array_equal(got, want)
    assert (want == -1).any() and (want >= 0).any()


def test_roi_ops_on_a_device_take_host_boxes_per_image() -> None:
    x = np.random.default_rng(1).random((2, 3, 6, 6))
    boxes = [np.array([[0, 0, 3, 3.0]]), np.array([[1, 1, 5, 4.0], [2, 0, 6, 6.0]])]
    with fake_device("cuda"):
        on_device = ag.tensor(x, device="cuda")
        for op in (ops.roi_align, ops.roi_pool):
            out = op(on_device, boxes, 2)
            assert isinstance(out.data, FakeArray)
            np.testing.assert_allclose(out.cpu().numpy(), op(x, boxes, 2).numpy())


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: ops.box_iou(np.zeros((2, 3)), np.zeros((1, 4))), r"boxes1 must have shape"),
        (lambda: ops.nms(np.zeros((2, 4)), np.zeros(3), 0.5), r"scores must have shape \(2,\)"),
        (lambda: ops.box_convert(np.zeros((1, 4)), "xyxy", "yolo"), "format must be one of"),
        (lambda: ops.roi_align(np.zeros((1, 1, 4, 4)), np.zeros((1, 4)), 2), r"\(K, 5\)"),
        (lambda: ops.roi_pool(np.zeros((1, 1, 4, 4)), np.array([[3, 0, 0, 1, 1]]), 1), "batch"),
    ],
)
def test_bad_input_names_the_op(call, message) -> None:
    with pytest.raises(ValueError, match=message):
        call()
