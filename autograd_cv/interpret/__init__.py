"""Looking inside CNNs: filter and image grids, PNG output."""

from autograd_cv.interpret.images import (
    filter_grid,
    image_grid,
    normalize_image,
    prediction_sheet,
    save_image,
)

__all__ = ["filter_grid", "image_grid", "normalize_image", "prediction_sheet", "save_image"]
