"""The tape and backprop: order, reuse, accumulation, release, no_grad, anomalies, errors."""

import sys

import numpy as np
import pytest

import autograd as ag
import nodes


# ---------------------------------------------------------------- Tensor basics

def test_python_floats_default_to_float32_and_float64_arrays_stay_float64():
    assert ag.tensor([1.0, 2.0]).dtype == np.float32
    assert ag.tensor(np.zeros(3)).dtype == np.float64
    assert ag.tensor([1, 2]).dtype == np.int64
    x = ag.tensor(np.ones(3, dtype=np.float64), requires_grad=True)
    assert (x * 2.5).dtype == np.float64
    assert (ag.tensor([1.0]) * 2.5).dtype == np.float32  # Python numbers don't upcast
    assert (ag.tensor([1.0]) * 2).dtype == np.float32


def test_tensor_copies_numpy_input_so_the_users_array_is_never_changed():
    array = np.ones(3)
    x = ag.Tensor(array, requires_grad=True)
    x.data -= 1
    assert array.tolist() == [1.0, 1.0, 1.0]


def test_attributes():
    x = ag.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    y = (x * 2).sum()
    assert x.node is None and x.is_leaf and x.grad is None
    assert isinstance(y.node, nodes.SumNode) and not y.is_leaf
    assert x.shape == (2, 2) and x.ndim == 2 and x.size == 4
    assert y.item() == 20.0 and isinstance(y.item(), float)
    assert x.numpy() is x.data
    d = x.detach()
    assert d.node is None and not d.requires_grad and d.data is x.data
    assert "requires_grad=True" in repr(x) and "node=sum" in repr(y)


def test_integer_data_cannot_require_grad():
    with pytest.raises(TypeError, match="floating-point.*int64"):
        ag.tensor([1, 2, 3], requires_grad=True)
    x = ag.tensor([1, 2, 3])
    with pytest.raises(TypeError, match="floating-point"):
        x.requires_grad = True


@pytest.mark.parametrize("op, expected", [
    (lambda x: x + 2, [3.0, 4.0]), (lambda x: 2 + x, [3.0, 4.0]),
    (lambda x: x - 2, [-1.0, 0.0]), (lambda x: 2 - x, [1.0, 0.0]),
    (lambda x: x * 3, [3.0, 6.0]), (lambda x: 3 * x, [3.0, 6.0]),
    (lambda x: x / 4, [0.25, 0.5]), (lambda x: 4 / x, [4.0, 2.0]),
    (lambda x: x ** 2, [1.0, 4.0]), (lambda x: 2 ** x, [2.0, 4.0]),
    (lambda x: -x, [-1.0, -2.0]),
    (lambda x: np.array([1.0, 1.0]) + x, [2.0, 3.0]),
    (lambda x: np.array([2.0, 2.0]) * x, [2.0, 4.0]),
    (lambda x: np.array([[1.0, 0.0], [0.0, 1.0]]) @ x, [1.0, 2.0]),
    (lambda x: x @ np.array([[1.0, 1.0], [0.0, 1.0]]), [1.0, 3.0]),
    (lambda x: ag.maximum(x, 1.5), [1.5, 2.0]), (lambda x: ag.maximum(1.5, x), [1.5, 2.0]),
    (lambda x: ag.maximum(np.array([0.0, 3.0]), x), [1.0, 3.0]),
])
def test_operators_with_numbers_and_arrays_on_either_side(op, expected):
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    y = op(x)
    assert isinstance(y, ag.Tensor)
    np.testing.assert_allclose(y.data, expected)
    assert ag.gradcheck(op, x)


def test_methods_gradcheck():
    rng = np.random.default_rng(0)
    x = ag.Tensor(rng.uniform(0.5, 2.0, size=(3, 4)), requires_grad=True)
    for fn in (lambda t: t.sum(axis=1), lambda t: t.mean(), lambda t: t.mean(axis=0, keepdims=True),
               lambda t: t.max(axis=0), lambda t: t.reshape(2, 6), lambda t: t.T, lambda t: t.exp(),
               lambda t: t.log(), lambda t: t.tanh(), lambda t: t.sigmoid(), lambda t: (t - 1).relu(),
               lambda t: t[1], lambda t: t[:, ::2], lambda t: t[ag.tensor([0, 2])], lambda t: t ** t,
               lambda t: t.transpose(1, 0), lambda t: t.flatten()):
        assert ag.gradcheck(fn, x)


def test_comparisons_are_elementwise_and_outside_the_graph():
    x = ag.tensor([1.0, 2.0, 3.0], requires_grad=True)
    mask = x > 1.5
    assert mask.dtype == np.bool_ and mask.data.tolist() == [False, True, True]
    assert not mask.requires_grad
    assert (x == ag.tensor([1.0, 0.0, 3.0])).data.tolist() == [True, False, True]
    assert len({x, x}) == 1  # hashable by identity


# ---------------------------------------------------------------- the tape

def test_sequence_numbers_follow_creation_order_and_backward_runs_them_in_reverse():
    a = ag.tensor(2.0, requires_grad=True)
    b = a * 3
    c = b + a
    d = c * c
    assert a.node is None and b.node._seq < c.node._seq < d.node._seq
    seen = [step.node for step in ag.backprop(d)]
    assert seen == [d.node, c.node, b.node]


def test_reuse_adds_gradients():
    a = ag.tensor(3.0, requires_grad=True)
    (a * a).backward()
    assert a.grad == 6.0
    node = (a * a).node
    assert node._inputs[0] is a and node._inputs[1] is a  # argument order kept, both inputs a


def test_diamond():
    x = ag.tensor(2.0, requires_grad=True)
    a = x * 3
    b = x.exp()
    y = a * b  # d/dx (3x e^x) = 3 e^x + 3x e^x
    y.backward()
    np.testing.assert_allclose(x.grad, 3 * np.exp(2.0) * 3, rtol=1e-6)


def test_leaf_grads_accumulate_across_backward_calls_until_reset():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    (x * 3).sum().backward()
    assert x.grad.tolist() == [6.0, 6.0]
    x.grad = None
    (x * 3).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]


def test_intermediate_grads_are_kept_only_when_asked():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    kept = x * 3
    kept.retain_grad()
    (h * kept).sum().backward()
    with pytest.warns(UserWarning, match=r"not a leaf .* Call .retain_grad\(\)"):
        assert h.grad is None  # as in PyTorch: None, with a warning naming retain_grad()
    np.testing.assert_allclose(kept.grad, h.data)


def test_leaf_grad_has_the_leaf_shape_and_dtype_after_broadcasting():
    x = ag.tensor([[1.0], [2.0]], requires_grad=True)  # (2, 1) float32
    y = ag.tensor(np.ones((3,)), requires_grad=True)  # (3,) float64
    (x * y).sum().backward()
    assert x.grad.shape == (2, 1) and x.grad.dtype == np.float32
    assert x.grad.tolist() == [[3.0], [3.0]]
    assert y.grad.shape == (3,) and y.grad.tolist() == [3.0, 3.0, 3.0]


def test_saved_arrays_are_released_and_a_second_backward_is_a_clear_error():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    assert not hasattr(y.node._inputs[0].node, "x")  # multiply's saved inputs are gone
    with pytest.raises(RuntimeError, match="second time.*retain_graph=True"):
        y.backward()


def test_retain_graph_allows_a_second_backward():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    assert x.grad.tolist() == [4.0, 8.0]


def test_no_grad_records_nothing_as_context_manager_and_decorator():
    x = ag.tensor([1.0], requires_grad=True)
    with ag.no_grad():
        y = x * 2
    assert y.node is None and not y.requires_grad
    assert ag.is_grad_enabled()

    @ag.no_grad()
    def double(t):
        return t * 2

    assert double(x).node is None
    assert (x * 2).node is not None


def test_constants_do_not_get_gradients():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    c = ag.tensor([5.0, 6.0])
    (x * c).sum().backward()
    assert c.grad is None and x.grad.tolist() == [5.0, 6.0]


def test_backward_with_explicit_gradient():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    y.backward(np.array([1.0, 10.0]))
    assert x.grad.tolist() == [3.0, 30.0]


def test_backward_on_a_leaf():
    x = ag.tensor(2.0, requires_grad=True)
    x.backward()
    assert x.grad == 1.0


def test_million_node_chain_backpropagates_without_recursion():
    a = ag.tensor(1.0, requires_grad=True)
    w = ag.tensor(1.0, requires_grad=True)
    z = a
    for _ in range(500_000):  # two nodes per iteration
        z = z * w
        z = z + 0.0
    limit = sys.getrecursionlimit()
    z.backward()
    assert sys.getrecursionlimit() == limit
    assert a.grad == 1.0 and w.grad == 500_000.0
    del z  # freeing a million-node chain must not overflow the C stack either


# ---------------------------------------------------------------- user primitives

class SineNode(nodes.Node):
    """z = sin(x)"""
    name = "sine"
    rules = ("dx = cos(x) * dz",)
    saved = ("x",)

    def forwardPass(self, x):
        self.x = x
        return np.sin(x)

    def backwardPass(self, dz):
        return (np.cos(self.x) * dz,)


def test_a_users_primitive_is_recorded_and_gradchecked():
    x = ag.Tensor(np.linspace(-2, 2, 7), requires_grad=True)
    y = ag.apply(SineNode(), x)
    assert y.node.name == "sine" and y.node._inputs == (x,)
    assert ag.gradcheck(lambda t: ag.apply(SineNode(), t * 2) * t, x)


class WrongSineNode(SineNode):
    """z = sin(x), with a deliberately wrong derivative"""

    def backwardPass(self, dz):
        return (np.sin(self.x) * dz,)


def test_gradcheck_catches_a_wrong_backward_pass():
    x = ag.Tensor(np.array([0.5, 1.0]), requires_grad=True)
    with pytest.raises(ag.GradcheckError, match=r"input 0 .*element \(0,\).*central differences"):
        ag.gradcheck(lambda t: ag.apply(WrongSineNode(), t), x)
    assert ag.gradcheck(lambda t: ag.apply(WrongSineNode(), t), x, raise_exception=False) is False


def test_user_primitive_without_saved_declaration_is_released():
    class Cube(nodes.Node):
        """z = x ** 3"""
        name = "cube"

        def forwardPass(self, x):
            self.x = x
            return x ** 3

        def backwardPass(self, dz):
            return (3 * self.x ** 2 * dz,)

    x = ag.tensor([2.0], requires_grad=True)
    y = ag.apply(Cube(), x)
    y.backward(np.ones(1))
    assert x.grad.tolist() == [12.0] and not hasattr(y.node, "x")


# ---------------------------------------------------------------- bad input

def test_shapes_that_do_not_broadcast_name_the_node_and_both_shapes():
    with pytest.raises(ValueError, match=r"add.*\(3, 4\) and \(5,\)"):
        ag.tensor(np.ones((3, 4))) + ag.tensor(np.ones(5))
    with pytest.raises(ValueError, match=r"multiply.*\(3, 4\) and \(5,\)"):
        ag.tensor(np.ones((3, 4))) * np.ones(5)
    with pytest.raises(ValueError, match=r"matmul.*\(3, 4\) and \(5,\)"):
        ag.tensor(np.ones((3, 4))) @ np.ones(5)


def test_backward_on_non_scalar_without_grad_names_the_shape():
    y = ag.tensor(np.ones((3, 4)), requires_grad=True) * 2
    with pytest.raises(RuntimeError, match=r"shape \(3, 4\)"):
        y.backward()
    with pytest.raises(ValueError, match=r"\(2,\).*\(3, 4\)"):
        y.backward(np.ones(2))


def test_backward_on_a_tensor_without_grad():
    with pytest.raises(RuntimeError, match="does not require grad"):
        (ag.tensor([1.0]) * 2).sum().backward()


class TwoGradsForOneInput(nodes.Node):
    """z = x"""
    name = "broken_count"

    def forwardPass(self, x):
        return x.copy()

    def backwardPass(self, dz):
        return dz, dz


class WrongShapeGrad(nodes.Node):
    """z = x"""
    name = "broken_shape"

    def forwardPass(self, x):
        return x.copy()

    def backwardPass(self, dz):
        return (np.ones((7,)),)


class BareArrayGrad(nodes.Node):
    """z = x"""
    name = "broken_type"

    def forwardPass(self, x):
        return x.copy()

    def backwardPass(self, dz):
        return dz


@pytest.mark.parametrize("cls, error, pattern", [
    (TwoGradsForOneInput, ValueError, r"broken_count #\d+.*2 gradients for 1 inputs of shapes \(3,\)"),
    (WrongShapeGrad, ValueError, r"broken_shape #\d+.*shape \(7,\) for input 0, whose shape is \(3,\)"),
    (BareArrayGrad, TypeError, r"broken_type #\d+.*must return a tuple.*\(grad,\)"),
])
def test_wrong_backward_results_name_the_node_and_shapes(cls, error, pattern):
    x = ag.tensor([1.0, 2.0, 3.0], requires_grad=True)
    with pytest.raises(error, match=pattern):
        ag.apply(cls(), x).sum().backward()


# ---------------------------------------------------------------- anomaly mode

@pytest.mark.filterwarnings("ignore:invalid value encountered")
def test_detect_anomaly_names_the_node_and_the_users_line_for_a_forward_nan():
    x = ag.tensor([-1.0, 1.0], requires_grad=True)
    with ag.detect_anomaly():
        with pytest.raises(ag.AnomalyError, match=r"log #\d+ \(created at .*test_engine.py:\d+: y = x.log\(\)\)"):
            y = x.log()
    y = x.log()  # outside the mode: NumPy's nan, no error
    assert np.isnan(y.data[0])


@pytest.mark.filterwarnings("ignore:divide by zero")
def test_detect_anomaly_catches_a_nan_gradient():
    x = ag.tensor([0.0, 1.0], requires_grad=True)
    with ag.detect_anomaly():
        y = (x ** 0.5).sum()  # finite forward, infinite derivative at 0
        with pytest.raises(ag.AnomalyError, match=r"power #\d+.*gradient for its input 0"):
            y.backward()


def test_enable_grad_records_again_inside_no_grad():
    x = ag.tensor([1.0], requires_grad=True)
    with ag.no_grad():
        with ag.enable_grad():
            assert ag.is_grad_enabled()
            y = x * 2
        z = x * 2
        assert not ag.is_grad_enabled()
    assert y.node is not None and z.node is None


@pytest.mark.parametrize("grad_shape, shape", [
    ((4, 3, 5, 6), (3, 1, 1)),      # a conv bias: axes (0, 2, 3)
    ((4, 3, 5, 6), (1, 3, 1, 1)),
    ((4, 3, 5, 6), (5, 1)),         # leading axes 0, 1 and then 3
    ((4, 3, 5, 6), (1, 1, 1, 6)),   # the first three axes only
    ((4, 3, 5, 6), (4, 1, 5, 1)),   # no leading axis summed
    ((4, 3, 5, 6), ()),             # everything
    ((2, 1, 7), (7,)),
])
def test_broadcast_gradients_are_summed_back_exactly(grad_shape, shape):
    from autograd.tape import unbroadcast
    from helpers import sum_to_shape
    grad = np.random.default_rng(0).standard_normal(grad_shape)
    got = unbroadcast(grad, shape, nodes.AdditionNode(), 0)
    assert got.shape == shape
    np.testing.assert_allclose(got, sum_to_shape(grad, shape).reshape(shape), rtol=1e-12, atol=1e-12)


def test_nodes_know_before_forward_which_gradients_will_be_wanted():
    x = ag.Tensor(np.array([-1.0, 0.0, 2.0]), requires_grad=True)
    relu = x.relu()
    assert relu.node.needs_input_grad == (False, True)
    assert not hasattr(relu.node, "x_wins")  # the constant 0 keeps no mask
    np.testing.assert_array_equal(relu.node.y_wins, [False, False, True])
    with ag.no_grad():
        node = nodes.MaxNode()
        out = ag.apply(node, x, x * 2)
    assert out.node is None and node.needs_input_grad == (False, False)
    assert not hasattr(node, "x_wins") and not hasattr(node, "y_wins")  # nothing saved


def test_a_nan_wins_max_and_takes_the_gradient():
    # as in max-pool, and as PyTorch's relu passes a NaN input's gradient; NaN in both: x
    x = ag.Tensor(np.array([np.nan, 1.0, 3.0, np.nan]), requires_grad=True)
    y = ag.Tensor(np.array([1.0, np.nan, 3.0, np.nan]), requires_grad=True)
    ag.maximum(x, y).backward(np.ones(4))
    np.testing.assert_array_equal(x.grad, [1.0, 0.0, 1.0, 1.0])  # the tie goes to x
    np.testing.assert_array_equal(y.grad, [0.0, 1.0, 0.0, 0.0])
