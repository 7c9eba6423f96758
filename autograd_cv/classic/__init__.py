"""Classic computer vision before CNNs: kNN, a linear SVM, HOG features, random search."""

from autograd_cv.classic.hog import hog_features
from autograd_cv.classic.knn import NearestNeighbor
from autograd_cv.classic.search import gradient_descent, hill_climb
from autograd_cv.classic.svm import LinearSVM

__all__ = ["LinearSVM", "NearestNeighbor", "gradient_descent", "hill_climb", "hog_features"]
