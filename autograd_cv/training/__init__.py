"""Training and evaluation on the classic datasets, with resumable checkpoints.

- `registry`: the models and datasets every command (train, eval, demo, graph) chooses from;
- `config`: `TrainConfig`, built from the parsed arguments and validated once;
- `checkpoint`: resumable checkpoints, written atomically;
- `loop`: `train` and `evaluate`;
- `report`: metrics.json, the curves, the confusion matrix, the graph of one step.
- `tasks`: the task models (fcn, rcnn, fast-rcnn, pose-regressor), their datasets and recipes.
"""

from autograd_cv.training.checkpoint import (
    CHECKPOINT_FORMAT,
    read_checkpoint,
    restore_model,
    save_checkpoint,
)
from autograd_cv.training.config import TrainConfig, make_optimizer, set_learning_rate
from autograd_cv.training.errors import Diverged, Interrupted, UsageError
from autograd_cv.training.loop import evaluate, load_dataset, train
from autograd_cv.training.registry import (
    DATASETS,
    MODELS,
    DatasetInfo,
    ModelInfo,
    build_model,
    check_pair,
    dataset_info,
    forward,
    loss_fn,
    model_device,
    model_info,
    pick_device,
    transforms,
)
from autograd_cv.training.report import (
    confusion_text,
    plot_confusion,
    plot_curves,
    write_graph,
    write_json,
)

__all__ = [
    "CHECKPOINT_FORMAT",
    "DATASETS",
    "MODELS",
    "DatasetInfo",
    "Diverged",
    "Interrupted",
    "ModelInfo",
    "TrainConfig",
    "UsageError",
    "build_model",
    "check_pair",
    "confusion_text",
    "dataset_info",
    "evaluate",
    "forward",
    "load_dataset",
    "loss_fn",
    "make_optimizer",
    "model_device",
    "model_info",
    "pick_device",
    "plot_confusion",
    "plot_curves",
    "read_checkpoint",
    "restore_model",
    "save_checkpoint",
    "set_learning_rate",
    "train",
    "transforms",
    "write_graph",
    "write_json",
]
