"""torch.utils.data's names: Dataset, DataLoader, TensorDataset, Subset, random_split."""

from autograd_cv.data.collate import default_collate
from autograd_cv.data.dataset import ConcatDataset, Dataset, Subset, TensorDataset, random_split
from autograd_cv.data.loader import DataLoader, get_worker_info

__all__ = [
    "ConcatDataset", "DataLoader", "Dataset", "Subset", "TensorDataset", "default_collate",
    "get_worker_info", "random_split",
]  # fmt: skip
