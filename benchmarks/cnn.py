"""The CIFAR-shaped CNN of item 3, once per framework.

64x3x32x32 -> conv(3->16, 3x3, pad 1)-relu-maxpool2 -> conv(16->32, 3x3, pad 1)-relu-maxpool2
-> linear(2048->10). ``kind="deeper"`` is ``python -m autograd train --data cifar10 --model
deeper``'s network (``autograd.models.cifar10_cnn``): the same with dropout p=0.25 before
the linear layer. Each builder imports only its own framework, so a memory-measuring
child process of one side does not carry the other's libraries.
"""

IMAGE_SHAPE = (3, 32, 32)
CLASSES = 10


def ours_model(kind="basic"):
    from autograd import nn
    if kind == "deeper":
        from autograd import models
        return models.cifar10_cnn("deeper")
    return nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(2048, CLASSES))


def torch_model(torch, kind="basic"):
    tnn = torch.nn
    dropout = [tnn.Dropout(0.25)] if kind == "deeper" else []
    return tnn.Sequential(
        tnn.Conv2d(3, 16, 3, padding=1), tnn.ReLU(), tnn.MaxPool2d(2),
        tnn.Conv2d(16, 32, 3, padding=1), tnn.ReLU(), tnn.MaxPool2d(2),
        tnn.Flatten(), *dropout, tnn.Linear(2048, CLASSES))


def batch(size, seed=0):
    """Random float32 images and int64 labels: the speed of a step does not depend on the data."""
    import numpy as np
    rng = np.random.default_rng(seed)
    images = rng.standard_normal((size,) + IMAGE_SHAPE).astype(np.float32)
    labels = rng.integers(0, CLASSES, size=size).astype(np.int64)
    return images, labels


def ours_trainer(model, images, labels, lr=0.01):
    """A callable running one SGD step (zero_grad, forward, cross-entropy, backward, step)."""
    import autograd
    from autograd import nn, optim
    optimizer = optim.SGD(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    inputs = autograd.Tensor(images)

    def step():
        optimizer.zero_grad()
        loss = loss_fn(model(inputs), labels)
        loss.backward()
        optimizer.step()
        return loss.item()
    return step


def torch_trainer(torch, model, images, labels, lr=0.01):
    """The same step in PyTorch."""
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    inputs, targets = torch.from_numpy(images), torch.from_numpy(labels)

    def step():
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(inputs), targets)
        loss.backward()
        optimizer.step()
        return loss.item()
    return step
