"""LeNet-5, AlexNet and AlexNetSmall: layouts, counts, training, torch parity, checkpoints."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import autograd_cv as ag
from autograd_cv import functional as F
from autograd_cv import models, nn, optim

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
TORCH = np.load(FIXTURES / "lenet_torch.npz")


def torch_state(prefix):
    start = f"{prefix}/"
    return {k[len(start) :]: TORCH[k] for k in TORCH.files if k.startswith(start)}


def images(n, c, size, seed=0):
    return ag.tensor(np.random.default_rng(seed).normal(size=(n, c, size, size)).astype(np.float32))


class UserLeNet(nn.Module):
    """What a user writes: LeNet-5 in a dozen lines."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = x.reshape(x.shape[0], -1)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


def test_user_written_lenet_trains_saves_and_loads(tmp_path):
    ag.manual_seed(0)
    model = UserLeNet()
    assert sum(p.size for p in model.parameters()) == 61_706
    x = images(8, 1, 28)
    y = np.arange(8) % 10
    optimizer = optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(12):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.6 * losses[0]
    assert all(later < earlier for earlier, later in zip(losses, losses[1:]))

    path = tmp_path / "lenet.npz"
    ag.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": 1}, path)
    restored = UserLeNet()
    checkpoint = ag.load(path)
    restored.load_state_dict(checkpoint["model"])
    np.testing.assert_array_equal(restored(x).data, model(x).data)
    assert checkpoint["epoch"] == 1


def test_lenet5_layout_count_and_backward():
    model = models.LeNet5()
    assert model.num_parameters() == 61_706
    assert [n for n, _ in model.named_parameters()] == [
        "features.c1.weight", "features.c1.bias", "features.c3.weight", "features.c3.bias",
        "classifier.f5.weight", "classifier.f5.bias", "classifier.f6.weight",
        "classifier.f6.bias", "classifier.f7.weight", "classifier.f7.bias",
    ]  # fmt: skip
    out = model(images(2, 1, 28))
    assert out.shape == (2, 10) and out.dtype == np.float32
    F.cross_entropy(out, np.array([3, 7])).backward()
    assert all(p.grad is not None and p.grad.shape == p.shape for p in model.parameters())
    classic = models.LeNet5(in_channels=3, num_classes=4, input_size=32, classic=True)
    assert isinstance(classic.features.s2, nn.AvgPool2d)
    assert isinstance(classic.features.act1, nn.Tanh)
    assert classic(images(2, 3, 32)).shape == (2, 4)


def test_lenet5_matches_torch_with_copied_weights():
    for name, classic, size in (("relu28", False, 28), ("classic32", True, 32)):
        model = models.LeNet5(input_size=size, classic=classic)
        missing, unexpected = model.load_state_dict(torch_state(f"{name}/state"))
        out = model(ag.tensor(TORCH[f"{name}/input"]))
        np.testing.assert_allclose(out.data, TORCH[f"{name}/output"], rtol=1e-4, atol=1e-5)
        # And the weights copy back out under the same names torch used.
        for key, value in model.state_dict().items():
            np.testing.assert_array_equal(value, TORCH[f"{name}/state/{key}"])


def test_lenet5_training_steps_match_torch():
    model = models.LeNet5()
    model.load_state_dict(torch_state("relu28/state"))
    optimizer = optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-3)
    x, target = ag.tensor(TORCH["relu28/input"]), TORCH["relu28/target"]
    losses = []
    for _ in range(3):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), target)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    np.testing.assert_allclose(losses, TORCH["relu28/losses"], rtol=1e-4)
    state = model.state_dict()
    for key in ("features.c1.weight", "features.c3.bias", "classifier.f7.weight"):
        np.testing.assert_allclose(
            state[key], TORCH[f"relu28/trained/{key}"], rtol=1e-3, atol=1e-5, err_msg=key
        )


def test_alexnet_count_forward_shape_and_torchvision_names():
    ag.manual_seed(0)
    model = models.AlexNet()
    assert model.num_parameters() == 61_100_840
    model.eval()
    with ag.no_grad():
        assert model(images(1, 3, 224)).shape == (1, 1000)
    plain = models.AlexNet(num_classes=10, lrn=False)
    # torchvision's alexnet state-dict keys, so its weights load unchanged.
    assert list(plain.state_dict()) == [
        "features.0.weight", "features.0.bias", "features.3.weight", "features.3.bias",
        "features.6.weight", "features.6.bias", "features.8.weight", "features.8.bias",
        "features.10.weight", "features.10.bias", "classifier.1.weight", "classifier.1.bias",
        "classifier.4.weight", "classifier.4.bias", "classifier.6.weight", "classifier.6.bias",
    ]  # fmt: skip
    head = models.replace_classifier(plain, 3)
    assert plain.classifier[6] is head and head.weight.shape == (3, 4096)


def test_alexnet_small_forward_backward_both_variants():
    for batch_norm in (False, True):
        ag.manual_seed(0)
        model = models.AlexNetSmall(batch_norm=batch_norm)
        expected = 5_341_514 if not batch_norm else 5_341_514 - (64 + 192 + 384 + 256 + 256)
        expected += 2 * (64 + 192 + 384 + 256 + 256) if batch_norm else 0
        assert model.num_parameters() == expected
        out = model(images(2, 3, 32))
        assert out.shape == (2, 10)
        F.cross_entropy(out, np.array([0, 9])).backward()
        assert all(p.grad is not None for p in model.parameters())
    assert any(isinstance(m, nn.BatchNorm2d) for m in model.modules())


def test_lenet_transfer_to_a_new_head():
    source = models.LeNet5()
    target = models.LeNet5(num_classes=5)
    result = models.load_backbone(target, source.state_dict())
    assert [key for key, _, _ in result.mismatched_keys] == [
        "classifier.f7.weight",
        "classifier.f7.bias",
    ]
    np.testing.assert_array_equal(target.features.c1.weight.data, source.features.c1.weight.data)
    models.freeze(target.features)
    head = models.replace_classifier(source, 2)
    assert source.classifier.f7 is head and source.num_classes == 2
    optimizer = optim.SGD([p for p in target.parameters() if p.requires_grad], lr=0.1)
    before = target.features.c1.weight.data.copy()
    F.cross_entropy(target(images(2, 1, 28)), np.array([0, 4])).backward()
    optimizer.step()
    np.testing.assert_array_equal(target.features.c1.weight.data, before)
    assert target.classifier.f7.weight.grad is not None
