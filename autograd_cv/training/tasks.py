"""The task models of `autograd-cv train`: segmentation, detection, pose regression,
matching and generation.

Each model name has one `TaskModel` entry: the datasets it trains on, how to build it, how
to fit it (the task module's train_* function, Adam with a per-step cosine decay) and how
to score it on the test set (a dict of floats, and its pictures written to --out). Adding
a task is one `TASK_DATASETS` row for its data (a name may also be a classifier dataset's,
such as "mnist") and one `TASKS` entry with two small functions; `check_pair`, `train`,
`eval` and the error messages then know it:

    def _fit_siamese(model, patches, run, log):      # run: TaskRun (epochs, lr, seed, ...)
        return M.train_siamese(model, ..., epochs=run.epochs, lr=run.lr, seed=run.seed, log=log)

    def _score_siamese(model, patches, out):         # -> (metrics of floats, pictures)
        ...; M.plot_pairs(..., out / "pairs.png"); return scores, ["pairs.png"]

    TASK_DATASETS["digit-patches"] = TaskDataset(lambda root, train, n, seed: ..., "patches")
    TASKS["siamese"] = TaskModel("matching", ("digit-patches",), SiameseNet, _fit_siamese,
                                 _score_siamese, Recipe(epochs=3, batch_size=64, lr=1e-3,
                                                        train_size=..., test_size=...))
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

import autograd_cv as ag
from autograd_cv import nn
from autograd_cv.models.fcn import FCN
from autograd_cv.models.generator import UpConvGenerator
from autograd_cv.models.rcnn import RCNN, FastRCNN
from autograd_cv.models.regression import PoseRegressor
from autograd_cv.models.siamese import SiameseNet
from autograd_cv.training.errors import Diverged, UsageError
from autograd_cv.vision.datasets import DigitPoses, DigitScenes
from autograd_cv.vision.datasets.digit_scenes import load_digits
from autograd_cv.vision.tasks import detection as D
from autograd_cv.vision.tasks import generation as G
from autograd_cv.vision.tasks import matching as M
from autograd_cv.vision.tasks import regression as R
from autograd_cv.vision.tasks import segmentation as S

TASK_FORMAT = "autograd_cv.task-model/1"
Log = Callable[[str], None]


# ----- datasets -------------------------------------------------------------------------
@dataclass(frozen=True)
class TaskDataset:
    """How to build one split of a task's data: (root, train, length, seed) -> dataset."""

    load: Callable[[str | None, bool, int, int], Any]
    about: str


def _scenes(source: str) -> Callable[[str | None, bool, int, int], DigitScenes]:
    return lambda root, train, length, seed: DigitScenes(
        root, train=train, length=length, source=source, seed=seed
    )


def _poses(source: str) -> Callable[[str | None, bool, int, int], DigitPoses]:
    return lambda root, train, length, seed: DigitPoses(
        root, train=train, length=length, source=source, seed=seed
    )


@dataclass(frozen=True)
class Patches:
    """Digits: (N, 1, 28, 28) images in [0, 1] for matching, (N, 28, 28) uint8 for the
    generator, and their (N,) labels."""

    images: np.ndarray
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)


def _patches(source: str) -> Callable[[str | None, bool, int, int], Patches]:
    def load(root: str | None, train: bool, length: int, seed: int) -> Patches:
        images, labels = M.load_patches(source, train, root)
        picked = np.random.default_rng((seed, train)).permutation(len(labels))[:length]
        return Patches(images[picked], labels[picked])

    return load


def _digits(source: str) -> Callable[[str | None, bool, int, int], Patches]:
    def load(root: str | None, train: bool, length: int, seed: int) -> Patches:
        digits, labels = load_digits(source, train, root)
        picked = np.random.default_rng((seed, train)).permutation(len(labels))[:length]
        return Patches(digits[picked], labels[picked].astype(np.int64))

    return load


TASK_DATASETS: dict[str, TaskDataset] = {
    "digit-scenes": TaskDataset(_scenes("mnist"), "64x64 scenes of 1-4 MNIST digits"),
    "digit-scenes-mini": TaskDataset(
        _scenes("mnist-mini"), "digit-scenes from the embedded MNIST subset"
    ),
    "digit-poses": TaskDataset(_poses("mnist"), "48x48 canvases, one turned and scaled digit"),
    "digit-poses-mini": TaskDataset(
        _poses("mnist-mini"), "digit-poses from the embedded MNIST subset"
    ),
    "digit-patches": TaskDataset(_patches("mnist"), "28x28 MNIST digits, for matching"),
    "digit-patches-mini": TaskDataset(
        _patches("mnist-mini"), "digit-patches from the embedded MNIST subset"
    ),
    "mnist": TaskDataset(_digits("mnist"), "MNIST digits, turned and scaled as they are drawn"),
    "mnist-mini": TaskDataset(_digits("mnist-mini"), "the embedded MNIST subset, likewise"),
}


# ----- the tasks --------------------------------------------------------------------------
@dataclass(frozen=True)
class Recipe:
    """What a run of a task model uses unless told otherwise (--epochs, --train-size, ...)."""

    epochs: int
    batch_size: int
    lr: float
    train_size: int
    test_size: int


@dataclass(frozen=True)
class TaskModel:
    """One model of a task: its datasets, how to build, fit and score it."""

    task: str
    datasets: tuple[str, ...]
    build: Callable[[], nn.Module]
    #: (model, train set, config, log) -> one record per epoch
    fit: Callable[[nn.Module, Any, Any, Log | None], list[dict]]
    #: (model, test set, out folder) -> (metrics of floats, picture file names written to out)
    score: Callable[[nn.Module, Any, Path], tuple[dict, list[str]]]
    recipe: Recipe


def _fit_segmentation(model: nn.Module, scenes: DigitScenes, config: Any, log: Log | None):
    images, masks, _, _ = scenes.batch(range(len(scenes)))
    return S.train_segmentation(model, images, masks, epochs=config.epochs,
                                batch_size=config.batch_size, lr=config.lr, seed=config.seed,
                                log=log)  # fmt: skip


def _score_segmentation(model: nn.Module, scenes: DigitScenes, out: Path):
    images, masks, _, _ = scenes.batch(range(len(scenes)))
    predicted = S.predict_masks(model, images)
    scores = S.segmentation_scores(S.confusion_matrix(predicted, masks))
    S.plot_segmentation(images[:6], masks[:6], predicted[:6], out / "masks.png")
    return scores, ["masks.png"]


def _fit_detector(model: nn.Module, scenes: DigitScenes, config: Any, log: Log | None):
    images, _, boxes, labels = scenes.batch(range(len(scenes)))
    return D.train_detector(model, images, boxes, labels, D.propose_regions(images),
                            epochs=config.epochs, batch_size=config.batch_size, lr=config.lr,
                            seed=config.seed, log=log)  # fmt: skip


def _score_detector(model: nn.Module, scenes: DigitScenes, out: Path):
    images, _, boxes, labels = scenes.batch(range(len(scenes)))
    proposals = D.propose_regions(images)
    found = D.detect(model, images, proposals, batch_size=4)
    scores = {
        **D.average_precision(found, boxes, labels),
        "proposals_per_image": float(np.mean([len(p) for p in proposals])),
        "proposal_recall_05": D.proposal_recall(proposals, boxes),
    }
    D.plot_detections(images[:8], found[:8], out / "boxes.png", min_score=0.3)
    return scores, ["boxes.png"]


def _pose_scaler(poses: DigitPoses) -> R.PoseScaler:
    return R.PoseScaler(poses.size, poses.scale, poses.angle)


def _fit_pose(model: nn.Module, poses: DigitPoses, config: Any, log: Log | None):
    images, targets, _ = poses.batch(range(len(poses)))
    return R.train_pose(model, images, _pose_scaler(poses).encode(targets), epochs=config.epochs,
                        batch_size=config.batch_size, lr=config.lr, seed=config.seed,
                        log=log)  # fmt: skip


def _score_pose(model: nn.Module, poses: DigitPoses, out: Path):
    images, truth, _ = poses.batch(range(len(poses)))
    predicted = _pose_scaler(poses).decode(R.predict(model, images))
    R.plot_poses(images[:12], predicted[:12], truth[:12], out / "poses.png")
    return R.pose_errors(predicted, truth), ["poses.png"]


def _fit_siamese(model: nn.Module, patches: Patches, config: Any, log: Log | None):
    return M.train_matching(model, patches.images, patches.labels, "class",
                            epochs=config.epochs, batch_size=config.batch_size, lr=config.lr,
                            seed=config.seed, log=log)  # fmt: skip


def _score_siamese(model: nn.Module, patches: Patches, out: Path):
    """Class matching on held-out pairs and top-1 retrieval, learned against raw pixels."""
    images, labels, count = patches.images, patches.labels, len(patches)
    scores = M.evaluate_matching(model, images, labels, "class", pairs=count, gallery=count // 2)
    first, second, same = M.held_out_pairs(images, labels, count, "class")
    queries, query_labels, gallery, gallery_labels = M.retrieval_sets(
        images, labels, count // 2, "class"
    )
    M.plot_matching(model, queries[:6], gallery, M.pair_distances(model, first, second), same,
                    out / "matching.png", query_labels=query_labels[:6],
                    gallery_labels=gallery_labels)  # fmt: skip
    return scores, ["matching.png"]


def _fit_generator(model: nn.Module, digits: Patches, config: Any, log: Log | None):
    """The generator with one GLO style code per training digit (started from PCA); the
    codes serve training only: a test digit's code is fitted to it when scored."""
    start = G.pca_codes(digits.images, digits.labels, model.style_dim)
    codes = G.StyleCodes(len(digits), model.style_dim, start=start)
    return G.train_generator(model, codes, digits.images, digits.labels, epochs=config.epochs,
                             batch_size=config.batch_size, lr=config.lr, seed=config.seed,
                             log=log)  # fmt: skip


def _score_generator(model: nn.Module, digits: Patches, out: Path):
    """Test digits drawn at angles never trained on, from a code fitted to their upright
    view (and from the mean code); every class at every angle in the picture."""
    images, labels = digits.images, digits.labels
    fitted = G.fit_codes(model, images, labels, steps=50, lr=0.05)
    rng = np.random.default_rng(0)
    angles, scales = G.held_out_angles(rng, len(labels)), rng.uniform(*G.SCALES, len(labels))
    scores = {
        "test_mse_held_out_angles": G.reconstruction_error(
            model, images, labels, fitted, angles, scales
        ),
        "test_mse_mean_code": G.reconstruction_error(
            model, images, labels, fitted.mean(axis=0), angles, scales
        ),
    }
    shown = np.arange(-40, 41, 10.0)
    G.plot_generation(G.class_grid(model, fitted.mean(axis=0), shown), out / "generated.png",
                      row_labels=[str(c) for c in range(model.num_classes)],
                      column_labels=[f"{a:.0f}°" for a in shown],
                      title="classes x angles (15-25° never seen in training)")  # fmt: skip
    return scores, ["generated.png"]


_SCENES = ("digit-scenes", "digit-scenes-mini")
# The recipes are benchmarks/beyond_results.py's, which made the README's figures.
TASKS: dict[str, TaskModel] = {
    "fcn": TaskModel("segmentation", _SCENES, FCN, _fit_segmentation, _score_segmentation,
                     Recipe(epochs=3, batch_size=16, lr=3e-3, train_size=30000, test_size=1000)),
    "rcnn": TaskModel("detection", _SCENES, RCNN, _fit_detector, _score_detector,
                      Recipe(epochs=2, batch_size=8, lr=2e-3, train_size=6000, test_size=300)),
    "fast-rcnn": TaskModel("detection", _SCENES, FastRCNN, _fit_detector, _score_detector,
                           Recipe(epochs=2, batch_size=8, lr=2e-3, train_size=20000,
                                  test_size=500)),
    "pose-regressor": TaskModel(
        "regression", ("digit-poses", "digit-poses-mini"), PoseRegressor, _fit_pose, _score_pose,
        Recipe(epochs=5, batch_size=64, lr=2e-3, train_size=20000, test_size=2000),
    ),
    "siamese": TaskModel(
        "matching", ("digit-patches", "digit-patches-mini"), SiameseNet, _fit_siamese,
        _score_siamese, Recipe(epochs=1, batch_size=64, lr=2e-3, train_size=20000, test_size=2000),
    ),
    "upconv-generator": TaskModel(
        "generation", ("mnist", "mnist-mini"), UpConvGenerator, _fit_generator,
        _score_generator,
        Recipe(epochs=3, batch_size=64, lr=2e-3, train_size=60000, test_size=1000),
    ),
}  # fmt: skip


def task_info(name: str) -> TaskModel:
    """The task model's entry (the caller has checked that it is one)."""
    return TASKS[name]


def check_task_pair(model: str, dataset: str) -> TaskModel:
    """Refuse a task model on a dataset it does not train on, naming the ones it does."""
    entry = TASKS[model]
    if dataset not in entry.datasets:
        raise UsageError(f"{model} is a {entry.task} model: it trains on "
                         f"{' or '.join(entry.datasets)}, not {dataset!r}")  # fmt: skip
    return entry


def models_for(dataset: str) -> list[str]:
    """The task models that train on `dataset`."""
    return [name for name, entry in TASKS.items() if dataset in entry.datasets]


# ----- a run ------------------------------------------------------------------------------
@dataclass(frozen=True)
class TaskRun:
    """The settings a task run actually used (written to metrics.json and model.npz)."""

    model: str
    dataset: str
    epochs: int
    batch_size: int
    lr: float
    seed: int
    train_size: int
    test_size: int
    data_dir: str | None


def resolve(config: Any) -> TaskRun:
    """The run's settings: the TrainConfig's where given, the task's recipe elsewhere; refuse
    what task models do not support."""
    entry = check_task_pair(config.model, config.dataset)
    if config.resume is not None:
        raise UsageError(f"--resume is for the classifiers; {config.model} trains in one go")
    if config.optimizer not in (None, "adam") or config.schedule not in (None, "cosine"):
        raise UsageError(f"{config.model} trains with Adam and a per-step cosine decay; "
                         "leave --optimizer and --schedule out")  # fmt: skip
    if config.weight_decay:
        raise UsageError(f"--weight-decay is not supported for {config.model}")
    if getattr(config, "tensorboard", None) is not None:
        raise UsageError(f"--tensorboard is for the classifiers; {config.model} writes "
                         "metrics.json and its picture")  # fmt: skip
    recipe = entry.recipe
    run = TaskRun(
        model=config.model, dataset=config.dataset,
        epochs=recipe.epochs if config.epochs is None else config.epochs,
        batch_size=recipe.batch_size if config.batch_size is None else config.batch_size,
        lr=recipe.lr if config.lr is None else config.lr, seed=config.seed,
        train_size=recipe.train_size if config.train_size is None else config.train_size,
        test_size=recipe.test_size if config.test_size is None else config.test_size,
        data_dir=config.data_dir,
    )  # fmt: skip
    sizes = {"--epochs": run.epochs, "--batch-size": run.batch_size,
             "--train-size": run.train_size, "--test-size": run.test_size}  # fmt: skip
    for option, value in sizes.items():
        if value < 1:
            raise UsageError(f"{option} must be at least 1, not {value}")
    if run.seed < 0:
        raise UsageError(f"--seed must be 0 or more, not {run.seed}")
    if not math.isfinite(run.lr) or run.lr <= 0:
        raise UsageError(f"--lr must be a finite number greater than 0, not {run.lr}")
    return run


def load_task_data(dataset: str, data_dir: str | None, train: bool, length: int, seed: int):
    """One split of a task dataset, with clear errors for a missing folder or files."""
    if data_dir is not None and not Path(data_dir).is_dir():
        raise UsageError(f"data folder {data_dir!r} does not exist or is not a folder")
    try:
        data = TASK_DATASETS[dataset].load(data_dir, train, length, seed)
    except (OSError, ValueError, EOFError) as error:
        raise UsageError(f"cannot load {dataset}: {error}".replace("\n", " ")) from None
    return data


def train_task(config: Any, log: Log = print) -> dict:
    """Train a task model as configured; write model.npz, metrics.json and its pictures."""
    from autograd_cv.training.loop import check_out, make_out
    from autograd_cv.training.report import write_json

    run = resolve(config)
    entry = TASKS[run.model]
    saved = Path(config.out) / "model.npz"
    if saved.exists() and not config.force:
        raise UsageError(f"{str(saved)!r} already exists; pass --force to overwrite it")
    check_out(config)
    train_set = load_task_data(run.dataset, run.data_dir, True, run.train_size, run.seed)
    test_set = load_task_data(run.dataset, run.data_dir, False, run.test_size, run.seed)
    out = make_out(config)
    ag.manual_seed(run.seed)
    model = entry.build()
    log(f"training {run.model} ({entry.task}) on {run.dataset}: {run.train_size} training and "
        f"{run.test_size} test items, {run.epochs} epochs of batches of {run.batch_size}, "
        f"Adam lr {run.lr:g} with cosine decay")  # fmt: skip
    started = time.perf_counter()
    history = entry.fit(model, train_set, run, log)
    seconds = time.perf_counter() - started
    for name, record in history[-1].items():
        if name not in ("epoch", "seconds") and not math.isfinite(record):
            raise Diverged(f"the {name} loss became {record}; try a smaller --lr")
    test, pictures = entry.score(model, test_set, out)
    save_task_model(out / "model.npz", model, run)
    metrics = {
        "model": run.model, "dataset": run.dataset, "task": entry.task, "test": test,
        "history": history, "seconds": seconds, "pictures": pictures,
        "hyperparameters": {**_hyperparameters(run), "optimizer": "adam",
                            "schedule": "cosine per step"},
    }  # fmt: skip
    write_json(out / "metrics.json", metrics)
    metrics["model_object"] = model
    return metrics


def _hyperparameters(run: TaskRun) -> dict:
    return {k: v for k, v in asdict(run).items() if k not in ("model", "dataset", "data_dir")}


def summary(metrics: dict) -> str:
    """The headline numbers of a task's test metrics, as one line."""
    shown = {k: v for k, v in metrics.items() if isinstance(v, float)}
    return ", ".join(f"{k.replace('_', ' ')} {v:.4g}" for k, v in shown.items())


# ----- the saved model --------------------------------------------------------------------
def save_task_model(path: Path, model: nn.Module, run: TaskRun) -> None:
    """The trained weights and the run's settings, as .npz (no pickle)."""
    meta = {"model": run.model, "dataset": run.dataset, "config": json.dumps(asdict(run))}
    ag.save({"format": TASK_FORMAT, "model": model.state_dict(), "meta": meta}, path)


def read_task_model(path: str | os.PathLike) -> dict | None:
    """The saved task model at `path`; None when the file is something else (a classifier's
    checkpoint, or no checkpoint at all: the classifiers' reader says which)."""
    try:
        saved = ag.load(path)
    except (OSError, ValueError):
        return None
    if not isinstance(saved, dict) or saved.get("format") != TASK_FORMAT:
        return None
    meta = saved.get("meta")
    if not isinstance(meta, dict) or not isinstance(meta.get("model"), str):
        raise UsageError(f"{str(path)!r} is damaged: its meta entry lacks the model")
    if meta["model"] not in TASKS:
        raise UsageError(f"{str(path)!r} names an unknown task model {meta['model']!r}")
    try:
        run = TaskRun(**json.loads(meta["config"]))
        counts = (run.epochs, run.batch_size, run.seed, run.train_size, run.test_size)
        if run.model != meta["model"] or not all(
            isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in counts
        ):
            raise ValueError("its settings are not those of a run")
        model = TASKS[run.model].build()
        model.load_state_dict(saved["model"])
    except (KeyError, TypeError, ValueError, RuntimeError, RecursionError) as error:
        raise UsageError(f"{str(path)!r} is damaged: {error}") from None
    return {"run": run, "model": model}


def evaluate_task(path: str, dataset: str | None, data_dir: str | None, out: Path,
                  log: Log = print) -> dict:  # fmt: skip
    """`autograd-cv eval` of a saved task model: its test metrics, pictures written to `out`."""
    saved = read_task_model(path)
    if saved is None:
        raise UsageError(f"{path!r} is not a saved task model")
    run: TaskRun = saved["run"]
    dataset = dataset or run.dataset
    entry = check_task_pair(run.model, dataset)
    if data_dir is None and dataset == run.dataset:
        data_dir = run.data_dir
    test_set = load_task_data(dataset, data_dir, False, run.test_size, run.seed)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UsageError(f"cannot create {str(out)!r}: {error.strerror}") from None
    test, pictures = entry.score(saved["model"], test_set, out)
    log(f"{run.model} on {dataset} ({run.test_size} test items): {summary(test)}")
    log(f"wrote {', '.join(str(out / p) for p in pictures)}")
    return test
