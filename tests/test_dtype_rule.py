"""The one dtype rule (issue 26): every op's result dtype is PyTorch's, for every pair of
operand kinds, and so are the values (unsigned subtraction, integers in floating ops)."""

import warnings

import numpy as np
import pytest

import autograd as ag
from autograd.tensor import result_type

torch = pytest.importorskip("torch")

DTYPES = ["bool", "uint8", "int8", "int32", "int64", "float16", "float32", "float64"]


def _values(dtype, ndim):
    data = [True, False] if dtype == "bool" else [3, 1]
    return np.array(data if ndim else data[0], dtype=dtype)


# (name, ours, theirs): tensors with axes, 0-d tensors, Python numbers
OPERANDS = ([(f"{d}[2]", lambda d=d: ag.tensor(_values(d, 1)),
              lambda d=d: torch.from_numpy(_values(d, 1))) for d in DTYPES]
            + [(f"{d}[]", lambda d=d: ag.tensor(_values(d, 0)),
                lambda d=d: torch.from_numpy(_values(d, 0))) for d in DTYPES]
            + [("int", lambda: 2, lambda: 2), ("float", lambda: 2.5, lambda: 2.5)])

BINARY = {"+": lambda x, y: x + y, "-": lambda x, y: x - y, "*": lambda x, y: x * y,
          "/": lambda x, y: x / y, "**": lambda x, y: x ** y}


def _run(fn, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return fn(*args), None
        except (RuntimeError, TypeError, ValueError, OverflowError) as error:
            return None, error


def _same(ours, theirs):
    """Same dtype and the same values (NaN equal to NaN)."""
    their_dtype = str(theirs.dtype).replace("torch.", "")
    assert str(ours.dtype) == their_dtype
    np.testing.assert_allclose(ours.data.astype(np.float64), theirs.double().numpy(),
                               rtol=1e-3 if their_dtype == "float16" else 1e-6, equal_nan=True)


@pytest.mark.parametrize("op", list(BINARY))
def test_binary_ops_give_pytorchs_dtype_and_values_for_every_pair(op):
    fn = BINARY[op]
    checked = 0
    for left, ours_left, their_left in OPERANDS:
        for right, ours_right, their_right in OPERANDS:
            if left in ("int", "float") and right in ("int", "float"):
                continue  # two Python numbers: no tensor involved
            theirs, their_error = _run(fn, their_left(), their_right())
            if their_error is not None:
                continue  # PyTorch refuses (bool - bool, ...): tested for errors elsewhere
            ours, error = _run(fn, ours_left(), ours_right())
            assert error is None, f"{left} {op} {right}: {error}"
            try:
                _same(ours, theirs)
            except AssertionError as failure:
                raise AssertionError(f"{left} {op} {right}: {failure}") from None
            checked += 1
    assert checked > 250


def test_result_type_is_torch_result_type_for_every_pair():
    for left, ours_left, their_left in OPERANDS:
        for right, ours_right, their_right in OPERANDS:
            if left in ("int", "float") and right in ("int", "float"):
                continue
            theirs = torch.result_type(their_left(), their_right())
            ours = result_type(ours_left(), ours_right())
            assert str(ours) == str(theirs).replace("torch.", ""), f"{left}, {right}"


UNARY = {"exp": (lambda x: x.exp(), torch.exp), "log": (lambda x: x.log(), torch.log),
         "sigmoid": (lambda x: x.sigmoid(), torch.sigmoid),
         "tanh": (lambda x: x.tanh(), torch.tanh), "neg": (lambda x: -x, torch.neg),
         "relu": (lambda x: x.relu(), torch.relu), "sin": (lambda x: x.sin(), torch.sin),
         "cos": (lambda x: x.cos(), torch.cos), "abs": (lambda x: x.abs(), torch.abs),
         "min with 1.5": (lambda x: ag.minimum(x, 1.5),
                          lambda x: torch.clamp(x, max=1.5))}


@pytest.mark.parametrize("op", list(UNARY))
def test_unary_ops_give_pytorchs_dtype_and_values(op):
    ours_fn, their_fn = UNARY[op]
    for name, ours_arg, their_arg in OPERANDS[:-2]:
        theirs, their_error = _run(their_fn, their_arg())
        if their_error is not None:
            continue  # e.g. -bool, relu(bool)
        ours, error = _run(ours_fn, ours_arg())
        assert error is None, f"{op}({name}): {error}"
        _same(ours, theirs)


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_mean_and_softmax_keep_a_float_dtype(dtype):
    values = np.array([[1.0, 2.0, 4.0]], dtype=dtype)
    _same(ag.tensor(values).mean(), torch.from_numpy(values).mean())
    _same(ag.functional.softmax(ag.tensor(values)), torch.softmax(torch.from_numpy(values), -1))


def test_integer_mean_and_softmax_compute_in_float32():
    # PyTorch refuses integers here; tapegrad computes them in the default float, as
    # for every floating op, never in float64 or float16
    values = np.array([[1, 2, 4]], dtype=np.int64)
    assert ag.tensor(values).mean().dtype == np.float32
    assert ag.functional.softmax(ag.tensor(values)).dtype == np.float32
    assert ag.tensor(np.array([1, 2], np.uint8)).mean().dtype == np.float32
