"""Figures for the README from notebooks 07-11, on the full MNIST (not run in CI).

    python benchmarks/beyond_results.py segmentation [detection] ... [--quick]

Builds DigitScenes from the full MNIST train and test splits (read from $AUTOGRAD_CV_DATA or
../shared/data), trains each task's model with the recipe stated in RECIPES, prints one
markdown row per task and writes its picture to notebooks/images/. Results go to
benchmarks/beyond_results.json too. Wall times depend on the machine's load: see the
`load average` line printed first.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import numpy as np
from _harness import describe, environment

from autograd_cv.models.fcn import FCN
from autograd_cv.models.rcnn import RCNN, FastRCNN
from autograd_cv.models.regression import PoseRegressor
from autograd_cv.models.siamese import SiameseNet
from autograd_cv.vision.datasets import DigitPoses, DigitScenes
from autograd_cv.vision.tasks import detection as D
from autograd_cv.vision.tasks import matching as M
from autograd_cv.vision.tasks import regression as R
from autograd_cv.vision.tasks import segmentation as S

ROOT = Path(__file__).resolve().parents[1]
DATA = os.environ.get("AUTOGRAD_CV_DATA", str(ROOT.parent / "shared" / "data"))
IMAGES = ROOT / "notebooks" / "images"
RESULTS = ROOT / "benchmarks" / "beyond_results.json"
#: per task: training scenes, epochs, test scenes (64x64, 1-4 digits, seed 0; regression:
#: 48x48 canvases with one digit)
RECIPES = {
    "segmentation": {"train": 6_000, "epochs": 2, "test": 1_000},
    "fast-rcnn": {"train": 800, "epochs": 2, "test": 150},
    "rcnn": {"train": 300, "epochs": 2, "test": 80},
    "regression": {"train": 20_000, "epochs": 5, "test": 2_000},
    # per mode (class, instance): anchor digits (3 patches each), test pairs, retrieval gallery
    "matching": {"train": 20_000, "epochs": 1, "pairs": 5_000, "gallery": 2_000},
}


def scenes(train: bool, length: int) -> DigitScenes:
    return DigitScenes(root=DATA, train=train, length=length, source="mnist", download=False)


def segmentation(recipe: dict) -> dict:
    train, test = scenes(True, recipe["train"]), scenes(False, recipe["test"])
    images, masks, _, _ = train.batch(range(len(train)))
    test_images, test_masks, _, _ = test.batch(range(len(test)))
    model = FCN()
    started = time.perf_counter()
    S.train_segmentation(model, images, masks, epochs=recipe["epochs"], batch_size=32, lr=3e-3)
    seconds = time.perf_counter() - started
    predicted = S.predict_masks(model, test_images)
    scores = S.segmentation_scores(S.confusion_matrix(predicted, test_masks))
    S.plot_segmentation(test_images[:6], test_masks[:6], predicted[:6], IMAGES / "fcn_masks.png")
    return {**scores, "train_seconds": seconds}


def detection(name: str, recipe: dict) -> dict:
    train, test = scenes(True, recipe["train"]), scenes(False, recipe["test"])
    images, _, boxes, labels = train.batch(range(len(train)))
    test_images, _, test_boxes, test_labels = test.batch(range(len(test)))
    proposals, test_proposals = D.propose_regions(images), D.propose_regions(test_images)
    model = RCNN() if name == "rcnn" else FastRCNN()
    started = time.perf_counter()
    D.train_detector(model, images, boxes, labels, proposals, epochs=recipe["epochs"])
    seconds = time.perf_counter() - started
    started = time.perf_counter()
    found = D.detect(model, test_images, test_proposals, batch_size=4)
    detect_seconds = time.perf_counter() - started
    scores = D.average_precision(found, test_boxes, test_labels)
    D.plot_detections(
        test_images[:8], found[:8], IMAGES / f"{name.replace('-', '_')}_boxes.png", min_score=0.3
    )
    return {
        **scores,
        "proposals_per_image": float(np.mean([len(p) for p in test_proposals])),
        "proposal_recall_05": D.proposal_recall(test_proposals, test_boxes),
        "train_seconds": seconds,
        "detect_seconds_per_image": detect_seconds / len(test_images),
    }


def matching(recipe: dict) -> dict:
    images, labels = M.load_patches("mnist", True, DATA, download=False)
    test_images, test_labels = M.load_patches("mnist", False, DATA, download=False)
    picked = np.random.default_rng(0).permutation(len(images))[: recipe["train"]]
    result = {}
    for mode in M.MODES:
        model = SiameseNet()
        started = time.perf_counter()
        M.train_matching(model, images[picked], labels[picked], mode, epochs=recipe["epochs"])
        result[f"{mode}_train_seconds"] = time.perf_counter() - started
        scores = M.evaluate_matching(
            model, test_images, test_labels, mode, recipe["pairs"], recipe["gallery"]
        )
        result.update({f"{mode}_{name}": value for name, value in scores.items()})
        first, second, same = M.held_out_pairs(test_images, test_labels, recipe["pairs"], mode)
        queries, query_labels, gallery, gallery_labels = M.retrieval_sets(
            test_images, test_labels, recipe["gallery"], mode
        )
        M.plot_matching(
            model, queries[:6], gallery, M.pair_distances(model, first, second), same,
            IMAGES / f"matching_{mode}.png", query_labels=query_labels[:6],
            gallery_labels=gallery_labels,
        )  # fmt: skip
    return result


def regression(recipe: dict) -> dict:
    train = DigitPoses(root=DATA, train=True, length=recipe["train"], download=False)
    test = DigitPoses(root=DATA, train=False, length=recipe["test"], download=False)
    images, poses, _ = train.batch(range(len(train)))
    test_images, test_poses, _ = test.batch(range(len(test)))
    scaler = R.PoseScaler(train.size, train.scale, train.angle)
    model = PoseRegressor(input_size=train.size)
    started = time.perf_counter()
    R.train_pose(model, images, scaler.encode(poses), epochs=recipe["epochs"], batch_size=64,
                 lr=2e-3, beta=0.1)  # fmt: skip
    seconds = time.perf_counter() - started
    predicted = scaler.decode(R.predict(model, test_images))
    # The trivial baseline: every test digit gets the training set's mean pose.
    mean_pose = np.broadcast_to(poses.mean(0), test_poses.shape)
    R.plot_poses(test_images[:12], predicted[:12], test_poses[:12], IMAGES / "pose_regression.png")
    return {
        **R.pose_errors(predicted, test_poses),
        "baseline_mean_pose": R.pose_errors(mean_pose, test_poses),
        "train_seconds": seconds,
    }


def run(task: str, recipe: dict) -> dict:
    tasks = {"segmentation": segmentation, "regression": regression, "matching": matching}
    return tasks[task](recipe) if task in tasks else detection(task, recipe)


def main(argv: list[str]) -> None:
    quick = "--quick" in argv
    tasks = [a for a in argv if not a.startswith("--")] or list(RECIPES)
    print(describe(environment("autograd_cv")))
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    for task in tasks:
        recipe = dict(RECIPES[task])
        if quick:
            recipe = {k: max(1, v // 20) if k != "epochs" else 1 for k, v in recipe.items()}
        print(f"## {task}: {recipe}", flush=True)
        result = run(task, recipe)
        results[task] = {"recipe": recipe, **result}
        shown = {k: round(v, 4) for k, v in result.items() if isinstance(v, float)}
        print(f"| {task} | {recipe} | {shown} |", flush=True)
        if not quick:
            RESULTS.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main(sys.argv[1:])
