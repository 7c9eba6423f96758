"""A PyTorch-style MNIST program of ours, run with only the imports changed.

It uses every name pytorch/examples' mnist/main.py uses (device selection, Conv2d, Dropout,
torch.flatten, log_softmax(dim=), Adadelta + StepLR, DataLoader with num_workers and
pin_memory, nll_loss(reduction="sum"), argmax(dim, keepdim), eq, view_as, torch.save) and
trains on the real MNIST for a few hundred steps; the README gives the full-epoch figures.
"""

from __future__ import annotations

import argparse

import numpy as np
import pytest

import autograd_cv as torch
import autograd_cv.nn as nn
import autograd_cv.nn.functional as F
import autograd_cv.optim as optim
from autograd_cv.optim.lr_scheduler import StepLR
from autograd_cv.vision import datasets, transforms


class Net(nn.Module):
    def __init__(self, width=8):
        super().__init__()
        self.conv1 = nn.Conv2d(1, width, 3, 1)
        self.conv2 = nn.Conv2d(width, 2 * width, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(2 * width * 12 * 12, 64)
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(x))
        x = F.max_pool2d(x, 2)
        x = self.dropout1(x)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = self.dropout2(x)
        return F.log_softmax(self.fc2(x), dim=1)


def train(args, model, device, loader, optimizer, epoch, log):
    model.train()
    for batch_idx, (data, target) in enumerate(loader):
        data, target = data.to(device), target.to(device)
        optimizer.zero_grad()
        output = model(data)
        loss = F.nll_loss(output, target)
        loss.backward()
        optimizer.step()
        if batch_idx % args.log_interval == 0:
            log.append((epoch, batch_idx * len(data), len(loader.dataset), loss.item()))
        if batch_idx + 1 == args.steps:
            break


def evaluate(model, device, loader):
    model.eval()
    test_loss, correct = 0, 0
    with torch.no_grad():
        for data, target in loader:
            data, target = data.to(device), target.to(device)
            output = model(data)
            test_loss += F.nll_loss(output, target, reduction="sum").item()
            pred = output.argmax(dim=1, keepdim=True)
            correct += pred.eq(target.view_as(pred)).sum().item()
    return test_loss / len(loader.dataset), correct / len(loader.dataset)


def main(argv, root, save_to):
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--test-batch-size", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--lr", type=float, default=1.0)
    parser.add_argument("--gamma", type=float, default=0.7)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--log-interval", type=int, default=50)
    args = parser.parse_args(argv)

    use_cuda = torch.cuda.is_available()
    use_accel = torch.accelerator.is_available() or torch.backends.mps.is_available()
    torch.manual_seed(args.seed)
    if use_accel:
        device = torch.accelerator.current_accelerator()
    else:
        device = torch.device("cuda" if use_cuda else "cpu")

    train_kwargs = {"batch_size": args.batch_size, "shuffle": True}
    test_kwargs = {"batch_size": args.test_batch_size}
    extra = {"num_workers": 1, "pin_memory": True}
    train_kwargs.update(extra)
    test_kwargs.update(extra)

    transform = transforms.Compose(
        [transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))]
    )
    dataset1 = datasets.MNIST(root, train=True, download=False, transform=transform)
    dataset2 = datasets.MNIST(root, train=False, transform=transform)
    held_out = torch.utils.data.Subset(dataset2, range(2000))
    train_loader = torch.utils.data.DataLoader(dataset1, **train_kwargs)
    test_loader = torch.utils.data.DataLoader(held_out, **test_kwargs)

    model = Net().to(device)
    optimizer = optim.Adadelta(model.parameters(), lr=args.lr)
    scheduler = StepLR(optimizer, step_size=1, gamma=args.gamma)
    log = []
    for epoch in range(1, args.epochs + 1):
        train(args, model, device, train_loader, optimizer, epoch, log)
        result = evaluate(model, device, test_loader)
        scheduler.step()
    torch.save(model.state_dict(), save_to)
    return result, log, optimizer, model


@pytest.mark.slow
def test_mnist_program_learns_in_a_few_hundred_steps(shared_data, tmp_path):
    (loss, accuracy), log, optimizer, model = main([], shared_data, tmp_path / "mnist_cnn.pt")
    assert accuracy >= 0.93, f"held-out accuracy {accuracy:.3f} after 200 steps"
    assert log[0][3] > 1.5 and loss < 0.25, (log, loss)
    assert optimizer.param_groups[0]["lr"] == 0.7  # StepLR stepped once
    restored = Net()
    restored.load_state_dict(torch.load(tmp_path / "mnist_cnn.pt"))
    for a, b in zip(restored.parameters(), model.parameters()):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
