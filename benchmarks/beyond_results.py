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
from autograd_cv.vision.datasets import DigitScenes
from autograd_cv.vision.tasks import detection as D
from autograd_cv.vision.tasks import segmentation as S

ROOT = Path(__file__).resolve().parents[1]
DATA = os.environ.get("AUTOGRAD_CV_DATA", str(ROOT.parent / "shared" / "data"))
IMAGES = ROOT / "notebooks" / "images"
RESULTS = ROOT / "benchmarks" / "beyond_results.json"
#: per task: training scenes, epochs, batch (scenes per step), learning rate, test scenes
#: (64x64, 1-4 digits, seed 0); detectors sample 32 RoIs per scene, half of them digits
RECIPES = {
    "segmentation": {"train": 30_000, "epochs": 3, "batch": 16, "lr": 3e-3, "test": 1_000},
    "fast-rcnn": {"train": 20_000, "epochs": 2, "batch": 8, "lr": 2e-3, "test": 500},
    "rcnn": {"train": 6_000, "epochs": 2, "batch": 8, "lr": 2e-3, "test": 300},
}


def scenes(train: bool, length: int) -> DigitScenes:
    return DigitScenes(root=DATA, train=train, length=length, source="mnist", download=False)


def segmentation(recipe: dict) -> dict:
    train, test = scenes(True, recipe["train"]), scenes(False, recipe["test"])
    images, masks, _, _ = train.batch(range(len(train)))
    test_images, test_masks, _, _ = test.batch(range(len(test)))
    model = FCN()
    started = time.perf_counter()
    S.train_segmentation(
        model, images, masks, epochs=recipe["epochs"], batch_size=recipe["batch"], lr=recipe["lr"]
    )
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
    D.train_detector(
        model, images, boxes, labels, proposals, epochs=recipe["epochs"],
        batch_size=recipe["batch"], lr=recipe["lr"], positive_fraction=0.5,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    started = time.perf_counter()
    found = D.detect(model, test_images, test_proposals, batch_size=8)
    detect_seconds = time.perf_counter() - started
    scores = D.average_precision(found, test_boxes, test_labels)
    D.plot_detections(
        test_images[:8], found[:8], IMAGES / f"{name.replace('-', '_')}_boxes.png", min_score=0.5
    )
    return {
        **scores,
        "proposals_per_image": float(np.mean([len(p) for p in test_proposals])),
        "proposal_recall_05": D.proposal_recall(test_proposals, test_boxes),
        "train_seconds": seconds,
        "detect_seconds_per_image": detect_seconds / len(test_images),
    }


def main(argv: list[str]) -> None:
    quick = "--quick" in argv
    tasks = [a for a in argv if not a.startswith("--")] or list(RECIPES)
    print(describe(environment("autograd_cv")))
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    for task in tasks:
        recipe = dict(RECIPES[task])
        if quick:
            recipe.update(train=recipe["train"] // 20, test=recipe["test"] // 20, epochs=1)
        print(f"## {task}: {recipe}", flush=True)
        result = segmentation(recipe) if task == "segmentation" else detection(task, recipe)
        results[task] = {"recipe": recipe, **result}
        shown = {k: round(v, 4) for k, v in result.items() if isinstance(v, float)}
        print(f"| {task} | {recipe} | {shown} |", flush=True)
        if not quick:  # re-read: tasks may run in parallel processes
            results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
            results[task] = {"recipe": recipe, **result}
            RESULTS.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main(sys.argv[1:])
