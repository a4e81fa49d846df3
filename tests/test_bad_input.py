"""Input that used to give a wrong number with no error: axes that do not exist, data that is
not real numbers, and user-defined nodes that give back something other than a real array.
Each case is refused with an error naming the op or node and what was wrong (issue 19)."""

import numpy as np
import pytest

import autograd as ag
import nodes
from autograd import functional as F

AxisError = getattr(np, "exceptions", np).AxisError  # NumPy's, which the engine's subclasses


def matrix(requires_grad=False):
    return ag.tensor(np.arange(6.0).reshape(2, 3) - 2.5, requires_grad=requires_grad)


# ---------------------------------------------------------------- axes that do not exist

AXIS_OPS = {
    "sum": lambda x, axis: x.sum(axis=axis),
    "mean": lambda x, axis: x.mean(axis=axis),
    "amax": lambda x, axis: x.max(axis=axis),  # the node's name; Tensor.max makes a MaxReduceNode
    "softmax": lambda x, axis: F.softmax(x, axis=axis),
    "log_softmax": lambda x, axis: F.log_softmax(x, axis=axis),
    "flatten": lambda x, axis: x.flatten(axis),
}


@pytest.mark.parametrize("op", AXIS_OPS)
@pytest.mark.parametrize("axis", [2, 5, -3])
def test_an_axis_out_of_range_is_an_axis_error_naming_the_op_axis_and_dimensions(op, axis):
    with pytest.raises(AxisError) as caught:
        AXIS_OPS[op](matrix(), axis)
    message = str(caught.value)
    assert message.startswith(f"{op}: axis {axis} is out of range for a tensor of 2 dimensions "
                              "(shape (2, 3)); use an axis from -2 to 1"), message
    # NumPy's AxisError is both: code catching either keeps working.
    assert isinstance(caught.value, ValueError) and isinstance(caught.value, IndexError)


def test_the_functional_flatten_checks_its_start_axis_too():
    with pytest.raises(AxisError, match=r"flatten: axis 2 .* 2 dimensions"):
        F.flatten(np.zeros((2, 3)), start_axis=2)


@pytest.mark.parametrize("op", ["sum", "mean", "amax"])
@pytest.mark.parametrize("axis", [(0, 0), (0, -2), [1, -1]])
def test_an_axis_named_twice_is_refused(op, axis):
    with pytest.raises(AxisError, match=rf"{op}: axis .* names axis \d twice .*"
                                                       r"shape \(2, 3\)"):
        AXIS_OPS[op](matrix(), axis)


def test_a_0d_tensor_has_no_axes():
    with pytest.raises(AxisError, match=r"sum: axis 0 .*0 dimensions.*use axis=None"):
        ag.tensor(3.0).sum(axis=0)
    assert ag.tensor(3.0).sum().item() == 3.0


@pytest.mark.parametrize("axis", [1.0, True, "0", (0, 1.5)])
def test_an_axis_that_is_not_an_int_is_a_type_error(axis):
    with pytest.raises(TypeError, match=r"sum: axis must be None, an int or a tuple of ints"):
        matrix().sum(axis=axis)


def test_softmax_takes_one_axis():
    with pytest.raises(TypeError, match=r"softmax: axis must be an int, got \(0, 1\)"):
        F.softmax(matrix(), axis=(0, 1))


@pytest.mark.parametrize("op, reference", [
    ("sum", lambda a, axis: a.sum(axis=axis)),
    ("mean", lambda a, axis: a.mean(axis=axis)),
    ("amax", lambda a, axis: a.max(axis=axis)),
    ("log_softmax", lambda a, axis: a - np.log(np.exp(a).sum(axis=axis, keepdims=True))),
])
@pytest.mark.parametrize("axis", [-1, -2])
def test_negative_axes_in_range_count_from_the_end(op, reference, axis):
    x = matrix(requires_grad=True)
    out = AXIS_OPS[op](x, axis)
    np.testing.assert_allclose(out.data, reference(x.data, axis), rtol=1e-6)
    assert ag.gradcheck(lambda t: AXIS_OPS[op](t, axis) * np.arange(1.0, out.size + 1).reshape(out.shape),
                        ag.tensor(np.random.default_rng(0).normal(size=(2, 3)), requires_grad=True))


def test_a_tuple_of_negative_axes_and_a_list_of_axes_work():
    x = ag.tensor(np.arange(24.0).reshape(2, 3, 4))
    np.testing.assert_array_equal(x.sum(axis=(-1, 0)).data, x.data.sum(axis=(0, 2)))
    np.testing.assert_array_equal(x.mean(axis=[0, 1]).data, x.data.mean(axis=(0, 1)))
    assert x.flatten(-2).shape == (2, 12) and ag.tensor(2.0).flatten().shape == (1,)


def test_every_axis_node_refuses_a_bad_axis_when_called_directly():
    """The nodes share one helper: called outside the engine, they refuse the same axes."""
    array = np.zeros((2, 3))
    for node in (nodes.SumNode(axis=2), nodes.MaxReduceNode(axis=-3), nodes.LogSoftmaxNode(axis=2)):
        with pytest.raises(AxisError, match=rf"{node.name}: axis -?\d is out of range"):
            node.forwardPass(array)


# ---------------------------------------------------------------- data that is not real numbers

NOT_NUMBERS = {
    "object": np.array([1, None], dtype=object),
    "object of floats": np.array([1.0, 2.0], dtype=object),
    "str": np.array(["a", "b"]),
    "bytes": np.array([b"a", b"b"]),
    "datetime64": np.array(["2024-01-01", "2024-01-02"], dtype="datetime64[D]"),
    "timedelta64": np.array([1, 2], dtype="timedelta64[s]"),
    "structured": np.zeros(2, dtype=[("a", "f4"), ("b", "i4")]),
    "void": np.zeros(2, dtype="V4"),
}


@pytest.mark.parametrize("name", NOT_NUMBERS)
def test_a_tensor_of_non_numbers_is_a_type_error_naming_the_dtype(name):
    data = NOT_NUMBERS[name]
    with pytest.raises(TypeError) as caught:
        ag.Tensor(data)
    message = str(caught.value)
    assert str(data.dtype) in message, message
    assert "float, int or bool" in message and "only float tensors can require a gradient" in message


@pytest.mark.parametrize("name", NOT_NUMBERS)
def test_non_numbers_meeting_a_tensor_in_an_operation_are_refused(name):
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match=r"^add: cannot make a tensor of dtype"):
        x + NOT_NUMBERS[name]
    with pytest.raises(TypeError, match=r"^multiply: cannot make a tensor of dtype"):
        NOT_NUMBERS[name] * x


@pytest.mark.parametrize("make", [
    lambda: ag.Tensor(np.array([1 + 2j, 3j])),
    lambda: ag.Tensor(np.complex64(1j)),
    lambda: ag.Tensor(np.array([1 + 2j]), dtype=np.float32),  # the cast would drop 2j silently
    lambda: ag.tensor([1j, 2.0]),
    lambda: ag.tensor([1.0, 2.0], dtype=np.complex64),
    lambda: F.conv2d(np.ones((1, 1, 3, 3), dtype=np.complex64), np.ones((1, 1, 2, 2))),
])
def test_complex_data_is_refused_at_construction(make):
    with pytest.raises(TypeError, match=r"complex data \(dtype complex\d+\) is not supported: "
                                        r"tapegrad's gradients are real"):
        make()


def test_complex_operands_are_refused_naming_the_op():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match=r"^multiply: complex data"):
        x * np.array([1j, 2j])
    with pytest.raises(TypeError, match=r"^sub: complex data"):
        x - np.complex128(1j)
    with pytest.raises(TypeError, match=r"^multiply \(from complex data\): complex data"):
        x * 1j
    with pytest.raises(TypeError, match=r"^max: complex data"):
        ag.maximum(x, np.array([1j, 0]))


def test_a_complex_gradient_passed_to_backward_is_refused_before_it_is_cast():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3.0
    with pytest.raises(TypeError, match=r"backward\(grad=\.\.\.\): complex data"):
        y.backward(grad=1j * np.ones(2))
    with pytest.raises(TypeError, match=r"backward\(grad=\.\.\.\): cannot make a tensor of dtype object"):
        y.backward(grad=np.array([1.0, None], dtype=object))
    assert x.grad is None  # nothing reached the leaf
    y.backward(grad=np.array([1.0, 2.0]))
    assert x.grad.tolist() == [3.0, 6.0]


@pytest.mark.parametrize("dtype", [np.bool_, np.uint8, np.int32, np.int64, np.float16,
                                   np.float32, np.float64])
def test_real_dtypes_are_still_accepted(dtype):
    x = ag.Tensor(np.ones(3, dtype=dtype))
    assert x.dtype == dtype
    assert (x + x).dtype.kind in "biuf"


def test_only_float_tensors_can_require_a_gradient():
    with pytest.raises(TypeError, match="only floating-point tensors can require a gradient"):
        ag.tensor([1, 2], requires_grad=True)
    with pytest.raises(TypeError, match="only floating-point tensors can require a gradient"):
        ag.Tensor(np.array([True]), requires_grad=True)


# ---------------------------------------------------------------- user nodes, checked at the boundary

def returning(value, name="returns"):
    """A node class whose forwardPass returns ``value`` (called with the input array)."""

    class Returns(nodes.Node):
        def forwardPass(self, x):
            return value(x)

        def backwardPass(self, dz):
            return (dz,)

    Returns.name = name
    return Returns


@pytest.mark.parametrize("value, described", [
    (lambda x: None, r"None"),
    (lambda x: "hello", r"str 'hello'"),
    (lambda x: [x, x], r"a list of 2 \(ndarray\)"),
    (lambda x: (x, x * 2), r"a tuple of 2 \(ndarray\)"),
    (lambda x: np.array([1, None], dtype=object), r"an array of dtype object and shape \(2,\)"),
    (lambda x: ag.tensor(x), r"Tensor tensor\("),
    (lambda x: {"out": x}, r"dict \{'out'"),
])
def test_a_forward_pass_returning_something_other_than_an_array_is_a_type_error(value, described):
    cls = returning(value)
    with pytest.raises(TypeError, match=rf"^Returns \(returns\): forwardPass returned {described}.*"
                                        r"one NumPy array of real numbers \(float, int or bool\)"):
        ag.apply(cls(), ag.tensor([1.0, 2.0], requires_grad=True))


def test_a_forward_pass_returning_complex_numbers_is_refused():
    cls = returning(lambda x: x * 1j)
    with pytest.raises(TypeError, match=r"Returns \(returns\): forwardPass returned an array of dtype "
                                        r"complex128.*gradients are real"):
        ag.apply(cls(), ag.tensor(np.array([1.0, 2.0]), requires_grad=True))


def test_an_int_or_bool_output_of_a_user_node_takes_no_gradient():
    """Only float tensors require a gradient, as in PyTorch (an argmax is a constant)."""
    x = ag.tensor([3.0, 1.0, 2.0], requires_grad=True)
    index = ag.apply(returning(lambda a: np.argmax(a), "argmax")(), x)
    positive = ag.apply(returning(lambda a: a > 1.5, "positive")(), x)
    assert index.item() == 0 and index.dtype == np.int64
    assert positive.data.tolist() == [True, False, True]
    assert not index.requires_grad and index.is_leaf
    assert not positive.requires_grad and positive.is_leaf


class CourseMultiplicationNode(nodes.Node):
    """z = x * y, as the course writes it: plain Python floats in and out for scalars."""
    name = "course_mul"

    def forwardPass(self, x, y):
        self.x, self.y = float(x), float(y)
        return self.x * self.y

    def backwardPass(self, dz):
        return [float(dz) * self.y, float(dz) * self.x]  # a list, as in the course


def test_python_numbers_from_a_forward_and_backward_pass_keep_working():
    x, y = ag.tensor(3.0, requires_grad=True), ag.tensor(-4.0, requires_grad=True)
    z = ag.apply(CourseMultiplicationNode(), x, y)
    assert z.item() == -12.0 and z.requires_grad
    z.backward()
    assert x.grad.item() == -4.0 and y.grad.item() == 3.0
    assert x.grad.dtype == np.float32  # a leaf's gradient has the leaf's dtype


class GradFor(nodes.Node):
    """z = x * y, whose gradient for input 1 is whatever the test sets."""
    name = "grad_for"

    def __init__(self, bad):
        self.bad = bad

    def forwardPass(self, x, y):
        self.x, self.y = x, y
        return x * y

    def backwardPass(self, dz):
        return dz * self.y, self.bad(dz)


@pytest.mark.parametrize("bad, described", [
    (lambda dz: np.array([1.0, None], dtype=object), r"an array of dtype object and shape \(2,\)"),
    (lambda dz: "0.5", r"str '0.5'"),
    (lambda dz: [dz, dz], r"a list of 2 \(ndarray\)"),
    (lambda dz: [1.0, 2.0], r"a list of 2 \(float\)"),
    (lambda dz: np.array(["1", "2"]), r"an array of dtype <U1 and shape \(2,\)"),
])
def test_a_gradient_that_is_not_a_real_array_names_the_node_and_the_input(bad, described):
    x, y = (ag.tensor(v, requires_grad=True) for v in ([1.0, 2.0], [3.0, 4.0]))
    out = ag.apply(GradFor(bad), x, y).sum()
    with pytest.raises(TypeError, match=rf"^GradFor \(grad_for #\d+\): backwardPass returned, as the "
                                        rf"gradient for input 1, {described}; it must be one NumPy "
                                        r"array of real numbers"):
        out.backward()


@pytest.mark.parametrize("bad", [lambda dz: dz * 1j, lambda dz: np.complex128(1j),
                                 lambda dz: 1j])
def test_a_complex_gradient_from_a_user_node_is_refused(bad):
    x, y = (ag.tensor(v, requires_grad=True) for v in ([1.0, 2.0], [3.0, 4.0]))
    out = ag.apply(GradFor(bad), x, y).sum()
    with pytest.raises(TypeError, match=r"grad_for #\d+\): backwardPass returned, as the gradient for "
                                        r"input 1, .*complex.*gradients are real"):
        out.backward()


def test_a_none_gradient_still_means_no_gradient_for_that_input():
    x, y = (ag.tensor(v, requires_grad=True) for v in ([1.0, 2.0], [3.0, 4.0]))
    ag.apply(GradFor(lambda dz: None), x, y).sum().backward()
    assert x.grad.tolist() == [3.0, 4.0] and y.grad is None


def test_a_bad_gradient_for_an_input_that_needs_none_is_ignored():
    """Only gradients that are used are checked: a constant input takes no gradient at all."""
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    ag.apply(GradFor(lambda dz: "ignored"), x, np.array([3.0, 4.0])).sum().backward()
    assert x.grad.tolist() == [3.0, 4.0]


class DuckTypedNode:
    """Has forwardPass and backwardPass, but is not a nodes.Node."""
    name = "duck"

    def forwardPass(self, x):
        return x * 2

    def backwardPass(self, dz):
        return (dz * 2,)


@pytest.mark.parametrize("node, got", [
    (lambda x: x * 2, r"function <lambda>"),
    (np.sin, r"ufunc sin"),
    (nodes.ExpNode, r"the class ExpNode itself; pass an instance: apply\(ExpNode\(\), \.\.\.\)"),
    (DuckTypedNode(), r"DuckTypedNode"),
    (None, r"NoneType None"),
])
def test_apply_expects_a_node_instance(node, got):
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match=rf"^apply expects a nodes\.Node instance, got {got}"):
        ag.apply(node, x)
    with pytest.raises(TypeError, match=r"^apply expects a nodes\.Node instance"):
        ag.apply(node, x, x)  # the two-tensor fast path checks too
    assert "needs_input_grad" not in vars(nodes.ExpNode)  # passing the class did not change it
