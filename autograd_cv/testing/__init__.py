"""Tools to trust gradients: gradcheck, gradgradcheck, hypothesis strategies, the op registry."""

from autograd_cv.testing.gradcheck import GradcheckError, gradcheck, gradgradcheck

__all__ = ["GradcheckError", "gradcheck", "gradgradcheck"]
