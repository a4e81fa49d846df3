"""Numbers at the edges (issue 26): a node applied twice, powers and quotients at 0 and
at the limits of a float, gradients routed by selection, empty tensors. Each expected
value is PyTorch's, computed here when it is installed."""

import os

import numpy as np
import pytest

import autograd as ag
import nodes
from autograd import functional as F

torch = pytest.importorskip("torch")


def grads_of(make, *values, dtype=np.float64):
    """tapegrad's value and gradients of make(*tensors).sum()."""
    xs = [ag.tensor(np.array(v, dtype=dtype), requires_grad=True) for v in values]
    out = make(*xs)
    out.sum().backward()
    return out.data, [x.grad for x in xs]


def torch_grads_of(make, *values, dtype=torch.float64):
    xs = [torch.tensor(v, dtype=dtype, requires_grad=True) for v in values]
    out = make(*xs)
    out.sum().backward()
    return out.detach().numpy(), [x.grad.numpy() for x in xs]


def assert_same(ours, theirs, rtol=1e-12):
    ours_value, ours_grads = ours
    their_value, their_grads = theirs
    np.testing.assert_allclose(ours_value, their_value, rtol=rtol, equal_nan=True)
    assert ours_value.dtype == their_value.dtype
    for mine, yours in zip(ours_grads, their_grads):
        np.testing.assert_allclose(mine, yours, rtol=rtol, equal_nan=True)


# ---------------------------------------------------------------- one node, one application

def test_a_node_applied_twice_leaves_the_first_graph_as_it_was():
    a, b, c, d = (ag.tensor([float(v)], requires_grad=True) for v in (2, 3, 5, 7))
    node = nodes.MultiplicationNode()
    first = ag.apply(node, a, b)
    second = ag.apply(node, c, d)
    first.sum().backward()
    assert a.grad.tolist() == [3.0] and b.grad.tolist() == [2.0]
    assert c.grad is None and d.grad is None
    second.sum().backward()
    assert c.grad.tolist() == [7.0] and d.grad.tolist() == [5.0]
    # the instance held describes its first application; the second is a copy of its class
    assert first.node is node and second.node is not node
    assert type(second.node) is nodes.MultiplicationNode


def test_a_node_reused_keeps_its_fixed_parameters_and_works_in_a_loop():
    node = nodes.PowerNode(3)
    x = ag.tensor([2.0], requires_grad=True)
    for _ in range(3):
        y = ag.apply(node, x)
        y.sum().backward()
    assert x.grad.tolist() == [36.0]  # 3 * 2**2, three times


def test_a_node_reused_under_no_grad_does_not_change_the_recorded_graph():
    a, b = ag.tensor([2.0], requires_grad=True), ag.tensor([3.0], requires_grad=True)
    node = nodes.MultiplicationNode()
    y = ag.apply(node, a, b)
    with ag.no_grad():
        ag.apply(node, ag.tensor([10.0]), ag.tensor([20.0]))
    y.sum().backward()
    assert a.grad.tolist() == [3.0] and b.grad.tolist() == [2.0]


def test_apply_of_a_class_still_names_the_mistake():
    with pytest.raises(TypeError, match="got the class MultiplicationNode itself"):
        ag.apply(nodes.MultiplicationNode, ag.tensor([1.0]), ag.tensor([2.0]))


# ---------------------------------------------------------------- the lines, one each

def test_unsigned_subtraction_does_not_wrap_before_promotion():
    out = ag.tensor([10.0]) - np.array([1], np.uint8)
    expected = torch.tensor([10.0]) - torch.from_numpy(np.array([1], np.uint8))
    assert out.data.tolist() == expected.tolist() == [9.0] and out.dtype == np.float32
    out = np.array([10.0], np.float32) - ag.tensor(np.array([1], np.uint8))
    assert out.data.tolist() == [9.0]
    # uint8 minus uint8 stays uint8 and wraps, in PyTorch too
    same = ag.tensor(np.array([1], np.uint8)) - ag.tensor(np.array([3], np.uint8))
    theirs = torch.tensor([1], dtype=torch.uint8) - torch.tensor([3], dtype=torch.uint8)
    assert same.data.tolist() == theirs.tolist() and same.dtype == np.uint8


@pytest.mark.parametrize("op", ["exp", "sigmoid", "tanh", "log"])
def test_floating_ops_on_integers_compute_in_float32(op):
    values = np.array([3, 12], np.uint8)
    ours = getattr(ag.tensor(values), op)()
    theirs = getattr(torch.from_numpy(values), op)()
    assert ours.dtype == np.float32 and theirs.dtype == torch.float32
    np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-6)


def test_a_negative_base_to_a_tensor_exponent_has_its_real_value_and_gradient():
    assert_same(grads_of(lambda x, y: x ** y, [-3.0], 2.0),
                torch_grads_of(lambda x, y: x ** y, [-3.0], 2.0))
    ours = grads_of(lambda x, y: x ** y, [-3.0], 2.0)
    assert ours[0].tolist() == [9.0] and ours[1][0].tolist() == [-6.0]


def test_a_number_base_to_a_tensor_power():
    x = ag.tensor([2.0, 3.0], requires_grad=True)
    out = (-2.0) ** x
    out.sum().backward()
    t = torch.tensor([2.0, 3.0], requires_grad=True)
    theirs = (-2.0) ** t
    theirs.sum().backward()
    assert out.data.tolist() == theirs.tolist() == [4.0, -8.0]
    np.testing.assert_array_equal(x.grad, t.grad.numpy())  # NaN: log(-2) is not real


def test_x_to_the_zero_has_gradient_zero_at_zero():
    for exponent in (0, 0.0):
        x = ag.tensor([0.0, 2.0], requires_grad=True)
        (x ** exponent).sum().backward()
        assert x.grad.tolist() == [0.0, 0.0]
    assert_same(grads_of(lambda x, y: x ** y, [0.0, 2.0], [0.0, 0.0]),
                torch_grads_of(lambda x, y: x ** y, [0.0, 2.0], [0.0, 0.0]))
    assert grads_of(lambda x, y: x ** y, [0.0], [0.0])[0].tolist() == [1.0]  # 0 ** 0 is 1


def test_float32_powers_equal_numpy_float32_power():
    out = 2.0 ** ag.tensor([100.0])
    theirs = 2.0 ** torch.tensor([100.0])
    assert out.dtype == np.float32
    assert out.data.tolist() == theirs.tolist() == [np.power(np.float32(2), np.float32(100)).item()]


def test_division_gradients_do_not_overflow_where_the_result_does_not():
    tiny = np.float32(1e-20)
    assert_same(grads_of(lambda x, y: x / y, [tiny], [tiny], dtype=np.float32),
                torch_grads_of(lambda x, y: x / y, [tiny], [tiny], dtype=torch.float32), rtol=1e-6)
    x = ag.tensor([tiny], requires_grad=True)
    y = ag.tensor([tiny], requires_grad=True)
    (x / y).sum().backward()
    np.testing.assert_allclose(y.grad, [-1e20], rtol=1e-6)
    quotient = ag.tensor([1e-10], dtype=np.float64) / ag.tensor([1e-310], dtype=np.float64)
    assert quotient.data.tolist() == [1e-10 / 1e-310] == (
        torch.tensor([1e-10], dtype=torch.float64) / torch.tensor([1e-310], dtype=torch.float64)
    ).tolist()


def test_division_is_one_node_that_says_why():
    out = ag.tensor([1.0], requires_grad=True) / ag.tensor([2.0], requires_grad=True)
    assert type(out.node).__name__ == "DivisionNode"
    assert "stability" in type(out.node).__doc__


def test_relu_then_square_root_sends_exactly_zero_to_the_unselected():
    assert_same(grads_of(lambda x: x.relu() ** 0.5, [-1.0, 0.0, 4.0]),
                torch_grads_of(lambda x: x.relu() ** 0.5, [-1.0, 0.0, 4.0]))
    assert_same(grads_of(lambda x: ag.maximum(x, 0.0) ** 0.5, [-1.0, 4.0]),
                torch_grads_of(lambda x: torch.maximum(x, torch.tensor(0.0, dtype=torch.float64))
                               ** 0.5, [-1.0, 4.0]))


def test_max_pool_sends_exactly_zero_to_the_unselected_when_inf_arrives():
    x = ag.tensor(np.array([[[[-1.0, 0.0, 4.0, 9.0]]]]), requires_grad=True)
    (F.max_pool2d(x, (1, 2)) ** -1.0 * 0.0).sum().backward()  # inf * 0 is NaN, arriving at 0
    t = torch.tensor([[[[-1.0, 0.0, 4.0, 9.0]]]], dtype=torch.float64, requires_grad=True)
    (torch.nn.functional.max_pool2d(t, (1, 2)) ** -1.0 * 0.0).sum().backward()
    np.testing.assert_array_equal(x.grad, t.grad.numpy())


def test_the_mean_of_integers_is_float32():
    out = ag.tensor([1, 2, 3]).mean()
    assert out.dtype == np.float32 and out.item() == 2.0
    assert out.item() == torch.tensor([1, 2, 3]).float().mean().item()


def test_a_large_relu_on_the_threaded_kernel_also_routes_by_selection():
    values = np.concatenate([np.linspace(-1.0, 1.0, 200_000), [0.0]])
    x = ag.tensor(values, requires_grad=True)
    (x.relu() ** 0.5).sum().backward()
    t = torch.tensor(values, requires_grad=True)
    (t.relu() ** 0.5).sum().backward()
    assert not np.isnan(x.grad).any()
    np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=1e-12)


def test_max_over_an_axis_sends_exactly_zero_to_the_unselected():
    x = ag.tensor([[0.0, 2.0], [3.0, 0.0]], requires_grad=True)
    ((x.max(axis=1) - 2.0) ** 0.5).sum().backward()  # inf arrives at the row whose max is 2
    t = torch.tensor([[0.0, 2.0], [3.0, 0.0]], requires_grad=True)
    ((t.max(dim=1).values - 2.0) ** 0.5).sum().backward()
    np.testing.assert_array_equal(x.grad, t.grad.numpy())
    assert x.grad[0, 0] == 0.0


def test_a_large_max_pool_with_inf_arriving_sends_zero_to_the_unselected():
    rng = np.random.default_rng(0)
    values = rng.normal(size=(4, 3, 32, 32))
    upstream = np.where(rng.random((4, 3, 16, 16)) < 0.1, np.inf, 1.0)
    x = ag.tensor(values, requires_grad=True)
    t = torch.tensor(values, requires_grad=True)
    F.max_pool2d(x, 2).backward(upstream)
    torch.nn.functional.max_pool2d(t, 2).backward(torch.tensor(upstream))
    np.testing.assert_array_equal(x.grad, t.grad.numpy())
    assert not np.isnan(x.grad).any()


@pytest.mark.parametrize("values", [[1.0, np.nan, 3.0, 2.0], [1.0, np.nan, 3.0, np.nan],
                                    [np.nan, np.nan, 1.0, 2.0]])
def test_nan_in_a_max_pool_window_wins_and_its_first_nan_takes_the_gradient(values):
    # tapegrad's rule, the same for max over an axis: the first NaN. (PyTorch's max-pool
    # gives a window's last NaN, its max over an axis the first: only one NaN is compared.)
    x = ag.tensor(np.array([[[values]]]), requires_grad=True)
    out = F.max_pool2d(x, (1, 4))
    out.sum().backward()
    t = torch.tensor([[[values]]], dtype=torch.float64, requires_grad=True)
    their_out = torch.nn.functional.max_pool2d(t, (1, 4))
    their_out.sum().backward()
    assert np.isnan(out.data).all() and torch.isnan(their_out).all()
    first = int(np.argmax(np.isnan(values)))
    assert x.grad[0, 0, 0].tolist() == [1.0 if i == first else 0.0 for i in range(4)]
    if np.isnan(values).sum() == 1:
        np.testing.assert_array_equal(x.grad, t.grad.numpy())


def test_nan_in_a_max_over_an_axis_wins_and_its_first_nan_takes_the_gradient():
    values = [[1.0, np.nan, 3.0, np.nan]]
    x = ag.tensor(np.array(values), requires_grad=True)
    out = x.max(axis=1)
    out.sum().backward()
    t = torch.tensor(values, dtype=torch.float64, requires_grad=True)
    t.max(dim=1).values.sum().backward()
    assert np.isnan(out.data).all()
    assert x.grad.tolist() == [[0.0, 1.0, 0.0, 0.0]] == t.grad.tolist()


# ---------------------------------------------------------------- empty tensors, as PyTorch has them

def _same_as_torch(ours, theirs):
    assert ours.shape == tuple(theirs.shape)
    np.testing.assert_array_equal(ours.data, theirs.detach().numpy())  # NaN equal to NaN


def test_flatten_of_an_empty_batch():
    empty = np.zeros((0, 3, 2, 2), np.float32)
    _same_as_torch(F.flatten(ag.tensor(empty)), torch.nn.Flatten()(torch.from_numpy(empty)))
    _same_as_torch(ag.nn.Flatten()(ag.tensor(empty)), torch.nn.Flatten()(torch.from_numpy(empty)))
    _same_as_torch(ag.tensor(empty).flatten(0), torch.from_numpy(empty).flatten(0))


@pytest.mark.parametrize("axis", [0, 1, None])
def test_mean_with_an_empty_axis(axis):
    empty = np.zeros((0, 3), np.float32)
    x = ag.tensor(empty, requires_grad=True)
    t = torch.from_numpy(empty).requires_grad_()
    ours = x.mean(axis)
    theirs = t.mean() if axis is None else t.mean(axis)
    _same_as_torch(ours, theirs)  # NaN over the empty axis, shape (0,) over the other
    ours.sum().backward()
    theirs.sum().backward()
    assert x.grad.shape == tuple(t.grad.shape) == (0, 3)


@pytest.mark.parametrize("shape", [(0, 3), (2, 0)])
@pytest.mark.parametrize("axis", [0, 1])
def test_softmax_and_log_softmax_on_empty_axes(shape, axis):
    empty = np.zeros(shape, np.float32)
    x = ag.tensor(empty, requires_grad=True)
    _same_as_torch(F.softmax(x, axis), torch.softmax(torch.from_numpy(empty), axis))
    ours = F.log_softmax(x, axis)
    _same_as_torch(ours, torch.log_softmax(torch.from_numpy(empty), axis))
    ours.sum().backward()
    assert x.grad.shape == shape


@pytest.mark.parametrize("classes", [3, 0])
def test_cross_entropy_of_an_empty_batch_is_nan(classes):
    logits = np.zeros((0, classes), np.float32)
    x = ag.tensor(logits, requires_grad=True)
    ours = F.cross_entropy(x, np.zeros(0, np.int64))
    theirs = torch.nn.functional.cross_entropy(torch.from_numpy(logits), torch.zeros(0, dtype=torch.long))
    _same_as_torch(ours, theirs)
    ours.backward()
    assert x.grad.shape == (0, classes)


# ---------------------------------------------------------------- keep it so: random graphs at the edges

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

EDGES = [0.0, -0.0, np.inf, -np.inf, np.nan, 1e-310, 1e300, -1e300, 1e-20, 1.5, -2.0, 0.5, 3.0]
FLOAT_DTYPES = ["float16", "float32", "float64"]
INT_DTYPES = ["bool", "uint8", "int8", "int32", "int64"]
BINARY_OPS = {"+": lambda x, y: x + y, "-": lambda x, y: x - y, "*": lambda x, y: x * y,
              "/": lambda x, y: x / y, "**": lambda x, y: x ** y}


class _TorchDivide(torch.autograd.Function):
    """PyTorch's x / y with the issue's gradient for y, -dz * ((x / y) / y): PyTorch's own,
    -dz * x / (y * y), is NaN where y * y underflows (y = 1e-310, or 1e-38 in float32)
    although the derivative is a number (0 for x = 0). The x gradient is PyTorch's."""

    @staticmethod
    def forward(ctx, x, y):
        if not isinstance(x, torch.Tensor):  # PyTorch divides a number by 1 / y (0 * inf)
            dtype = torch.result_type(x, y)
            x = torch.tensor(x, dtype=dtype if dtype.is_floating_point else torch.float32)
        ctx.x, ctx.y = x, y
        ctx.z = x / y
        return ctx.z

    @staticmethod
    def backward(ctx, dz):
        x, y, z = ctx.x, ctx.y, ctx.z
        dx = dy = None
        if isinstance(x, torch.Tensor) and ctx.needs_input_grad[0]:
            dx = (dz / y).sum_to_size(x.shape).to(x.dtype)
        if isinstance(y, torch.Tensor) and ctx.needs_input_grad[1]:
            dy = (-(dz * z) / y).sum_to_size(y.shape).to(y.dtype)
        return dx, dy


THEIR_BINARY_OPS = dict(BINARY_OPS, **{"/": _TorchDivide.apply})
UNARY_OPS = {"exp": (lambda x: x.exp(), torch.exp), "log": (lambda x: x.log(), torch.log),
             "sigmoid": (lambda x: x.sigmoid(), torch.sigmoid),
             "tanh": (lambda x: x.tanh(), torch.tanh), "relu": (lambda x: x.relu(), torch.relu),
             "neg": (lambda x: -x, torch.neg), "sqrt": (lambda x: x ** 0.5, lambda x: x ** 0.5),
             "square": (lambda x: x ** 2, lambda x: x ** 2), "one": (lambda x: x ** 0, lambda x: x ** 0)}


def _representable(number):
    """``number``, or 1.5 when float16 cannot hold it. A Python number or a 0-d tensor does
    not widen a tensor with axes, so the op computes with it cast to a narrower float;
    PyTorch's backward formulas (and its float16 arithmetic) read it uncast, tapegrad's
    read what the op used, so numbers the narrow float cannot hold are left to arrays with
    axes, which set the dtype."""
    if number == 0 or not np.isfinite(number) or 1e-4 < abs(number) < 6e4:
        return number
    return 1.5


@st.composite
def operands(draw, grad_dtype):
    """A leaf: a float tensor that requires a gradient, a constant array of any dtype from
    the list (with axes or 0-d), or a Python number; values from the edges or ordinary.

    The leaves that require a gradient share one dtype: where a 0-d float64 leaf enters a
    float32 op, PyTorch's backward formulas read its uncast value (1e-310, not the 0 the
    op computed with), and tapegrad's read the value the op used."""
    kind = draw(st.sampled_from(["grad", "grad", "array", "python"]))
    value = st.one_of(st.sampled_from(EDGES), st.floats(-5, 5, width=32))
    if kind == "python":
        return ("python", _representable(draw(st.one_of(value, st.integers(-3, 5)))))
    shape = draw(st.sampled_from([(), (3,)]))
    # (a 0-d float16 constant in a float32 op: PyTorch's backward computes y - 1 in float16)
    dtype = grad_dtype if kind == "grad" else draw(st.sampled_from(
        (FLOAT_DTYPES if shape else FLOAT_DTYPES[1:]) + INT_DTYPES))
    size = int(np.prod(shape))
    if dtype in INT_DTYPES:
        low = 0 if dtype in ("bool", "uint8") else -3
        values = draw(st.lists(st.integers(low, 1 if dtype == "bool" else 5),
                               min_size=size, max_size=size))
    else:
        values = draw(st.lists(value, min_size=size, max_size=size))
        if not shape:  # see _representable
            values = [_representable(v) for v in values]
    with np.errstate(over="ignore"):
        return (kind, np.array(values, dtype=np.float64).astype(dtype).reshape(shape))


@st.composite
def graphs(draw):
    leaves = draw(st.lists(operands(draw(st.sampled_from(["float32", "float64"]))),
                           min_size=1, max_size=3))
    steps = []
    for _ in range(draw(st.integers(1, 3))):
        count = len(leaves) + len(steps)
        if draw(st.booleans()):
            steps.append(("unary", draw(st.sampled_from(sorted(UNARY_OPS))),
                          draw(st.integers(0, count - 1))))
        else:
            steps.append(("binary", draw(st.sampled_from(sorted(BINARY_OPS))),
                          draw(st.integers(0, count - 1)), draw(st.integers(0, count - 1))))
    return leaves, steps


def _build(lib, leaves, steps):
    """The graph in tapegrad (lib 'ours') or PyTorch; the leaves that take a gradient."""
    values, grad_leaves = [], []
    for kind, value in leaves:
        if kind == "python":
            values.append(value)
        elif lib == "ours":
            values.append(ag.tensor(value.copy(), requires_grad=kind == "grad"))
        else:
            values.append(torch.tensor(value.copy(), requires_grad=kind == "grad"))
        if kind == "grad":
            grad_leaves.append(values[-1])
    for step in steps:
        if step[0] == "unary":
            operand = values[step[2]]
            if not isinstance(operand, (ag.Tensor, torch.Tensor)):
                raise _Skip  # a unary op on a Python number is Python's
            ours, theirs = UNARY_OPS[step[1]]
            values.append((ours if lib == "ours" else theirs)(operand))
        else:
            x, y = values[step[2]], values[step[3]]
            if not isinstance(x, (ag.Tensor, torch.Tensor)) and not isinstance(
                    y, (ag.Tensor, torch.Tensor)):
                raise _Skip  # two Python numbers: no tensor involved
            values.append((BINARY_OPS if lib == "ours" else THEIR_BINARY_OPS)[step[1]](x, y))
    return values[-1], grad_leaves


class _Skip(Exception):
    pass


def _run_graph(lib, leaves, steps):
    with np.errstate(all="ignore"):
        try:
            out, grad_leaves = _build(lib, leaves, steps)
            if not isinstance(out, (ag.Tensor, torch.Tensor)):
                return None
            if out.requires_grad:
                out.sum().backward()
        except _Skip:
            return None
        except (RuntimeError, TypeError, ValueError, OverflowError, ZeroDivisionError) as error:
            return error  # (PyTorch's pow refuses a bool exponent's gradient, for one)
        return out, grad_leaves


def _close(ours, theirs, dtype, what, signed_zero=False):
    # float32 formulas such as tanh's 1 - z² lose relative precision near 0, so an absolute
    # tolerance too; an inf, a NaN or a sign where PyTorch has a number still fails
    rtol, atol = {"float16": (1e-2, 2e-2), "float32": (1e-4, 1e-5)}.get(
        str(dtype).replace("torch.", ""), (1e-7, 1e-12))
    ours = np.asarray(ours, dtype=np.float64)
    theirs = np.asarray(theirs, dtype=np.float64)
    if signed_zero:  # signed zeros may differ, and so may the sign of 1 / ±0
        flipped = np.isinf(ours) & (ours == -theirs)
        ours = np.where(flipped, theirs, ours)
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=atol, equal_nan=True, err_msg=what)


# about 12 s on this machine; TAPEGRAD_EDGE_EXAMPLES=20000 for a longer search (1 min)
@settings(max_examples=int(os.environ.get("TAPEGRAD_EDGE_EXAMPLES", 4000)), deadline=None,
          print_blob=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(graphs())
def test_random_graphs_at_the_edges_match_pytorch(graph):
    leaves, steps = graph
    theirs = _run_graph("torch", leaves, steps)
    if theirs is None or isinstance(theirs, Exception):
        return  # PyTorch refuses it (bool - bool, int ** -1): not a value to compare
    ours = _run_graph("ours", leaves, steps)
    assert not isinstance(ours, Exception), f"tapegrad raised {ours!r} where PyTorch did not"
    (out, our_leaves), (their_out, their_leaves) = ours, theirs
    their_dtype = str(their_out.dtype).replace("torch.", "")
    assert str(out.dtype) == their_dtype, f"dtype {out.dtype}, PyTorch's {their_dtype}"
    signed_zero = any(kind != "python" and np.any(np.signbit(value) & (value == 0))
                      or kind == "python" and value == 0 and np.signbit(value)
                      for kind, value in leaves)
    # a gradient computed in a narrower float carries its rounding, whatever its leaf's dtype
    dtypes = {"python" if kind == "python" else str(value.dtype) for kind, value in leaves}
    rounding = ("float16" if "float16" in dtypes else
                "float64" if dtypes == {"float64"} else "float32")
    _close(out.data, their_out.detach().numpy(), rounding, "value", signed_zero)
    exact = None  # PyTorch's gradients from float64 copies of float32 leaves, if needed
    for position, (mine, yours) in enumerate(zip(our_leaves, their_leaves)):
        if yours.grad is None:
            assert mine._grad is None or not np.any(mine._grad), f"gradient of leaf {position}"
            continue
        what = f"gradient of leaf {position}"
        try:
            _close(mine.grad, yours.grad.numpy(), rounding, what, signed_zero)
        except AssertionError:
            # Where terms cancel (x / x: 1/x - x/x², each about 1e9), PyTorch's float32 sum
            # keeps a rounding error that is large beside the exact 0; so a float32 graph
            # may also match PyTorch's answer in float64, within float32's tolerance.
            if rounding != "float32":
                raise
            if exact is None:
                wider = [(kind, value.astype(np.float64) if kind != "python"
                          and value.dtype == np.float32 else value) for kind, value in leaves]
                exact = _run_graph("torch", wider, steps)
            if exact is None or isinstance(exact, Exception):
                raise
            _close(mine.grad, exact[1][position].grad.numpy(), rounding, what, signed_zero)


@pytest.mark.parametrize("size", [3, 200_000])  # the math, and the threaded kernel
def test_relu_of_nan_passes_the_gradient_as_pytorch(size):
    values = np.linspace(-1.0, 1.0, size)
    values[:2] = np.nan
    x = ag.tensor(values, requires_grad=True)
    out = x.relu()
    out.sum().backward()
    t = torch.tensor(values, requires_grad=True)
    theirs = torch.relu(t)
    theirs.sum().backward()
    np.testing.assert_array_equal(out.data, theirs.detach().numpy())
    np.testing.assert_array_equal(x.grad, t.grad.numpy())


def test_an_integer_tensor_to_a_negative_number_power_is_refused_as_in_pytorch():
    with pytest.raises(RuntimeError):
        torch.tensor([2]) ** -1
    with pytest.raises(ValueError, match=r"pow: an integer tensor \(dtype int64\) to the "
                                         r"negative integer power -1 .*\(x \* 1\.0\) \*\* -1"):
        ag.tensor([2]) ** -1
    assert (ag.tensor([2]) * 1.0) ** -1 == 0.5
    # a tensor exponent is PyTorch's integer power: 1 / x ** -y, truncated
    exponent = np.array([-1, -2, -1], np.int64)
    ours = ag.tensor(np.array([1, -1, 2])) ** ag.tensor(exponent)
    theirs = torch.tensor([1, -1, 2]) ** torch.from_numpy(exponent)
    assert ours.data.tolist() == theirs.tolist() == [1, 1, 0]
