"""Figures for the README from notebooks 04-06, on the full datasets (not run in CI).

    python benchmarks/interpret_results.py [mnist] [fashion-mnist]

Reads MNIST / Fashion-MNIST from $AUTOGRAD_CV_DATA or ../shared/data (as accuracy.py) and
prints three markdown tables:

1. classic against deep (notebook 06): kNN, linear SVM on pixels, HOG + linear SVM,
   perceptron, MLP and LeNet-5 on the full training set, tested on the full test set;
2. FGSM (and PGD-10) test accuracy against eps for that LeNet-5, whose first layer does the
   normalisation, so eps is in pixel units of [0, 1] images (notebook 04);
3. transfer (notebook 05): LeNet-5 trained on the digits 0-4, reused for 5-9 with 100 or
   1,000 labels, against the same network from scratch with the same epochs.

Tables 2 and 3 are for MNIST only. Wall times depend on the machine's load: see the
`load average` line printed first.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np
from _harness import describe, environment

import autograd_cv as ag
from autograd_cv import classic, interpret, nn, optim
from autograd_cv import functional as F
from autograd_cv.data import MNIST, FashionMNIST
from autograd_cv.models import MLP, LeNet5, Perceptron, freeze, load_backbone, replace_classifier

DATA = os.environ.get("AUTOGRAD_CV_DATA",
                      str(Path(__file__).resolve().parents[2] / "shared" / "data"))  # fmt: skip
STATS = {"mnist": (0.1307, 0.3081), "fashion-mnist": (0.2860, 0.3530)}
LOADERS = {"mnist": MNIST, "fashion-mnist": FashionMNIST}
NET_EPOCHS, NET_BATCH = 3, 64  # the recipe of benchmarks/accuracy.py (LeNet-5: 99.09% on MNIST)


class Standardize(nn.Module):
    """(x - mean) / std as the first layer, so models take [0, 1] pixels."""

    def __init__(self, mean: float, std: float) -> None:
        super().__init__()
        self.mean, self.std = mean, std

    def forward(self, x: ag.Tensor) -> ag.Tensor:
        return (x - self.mean) / self.std


def fit(model: nn.Module, x: np.ndarray, y: np.ndarray, epochs: int, batch_size: int,
        lr: float = 0.02, seed: int = 0) -> float:  # fmt: skip
    """SGD, momentum 0.9, cosine decay, on the parameters that require grad; returns seconds."""
    optimizer = optim.SGD([p for p in model.parameters() if p.requires_grad], lr=lr, momentum=0.9)
    schedule = optim.lr_scheduler.CosineAnnealingLR(optimizer, epochs)
    rng = np.random.default_rng(seed)
    started = time.perf_counter()
    model.train()
    for _ in range(epochs):
        order = rng.permutation(len(x))
        for start in range(0, len(x), batch_size):
            batch = order[start : start + batch_size]
            loss = F.cross_entropy(model(ag.tensor(x[batch])), y[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        schedule.step()
    model.eval()
    return time.perf_counter() - started


def predict(model: nn.Module, x: np.ndarray) -> np.ndarray:
    """Argmax of the scores, 1,000 images at a time."""
    with ag.no_grad():
        return np.concatenate([model(ag.tensor(x[i : i + 1000])).data.argmax(axis=1)
                               for i in range(0, len(x), 1000)])  # fmt: skip


def pixels(images: np.ndarray) -> np.ndarray:
    """uint8 -> float32 in [0, 1]."""
    return images.astype(np.float32) / 255


def compare(name: str) -> tuple[dict, nn.Module, tuple]:
    """Table 1 on one dataset: {method: (accuracy, train s, predict s)}, the LeNet-5, the data."""
    train_set = LOADERS[name](DATA, train=True, download=False)
    test_set = LOADERS[name](DATA, train=False, download=False)
    y, y_test = train_set.labels, test_set.labels
    x, x_test = pixels(train_set.images), pixels(test_set.images)
    mean, std = STATS[name]
    flat = ((x - mean) / std).reshape(len(x), -1)
    flat_test = ((x_test - mean) / std).reshape(len(x_test), -1)
    print(f"{name}: {len(x)} training, {len(x_test)} test images", flush=True)
    rows, models = {}, {}

    def timed(method, train, test):
        t0 = time.perf_counter()
        model = train()
        t1 = time.perf_counter()
        accuracy = float((test(model) == y_test).mean())
        rows[method] = (accuracy, t1 - t0, time.perf_counter() - t1)
        models[method] = model
        print(f"  {method:<22} {accuracy:.2%}  train {t1 - t0:.1f} s", flush=True)

    def svm(features, lr):
        model = classic.LinearSVM(features.shape[1], 10, reg=1e-3)
        model.fit(features, y, epochs=5, lr=lr)
        return model

    def perceptron():
        model = Perceptron(flat.shape[1], 10)
        model.fit_perceptron(flat, y, epochs=5, seed=0)
        return model

    def network(model):
        fit(model, x, y, NET_EPOCHS, NET_BATCH)
        return model

    ag.manual_seed(0)
    timed("kNN (k=3), pixels", lambda: classic.NearestNeighbor(k=3).fit(flat, y),
          lambda m: m.predict(flat_test))  # fmt: skip
    timed("linear SVM, pixels", lambda: svm(flat, 0.01), lambda m: m.predict(flat_test))
    timed("HOG + linear SVM", lambda: svm(classic.hog_features(train_set.images, cell=4), 0.1),
          lambda m: m.predict(classic.hog_features(test_set.images, cell=4)))  # fmt: skip
    timed("perceptron", perceptron, lambda m: m.predict(flat_test))
    timed("MLP 784-256-256-10",
          lambda: network(nn.Sequential(Standardize(mean, std), MLP([784, 256, 256, 10]))),
          lambda m: predict(m, x_test))  # fmt: skip
    timed("LeNet-5", lambda: network(nn.Sequential(Standardize(mean, std), LeNet5())),
          lambda m: predict(m, x_test))  # fmt: skip
    return rows, models["LeNet-5"], (x, y, x_test, y_test)


def attacks(model: nn.Module, x_test: np.ndarray, y_test: np.ndarray) -> list[tuple]:
    """Table 2: (eps, FGSM accuracy on the whole test set, PGD-10 accuracy on its first 1,000)."""
    rows = []
    for eps in (0.0, 0.05, 0.1, 0.2, 0.3):
        adv = interpret.fgsm(model, x_test, y_test, eps).numpy()
        assert np.abs(adv.astype(np.float64) - x_test).max() <= eps
        assert adv.min() >= 0 and adv.max() <= 1
        fgsm_accuracy = float((predict(model, adv) == y_test).mean())
        adv = interpret.pgd(model, x_test[:1000], y_test[:1000], eps, alpha=eps / 4, steps=10,
                            seed=0).numpy()  # fmt: skip
        assert np.abs(adv.astype(np.float64) - x_test[:1000]).max() <= eps
        pgd_accuracy = float((predict(model, adv) == y_test[:1000]).mean())
        rows.append((eps, fgsm_accuracy, pgd_accuracy))
        print(f"  eps {eps}: FGSM {fgsm_accuracy:.2%}, PGD-10 {pgd_accuracy:.2%}", flush=True)
    return rows


def transfer(data: tuple) -> tuple[float, dict]:
    """Table 3: source accuracy on 0-4, and {labels: {variant: accuracy on 5-9}}."""
    x, y, x_test, y_test = data
    mean, std = STATS["mnist"]
    low, low_test = y < 5, y_test < 5
    ag.manual_seed(0)
    source = nn.Sequential(Standardize(mean, std), LeNet5(num_classes=5))
    fit(source, x[low], y[low], NET_EPOCHS, NET_BATCH)
    source_accuracy = float((predict(source, x_test[low_test]) == y_test[low_test]).mean())
    state = {k: v.copy() for k, v in source.state_dict().items()}
    convolutions = {k: v for k, v in state.items() if k.startswith("1.features.")}
    print(f"  source LeNet-5 on 0-4: {source_accuracy:.2%}", flush=True)

    def fresh() -> nn.Module:
        ag.manual_seed(1)
        return nn.Sequential(Standardize(mean, std), LeNet5(num_classes=5))

    def frozen_features() -> nn.Module:
        model = fresh()
        load_backbone(model, convolutions)
        freeze(model[1].features)
        return model

    def frozen_to_last() -> nn.Module:
        model = fresh()
        load_backbone(model, state)
        freeze(model)
        replace_classifier(model, 5)
        return model

    def fine_tuned() -> nn.Module:
        model = fresh()
        load_backbone(model, state)
        replace_classifier(model, 5)
        return model

    variants = {"(a) frozen conv features, new classifier": frozen_features,
                "(a') frozen up to a new last layer": frozen_to_last,
                "(b) fine-tuned": fine_tuned, "(c) from scratch": fresh}  # fmt: skip
    results = {}
    for labels in (100, 1000):
        rng = np.random.default_rng(labels)
        chosen = np.concatenate([rng.choice(np.flatnonzero(y == d), labels // 5, replace=False)
                                 for d in range(5, 10)])  # fmt: skip
        results[labels] = {}
        for variant, make in variants.items():
            model = make()
            frozen = {n: p.data.copy() for n, p in model.named_parameters() if not p.requires_grad}
            fit(model, x[chosen], y[chosen] - 5, epochs=10, batch_size=32)
            assert all(np.array_equal(p.data, frozen[n]) for n, p in model.named_parameters()
                       if n in frozen)  # fmt: skip
            accuracy = float((predict(model, x_test[~low_test]) == y_test[~low_test] - 5).mean())
            results[labels][variant] = accuracy
            print(f"  {labels} labels, {variant}: {accuracy:.2%}", flush=True)
    return source_accuracy, results


def main(names: list[str]) -> None:
    print(describe(environment("ours")))
    print(f"data: {DATA}; load average at start: {os.getloadavg()}")
    started = time.perf_counter()
    tables = {}
    for name in names or ["mnist"]:
        tables[name], lenet, found = compare(name)
        if name == "mnist":
            data = found
            attack_rows = attacks(lenet, data[2], data[3])
            source_accuracy, transfer_rows = transfer(data)

    methods = list(next(iter(tables.values())))
    columns = " | ".join(f"{n} test accuracy | train s | predict s" for n in tables)
    print(f"\n| method | {columns} |")
    print("|---|" + "---|---|---|" * len(tables))
    for method in methods:
        cells = " | ".join(f"{t[method][0]:.2%} | {t[method][1]:.1f} | {t[method][2]:.1f}"
                           for t in tables.values())  # fmt: skip
        print(f"| {method} | {cells} |")
    if "mnist" in tables:
        print(f"\n| eps (pixels in [0, 1]) | FGSM, all {len(data[3]):,} test images | "
              "PGD-10, first 1,000 |")  # fmt: skip
        print("|---|---|---|")
        for eps, fgsm_accuracy, pgd_accuracy in attack_rows:
            print(f"| {eps} | {fgsm_accuracy:.2%} | {pgd_accuracy:.2%} |")
        print(f"\nsource LeNet-5 (digits 0-4, {NET_EPOCHS} epochs): {source_accuracy:.2%} on 0-4")
        print("\n| 5-9 from LeNet-5 features of 0-4, 10 epochs | 100 labels | 1,000 labels |")
        print("|---|---|---|")
        for variant in transfer_rows[100]:
            print(f"| {variant} | {transfer_rows[100][variant]:.2%} | "
                  f"{transfer_rows[1000][variant]:.2%} |")  # fmt: skip
    print(f"\ntotal {time.perf_counter() - started:.0f} s; load average now {os.getloadavg()}")


if __name__ == "__main__":
    main(sys.argv[1:])
