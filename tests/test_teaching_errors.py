"""Errors that teach (issue 27 item 4): Linear's shape mismatch says what would fit, NumPy's
ufuncs on a tensor either run the tensor's operator or name tapegrad's op, item() names the
shape, and reading .grad of a tensor that is not a leaf warns and names retain_grad()."""

import re
import warnings

import numpy as np
import pytest

import autograd as ag
from autograd import nn


# ---------------------------------------------------------------- Linear

def linear_error(layer, shape):
    with pytest.raises(ValueError) as error:
        layer(ag.Tensor(np.zeros(shape, np.float32)))
    return str(error.value)


def test_linear_on_a_flat_input_says_the_in_features_that_would_fit():
    message = linear_error(nn.Linear(64, 10), (2, 256))
    assert message.startswith("Linear expects input (..., 64) with 64 features on the last axis, "
                              "got shape (2, 256); ")
    assert "needs in_features=256: Linear(256, 10)" in message
    assert "flatten" not in message  # it is flat already
    assert "needs in_features=5: Linear(5, 2)" in linear_error(nn.Linear(3, 2), (5,))


def test_linear_on_feature_maps_says_flatten_and_what_flattening_gives():
    message = linear_error(nn.Linear(256, 10), (2, 16, 4, 4))
    assert message.endswith("flatten the input first: Flatten() before this layer gives (2, 256), "
                            "which fits")
    message = linear_error(nn.Linear(64, 10), (2, 16, 4, 4))
    assert message.endswith("Flatten() before this layer gives (2, 256), and then it needs "
                            "in_features=256: Linear(256, 10)")
    assert "give it shape (3,) or (N, 3)" in linear_error(nn.Linear(3, 2), ())


def test_linear_in_a_network_is_named_by_its_place():
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.Flatten(), nn.Linear(100, 10))
    with pytest.raises(ValueError, match=r"^2 \(Linear\) expects input \(\.\.\., 100\) .* got shape "
                                         r"\(2, 256\); .*Linear\(256, 10\)"):
        model(ag.Tensor(np.zeros((2, 1, 8, 8), np.float32)))


# ---------------------------------------------------------------- NumPy's ufuncs on tensors

@pytest.fixture
def t():
    return ag.tensor([1.0, 2.0, 4.0], requires_grad=True)


@pytest.mark.parametrize("call, names", [
    (lambda t: np.exp(t), ["np.exp() on a tensor", "no gradient would flow", "use t.exp()",
                           "np.exp(t.data) for the values alone"]),
    (lambda t: np.log(t), ["use t.log()"]),
    (lambda t: np.tanh(t), ["use t.tanh()"]),
    (lambda t: np.sqrt(t), ["use t ** 0.5"]),
    (lambda t: np.maximum(0, t), ["use ag.maximum(a, b) or t.relu()", "np.maximum(0, t.data)"]),
    (lambda t: np.sin(t), ["use t.sin()", "np.sin(t.data)"]),
    (lambda t: np.arctan(t), ["tapegrad has no arctan op: write one as a node",
                              "np.arctan(t.data)"]),
    (lambda t: np.isfinite(t), ["np.isfinite(t.data) gives the answer"]),
    (lambda t: np.add.reduce(t), ["np.add.reduce() on a tensor", "t.sum()"]),
    (lambda t: np.add(t, 1, dtype=np.float64), ["np.add() on a tensor with dtype=", "np.add(t.data, 1)"]),
])
def test_a_numpy_function_on_a_tensor_is_a_type_error_naming_tapegrads_op(t, call, names):
    with pytest.raises(TypeError) as error:
        call(t)
    message = str(error.value)
    for name in names:
        assert name in message, message
    assert "__array_ufunc__" not in message


def test_adding_a_tensor_into_an_array_in_place_says_what_to_write(t):
    a = np.zeros(3)
    with pytest.raises(TypeError, match=re.escape("write `a = a + t`, which makes a new tensor")):
        a += t
    assert (a == 0).all()


def test_numpy_operators_with_a_tensor_on_the_right_are_recorded_as_before(t):
    a = np.array([3.0, -1.0, 0.5])
    results = {"a + t": a + t, "a - t": a - t, "a * t": a * t, "a / t": a / t,
               "a ** t": np.abs(a) ** t, "a @ t": a @ t, "np.add(a, t)": np.add(a, t),
               "np.multiply(t, a)": np.multiply(t, a), "np.negative(t)": np.negative(t)}
    x = t.data.astype(np.float64)
    expected_values = {"a + t": a + x, "a - t": a - x, "a * t": a * x, "a / t": a / x,
                       "a ** t": np.abs(a) ** x, "a @ t": a @ x, "np.add(a, t)": a + x,
                       "np.multiply(t, a)": x * a, "np.negative(t)": -x}
    expected_grads = {"a + t": np.ones(3), "a - t": -np.ones(3), "a * t": a, "a / t": -a / x ** 2,
                      "a ** t": np.abs(a) ** x * np.log(np.abs(a)), "a @ t": a,
                      "np.add(a, t)": np.ones(3), "np.multiply(t, a)": a, "np.negative(t)": -np.ones(3)}
    for name, result in results.items():
        assert isinstance(result, ag.Tensor) and result.node is not None, name
        np.testing.assert_allclose(result.data, expected_values[name], rtol=1e-6, err_msg=name)
        t.grad = None
        result.sum().backward()
        np.testing.assert_allclose(t.grad, expected_grads[name], rtol=1e-5, err_msg=name)


def test_numpy_comparisons_with_a_tensor_on_the_right_keep_their_direction(t):
    a = np.array([2.0, 2.0, 2.0])
    for compare in (np.less, np.less_equal, np.greater, np.greater_equal, np.equal, np.not_equal):
        result = compare(a, t)
        assert isinstance(result, ag.Tensor) and result.dtype == np.bool_
        assert result.data.tolist() == compare(a, t.data).tolist(), compare.__name__
    assert (a < t).data.tolist() == [False, False, True]


def test_a_numpy_scalar_times_a_tensor_keeps_the_tensors_dtype(t):
    assert (np.float32(2) * t).dtype == np.float32 and (t * np.float32(2)).dtype == np.float32
    assert (np.float64(2) - t).data.tolist() == [1.0, 0.0, -2.0]


# ---------------------------------------------------------------- item() and float()

def test_item_on_more_than_one_element_names_the_shape_and_what_to_do():
    t = ag.tensor(np.zeros((2, 3)))
    with pytest.raises(ValueError) as error:
        t.item()
    assert str(error.value) == ("item() needs a tensor of one element, but this one has 6 (shape "
                                "(2, 3)): reduce it first (t.sum(), t.mean()), pick one element "
                                "(t[0, 1]), or take the whole array as t.data")
    with pytest.raises(TypeError, match=r"^float\(\) needs a tensor of one element, but this one has "
                                        r"0 \(shape \(0,\)\)"):
        float(ag.tensor(np.zeros(0)))
    assert ag.tensor([[2.5]]).item() == 2.5 and float(ag.tensor([[2.5]])) == 2.5
    assert ag.tensor(3).item() == 3 and isinstance(ag.tensor(3).item(), int)


# ---------------------------------------------------------------- .grad of a tensor that is not a leaf

def test_reading_grad_of_a_non_leaf_warns_and_names_retain_grad():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    (h * h).sum().backward()
    with pytest.warns(UserWarning) as caught:
        assert h.grad is None
    assert len(caught) == 1
    message = str(caught[0].message)
    assert re.match(r"\.grad of a tensor that is not a leaf \(the output of multiply #\d+\) is None", message)
    assert ".retain_grad()" in message and "before backward()" in message
    assert caught[0].filename == __file__  # it points at the learner's line


def test_no_warning_where_grad_is_meant_to_be_read():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    constant = ag.tensor([3.0, 4.0])
    kept = x * 3
    kept.retain_grad()
    h = x * 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert kept.grad is None  # retained, before backward: None without a warning
        (h * kept).sum().backward()
        assert x.grad.tolist() == [12.0, 24.0]  # a leaf
        assert constant.grad is None  # a leaf that takes no gradient
        np.testing.assert_allclose(kept.grad, h.data)  # retained
        h.grad = np.ones(2)  # setting it is allowed, and then it is not None
        assert h.grad.tolist() == [1.0, 1.0]
        # tapegrad's views read every tensor's .grad: no warning from them
        ag.draw(h * kept).source
        stepper = ag.Stepper((x * 2).sum())
        stepper.run()


def test_grad_is_still_the_same_slot_for_the_tape():
    """Setting .grad and backward's accumulation go through the same storage."""
    w = ag.tensor([1.0, 2.0], requires_grad=True)
    w.grad = np.array([10.0, 10.0], dtype=np.float32)
    (w * 3).sum().backward()
    assert w.grad.tolist() == [13.0, 13.0]
    w.grad = None
    (w * 3).sum().backward()
    assert w.grad.tolist() == [3.0, 3.0]
