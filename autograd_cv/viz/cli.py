"""`autograd-cv graph`: draw one training step of a classic model to a file.

autograd-cv graph --model lenet5 --grads --out lenet5.svg
autograd-cv graph --model alexnet-small --collapse module --profile --out alexnet.png
"""

from __future__ import annotations

import argparse
import sys
from contextlib import ExitStack
from pathlib import Path

import numpy as np

DESCRIPTION = (
    "Draw the autograd graph of one training step (forward, cross-entropy, backward) of a "
    "model on a random batch."
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `autograd-cv graph` on its own."""
    parser = argparse.ArgumentParser(prog="autograd-cv graph", description=DESCRIPTION)
    add_arguments(parser)
    return parser


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `autograd-cv graph`; its models are the training registry's."""
    from autograd_cv.training.registry import MODELS
    from autograd_cv.training.tasks import TASKS

    # Task models are choices too, so that they are refused with a reason, not "invalid choice".
    parser.add_argument("--model", required=True, choices=[*MODELS, *TASKS],
                        help=f"which classifier to draw ({', '.join(MODELS)})")  # fmt: skip
    parser.add_argument("--batch", type=int, default=2, help="batch size (default 2)")
    parser.add_argument("--grads", action="store_true", help="colour by gradient norm")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="time ops (after one untimed warm-up step); print the table",
    )
    parser.add_argument(
        "--collapse", choices=("module",), default=None, help="draw each module as one box"
    )
    parser.add_argument(
        "--collapse-depth",
        type=int,
        default=None,
        help="with --collapse: group at this module depth (default: innermost modules)",
    )
    parser.add_argument("--rankdir", choices=("TB", "LR", "BT", "RL"), default="TB")
    parser.add_argument("--dpi", type=int, default=None, help="PNG resolution (default 96)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--out", default=None, help="output file: .svg, .png, .pdf or .dot (default MODEL.svg)"
    )


def graph_main(args: list[str]) -> int:
    """Run `autograd-cv graph` with `args` (without the subcommand); returns the exit code."""
    return run(build_parser().parse_args(args))


def run(options: argparse.Namespace) -> int:
    """Draw the graph `options` ask for; returns the exit code."""
    for option, value, least in (("--batch", options.batch, 1), ("--seed", options.seed, 0),
                                 ("--dpi", options.dpi, 1),
                                 ("--collapse-depth", options.collapse_depth, 0)):  # fmt: skip
        if value is not None and value < least:
            print(f"autograd-cv graph: {option} must be at least {least}", file=sys.stderr)
            return 2

    import autograd_cv as ag
    from autograd_cv import functional as F
    from autograd_cv import viz
    from autograd_cv.training.registry import MODELS, build_model
    from autograd_cv.training.tasks import TASKS

    if options.model in TASKS:
        print(f"autograd-cv graph: {options.model} is a {TASKS[options.model].task} model; "
              f"graph draws a classifier's training step ({', '.join(MODELS)}); draw a task "
              "model's loss in Python with autograd_cv.viz.draw_graph(loss, model=model)",
              file=sys.stderr)  # fmt: skip
        return 2

    spec = MODELS[options.model]
    ag.manual_seed(options.seed)
    model = build_model(options.model, spec.image_shape, spec.num_classes)
    # One sample as the model takes it: flat pixels for the perceptron, an image otherwise.
    sample = (int(np.prod(spec.image_shape)),) if spec.flat else spec.image_shape
    rng = np.random.default_rng(options.seed)
    images = ag.tensor(
        rng.standard_normal((options.batch, *sample), dtype=np.float32), name="images"
    )
    labels = ag.tensor(rng.integers(0, spec.num_classes, options.batch), name="labels")

    if options.profile:
        # One untimed step first: the first call of each kernel loads it from Numba's cache,
        # which would otherwise show as most of the time of whichever layer runs first.
        with ag.no_grad():
            model(images)
        F.cross_entropy(model(images), labels).backward()
        model.zero_grad()
    with ExitStack() as stack:
        profiler = stack.enter_context(viz.profile()) if options.profile else None
        # Always recorded: the recorder also keeps the inputs that needed no grad (images,
        # dropout masks) on the drawing after backward has freed them.
        recorder = stack.enter_context(viz.record_grads())
        loss = F.cross_entropy(model(images), labels)
        loss.backward()

    graph = viz.draw_graph(
        loss,
        model=model,
        show_grads=recorder if options.grads else False,
        profile=profiler,
        collapse=options.collapse,
        collapse_depth=options.collapse_depth,
        rankdir=options.rankdir,
    )
    out = Path(options.out or f"{options.model}.svg")
    try:
        viz.render(graph, out, dpi=options.dpi)
    except viz.DotNotFoundError as error:
        try:
            fallback = viz.render(graph, out.with_suffix(".dot"))
        except OSError as write_error:
            print(f"autograd-cv graph: {write_error}", file=sys.stderr)
            return 2
        print(f"autograd-cv graph: {error}\nWrote the DOT text to {fallback}.", file=sys.stderr)
        return 1
    except (ValueError, OSError) as error:
        print(f"autograd-cv graph: {error}", file=sys.stderr)
        return 2
    print(f"wrote {out} (loss {loss.item():.4f})")
    if profiler is not None:
        print(profiler.table())
    return 0


if __name__ == "__main__":  # pragma: no cover - `python -m autograd_cv.viz.cli`
    raise SystemExit(graph_main(sys.argv[1:]))
