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
import tempfile
import time
from pathlib import Path

import numpy as np
from _harness import describe, environment

from autograd_cv.models import LeNet5, UpConvGenerator
from autograd_cv.models.fcn import FCN
from autograd_cv.models.rcnn import RCNN, FastRCNN
from autograd_cv.models.regression import PoseRegressor
from autograd_cv.models.siamese import SiameseNet
from autograd_cv.vision.datasets import DigitPoses, DigitScenes
from autograd_cv.vision.datasets.digit_scenes import load_digits
from autograd_cv.vision.tasks import detection as D
from autograd_cv.vision.tasks import generation as G
from autograd_cv.vision.tasks import matching as M
from autograd_cv.vision.tasks import regression as R
from autograd_cv.vision.tasks import segmentation as S

ROOT = Path(__file__).resolve().parents[1]
DATA = os.environ.get("AUTOGRAD_CV_DATA", str(ROOT.parent / "shared" / "data"))
IMAGES = ROOT / "notebooks" / "images"
RESULTS = ROOT / "benchmarks" / "beyond_results.json"
#: per task: training scenes, epochs, batch (scenes per step), learning rate, test scenes
#: (64x64, 1-4 digits, seed 0); detectors sample 32 RoIs per scene, half of them digits.
#: Regression: 48x48 canvases with one digit.
RECIPES = {
    "segmentation": {"train": 30_000, "epochs": 3, "batch": 16, "lr": 3e-3, "test": 1_000},
    "fast-rcnn": {"train": 20_000, "epochs": 2, "batch": 8, "lr": 2e-3, "test": 500},
    "rcnn": {"train": 6_000, "epochs": 2, "batch": 8, "lr": 2e-3, "test": 300},
    "regression": {"train": 20_000, "epochs": 5, "test": 2_000},
    # per mode (class, instance): anchor digits (3 patches each), test pairs, retrieval gallery
    "matching": {"train": 20_000, "epochs": 1, "pairs": 5_000, "gallery": 2_000},
    # MNIST digits (not scenes): generator epochs over `train` digits, `test` held-out digits
    "generation": {"train": 60_000, "epochs": 3, "test": 1_000},
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


def generation(recipe: dict) -> dict:
    """UpConvGenerator (width 16, style 8) + GLO codes from PCA, BCE, Adam 2e-3, batch 64;
    a LeNet-5 judge trained on turned and scaled real digits (2 epochs) scores the drawings."""
    digits, labels = load_digits("mnist", True, DATA, download=False)
    digits, labels = digits[: recipe["train"]], labels[: recipe["train"]].astype(np.int64)
    test_digits, test_labels = load_digits("mnist", False, DATA, download=False)
    test_digits = test_digits[: recipe["test"]]
    test_labels = test_labels[: recipe["test"]].astype(np.int64)
    generator = UpConvGenerator(num_classes=10, style_dim=8, image_size=32, width=16)
    codes = G.StyleCodes(len(digits), 8, start=G.pca_codes(digits, labels, 8))
    started = time.perf_counter()
    history = G.train_generator(
        generator, codes, digits, labels, epochs=recipe["epochs"], batch_size=64, lr=2e-3
    )
    seconds = time.perf_counter() - started
    style, rng = codes.codes(), np.random.default_rng(1)
    # Training digits with their own codes: angles never shown against angles shown.
    seen = min(len(digits), 2_000)
    scales = rng.uniform(*G.SCALES, seen)
    train_held_out = G.reconstruction_error(
        generator, digits[:seen], labels[:seen], style[:seen], G.held_out_angles(rng, seen), scales
    )
    train_seen = G.reconstruction_error(
        generator, digits[:seen], labels[:seen], style[:seen], G.training_angles(rng, seen), scales
    )
    # New digits: a code fitted to the upright view, then drawn at held-out angles.
    started = time.perf_counter()
    fitted = G.fit_codes(generator, test_digits, test_labels, steps=50, lr=0.05)
    fit_seconds = time.perf_counter() - started
    angles = G.held_out_angles(rng, len(test_digits))
    scales = rng.uniform(*G.SCALES, len(test_digits))
    test_error = G.reconstruction_error(generator, test_digits, test_labels, fitted, angles, scales)
    mean_code_error = G.reconstruction_error(
        generator, test_digits, test_labels, style.mean(axis=0), angles, scales
    )
    # The judge: LeNet-5 on real training digits at any angle and scale of the ranges.
    judge = LeNet5(input_size=32)
    judge_rng = np.random.default_rng(2)
    judge_images = G.transform_digits(
        digits, judge_rng.uniform(*G.ANGLES, len(digits)),
        judge_rng.uniform(*G.SCALES, len(digits)),
    )  # fmt: skip
    G.train_classifier(judge, judge_images, labels, epochs=2, batch_size=64, lr=2e-3)
    turned = G.transform_digits(test_digits, angles, scales)
    real = G.classifier_accuracy(judge, turned, test_labels)
    # 100 drawings per class at held-out angles, styles of random training digits (any class).
    wanted = np.repeat(np.arange(10), 100)
    picks = rng.integers(len(digits), size=len(wanted))
    drawn_angles, drawn_scales = G.held_out_angles(rng, len(wanted)), rng.uniform(*G.SCALES, 1000)
    drawn = G.generate(generator, wanted, drawn_angles, drawn_scales, style[picks])
    recognised = G.classifier_accuracy(judge, drawn, wanted)
    # The same with the style of a training digit of the drawn class.
    own = np.array([rng.choice(np.flatnonzero(labels == c)) for c in wanted])
    drawn_own = G.generate(generator, wanted, drawn_angles, drawn_scales, style[own])
    recognised_own = G.classifier_accuracy(judge, drawn_own, wanted)
    # Pictures: every class at every angle (mean style), class and style morphs, new digits.
    mean_style = style.mean(axis=0)
    angle_row = np.arange(-40, 41, 10.0)
    G.plot_generation(
        G.class_grid(generator, mean_style, angle_row), IMAGES / "generation_grid.png",
        row_labels=[str(c) for c in range(10)], column_labels=[f"{a:.0f}°" for a in angle_row],
        title="classes x angles (15-25° never seen in training), mean style",
    )  # fmt: skip
    pairs = [(1, 7), (3, 8), (4, 9), (0, 6), (5, 6)]
    G.plot_generation(
        G.class_morph(generator, pairs, 8, mean_style), IMAGES / "generation_morph.png",
        row_labels=[f"{a}->{b}" for a, b in pairs], title="morphing: one-hot a -> one-hot b",
    )  # fmt: skip
    thin, thick = G.ink_extremes(digits, labels)
    G.plot_generation(
        G.style_morph(generator, [0, 2, 3, 5, 7, 8], style[thin], style[thick], 8),
        IMAGES / "generation_styles.png", row_labels=[str(c) for c in (0, 2, 3, 5, 7, 8)],
        title=f"style codes: a thin digit's ({labels[thin]}) -> a thick one's ({labels[thick]})",
    )  # fmt: skip
    shown = np.arange(8)
    truth = G.transform_digits(test_digits[shown], angles[shown], scales[shown])
    guess = G.generate(generator, test_labels[shown], angles[shown], scales[shown], fitted[shown])
    upright = G.transform_digits(test_digits[shown], 0.0, 1.0)
    G.plot_generation(
        np.stack([upright, truth, guess]), IMAGES / "generation_test.png",
        row_labels=["upright", "turned", "drawn"],
        column_labels=[f"{a:.0f}°" for a in angles[shown]],
        title="test digits: code fitted to the upright view, drawn at held-out angles",
    )  # fmt: skip
    return {
        "final_bce": history[-1]["bce"],
        "train_mse_held_out_angles": train_held_out,
        "train_mse_seen_angles": train_seen,
        "test_mse_held_out_angles": test_error,
        "test_mse_mean_code": mean_code_error,
        "judge_accuracy_real": real["accuracy"],
        "judge_accuracy_generated": recognised["accuracy"],
        "judge_accuracy_generated_per_class": recognised["per_class"],
        "judge_accuracy_generated_own_class_style": recognised_own["accuracy"],
        "train_seconds": seconds,
        "fit_codes_seconds": fit_seconds,
    }


def run(task: str, recipe: dict) -> dict:
    tasks = {"segmentation": segmentation, "regression": regression, "matching": matching,
             "generation": generation}  # fmt: skip
    return tasks[task](recipe) if task in tasks else detection(task, recipe)


def main(argv: list[str]) -> None:
    global IMAGES
    quick = "--quick" in argv
    if quick:  # a quick run's pictures must not replace the README's
        IMAGES = Path(tempfile.mkdtemp(prefix="beyond_quick_"))
        print(f"--quick: pictures go to {IMAGES}, results are not saved")
    tasks = [a for a in argv if not a.startswith("--")] or list(RECIPES)
    print(describe(environment("autograd_cv")))
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    for task in tasks:
        recipe = dict(RECIPES[task])
        if quick:
            counts = ("train", "test", "pairs", "gallery")
            recipe = {k: max(1, v // 20) if k in counts else v for k, v in recipe.items()}
            recipe["epochs"] = 1
        print(f"## {task}: {recipe}", flush=True)
        result = run(task, recipe)
        results[task] = {"recipe": recipe, **result}
        shown = {k: round(v, 4) for k, v in result.items() if isinstance(v, float)}
        print(f"| {task} | {recipe} | {shown} |", flush=True)
        if not quick:  # re-read: tasks may run in parallel processes
            results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
            results[task] = {"recipe": recipe, **result}
            RESULTS.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main(sys.argv[1:])
