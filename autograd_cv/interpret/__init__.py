"""Looking inside CNNs: activations, saliency, occlusion, adversarial examples, class images,
filter and image grids, heat-map overlays and PNG output."""

from autograd_cv.interpret.activations import activations, feature_map_grid
from autograd_cv.interpret.adversarial import fgsm, pgd, project
from autograd_cv.interpret.images import (
    filter_grid,
    image_grid,
    normalize_image,
    prediction_sheet,
    save_image,
)
from autograd_cv.interpret.occlusion import occlusion, occlusion_masks
from autograd_cv.interpret.overlays import adversarial_sheet, overlay, save_overlay
from autograd_cv.interpret.saliency import saliency
from autograd_cv.interpret.synthesis import class_model, fooling_image

__all__ = [
    "activations", "adversarial_sheet", "class_model", "feature_map_grid", "fgsm",
    "filter_grid", "fooling_image", "image_grid", "normalize_image", "occlusion",
    "occlusion_masks", "overlay", "pgd", "prediction_sheet", "project", "saliency",
    "save_image", "save_overlay",
]  # fmt: skip
