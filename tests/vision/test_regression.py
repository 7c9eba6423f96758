"""DigitPoses and the pose regressor: the pose matches the pixels; a few steps learn."""

from __future__ import annotations

import numpy as np

from autograd_cv.models.regression import PoseRegressor
from autograd_cv.vision.datasets import DigitPoses
from autograd_cv.vision.tasks import regression as R


def test_poses_are_deterministic_and_centred_on_the_ink() -> None:
    data = DigitPoses(source="mnist-mini", train=False, length=40, seed=2)
    images, poses, labels = data.batch(range(40))
    again, _, _ = DigitPoses(source="mnist-mini", train=False, length=40, seed=2).batch(range(40))
    assert np.array_equal(images, again) and images.shape == (40, 1, 48, 48)
    rows, cols = np.indices((48, 48))
    for image, (cx, cy, scale, angle) in zip(images[:, 0], poses):
        mass = image.sum()
        # The ink's centre of mass lies near the pasted square's centre (pixel centres at +0.5).
        centre = ((cols + 0.5) * image).sum() / mass, ((rows + 0.5) * image).sum() / mass
        assert np.hypot(centre[0] - cx, centre[1] - cy) < 6 * scale
        assert 0.8 <= scale <= 1.3 and -45 <= angle <= 45
    assert labels.min() >= 0 and labels.max() <= 9


def test_scaler_round_trip_and_a_few_steps_lower_the_loss() -> None:
    data = DigitPoses(source="mnist-mini", length=32)
    images, poses, _ = data.batch(range(32))
    scaler = R.PoseScaler(48, data.scale, data.angle)
    np.testing.assert_allclose(scaler.decode(scaler.encode(poses)), poses, rtol=1e-5, atol=1e-4)
    assert np.abs(scaler.encode(poses)).max() <= 1.0 + 1e-6
    model = PoseRegressor(width=4)
    history = R.train_pose(model, images, scaler.encode(poses), epochs=5, batch_size=16, log=None)
    assert history[-1]["loss"] < history[0]["loss"]
    errors = R.pose_errors(scaler.decode(R.predict(model, images)), poses)
    assert set(errors) == {"centre_px", "x_px", "y_px", "scale_relative", "angle_degrees"}
