"""Arrays a graph saved for backward stay as they were, or backward refuses (issue 19 item 1).

Two rules (autograd/tape.py, "saved arrays stay as saved"): an array a recorded node made
is read-only, so NumPy refuses an edit at the line that tries it; an array from outside
the graph (a parameter, an input, a constant) stays writable, and backward() refuses,
naming the node, once an array a node saved has changed. What must keep working is
tested beside what must be refused.
"""

import numpy as np
import pytest

import autograd as ag
import nodes
from autograd import nn
from autograd.optim import SGD, Adam

CHANGED = r"changed in place afterwards"


def square_sum():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    return x, (x * x).sum()


# ------------------------------------------------------------ the edits are refused

EDITS = {
    "x.data *= 100": lambda x: x.data.__imul__(100),
    "x.data[...] = 7": lambda x: x.data.__setitem__(Ellipsis, 7),
    "x.numpy()[0] = 0": lambda x: x.numpy().__setitem__(0, 0),
    "x.detach().data[:] = 3": lambda x: x.detach().data.__setitem__(slice(None), 3),
}


@pytest.mark.parametrize("edit", EDITS, ids=list(EDITS))
def test_an_edit_of_a_saved_leaf_makes_backward_refuse(edit):
    x, y = square_sum()
    EDITS[edit](x)
    with pytest.raises(RuntimeError, match=CHANGED) as error:
        y.backward()
    message = str(error.value)
    assert f"multiply #{y.node._inputs[0].node._seq}" in message  # the node and its number
    assert "input 0 (shape (2,))" in message and ".clone()" in message
    assert x.grad is None  # refused before any step: no gradient half accumulated


def test_an_edit_of_a_parameter_names_it_and_a_restored_value_is_accepted_again():
    w = nn.Parameter(np.array([1.0, 2.0], np.float32), name="fc.weight")
    x = ag.tensor([3.0, 4.0])
    y = (w * x).sum()
    w.data[...] = 10
    with pytest.raises(RuntimeError, match=r"input 0 \('fc.weight', shape \(2,\)\)"):
        y.backward()
    w.data[...] = [1.0, 2.0]  # the check compares contents, and nothing was released
    y.backward()
    assert np.array_equal(w.grad, [3.0, 4.0])


def test_the_message_gives_the_creating_line_in_anomaly_mode():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    with ag.detect_anomaly():
        y = (x * x).sum()  # the line the error quotes
    x.data += 1
    with pytest.raises(RuntimeError, match=r"created at .*test_inplace.py:\d+: y = \(x \* x\)"):
        y.backward()


def test_the_step_through_refuses_too():
    x, y = square_sum()
    x.data *= 2
    stepper = ag.Stepper(y)
    with pytest.raises(RuntimeError, match=CHANGED):
        stepper.step()


def test_a_changed_shape_is_refused():
    x, y = square_sum()
    x.data.shape = (2, 1)
    with pytest.raises(RuntimeError, match="changed shape afterwards"):
        y.backward()


def test_an_optimizer_step_between_forward_and_backward_is_refused():
    for make in (lambda ps: SGD(ps, lr=0.1), lambda ps: Adam(ps, lr=0.1)):
        w = nn.Parameter(np.array([1.0, 2.0], np.float32))
        y = (w * w).sum()
        w.grad = np.ones(2, np.float32)
        make([w]).step()
        with pytest.raises(RuntimeError, match=CHANGED):
            y.backward()


def test_load_state_dict_between_forward_and_backward_is_refused():
    model = nn.Linear(3, 2, rng=0)
    loss = model(ag.tensor(np.ones((4, 3), np.float32))).sum()
    model.load_state_dict({name: np.zeros(p.shape) for name, p in model.named_parameters()})
    with pytest.raises(RuntimeError, match=CHANGED):
        loss.backward()


def test_retain_graph_then_an_edit_refuses_the_second_backward():
    x, y = square_sum()
    y.backward(retain_graph=True)
    y.backward(retain_graph=True)  # unchanged: fine, and the gradients add up
    assert np.array_equal(x.grad, [4.0, 8.0])
    x.data[0] = 5
    with pytest.raises(RuntimeError, match=CHANGED):
        y.backward()


def test_an_array_passed_as_a_constant_is_checked_too():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    scale = np.array([3.0, 4.0], np.float32)
    y = (x * scale).sum()
    scale[0] = 0
    with pytest.raises(RuntimeError, match=r"input 1 \(shape \(2,\)\)"):
        y.backward()


def test_an_edit_through_a_view_of_the_saved_memory_is_refused():
    # The graph saved w.T (a view of w's array) and a reshape of x: an edit of w or x
    # changes what the nodes saved.
    w = ag.tensor(np.arange(6, dtype=np.float32).reshape(2, 3), requires_grad=True)
    x = ag.tensor(np.ones((1, 3), np.float32), requires_grad=True)
    y = (x.reshape(3, 1).T @ w.T).sum()
    w.data[0, 0] = 9
    with pytest.raises(RuntimeError, match=r"transpose #\d+ .*input 0 \(shape \(2, 3\)\)"):
        y.backward()
    w.data[0, 0] = 0
    x.data[0, 1] = 2
    with pytest.raises(RuntimeError, match=r"reshape #\d+ .*input 0 \(shape \(1, 3\)\)"):
        y.backward()


def test_a_non_contiguous_view_from_outside_is_checked():
    base = ag.tensor(np.arange(6, dtype=np.float32).reshape(2, 3))
    w_t = base.T  # a constant view, not contiguous
    assert not w_t.data.flags.c_contiguous
    x = ag.tensor(np.ones((1, 3), np.float32), requires_grad=True)
    y = (x @ w_t).sum()
    base.data[1, 2] = 0
    with pytest.raises(RuntimeError, match=CHANGED):
        y.backward()


def test_an_index_array_edited_after_the_forward_does_not_move_the_gradient():
    for make in (np.array, list, ag.tensor):
        x = ag.tensor([1.0, 2.0, 3.0], requires_grad=True)
        index = make([0, 0, 2])
        y = x[index].sum()
        (index.data if isinstance(index, ag.Tensor) else index)[0] = 1  # the node kept a copy
        y.backward()
        assert np.array_equal(x.grad, [2.0, 0.0, 1.0])
    x = ag.tensor(np.ones((2, 3), np.float32), requires_grad=True)
    rows, mask = np.array([1, 1]), np.array([True, False, True])
    y = x[rows, :][:, mask].sum()
    rows[1], mask[1] = 0, True
    y.backward()
    assert np.array_equal(x.grad, [[0, 0, 0], [2, 0, 2]])


# ------------------------------------------------------------ arrays a graph made are read-only

def test_an_intermediate_result_is_read_only_and_a_clone_of_it_is_not():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2.0
    y = (h * h).sum()
    with pytest.raises(ValueError, match="read-only"):
        h.data[...] = 0
    with pytest.raises(ValueError, match="read-only"):
        h.detach().data[0] = 0  # the same array
    editable = h.detach().clone()
    editable.data[0] = 0
    y.backward()
    assert np.array_equal(x.grad, [8.0, 16.0])  # from the values h had
    e = x.exp()  # a node that keeps its own output
    with pytest.raises(ValueError, match="read-only"):
        e.data *= 2


def test_nothing_is_frozen_or_recorded_under_no_grad_or_without_gradients():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    with ag.no_grad():
        h = x * x
    h.data[0] = 5  # an evaluation result: writable
    c = ag.tensor([1.0, 2.0]) * 3.0  # nothing requires a gradient
    c.data[0] = 5
    assert h._holds is None and c._holds is None


# ------------------------------------------------------------ what must keep working

def test_training_steps_update_parameters_in_place_after_backward():
    rng = np.random.default_rng(0)
    images = ag.tensor(rng.standard_normal((16, 4)).astype(np.float32))
    labels = ag.tensor(rng.integers(0, 3, 16))
    for make in (lambda ps: SGD(ps, lr=0.5, momentum=0.9), lambda ps: Adam(ps, lr=0.05)):
        model = nn.Sequential(nn.Linear(4, 8, rng=1), nn.ReLU(), nn.Linear(8, 3, rng=2))
        arrays = [p.data for p in model.parameters()]
        optimizer = make(model.parameters())
        losses = []
        for _ in range(20):
            optimizer.zero_grad()
            assert all(p.grad is None for p in model.parameters())
            loss = ag.functional.cross_entropy(model(images), labels)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        assert losses[-1] < losses[0] / 2
        assert all(p.data is a for p, a in zip(model.parameters(), arrays))  # in place


def test_a_graph_never_backpropagated_does_not_stop_updates():
    # An evaluation forward without no_grad, kept in a variable or dropped, then steps
    # and hand-written updates: all allowed; only a backward through the stale graph fails.
    w = nn.Parameter(np.array([1.0, 2.0], np.float32))
    optimizer = SGD([w], lr=0.1)
    kept = (w * w).sum()  # evaluation, never backpropagated
    (w * w).sum()  # dropped at once
    loss = (w * 3.0).sum()
    loss.backward()
    optimizer.step()
    assert np.allclose(w.data, [0.7, 1.7])
    w.data -= 0.1 * w.grad  # by hand, as the course's first notebook does
    with ag.no_grad():
        w.data[...] = [2.0, 3.0]
    fresh = (w * w).sum()  # the forward again after the edits
    fresh.backward()
    assert np.array_equal(w.grad, np.array([3.0, 3.0]) + [4.0, 6.0])
    with pytest.raises(RuntimeError, match=CHANGED):
        kept.backward()


def test_two_graphs_sharing_a_parameter():
    w = nn.Parameter(np.array([1.0, 2.0], np.float32))
    first, second = (w * w).sum(), (w * 3.0).sum()
    first.backward()
    second.backward()  # nothing changed in between
    assert np.array_equal(w.grad, [5.0, 7.0])
    first, second = (w * w).sum(), (w * 3.0).sum()
    first.backward()
    SGD([w], lr=0.1).step()
    with pytest.raises(RuntimeError, match=CHANGED):
        second.backward()  # PyTorch refuses here too (its version counter moved)


def test_clone_gives_the_graph_its_own_copy():
    w = ag.tensor([1.0, 2.0], requires_grad=True)
    x = ag.tensor([3.0, 4.0], requires_grad=True)
    y = (w.clone() * x).sum()
    w.data[...] = 10  # the graph holds the clone, not w
    y.backward()
    assert np.array_equal(x.grad, [1.0, 2.0])  # the values the clone took
    assert np.array_equal(w.grad, [3.0, 4.0])  # the gradient flows back through the clone


def test_clone_copies_exactly_and_is_writable_outside_a_graph():
    values = np.array([-0.0, 0.0, np.nan, -np.inf, 1e-45], np.float32)
    for data in (values, values.astype(np.float64), np.array([-3, 0, 7]), np.array([True, False])):
        copy = ag.tensor(data).clone()
        assert copy.dtype == data.dtype and copy.data is not data
        assert np.array_equal(copy.data, data, equal_nan=data.dtype.kind == "f")
        assert np.array_equal(np.signbit(copy.data), np.signbit(data))
        copy.data[0] = 1  # not in a graph: a plain copy
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    with ag.no_grad():
        c = x.clone()
    c.data[0] = 9
    assert x.data[0] == 1.0 and c.node is None


def test_arrays_numpy_will_not_flag():
    # A broadcast view is read-only and cannot be made writable: it is neither recorded
    # nor touched, and backward works.
    row = np.array([1.0, 2.0], np.float32)
    wide = ag.Tensor._wrap(np.broadcast_to(row, (3, 2)), False)
    x = ag.tensor(np.ones((3, 2), np.float32), requires_grad=True)
    y = (x * wide).sum()
    assert y._holds is not None and all(s.array is not wide.data for s in y._holds)
    y.backward()
    assert np.array_equal(x.grad, np.broadcast_to(row, (3, 2)))
    assert not wide.data.flags.writeable


class Identity(nodes.Node):
    """z = x, handed back as the same array (a user's node may do this)."""
    name = "identity"
    saved = ()

    def forwardPass(self, x):
        return x

    def backwardPass(self, dz):
        return (dz,)


class KeepsInput(nodes.Node):
    """z = 2 x, keeping x without declaring ``saved`` (every array attribute counts)."""
    name = "keeps"

    def forwardPass(self, x):
        self.x = x
        return 2 * x

    def backwardPass(self, dz):
        return (2 * dz,)


def test_user_nodes_that_hand_back_or_keep_an_input():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    same = ag.apply(Identity(), x)
    y = (same * same).sum()
    assert x.data.flags.writeable  # the leaf is not frozen by its own node's output
    x.data[0] = 5
    with pytest.raises(RuntimeError, match=r"identity #\d+ .*input 0"):
        y.backward()
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    y = ag.apply(KeepsInput(), x).sum()
    x.data[1] = 0
    with pytest.raises(RuntimeError, match=r"keeps #\d+ .*input 0"):
        y.backward()


class AddsOneInPlace(nodes.Node):
    """z = x + 1, written into x (a mistake: x may be saved by another node)."""
    name = "add_one"
    saved = ()

    def forwardPass(self, x):
        x += 1
        return x

    def backwardPass(self, dz):
        return (dz,)


def test_a_node_that_writes_into_a_read_only_input_is_told_so():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ValueError, match=r"add_one: forwardPass wrote into one of its inputs "
                                         r"\(of shapes \(2,\)\), and that array is read-only"):
        ag.apply(AddsOneInPlace(), x * 2.0)


def test_constants_from_numbers_add_no_records_however_many():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    y = x
    for _ in range(200):
        y = (y / 2.0) * 1.5 + 0.1 - 0.05 + 2.0 ** (y * 0.001)  # tends to about 4.2
    assert [s.array for s in y._holds] == [x.data]  # only x: each constant is private
    y.sum().backward()
    assert np.all(np.isfinite(x.grad))


@pytest.mark.parametrize("kernels", ["fast", "reference"])
def test_only_arrays_a_node_keeps_are_checked(kernels):
    """A conv keeps its columns (or a padded copy), not x; a 2x2 max-pool keeps its masks:
    editing such an input after the forward changes nothing backward reads, so backward
    gives the graph's gradient and no checksum of x was paid. The filters are kept, so
    editing them is still refused."""
    from autograd import functional as F
    rng = np.random.default_rng(0)
    with ag.kernels(kernels):
        x = ag.Tensor(rng.standard_normal((2, 3, 6, 6)), requires_grad=True)
        w = ag.Tensor(rng.standard_normal((4, 3, 3, 3)), requires_grad=True)
        out = F.max_pool2d(F.conv2d(x, w, padding=1), 2)
        assert all(saved.array is not x.data for saved in out._holds)
        expected = _gradients_of(lambda: F.max_pool2d(F.conv2d(x, w, padding=1), 2), x, w)
        x.data[...] = 7.0  # not read again by the graph already built
        out.sum().backward()
        for got, want in zip((x.grad, w.grad), expected):
            np.testing.assert_allclose(got, want)
        pooled = F.max_pool2d(x, 2)
        assert all(saved.array is not x.data for saved in pooled._holds or ())  # not x
        again = F.conv2d(x, w, padding=1).sum()
        w.data[0, 0, 0, 0] += 1.0
        with pytest.raises(RuntimeError, match="changed in place"):
            again.backward()


@pytest.mark.parametrize("kernel_size, padding", [(1, 0), (3, 0), (5, 2)])
def test_a_conv_reading_x_itself_keeps_its_own_copy_of_a_writable_x(kernel_size, padding):
    """The fast kernels that read x itself (1x1, no padding, "same" with many channels)
    keep a copy of a writable x (cheaper than checksumming it twice): editing x after the
    forward pass gives the gradient of the forward that ran, and x is not checksummed."""
    from autograd import functional as F
    rng = np.random.default_rng(1)
    x = ag.Tensor(rng.standard_normal((2, 8, 6, 6)), requires_grad=True)
    w = ag.Tensor(rng.standard_normal((4, 8, kernel_size, kernel_size)), requires_grad=True)
    out = F.conv2d(x, w, padding=padding)
    assert all(saved.array is not x.data for saved in out._holds)
    expected = _gradients_of(lambda: F.conv2d(x, w, padding=padding), x, w)
    x.data[...] = 7.0
    out.sum().backward()
    for got, want in zip((x.grad, w.grad), expected):
        np.testing.assert_allclose(got, want)


def _gradients_of(build, *leaves):
    copies = [ag.Tensor(leaf.data.copy(), requires_grad=True) for leaf in leaves]
    originals = [leaf.data for leaf in leaves]
    try:
        for leaf, copy in zip(leaves, copies):
            leaf.data = copy.data
        build().sum().backward()
        return [leaf.grad.copy() for leaf in leaves]
    finally:
        for leaf, original in zip(leaves, originals):
            leaf.data = original
            leaf.grad = None


class KeepsAView(nodes.Node):
    """Keeps whatever view of its input it is told to (``pick``), and a kernel-like object
    holding another, one level down."""
    name = "keeps_view"
    saved = ("kept", "helper")

    def __init__(self, pick):
        self.pick = pick

    def forwardPass(self, x):
        self.kept = self.pick(x)
        self.helper = type("Helper", (), {})()
        self.helper.other = np.zeros(3)
        return 2 * x

    def backwardPass(self, dz):
        return (2 * dz,)


@pytest.mark.parametrize("pick, kept", [
    (lambda x: x, True), (lambda x: x[1:], True), (lambda x: x[::2][1:], True),
    (lambda x: x.reshape(2, 3).T, True), (lambda x: x.copy(), False),
    (lambda x: np.zeros(6), False)])
@pytest.mark.parametrize("outside", ["owned", "view", "buffer"])
def test_an_outside_array_is_checked_when_a_node_keeps_it_or_any_view_of_it(pick, kept, outside):
    """Whether the node keeps the array (found by identity, by the array its memory
    belongs to, or by NumPy's overlap test for memory no array owns): edited in place,
    backward refuses exactly when a kept view of it changed."""
    data = np.arange(6.0)
    if outside == "view":
        data = np.arange(12.0)[::2]
    elif outside == "buffer":
        data = np.frombuffer(bytearray(np.arange(6.0).tobytes()), dtype=np.float64)
    x = ag.Tensor(data, requires_grad=True)
    y = ag.apply(KeepsAView(pick), x).sum()
    assert (y._holds is not None) == kept
    x.data[...] = -1.0
    if kept:
        with pytest.raises(RuntimeError, match="changed in place"):
            y.backward()
    else:
        y.backward()
        np.testing.assert_array_equal(x.grad, np.full(6, 2.0))
