"""Every row of the op table (tests/op_table.py), as PyTorch tests its own ops: the forward
value and dtype, and every input's gradient, against PyTorch in float64 (atol 1e-9), and a
float64 gradcheck on each smooth sample. Then what one table cannot say: the dim=/keepdim=
aliases refused together, errors that name the op, running statistics, edge values."""

import warnings

import numpy as np
import pytest

import autograd as ag
from autograd import functional as F
from op_table import NOT_IN_THE_TABLE, OPS, rng_for

torch = pytest.importorskip("torch")


def _cases(only_smooth=False):
    cases = []
    for op in OPS:
        for i, sample in enumerate(op.samples(rng_for(op.name))):
            if only_smooth and not (sample.smooth and op.differentiable):
                continue
            cases.append(pytest.param(op, sample, id=f"{op.name}-{i}-{sample.note}"))
    return cases


def _needs_grad(op, sample, position, array):
    return (op.differentiable and np.asarray(array).dtype.kind == "f"
            and position not in sample.constant)


def _ours(op, sample):
    """The sample's inputs for tapegrad: float ones as tensors (requiring a gradient when the
    op has one), int and bool ones and ``constant`` ones as arrays."""
    return [ag.Tensor(a, requires_grad=_needs_grad(op, sample, i, a))
            if np.asarray(a).dtype.kind == "f" and i not in sample.constant else a
            for i, a in enumerate(sample.inputs)]


def _theirs(op, sample):
    return [torch.tensor(a, requires_grad=_needs_grad(op, sample, i, a))
            for i, a in enumerate(sample.inputs)]


@pytest.mark.parametrize("op, sample", _cases())
def test_matches_pytorch(op, sample):
    mine, reference_inputs = _ours(op, sample), _theirs(op, sample)
    out = op.ours(*mine, **sample.kwargs)
    theirs = op.theirs if sample.smooth or op.theirs_at_ties is None else op.theirs_at_ties
    reference = theirs(*reference_inputs, **sample.kwargs)
    expected = reference.detach().numpy()
    assert isinstance(out, ag.Tensor)
    assert out.shape == expected.shape, f"shape {out.shape}, PyTorch {expected.shape}"
    assert out.dtype == expected.dtype, f"dtype {out.dtype}, PyTorch {expected.dtype}"
    if not op.differentiable:
        np.testing.assert_array_equal(out.data, expected)
        assert not out.requires_grad
        return
    np.testing.assert_allclose(out.data, expected, atol=op.atol, rtol=op.rtol)
    upstream = np.random.default_rng(0).standard_normal(out.shape)
    out.backward(upstream)
    reference.backward(torch.tensor(upstream))
    for i, (m, r) in enumerate(zip(mine, reference_inputs)):
        if not (isinstance(m, ag.Tensor) and m.requires_grad):
            continue
        grad = np.zeros_like(m.data) if m.grad is None else m.grad
        assert r.grad is not None, f"input {i}: PyTorch gives no gradient"
        assert grad.shape == m.shape, f"input {i}: gradient of shape {grad.shape}"
        np.testing.assert_allclose(grad, r.grad.numpy(), atol=op.atol, rtol=op.rtol,
                                   err_msg=f"gradient of input {i}")


@pytest.mark.parametrize("op, sample", _cases(only_smooth=True))
def test_gradcheck(op, sample):
    inputs = _ours(op, sample)
    assert ag.gradcheck(lambda *xs: op.ours(*xs, **sample.kwargs), *inputs, atol=1e-6,
                        rtol=1e-4)


def test_every_public_op_has_a_row():
    """Adding an op is adding a row: a public function or method without one fails here."""
    rows = {op.name.split(" (")[0] for op in OPS}
    skip = {"backward", "detach", "clone", "item", "numpy", "retain_grad"}
    methods = {f"Tensor.{n}" for n, v in vars(ag.Tensor).items()
               if callable(v) and not n.startswith("_") and n not in skip}
    functions = {f"F.{n}" for n, v in vars(F).items()
                 if callable(v) and not n.startswith("_") and v.__module__ == F.__name__}
    top = {f"ag.{n}" for n in ("maximum", "minimum", "where", "cat", "concatenate", "stack")}
    missing = sorted((methods | functions | top) - rows - set(NOT_IN_THE_TABLE))
    assert not missing, f"ops without a row in tests/op_table.py: {missing}"


def test_the_parity_check_can_fail():
    """A wrong reference is caught: the harness compares what it claims to."""
    op = next(o for o in OPS if o.name == "Tensor.sin")
    wrong = type(op)(op.name, op.ours, lambda x: torch.cos(x), op.samples)
    sample = op.samples(rng_for(op.name))[2]
    with pytest.raises(AssertionError):
        test_matches_pytorch(wrong, sample)


# ---------------------------------------------------------------- dim= beside axis=

@pytest.mark.parametrize("call", [
    lambda x: x.sum(axis=0, dim=0), lambda x: x.mean(axis=1, dim=1),
    lambda x: x.max(axis=0, dim=1), lambda x: x.min(axis=0, dim=0),
    lambda x: x.var(axis=0, dim=0), lambda x: x.std(axis=0, dim=0),
    lambda x: x.logsumexp(axis=0, dim=0), lambda x: x.argmax(axis=0, dim=0),
    lambda x: x.argmin(axis=0, dim=0), lambda x: x.squeeze(axis=0, dim=0),
    lambda x: x.unsqueeze(axis=0, dim=0), lambda x: x.sum(keepdims=True, keepdim=True),
    lambda x: x.flatten(start_axis=1, start_dim=1), lambda x: ag.cat([x, x], axis=1, dim=1),
    lambda x: ag.stack([x, x], axis=1, dim=1), lambda x: F.softmax(x, axis=0, dim=0),
    lambda x: F.log_softmax(x, axis=0, dim=0), lambda x: x.var(correction=0, unbiased=True),
], ids=["sum", "mean", "max", "min", "var", "std", "logsumexp", "argmax", "argmin", "squeeze",
        "unsqueeze", "keepdim", "flatten", "cat", "stack", "softmax", "log_softmax",
        "correction and unbiased"])
def test_numpy_and_pytorch_names_for_one_argument_are_refused_together(call):
    x = ag.tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(TypeError, match=r"^\w+: give \w+= or \w+=, not both"):
        call(x)


def test_dim_and_keepdim_give_what_axis_and_keepdims_give():
    x = ag.tensor(np.arange(24.0).reshape(2, 3, 4))
    for name in ("sum", "mean", "max", "min", "var", "std", "logsumexp"):
        a = getattr(x, name)(axis=(0, 2), keepdims=True)
        b = getattr(x, name)(dim=(0, 2), keepdim=True)
        assert a.shape == b.shape == (1, 3, 1), name
        np.testing.assert_array_equal(a.data, b.data, err_msg=name)


# ---------------------------------------------------------------- errors that name the op

@pytest.mark.parametrize("call, error, message", [
    (lambda x: x.permute(0, 0), ValueError, r"permute: axis \(0, 0\) names axis 0 twice"),
    (lambda x: x.permute(1), ValueError, r"permute: 1 axes \(1,\) for a tensor of shape \(2, 3\)"),
    (lambda x: x.unsqueeze(3), ValueError, r"unsqueeze: axis 3 .* from -3 to 2"),
    (lambda x: x.unsqueeze(), TypeError, r"unsqueeze: the new axis must be an int"),
    (lambda x: x.expand(2, 4), ValueError, r"expand: .*\(2, 3\) to \(2, 4\): its axis 1 has "
                                           r"size 3, which is neither 1 nor 4"),
    (lambda x: x.expand(3), ValueError, r"expand: .*fewer axes"),
    (lambda x: x.broadcast_to((-1, 2, 3)), ValueError, r"broadcast_to: -1 .* new leading axis"),
    (lambda x: x.clamp(), ValueError, r"clamp: give min=, max= or both"),
    (lambda x: x.flatten(1, 0), ValueError, r"flatten: start axis 1 comes after end axis 0"),
    (lambda x: x.squeeze(2), ValueError, r"squeeze: axis 2 is out of range"),
    (lambda x: ag.cat([x, x[:, :1].T]), ValueError, r"cat: tensor 1 has shape \(1, 2\) and "
                                                    r"tensor 0 has shape \(2, 3\)"),
    (lambda x: ag.cat([]), ValueError, r"cat: the list is empty"),
    (lambda x: ag.cat(x), TypeError, r"cat: expects a list or tuple of tensors, got Tensor"),
    (lambda x: ag.cat([x.sum(), x.sum()]), ValueError, r"cat: cannot join 0-d tensors"),
    (lambda x: ag.stack([x, x.T]), ValueError, r"stack: tensor 1 has shape \(3, 2\)"),
    (lambda x: ag.where(x, x, x), TypeError, r"where: the condition must be boolean"),
    (lambda x: x.argmax(axis=(0, 1)), TypeError, r"argmax: axis must be an int"),
    (lambda x: x.min(axis=5), ValueError, r"min|amin: axis 5 is out of range"),
    (lambda x: F.pad(x, (1,)), ValueError, r"pad: pad must be pairs of ints"),
    (lambda x: F.pad(x, (1, 1, 1, 1, 1, 1)), ValueError, r"pad: 3 pairs .* has 2 axes"),
    (lambda x: F.pad(x, (-2, -2)), ValueError, r"pad: \(-2, -2\) on axis 1 .* crops more"),
    (lambda x: F.pad(x, (1, 1), mode="reflect"), ValueError, r"pad: mode 'reflect'"),
    (lambda x: F.leaky_relu(x, "0.1"), TypeError, r"leaky_relu: negative_slope"),
    (lambda x: F.adaptive_avg_pool2d(x, 2), ValueError, r"adaptive_avg_pool2d: .*\(N, C, H, W\)"),
    (lambda x: F.adaptive_avg_pool2d(x[None], 0), ValueError, r"output_size must be positive"),
    (lambda x: F.binary_cross_entropy(x, x), ValueError, r"probabilities in \[0, 1\].* from "
                                                         r"-1\.0 to 4\.0; apply sigmoid"),
    (lambda x: F.binary_cross_entropy(x.sigmoid(), x[0]), ValueError,
     r"binary_cross_entropy: the input of shape \(2, 3\) and the target of shape \(3,\)"),
    (lambda x: F.cross_entropy(x, [0, 1], reduction="avg"), ValueError,
     r"cross_entropy: reduction must be 'mean', 'sum' or 'none', got 'avg'"),
    (lambda x: F.cross_entropy(x, [0, 1], label_smoothing=1.5), ValueError,
     r"label_smoothing must be a number in \[0, 1\]"),
    (lambda x: F.cross_entropy(x, [0, 1], weight=np.ones(2)), ValueError,
     r"cross_entropy: weight must have shape \(3,\)"),
    (lambda x: F.nll_loss(x, [0, 3]), ValueError,
     r"nll_loss: target 3 at position 1 .* \[0, 2\] \(or be ignore_index, -100\)"),
    (lambda x: F.nll_loss(x[None], np.zeros((1, 2), int)), ValueError,
     r"nll_loss: targets must have shape \(1, 3\), one class index per row and position"),
])
def test_mistakes_are_one_clear_error_naming_the_op(call, error, message):
    x = ag.tensor([[-1.0, 0.5, 2.0], [4.0, 0.0, 1.0]], requires_grad=True)
    with pytest.raises(error, match=message):
        call(x)


# ---------------------------------------------------------------- argmax and argmin

def test_argmax_is_an_integer_result_that_refuses_backward():
    x = ag.tensor([[1.0, 3.0, 3.0], [2.0, 0.0, 2.0]], requires_grad=True)
    index = x.argmax(axis=1)
    assert index.dtype == np.int64 and not index.requires_grad and index.node is None
    assert index.data.tolist() == [1, 0]                   # the first of tied maxima
    assert x.argmin().item() == 4 and x.argmin(dim=1, keepdim=True).shape == (2, 1)
    with pytest.raises(RuntimeError, match=r"backward\(\) on a tensor of dtype int64: an "
                                           r"integer or boolean result \(argmax"):
        index.sum().backward()


# ---------------------------------------------------------------- selection, not masks

def test_unselected_elements_get_exactly_zero_even_when_inf_arrives():
    """where, abs, min and clamp route the gradient by selection: inf * 0 would be nan."""
    x = ag.tensor([-2.0, 0.0, 3.0], requires_grad=True)
    upstream = np.array([np.inf, np.inf, np.inf])
    for make, expected in [
        (lambda x: ag.where(x.data > 0, x, 5.0), [0.0, 0.0, np.inf]),
        (lambda x: x.abs(), [-np.inf, 0.0, np.inf]),
        (lambda x: ag.minimum(x, 1.0), [np.inf, np.inf, 0.0]),
        (lambda x: x.clamp(-1.0, 1.0), [0.0, np.inf, 0.0]),
        (lambda x: x.min(axis=0, keepdims=True).expand(3), [np.inf, 0.0, 0.0]),
    ]:
        x.grad = None
        make(x).backward(upstream if make(x).shape == (3,) else upstream[:1])
        np.testing.assert_array_equal(x.grad, expected)


def test_ties_go_to_the_first_input_or_element_and_keep_the_total():
    a = ag.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = ag.tensor([1.0, 0.0, 3.0], requires_grad=True)
    ag.minimum(a, b).sum().backward()
    assert a.grad.tolist() == [1.0, 0.0, 1.0] and b.grad.tolist() == [0.0, 1.0, 0.0]
    x = ag.tensor([[2.0, 1.0, 1.0], [0.0, 0.0, 5.0]], requires_grad=True)
    x.min(axis=1).sum().backward()
    assert x.grad.tolist() == [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]
    x.grad = None
    x.clamp(min=1.0, max=2.0).sum().backward()  # bounds included, as PyTorch's clamp
    assert x.grad.tolist() == [[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]]


# ---------------------------------------------------------------- values at the edges

def test_binary_cross_entropy_at_exactly_0_and_1_is_finite_and_pytorchs():
    p = np.array([0.0, 1.0, 1.0, 0.0, 0.5])
    target = np.array([1.0, 0.0, 1.0, 0.0, 0.3])
    ours = ag.tensor(p, requires_grad=True)
    loss = F.binary_cross_entropy(ours, target, reduction="sum")
    loss.backward()
    theirs = torch.tensor(p, requires_grad=True)
    reference = torch.nn.functional.binary_cross_entropy(theirs, torch.tensor(target),
                                                         reduction="sum")
    reference.backward()
    assert np.isfinite(loss.item()) and np.isfinite(ours.grad).all()
    np.testing.assert_allclose(loss.item(), reference.item(), rtol=1e-12)
    np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_binary_cross_entropy_with_logits_is_finite_at_1000(dtype):
    x = ag.tensor(np.array([-1000.0, 1000.0, -1000.0, 1000.0, 0.0], dtype), requires_grad=True)
    target = np.array([1.0, 0.0, 0.0, 1.0, 0.5], dtype)
    losses = F.binary_cross_entropy_with_logits(x, target, reduction="none")
    losses.sum().backward()
    assert losses.dtype == dtype and x.grad.dtype == dtype
    np.testing.assert_array_equal(losses.data, np.array([1000.0, 1000.0, 0.0, 0.0, np.log(2)],
                                                        dtype))
    np.testing.assert_array_equal(x.grad, np.array([-1.0, 1.0, 0.0, 0.0, 0.0], dtype))


@pytest.mark.filterwarnings("ignore:divide by zero encountered in log")
def test_logsumexp_is_finite_where_exp_overflows_and_minus_inf_for_all_minus_inf():
    x = ag.tensor([[1000.0, 1000.0], [-np.inf, -np.inf]], requires_grad=True)
    out = x.logsumexp(axis=1)
    assert out.data[0] == pytest.approx(1000.0 + np.log(2)) and out.data[1] == -np.inf
    x[0].logsumexp().backward()
    np.testing.assert_allclose(x.grad, [[0.5, 0.5], [0.0, 0.0]])


def test_var_without_degrees_of_freedom_warns_and_is_nan_as_in_pytorch():
    x = ag.tensor([[2.0], [3.0]], requires_grad=True)
    with pytest.warns(RuntimeWarning, match=r"var: 1 value with correction=1 leave no degrees"):
        out = x.var(axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyTorch's own warning of the same
        expected = torch.tensor([[2.0], [3.0]]).var(dim=1)
    assert np.isnan(out.data).all() and torch.isnan(expected).all()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert x.var(axis=1, correction=0).data.tolist() == [0.0, 0.0]


def test_squeeze_keeps_an_axis_that_is_not_size_1_as_pytorch():
    x = ag.tensor(np.ones((1, 3, 1)))
    assert x.squeeze(1).shape == (1, 3, 1) and x.squeeze().shape == (3,)
    assert x.squeeze((0, 1)).shape == (3, 1)


# ---------------------------------------------------------------- batch_norm's running stats

@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5), (2, 3, 4, 4)])
def test_batch_norm_running_statistics_follow_pytorch_step_by_step(shape):
    rng = np.random.default_rng(3)
    mean, var = np.zeros(3), np.ones(3)
    running = (ag.tensor(np.zeros(3)), np.ones(3))  # a buffer tensor or an array: in place
    reference = (torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64))
    for step in range(3):
        x = rng.normal(size=shape) * (step + 1) + step
        out = F.batch_norm(x, *running, training=True, momentum=0.2)
        expected = torch.nn.functional.batch_norm(torch.tensor(x), *reference, training=True,
                                                  momentum=0.2)
        np.testing.assert_allclose(out.data, expected.numpy(), atol=1e-9)
        np.testing.assert_allclose(running[0].data, reference[0].numpy(), rtol=1e-12)
        np.testing.assert_allclose(running[1], reference[1].numpy(), rtol=1e-12)
    assert not np.allclose(running[1], var) and not np.allclose(running[0].data, mean)
    x = rng.normal(size=shape)
    before = running[1].copy()
    out = F.batch_norm(x, *running, training=False)
    expected = torch.nn.functional.batch_norm(torch.tensor(x), *reference, training=False)
    np.testing.assert_allclose(out.data, expected.numpy(), atol=1e-9)
    np.testing.assert_array_equal(running[1], before)  # evaluation leaves them as they were


def test_batch_norm_mistakes():
    x = np.ones((1, 3))
    with pytest.raises(ValueError, match=r"batch_norm: training needs more than one value per "
                                         r"channel.*shape \(1, 3\)"):
        F.batch_norm(x, None, None, training=True)
    with pytest.raises(ValueError, match=r"batch_norm: running_var must have shape \(3,\)"):
        F.batch_norm(np.ones((2, 3)), np.zeros(3), np.ones(4))
    with pytest.raises(ValueError, match=r"batch_norm: training=False normalises with "
                                         r"running_mean and running_var"):
        F.batch_norm(np.ones((2, 3)), None, None)
    with pytest.raises(ValueError, match=r"batch_norm: the input must have shape \(N, C\)"):
        F.batch_norm(np.ones(3), np.zeros(3), np.ones(3))
    with pytest.raises(ValueError, match=r"batch_norm: weight must have shape \(3,\)"):
        F.batch_norm(np.ones((2, 3)), np.zeros(3), np.ones(3), weight=np.ones(2))


# ---------------------------------------------------------------- the step-through

@pytest.mark.parametrize("build, heading, rule", [
    (lambda x, y: x.abs(), "z = |x|", "dx = sign(x) * dz = sign("),
    (lambda x, y: x.sin(), "z = sin(x)", "dx = cos(x) * dz = cos("),
    (lambda x, y: x.cos(), "z = cos(x)", "dx = -sin(x) * dz = -sin("),
    (lambda x, y: ag.minimum(x, y), "z = min(x, y)", "dy = [x > y] * dz = ["),
    (lambda x, y: ag.where(x.data > 0, x, y), "z = x where c, else y",
     "dy = 0 where c, else dz, so dy = [1.0, 0.0, 0.0]"),
    (lambda x, y: x.min(), "z = min of x over axis", "dx = [x is the first minimum] * dz"),
    (lambda x, y: x.expand(2, 3), "z = x broadcast to a fixed shape",
     "dx = dz summed back to x's shape, so dx = [2.0, 2.0, 2.0]"),
    (lambda x, y: ag.cat([x, y]), "z = x, y, ... joined along a fixed axis",
     "dy = dz[3:6], the part of dz where y went, so dy = [1.0, 1.0, 1.0]"),
    (lambda x, y: F.binary_cross_entropy(y, np.array([1.0, 0.0, 1.0]), reduction="none"),
     "z = -(t log y + (1 - t) log(1 - y))", "dy = (y - t) / max(y * (1 - y), 1e-12) * dz"),
])
def test_each_new_primitive_steps_with_its_rule(build, heading, rule):
    from autograd.viz.stepper import Stepper
    x = ag.tensor([-1.0, 0.5, 2.0], requires_grad=True, name="x")
    y = ag.tensor([0.3, 0.7, 0.9], requires_grad=True, name="y")
    out = build(x, y)
    stepper = Stepper(out, grad=np.ones(out.shape))
    last = stepper.run()[-1].explain()  # the first node, where the new primitive is
    assert heading in last and rule in last, last
