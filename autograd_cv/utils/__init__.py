"""torch.utils's layout: `utils.data` holds Dataset, DataLoader and friends."""

from autograd_cv.utils import data

__all__ = ["data"]
