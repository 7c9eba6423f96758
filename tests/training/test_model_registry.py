"""One registry of models and datasets: every command offers and builds the same ones."""

from __future__ import annotations


def test_alexnet_small_bn_swaps_local_response_norm_for_batch_norm() -> None:
    from autograd_cv import nn
    from autograd_cv.training import build_model

    paper = build_model("alexnet-small", (3, 32, 32), 10)
    with_bn = build_model("alexnet-small-bn", (3, 32, 32), 10)

    def count(model, kind) -> int:
        return sum(isinstance(m, kind) for m in model.modules())

    assert (count(with_bn, nn.BatchNorm2d), count(with_bn, nn.LocalResponseNorm)) == (5, 0)
    assert (count(paper, nn.BatchNorm2d), count(paper, nn.LocalResponseNorm)) == (0, 2)


def _model_option(command: str):
    """The `--model` option of one subcommand, as its parser defines it."""
    import argparse

    from autograd_cv import cli

    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers(dest="command")
    {"train": cli._train_parser, "graph": cli._graph_parser}[command](commands)
    return next(a for a in commands.choices[command]._actions if "--model" in a.option_strings)


def test_graph_offers_every_registry_model_and_train_names_them_all() -> None:
    from autograd_cv.training import MODELS
    from autograd_cv.training.tasks import TASKS

    assert "alexnet-small-bn" in MODELS and "fcn" in TASKS
    # graph offers the task models too, to refuse them with a reason (test_task_models.py).
    assert list(_model_option("graph").choices) == [*MODELS, *TASKS]
    help_text = _model_option("train").help
    assert f"a classifier ({', '.join(MODELS)})" in help_text
    assert f"a task model ({', '.join(TASKS)})" in help_text


def test_graph_command_draws_alexnet_small_bn(tmp_path, capsys) -> None:
    from autograd_cv.cli import main

    out = tmp_path / "bn.dot"
    assert main(["graph", "--model", "alexnet-small-bn", "--out", str(out)]) == 0
    source = out.read_text()
    assert source.startswith("digraph") and "batch_norm" in source
    assert f"wrote {out}" in capsys.readouterr().out


def test_every_model_builds_for_every_dataset_it_accepts() -> None:
    from autograd_cv.training import DATASETS, MODELS, UsageError, build_model, check_pair

    built = 0
    for model in MODELS:
        for dataset, info in DATASETS.items():
            try:
                check_pair(model, dataset)
            except UsageError as error:
                assert "needs" in str(error) and MODELS[model].fixed
                continue
            net = build_model(model, info.image_shape, len(info.classes))
            assert sum(p.size for p in net.parameters()) > 0
            built += 1
    assert built == 3 * 4 + 2 * 1  # perceptron, mlp, lenet5 on all four; both alexnet-smalls
