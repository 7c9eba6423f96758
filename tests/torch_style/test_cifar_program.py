"""A PyTorch-style CIFAR-10 classifier of ours, in the manner of the "Training a Classifier"
tutorial, run with only the imports changed.

It uses every name that tutorial uses (torchvision.datasets.CIFAR10, transforms, DataLoader
with num_workers=2, iter/next, torchvision.utils.make_grid, .numpy(), MaxPool2d, view,
torch.flatten, CrossEntropyLoss, SGD with momentum, torch.max(outputs[.data], 1),
labels.size(0), squeeze, item, torch.save / torch.load(weights_only=True), torch.device,
.to(device)) on the real CIFAR-10 test split: 8,000 random images to train on, 2,000 held out.
"""

from __future__ import annotations

import numpy as np
import pytest

import autograd_cv as torch
import autograd_cv.nn as nn
import autograd_cv.nn.functional as F
import autograd_cv.optim as optim
import autograd_cv.vision as torchvision
import autograd_cv.vision.transforms as transforms

CLASSES = ("plane", "car", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = x.view(-1, 16 * 5 * 5) if x.shape[0] % 2 else torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


def unnormalized_picture(img):
    """What the tutorial's imshow draws: the grid back in [0, 1], as (H, W, C)."""
    img = img / 2 + 0.5
    return np.transpose(img.numpy(), (1, 2, 0))


@pytest.mark.slow
def test_cifar_program_beats_chance_clearly(shared_data, tmp_path):
    torch.manual_seed(0)
    device = torch.device("cuda:0" if torch.cuda.is_available() else "cpu")
    transform = transforms.Compose(
        [transforms.ToTensor(), transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))]
    )
    batch_size = 16
    dataset = torchvision.datasets.CIFAR10(
        root=shared_data, train=False, download=False, transform=transform
    )
    # The split is stored class by class, so hold out a random 2,000, not the last 2,000.
    trainset, testset = torch.utils.data.random_split(
        dataset, [8000, 2000], generator=np.random.default_rng(0)
    )
    trainloader = torch.utils.data.DataLoader(
        trainset, batch_size=batch_size, shuffle=True, num_workers=2
    )
    testloader = torch.utils.data.DataLoader(
        testset, batch_size=batch_size, shuffle=False, num_workers=2
    )

    dataiter = iter(trainloader)
    images, labels = next(dataiter)
    grid = torchvision.utils.make_grid(images)
    picture = unnormalized_picture(grid)
    assert picture.shape == (2 + 2 * 34, 2 + 8 * 34, 3)
    assert 0.0 <= picture.min() and picture.max() <= 1.0
    names = " ".join(f"{CLASSES[labels[j]]:5s}" for j in range(batch_size))
    assert len(names.split()) == batch_size

    net = Net()
    net.to(device)
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    losses = []
    for _epoch in range(2):
        running_loss = 0.0
        for i, data in enumerate(trainloader, 0):
            inputs, labels = data[0].to(device), data[1].to(device)
            optimizer.zero_grad()
            outputs = net(inputs)
            loss = criterion(outputs, labels)
            loss.backward()
            optimizer.step()
            running_loss += loss.item()
            if i % 100 == 99:
                losses.append(running_loss / 100)
                running_loss = 0.0
    assert losses[-1] < losses[0] - 0.2, losses

    path = tmp_path / "cifar_net.pth"
    torch.save(net.state_dict(), path)
    net = Net()
    net.load_state_dict(torch.load(path, weights_only=True))

    correct, total = 0, 0
    correct_pred = {name: 0 for name in CLASSES}
    total_pred = {name: 0 for name in CLASSES}
    with torch.no_grad():
        for data in testloader:
            images, labels = data
            outputs = net(images)
            _, predicted = torch.max(outputs.data, 1)
            total += labels.size(0)
            correct += (predicted == labels).sum().item()
            _, predictions = torch.max(outputs, 1)
            matches = (predictions == labels).squeeze()
            for label, prediction, match in zip(labels, predictions, matches):
                if label == prediction:
                    correct_pred[CLASSES[label]] += 1
                assert bool(match.item()) == bool(label == prediction)
                total_pred[CLASSES[label]] += 1
    accuracy = correct / total
    assert total == 2000 and sum(total_pred.values()) == 2000
    assert sum(correct_pred.values()) == correct
    assert accuracy >= 0.30, f"held-out accuracy {accuracy:.3f} (chance is 0.10)"
