"""The `autograd-cv` command line: train, eval, demo and graph.

Problems with what was asked (an unknown model, a missing folder, a corrupt checkpoint)
are one line on stderr and exit code 2, never a traceback; nothing is overwritten. A loss
that becomes NaN or infinite stops training with exit code 3; a signal n, with 128 + n.
"""

from __future__ import annotations

import argparse
import json
import re
import signal
import sys
import time
from pathlib import Path

import numpy as np

EXIT_USAGE = 2
EXIT_DIVERGED = 3


def _train_parser(commands: argparse._SubParsersAction) -> None:
    from autograd_cv.training import DATASETS, MODELS
    from autograd_cv.training.tasks import TASK_DATASETS, TASKS

    parser = commands.add_parser("train", help="train a model on a dataset")
    parser.add_argument("--model", default="lenet5", help=f"a classifier ({', '.join(MODELS)}) "
                        f"or a task model ({', '.join(TASKS)})")  # fmt: skip
    parser.add_argument("--dataset", default="mnist-mini",
                        help=f"for classifiers {', '.join(DATASETS)}; for task models "
                        f"{', '.join(TASK_DATASETS)}")  # fmt: skip
    parser.add_argument(
        "--data-dir",
        default=None,
        help="folder with the dataset files (default: $AUTOGRAD_CV_DATA or the user cache, "
        "downloading MNIST/Fashion-MNIST when missing)",
    )
    parser.add_argument("--epochs", type=int, default=None,
                        help="default: 3, or the task model's recipe")  # fmt: skip
    parser.add_argument("--batch-size", type=int, default=None,
                        help="default: 64, or the task model's recipe")  # fmt: skip
    parser.add_argument(
        "--lr",
        type=float,
        default=None,
        help="default: 0.02 sgd, 1e-3 adam; task models: their recipe's",
    )
    parser.add_argument("--optimizer", default=None, choices=["sgd", "adam"],
                        help="default: sgd (task models train with adam only)")  # fmt: skip
    parser.add_argument("--momentum", type=float, default=0.9)
    parser.add_argument("--weight-decay", type=float, default=0.0)
    parser.add_argument("--schedule", default=None, choices=["constant", "cosine"],
                        help="cosine: the learning rate falls to 0 over the epochs (default "
                        "constant; task models: cosine per step, always)")  # fmt: skip
    parser.add_argument(
        "--train-size",
        type=int,
        default=None,
        help="task models: how many training scenes (default: the recipe's)",
    )
    parser.add_argument(
        "--test-size",
        type=int,
        default=None,
        help="task models: how many test scenes (default: the recipe's)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="runs/latest", help="folder for model.npz and plots")
    parser.add_argument("--resume", default=None, help="continue from this checkpoint")
    parser.add_argument("--force", action="store_true",
                        help="overwrite a model.npz already in --out")  # fmt: skip
    parser.add_argument("--no-graph", dest="graph", action="store_false", help="skip graph.svg")
    parser.add_argument("--no-progress", dest="progress", action="store_false",
                        help="no progress bar")  # fmt: skip
    parser.add_argument("--tensorboard", default=None, metavar="DIR",
                        help="also write TensorBoard event files to DIR")  # fmt: skip
    _device_argument(parser)


def _device_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--device",
        default="auto",
        choices=["auto", "cpu", "cuda"],
        help="auto (default): the GPU where CuPy finds one, else the CPU",
    )


def _eval_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("eval", help="accuracy and confusion matrix of a checkpoint")
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--dataset", default=None, help="default: the checkpoint's dataset")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument(
        "--out", default=None, help="folder for confusion.png (default: the checkpoint's)"
    )
    _device_argument(parser)


def _predict_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("predict", help="top-5 classes of image files, by a checkpoint")
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("images", nargs="+", help="image files (PNG, JPEG, ...)")
    parser.add_argument("--top", type=int, default=5, help="how many classes to list")


def _demo_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "demo", help="train LeNet-5 on the embedded MNIST subset and show it"
    )
    parser.add_argument("--out", default="autograd_cv_demo", help="folder for the pictures")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    _device_argument(parser)


def run_train(args: argparse.Namespace) -> int:
    """`autograd-cv train`."""
    from autograd_cv.training import TrainConfig, train

    metrics = train(TrainConfig.from_args(args))
    out = Path(args.out)
    if not _main_process():
        return 0
    if "task" in metrics:
        from autograd_cv.training.tasks import summary

        written = ", ".join(str(out / name) for name in ["model.npz", "metrics.json",
                                                          *metrics["pictures"]])  # fmt: skip
        print(f"{metrics['model']} on {metrics['dataset']} test set: {summary(metrics['test'])} "
              f"({metrics['seconds']:.1f} s training); wrote {written}")  # fmt: skip
        return 0
    print(f"test accuracy {metrics['test_accuracy']:.4f} after {len(metrics['train_loss'])} "
          f"epochs ({metrics['seconds']:.1f} s); wrote {out / 'model.npz'}, "
          f"{out / 'metrics.json'}, {out / 'curves.png'}")  # fmt: skip
    return 0


def run_eval(args: argparse.Namespace) -> int:
    """`autograd-cv eval`."""
    from autograd_cv.data import DataLoader
    from autograd_cv.training import (
        DATASETS,
        UsageError,
        confusion_text,
        dataset_info,
        evaluate,
        load_dataset,
        pick_device,
        plot_confusion,
        read_checkpoint,
        restore_model,
        transforms,
    )  # fmt: skip
    from autograd_cv.training.tasks import evaluate_task, read_task_model

    if read_task_model(args.checkpoint) is not None:
        out = Path(args.out) if args.out else Path(args.checkpoint).parent
        evaluate_task(args.checkpoint, args.dataset, args.data_dir, out)
        return 0
    checkpoint = read_checkpoint(args.checkpoint)
    model = restore_model(checkpoint, args.checkpoint).to(pick_device(args.device))
    dataset = args.dataset or checkpoint["meta"]["dataset"]
    trained_on = checkpoint["meta"]["dataset"]
    if dataset_info(dataset).image_shape != DATASETS[trained_on].image_shape:
        raise UsageError(f"checkpoint was trained on {trained_on} images, which differ from "
                         f"{dataset}'s {DATASETS[dataset].image_shape}")  # fmt: skip
    data_dir = args.data_dir
    if data_dir is None and dataset == trained_on:
        # The folder the model was trained from, so eval does not go looking (or downloading).
        data_dir = json.loads(checkpoint["meta"]["config"]).get("data_dir")
    test_set = load_dataset(dataset, data_dir, train=False)
    loader = DataLoader(test_set, 500, transform=transforms(dataset, train=False))
    classes = DATASETS[dataset].classes
    accuracy, confusion = evaluate(model, loader, len(classes))
    print(f"{checkpoint['meta']['model']} on {dataset} test set: accuracy {accuracy:.4f} "
          f"({int(np.trace(confusion))}/{int(confusion.sum())})")  # fmt: skip
    print(confusion_text(confusion, classes))
    out = Path(args.out) if args.out else Path(args.checkpoint).parent
    try:
        out.mkdir(parents=True, exist_ok=True)
        plot_confusion(confusion, classes, out / "confusion.png")
    except OSError as error:
        raise UsageError(f"cannot write {out / 'confusion.png'}: {error.strerror}") from None
    print(f"wrote {out / 'confusion.png'}")
    return 0


def read_image(path: str, shape: tuple[int, int, int]) -> np.ndarray:
    """An image file as uint8 (C, H, W) in the dataset's shape: converted to grayscale or RGB
    and resized (bilinear) to its height and width."""
    from PIL import Image, UnidentifiedImageError

    from autograd_cv.training import UsageError

    channels, height, width = shape
    try:
        with Image.open(path) as image:
            image = image.convert("L" if channels == 1 else "RGB")
            if image.size != (width, height):
                image = image.resize((width, height), Image.Resampling.BILINEAR)
            pixels = np.asarray(image, dtype=np.uint8)
    except FileNotFoundError:
        raise UsageError(f"image {path!r} does not exist") from None
    except (UnidentifiedImageError, OSError) as error:
        raise UsageError(f"cannot read image {path!r}: {error}") from None
    return pixels[None] if channels == 1 else pixels.transpose(2, 0, 1)


def run_predict(args: argparse.Namespace) -> int:
    """`autograd-cv predict`: the most probable classes of each image, with probabilities."""
    import autograd_cv as ag
    from autograd_cv import functional as F
    from autograd_cv.data.loader import _to_output
    from autograd_cv.training import (
        DATASETS,
        UsageError,
        forward,
        read_checkpoint,
        restore_model,
        transforms,
    )  # fmt: skip
    from autograd_cv.training.tasks import read_task_model

    if args.top < 1:
        raise UsageError(f"--top must be at least 1, not {args.top}")
    saved = read_task_model(args.checkpoint)
    if saved is not None:
        raise UsageError(f"predict classifies images; {args.checkpoint!r} holds "
                         f"{saved['run'].model}, a task model (see its pictures from "
                         f"autograd-cv eval)")  # fmt: skip
    checkpoint = read_checkpoint(args.checkpoint)
    model = restore_model(checkpoint, args.checkpoint)
    info = DATASETS[checkpoint["meta"]["dataset"]]
    batch = np.stack([read_image(path, info.image_shape) for path in args.images])
    images, _ = _to_output(transforms(checkpoint["meta"]["dataset"], train=False)(batch),
                           np.zeros(len(batch)))  # fmt: skip
    model.eval()
    with ag.no_grad():
        probabilities = F.softmax(forward(model, images), dim=1).numpy()
    top = min(args.top, probabilities.shape[1])
    for path, row in zip(args.images, probabilities):
        best = np.argsort(-row, kind="stable")[:top]
        ranked = ", ".join(f"{info.classes[k]} {row[k]:.3f}" for k in best)
        print(f"{path}: {ranked}")
    return 0


def run_demo(args: argparse.Namespace) -> int:
    """`autograd-cv demo`: LeNet-5 on the embedded MNIST subset, then pictures of it."""
    import autograd_cv as ag
    from autograd_cv import interpret
    from autograd_cv.data import DataLoader
    from autograd_cv.training import DATASETS, TrainConfig, forward, train, transforms

    out = Path(args.out)
    print(f"Training LeNet-5 on the embedded MNIST subset (10,000 training and 2,000 test "
          f"images); pictures go to {out}/")  # fmt: skip
    started = time.perf_counter()
    # SGD with momentum, batch 32, cosine decay: 97.7% on the subset for seeds 0, 1 and 2.
    config = TrainConfig(model="lenet5", dataset="mnist-mini", epochs=args.epochs, batch_size=32,
                         optimizer="sgd", lr=0.02, schedule="cosine", seed=args.seed,
                         out=str(out), force=True, device=args.device)  # fmt: skip
    metrics = train(config)
    model = metrics["model_object"]
    model.eval()

    test_set = DATASETS["mnist-mini"].load(None, False)
    loader = DataLoader(test_set, len(test_set), transform=transforms("mnist-mini", False))
    images, labels = next(iter(loader))
    with ag.no_grad():
        scores = forward(model, images).cpu().numpy()
    probabilities = np.exp(scores - scores.max(axis=1, keepdims=True))
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    predicted, confidence = probabilities.argmax(1), probabilities.max(1)
    # The sheet: the first test digits, then up to 8 of the most confident mistakes.
    mistakes = np.flatnonzero(predicted != labels.numpy())
    mistakes = mistakes[np.argsort(-confidence[mistakes])][:8]
    shown = np.concatenate([np.setdiff1d(np.arange(32), mistakes)[: 32 - len(mistakes)], mistakes])
    interpret.prediction_sheet(images.numpy()[shown], labels.numpy()[shown], predicted[shown],
                               confidence[shown], DATASETS["mnist-mini"].classes,
                               out / "predictions.png")  # fmt: skip
    first_conv = next(p for name, p in model.named_parameters() if p.ndim == 4)
    filters = interpret.filter_grid(first_conv.detach().cpu(), columns=6)
    interpret.save_image(filters, out / "filters.png", 12)
    print(f"\ntest accuracy: {metrics['test_accuracy']:.4f} "
          f"(in {time.perf_counter() - started:.0f} s)")  # fmt: skip
    print(f"wrote to {out}/:")
    for name, what in [("graph.svg", "the computation graph of one training step"),
                       ("graph.dot", "that graph as DOT text (graphviz's dot was missing)"),
                       ("filters.png", "the six learned first-layer filters"),
                       ("predictions.png", "32 test digits and predictions, worst mistakes last"),
                       ("curves.png", "loss and accuracy per epoch"),
                       ("confusion.png", "the confusion matrix on the test set"),
                       ("model.npz", "the trained weights (autograd-cv eval --checkpoint ...)"),
                       ("metrics.json", "the numbers")]:  # fmt: skip
        if (out / name).exists():
            print(f"  {name:16s} {what}")
    return 0


def _graph_parser(commands: argparse._SubParsersAction) -> None:
    from autograd_cv.viz.cli import DESCRIPTION, add_arguments

    parser = commands.add_parser(
        "graph", help="render one training step of a model", description=DESCRIPTION
    )
    add_arguments(parser)


def run_graph(args: argparse.Namespace) -> int:
    """`autograd-cv graph`: render one training step of a model."""
    from autograd_cv.viz.cli import run

    return run(args)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `autograd-cv` command."""
    try:
        return _main(list(sys.argv[1:] if argv is None else argv))
    except KeyboardInterrupt:  # before the training loop's own handler is in place
        print("\nautograd-cv: interrupted", file=sys.stderr)
        return 128 + signal.SIGINT


def _main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="autograd-cv", description="Train and look inside classic CNNs with autograd_cv."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    _train_parser(commands)
    _eval_parser(commands)
    _demo_parser(commands)
    _graph_parser(commands)
    _predict_parser(commands)
    args = parser.parse_args(argv)
    runners = {"train": run_train, "eval": run_eval, "demo": run_demo, "graph": run_graph,
               "predict": run_predict}  # fmt: skip
    return _guarded(lambda: runners[args.command](args))


def _main_process() -> bool:
    from autograd_cv import distributed

    return distributed.is_main_process()


def _guarded(run) -> int:
    """Run a command: usage errors become one line and exit 2; interrupts save and stop."""
    from autograd_cv.training import Diverged, Interrupted, UsageError

    try:
        return run()
    except UsageError as error:
        message = re.sub(r"\s*\n\s*", "; ", str(error).strip())  # one line, as promised
        print(f"autograd-cv: error: {message}", file=sys.stderr)
        return EXIT_USAGE
    except Diverged as error:
        print(f"\nautograd-cv: diverged: {error}", file=sys.stderr)
        return EXIT_DIVERGED
    except Interrupted as stop:
        name = signal.Signals(stop.signum).name if stop.signum else "stop request"
        if not _main_process():  # under mpiexec, rank 0 speaks for all
            return 128 + stop.signum if stop.signum else 0
        print(f"\nautograd-cv: {name}: saved a resumable checkpoint to {stop.checkpoint}; "
              f"continue with --resume {stop.checkpoint}", file=sys.stderr)  # fmt: skip
        return 128 + stop.signum if stop.signum else 0


if __name__ == "__main__":
    sys.exit(main())
