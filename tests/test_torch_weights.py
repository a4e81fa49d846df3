"""PyTorch weights both ways (issue 22, part 1): a state dict trained in tapegrad loads into the
same architecture in PyTorch, and PyTorch's loads into tapegrad, giving the same logits and
the same gradients of the loss; BatchNorm's buffers and grouped, dilated convs included."""

from collections import OrderedDict

import numpy as np
import pytest

import autograd as ag
from autograd import functional as F
from autograd import nn, optim
from autograd.data import load_digits

torch = pytest.importorskip("torch")


def tapegrad_net():
    return nn.Sequential(OrderedDict([
        ("conv1", nn.Conv2d(1, 8, 3, padding=1, rng=0)), ("bn", nn.BatchNorm2d(8)),
        ("relu", nn.ReLU()),
        ("conv2", nn.Conv2d(8, 8, 3, padding=2, dilation=2, groups=4, rng=1)),
        ("pool", nn.MaxPool2d(2)), ("flatten", nn.Flatten()),
        ("fc", nn.Linear(8 * 4 * 4, 10, rng=2))]))


def torch_net():
    return torch.nn.Sequential(OrderedDict([
        ("conv1", torch.nn.Conv2d(1, 8, 3, padding=1)), ("bn", torch.nn.BatchNorm2d(8)),
        ("relu", torch.nn.ReLU()),
        ("conv2", torch.nn.Conv2d(8, 8, 3, padding=2, dilation=2, groups=4)),
        ("pool", torch.nn.MaxPool2d(2)), ("flatten", torch.nn.Flatten()),
        ("fc", torch.nn.Linear(8 * 4 * 4, 10))]))


@pytest.fixture(scope="module")
def digits():
    images, labels = load_digits()
    return images.astype(np.float32), labels.astype(np.int64)


def tapegrad_grads(model, x, y):
    model.zero_grad()
    logits = model(ag.Tensor(x))
    F.cross_entropy(logits, y).backward()
    return logits.data, {name: p.grad for name, p in model.named_parameters()}


def torch_grads(net, x, y):
    net.zero_grad()
    logits = net(torch.from_numpy(x))
    torch.nn.functional.cross_entropy(logits, torch.from_numpy(y)).backward()
    return logits.detach().numpy(), {name: p.grad.numpy() for name, p in net.named_parameters()}


def same(ours, theirs):
    (logits, grads), (logits_t, grads_t) = ours, theirs
    np.testing.assert_allclose(logits, logits_t, atol=2e-5, rtol=1e-4)
    assert grads.keys() == grads_t.keys()
    for name in grads:
        np.testing.assert_allclose(grads[name], grads_t[name], atol=2e-5, rtol=1e-4, err_msg=name)


def test_weights_trained_in_tapegrad_load_into_pytorch(digits):
    images, labels = digits
    model = tapegrad_net()
    adam = optim.Adam(model.parameters(), lr=0.01)
    for start in range(0, 40 * 32, 32):  # 40 steps: the weights and running statistics move
        x, y = images[start:start + 32], labels[start:start + 32]
        adam.zero_grad()
        F.cross_entropy(model(ag.Tensor(x)), y).backward()
        adam.step()
    state = model.state_dict()
    assert state["bn.num_batches_tracked"] == 40 and not np.allclose(state["bn.running_var"], 1)
    net = torch_net()
    net.load_state_dict(OrderedDict((k, torch.from_numpy(v)) for k, v in state.items()))
    x, y = images[-50:], labels[-50:]
    for mode in ("eval", "train"):  # running statistics, then the batch's
        getattr(model, mode)(), getattr(net, mode)()
        same(tapegrad_grads(model, x, y), torch_grads(net, x, y))
    model.eval(), net.eval()
    with ag.no_grad(), torch.no_grad():
        ours = model(ag.Tensor(images[-300:])).data.argmax(1)
        theirs = net(torch.from_numpy(images[-300:])).argmax(1).numpy()
    assert (ours == theirs).all() and (theirs == labels[-300:]).mean() > 0.6  # it learned


def test_pytorch_weights_load_into_tapegrad(digits):
    images, labels = digits
    torch.manual_seed(0)
    net = torch_net()
    sgd = torch.optim.SGD(net.parameters(), lr=0.05)
    for start in range(0, 20 * 32, 32):
        x, y = (torch.from_numpy(a[start:start + 32]) for a in (images, labels))
        sgd.zero_grad()
        torch.nn.functional.cross_entropy(net(x), y).backward()
        sgd.step()
    model = tapegrad_net()
    model.load_state_dict(net.state_dict())  # torch tensors, as they are
    assert int(model.bn.num_batches_tracked.data) == 20
    x, y = images[-50:], labels[-50:]
    for mode in ("eval", "train"):
        getattr(model, mode)(), getattr(net, mode)()
        same(tapegrad_grads(model, x, y), torch_grads(net, x, y))
    # both updated their running statistics the same way in that training-mode pass
    np.testing.assert_allclose(model.bn.running_mean.data, net.bn.running_mean.numpy(), atol=1e-6)
    np.testing.assert_allclose(model.bn.running_var.data, net.bn.running_var.numpy(), atol=1e-5)
