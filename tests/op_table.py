"""Every op in one table, as PyTorch's OpInfo: the tapegrad op, the PyTorch op it must
match, and how to make its sample inputs. Adding an op is adding a row.

``tests/test_ops.py`` runs every sample of every row: forward value and dtype, and every
input's gradient, against PyTorch in float64, and a float64 gradcheck where the sample is
smooth. ``tests/test_op_graphs.py`` builds random graphs from the rows that have a
``graph`` use.

A sample's float arrays become tensors that require a gradient (those named in
``constant`` stay arrays); int and bool arrays (targets, masks) are constants for both
libraries. Keyword arguments go to both functions as they are: a row's ``theirs`` speaks
PyTorch, so a row whose ``ours`` takes NumPy's names translates them.

Ties: where tapegrad's documented rule differs from what a PyTorch op does with a tie
(``maximum``, ``minimum``, ``max`` and ``min`` send the whole gradient to the first input
or the first extreme; PyTorch's splits it), a row gives ``theirs_at_ties``, the same rule
written with PyTorch's ops, and its samples with ties (``smooth=False``) use it.
"""

import dataclasses
import zlib
from typing import Callable, Optional

import numpy as np

import autograd as ag
from autograd import functional as F

try:
    import torch
    import torch.nn.functional as TF
except ImportError:  # the table still lists the ops; the tests skip
    torch = TF = None


@dataclasses.dataclass(frozen=True)
class Sample:
    inputs: tuple                                 # arrays, in the op's argument order
    kwargs: dict = dataclasses.field(default_factory=dict)
    note: str = ""                                # shown in the test id
    smooth: bool = True                           # False: on a kink or a tie, no gradcheck
    constant: tuple = ()                          # positions of float inputs without gradient


@dataclasses.dataclass(frozen=True)
class GraphUse:
    """How the random-graph test may use a row.

    ``arity`` tensor inputs; ``domains`` says, per input, what values it accepts: "any",
    "positive" or "bounded" (|x| <= 2); ``params(shapes, choose)`` gives the keyword
    arguments for inputs of these shapes (``choose(options)`` picks one), or None when the
    op cannot take them. ``second`` makes the second input: "broadcast" (any shape that
    broadcasts with the first), "same" (the first's shape) or "matmul" (a (k, m) matrix).
    """
    arity: int = 1
    domains: tuple = ("any",)
    params: Optional[Callable] = None
    second: str = "broadcast"


@dataclasses.dataclass(frozen=True)
class OpInfo:
    name: str                          # the public name: "Tensor.sum", "F.pad", "ag.cat"
    ours: Callable
    theirs: Callable
    samples: Callable                  # rng -> [Sample]
    theirs_at_ties: Optional[Callable] = None
    differentiable: bool = True        # False: an integer result, compared exactly
    atol: float = 1e-9
    rtol: float = 1e-9
    graph: Optional[GraphUse] = None


def rng_for(name):
    """Each row's samples come from a generator of their own, so adding a row changes no other."""
    return np.random.default_rng(zlib.crc32(name.encode()))


def t(array):
    """A NumPy array (or None) as a torch tensor, for a keyword argument."""
    return None if array is None else torch.as_tensor(array)


# ---------------------------------------------------------------- sample values

def away(rng, shape, low=0.3, high=2.0):
    """|x| in [low, high], either sign: no zeros, no kinks within the gradcheck's step."""
    return rng.uniform(low, high, size=shape) * rng.choice([-1.0, 1.0], size=shape)


def positive(rng, shape, low=0.3, high=2.0):
    return rng.uniform(low, high, size=shape)


def distinct(rng, shape, spacing=0.25):
    """Values at least ``spacing`` apart, in a random order: no ties anywhere."""
    size = int(np.prod(shape))
    return ((rng.permutation(size) - size / 2) * spacing).reshape(shape)


def tied(rng, shape):
    """Small integers, so ties, zeros and repeats appear."""
    return rng.integers(-2, 3, size=shape).astype(np.float64)


# Shape pairs for binary ops: broadcasting both ways, size-1 axes, a batch of 1, 0-d.
BROADCAST_PAIRS = [((3, 4), (3, 4)), ((3, 4), (4,)), ((3, 1), (1, 4)), ((), (2, 3)),
                   ((2, 1, 3), (4, 1)), ((1, 4), (1, 4))]
UNARY_SHAPES = [(), (1,), (3, 4), (1, 3, 1), (2, 3, 4)]


def binary_samples(make_x=away, make_y=away):
    return lambda rng: [Sample((make_x(rng, a), make_y(rng, b)), note=f"{a}{b}")
                        for a, b in BROADCAST_PAIRS]


def unary_samples(make=away, shapes=UNARY_SHAPES):
    return lambda rng: [Sample((make(rng, s),), note=str(s)) for s in shapes]


def tie_samples(rng):
    """Pairs with ties (equal elements) and zeros: tapegrad's rule against theirs_at_ties."""
    x = tied(rng, (3, 4))
    return [Sample((x, x.copy()), note="all tied", smooth=False),
            Sample((x, tied(rng, (4,))), note="some tied", smooth=False)]


# ---------------------------------------------------------------- reductions

def torch_kw(kw, all_axes_for_none=None):
    """NumPy's keyword names as PyTorch's (axis -> dim, keepdims -> keepdim)."""
    kw = dict(kw)
    if "axis" in kw:
        kw["dim"] = kw.pop("axis")
    if "keepdims" in kw:
        kw["keepdim"] = kw.pop("keepdims")
    if all_axes_for_none is not None and kw.get("dim") is None:
        kw["dim"] = tuple(range(all_axes_for_none))  # amax, logsumexp: every axis
    return kw


# axis and keepdims in both spellings, so the dim=/keepdim= aliases run too
AXES = [dict(), dict(axis=0), dict(dim=-1), dict(axis=(0, 2), keepdims=True),
        dict(dim=(2, 1), keepdim=True), dict(axis=1, keepdims=False)]


def reduce_samples(make=away, axes=AXES):
    def samples(rng):
        found = [Sample((make(rng, (2, 3, 4)),), kw, note=str(kw)) for kw in axes]
        found.append(Sample((make(rng, (1, 4)),), dict(axis=1), note="batch of 1"))
        found.append(Sample((make(rng, ()),), note="0-d"))
        return found
    return samples


def first_extreme(x, largest, dim=None, keepdim=False):
    """tapegrad's max/min in PyTorch's ops: the value at the first arg-max (arg-min) over the
    reduced axes, so its whole gradient goes to that one element."""
    dims = tuple(range(x.ndim)) if dim is None else (dim,) if isinstance(dim, int) else dim
    dims = tuple(sorted(d % max(x.ndim, 1) for d in dims)) if x.ndim else ()
    kept = [a for a in range(x.ndim) if a not in dims]
    moved = x.permute(*kept, *dims).reshape(*[x.shape[a] for a in kept], -1)
    index = (moved.argmax if largest else moved.argmin)(dim=-1, keepdim=True)
    out = moved.gather(-1, index).squeeze(-1)
    if keepdim:
        out = out.reshape([1 if a in dims else n for a, n in enumerate(x.shape)])
    return out


def max_ties_samples(rng):
    return [Sample((tied(rng, (3, 4)),), kw, note=f"ties {kw}", smooth=False)
            for kw in (dict(), dict(axis=1), dict(dim=0, keepdim=True))]


def var_samples(rng):
    x = away(rng, (2, 3, 4))
    kws = [dict(), dict(axis=1), dict(dim=(0, 2), keepdim=True), dict(correction=0),
           dict(axis=-1, correction=2), dict(unbiased=False, dim=0), dict(axis=2, unbiased=True)]
    return [Sample((x,), kw, note=str(kw)) for kw in kws] + [
        Sample((away(rng, (1, 5)),), dict(axis=1), note="batch of 1")]


def torch_var(kw):
    kw = torch_kw(kw)
    if "unbiased" in kw:
        kw["correction"] = int(kw.pop("unbiased"))
    return kw


def argmax_samples(rng):
    x = tied(rng, (3, 4, 2))
    return [Sample((x,), kw, note=f"ties {kw}") for kw in
            (dict(), dict(axis=1), dict(dim=-1, keepdim=True), dict(axis=0, keepdims=True))]


# ---------------------------------------------------------------- shapes

def getitem_samples(rng):
    x = away(rng, (3, 4))
    return [Sample((x,), dict(index=index), note=note) for index, note in [
        ((slice(1, None), [0, 2, 2]), "slice and repeated fancy index"),
        ((Ellipsis, None, 0), "Ellipsis, None, int"),
        ((-1,), "negative int"),
        ((slice(None, None, 2),), "step"),
        (([2, 0, 2], [1, 1, 3]), "repeated pairs"),
    ]] + [Sample((x,), dict(mask=np.array([True, False, True])), note="bool mask")]


def getitem_ours(x, index=None, mask=None):
    return x[mask] if mask is not None else x[index]


def getitem_theirs(x, index=None, mask=None):
    return x[torch.as_tensor(mask)] if mask is not None else x[index]


def cat_samples(rng):
    return [
        Sample((away(rng, (2, 1)), away(rng, (2, 3)), away(rng, (2, 2))), dict(axis=1),
               note="three, axis 1"),
        Sample((away(rng, (1, 3)), away(rng, (2, 3))), dict(dim=0), note="dim=0"),
        Sample((away(rng, (2, 3, 1)), away(rng, (2, 3, 2))), dict(axis=-1), note="axis -1"),
        Sample((away(rng, (4,)),), note="one tensor"),
    ]


def stack_samples(rng):
    return [
        Sample((away(rng, (2, 3)), away(rng, (2, 3)), away(rng, (2, 3))), note="three"),
        Sample((away(rng, (3,)), away(rng, (3,))), dict(axis=-1), note="axis -1"),
        Sample((away(rng, (1, 2)), away(rng, (1, 2))), dict(dim=1), note="dim=1"),
        Sample((away(rng, ()), away(rng, ())), note="0-d"),
    ]


def pad_samples(rng):
    return [
        Sample((away(rng, (2, 3)),), dict(pad=(1, 2)), note="last axis"),
        Sample((away(rng, (1, 2, 3, 3)),), dict(pad=(1, 1, 2, 0)), note="two axes"),
        Sample((away(rng, (2, 4)),), dict(pad=(-1, 2, 1, -1)), note="crop and pad"),
        Sample((away(rng, (2, 3)),), dict(pad=(0, 1), value=0.5), note="value 0.5"),
        Sample((away(rng, (2, 2, 3)),), dict(pad=(1, 0, 0, 0, 1, 1)), note="three axes"),
    ]


# ---------------------------------------------------------------- losses

def class_targets(rng, shape, classes, ignored=()):
    labels = rng.integers(0, classes, size=shape)
    for position in ignored:
        labels[position] = -100
    return labels


def cross_entropy_samples(rng):
    w = positive(rng, (4,))
    x = away(rng, (5, 4)) * 2
    targets = class_targets(rng, (5,), 4)
    skipped = class_targets(rng, (5,), 4, ignored=[1, 3])
    return [
        Sample((x, targets), note="mean"),
        Sample((x, targets), dict(reduction="sum"), note="sum"),
        Sample((x, targets), dict(reduction="none"), note="none"),
        Sample((x, targets), dict(label_smoothing=0.2), note="smoothing"),
        Sample((x, skipped), dict(weight=w), note="weight, ignored targets"),
        Sample((x, skipped), dict(weight=w, label_smoothing=0.1, reduction="sum"),
               note="weight, smoothing, sum"),
        Sample((x, targets), dict(ignore_index=2, label_smoothing=0.3), note="ignore_index 2"),
        Sample((away(rng, (1, 3)), np.array([2])), note="batch of 1"),
        Sample((away(rng, (2, 3, 2, 2)), class_targets(rng, (2, 2, 2), 3, ignored=[(0, 1, 0)])),
               dict(label_smoothing=0.1, weight=positive(rng, (3,))), note="(N, C, H, W)"),
        Sample((away(rng, (2, 3, 4)), class_targets(rng, (2, 4), 3)), dict(reduction="none"),
               note="(N, C, L), none"),
    ]


def with_torch_weight(kw):
    kw = dict(kw)
    if "weight" in kw:
        kw["weight"] = t(kw["weight"])
    if "pos_weight" in kw:
        kw["pos_weight"] = t(kw["pos_weight"])
    return kw


def bce_samples(rng):
    p, target = rng.uniform(0.05, 0.95, (3, 4)), rng.uniform(0, 1, (3, 4))
    return [
        Sample((p, target), note="mean"),
        Sample((p, target), dict(reduction="sum"), note="sum"),
        Sample((p, target), dict(reduction="none", weight=positive(rng, (4,))), note="weight"),
        Sample((p[:1, :1], target[:1, :1]), note="one element"),
    ]


def bce_logits_samples(rng):
    x, target = away(rng, (3, 4)) * 3, rng.uniform(0, 1, (3, 4))
    huge = np.array([[-1000.0, 1000.0, -1000.0, 1000.0]])
    return [
        Sample((x, target), note="mean"),
        Sample((x, target), dict(reduction="none"), note="none"),
        Sample((x, target), dict(pos_weight=positive(rng, (4,)), reduction="sum"),
               note="pos_weight"),
        Sample((x, target), dict(weight=positive(rng, (3, 1))), note="weight"),
        Sample((huge, np.array([[1.0, 0.0, 0.0, 1.0]])), dict(reduction="none"),
               note="|x| = 1000"),
    ]


# ---------------------------------------------------------------- layers as functions

def batch_norm_samples(rng):
    found = []
    for shape in [(4, 3), (2, 3, 5), (2, 3, 2, 2), (1, 3, 2, 2)]:
        x = away(rng, shape) * 2 + 1
        stats = dict(running_mean=away(rng, (3,)), running_var=positive(rng, (3,)))
        for training in (True, False):
            found.append(Sample((x, away(rng, (3,)), away(rng, (3,))),
                                dict(stats, training=training),
                                note=f"{shape} training={training}"))
    found.append(Sample((away(rng, (4, 3)), away(rng, (3,)), away(rng, (3,))),
                        dict(running_mean=None, running_var=None, training=True),
                        note="no running stats"))
    return found


def batch_norm_ours(x, w, b, running_mean, running_var, training):
    copy = (lambda a: None if a is None else a.copy())  # each call updates its own copies
    return F.batch_norm(x, copy(running_mean), copy(running_var), w, b, training=training,
                        momentum=0.3, eps=1e-3)


def batch_norm_theirs(x, w, b, running_mean, running_var, training):
    copy = (lambda a: None if a is None else torch.tensor(a))
    return TF.batch_norm(x, copy(running_mean), copy(running_var), w, b, training=training,
                         momentum=0.3, eps=1e-3)


def conv_samples(spatial):
    def samples(rng):
        size = (5,) * spatial
        kernel = (3,) * spatial
        return [
            Sample((away(rng, (1, 2) + size), away(rng, (3, 2) + kernel), away(rng, (3,))),
                   note="batch of 1, bias"),
            Sample((away(rng, (2, 2) + size), away(rng, (2, 2) + kernel), away(rng, (2,))),
                   dict(stride=2, padding=1), note="stride 2, padding 1"),
            Sample((away(rng, (1, 4) + (6,) * spatial), away(rng, (4, 2) + kernel),
                    away(rng, (4,))), dict(dilation=2, groups=2), note="dilation 2, groups 2"),
            Sample((away(rng, (1, 3) + size), away(rng, (3, 1) + kernel), away(rng, (3,))),
                   dict(groups=3, padding=1), note="depthwise"),
        ]
    return samples


def pool_samples(spatial, kind):
    def samples(rng):
        found = [Sample((distinct(rng, (1, 2) + (4,) * spatial),), dict(kernel_size=2),
                        note="2, batch of 1"),
                 Sample((distinct(rng, (2, 1) + (5,) * spatial),),
                        dict(kernel_size=3, stride=2), note="3, stride 2")]
        if kind == "avg":
            found.append(Sample((distinct(rng, (1, 2) + (5,) * spatial),),
                                dict(kernel_size=2, padding=1, ceil_mode=True),
                                note="padding, ceil_mode"))
        else:
            found.append(Sample((distinct(rng, (1, 2) + (4,) * spatial),),
                                dict(kernel_size=2, padding=1), note="padding"))
        return found
    return samples


def adaptive_samples(rng):
    return [Sample((away(rng, shape),), dict(output_size=size), note=f"{shape} to {size}")
            for shape, size in [((1, 2, 5, 7), 3), ((2, 1, 6, 4), (2, None)),
                                ((1, 1, 4, 4), 2), ((2, 3, 5), (4, 3)), ((1, 2, 3, 3), 5),
                                ((1, 1, 5, 5), 1)]]


# ---------------------------------------------------------------- graph parameters

def graph_axes(shapes, choose):
    """An axis (or two, or None) of the first input, and keepdims."""
    ndim = len(shapes[0])
    options = [None] + list(range(ndim)) + ([(0, ndim - 1)] if ndim >= 2 else [])
    return dict(axis=choose(options), keepdims=choose([False, True]))


def graph_var_axes(shapes, choose):
    kw = graph_axes(shapes, choose)
    axes = range(len(shapes[0])) if kw["axis"] is None else np.atleast_1d(kw["axis"])
    if int(np.prod([shapes[0][a] for a in axes])) < 2:
        return None  # one value: no degrees of freedom with correction=1
    return kw


def graph_one_axis(shapes, choose):
    return dict(axis=choose(list(range(len(shapes[0]))))) if shapes[0] else None


def graph_permutation(shapes, choose):
    axes = list(range(len(shapes[0])))
    order = []
    while axes:
        order.append(axes.pop(choose(list(range(len(axes))))))
    return dict(order=tuple(order))


def graph_new_axis(shapes, choose):
    return dict(axis=choose(list(range(-len(shapes[0]) - 1, len(shapes[0]) + 1))))


def graph_expand(shapes, choose):
    shape = shapes[0]
    grown = tuple(choose([n, 2]) if n == 1 else n for n in shape)
    return dict(shape=(choose([2, 3]),) * choose([0, 1]) + grown)


def graph_pad(shapes, choose):
    if not shapes[0]:
        return None
    return dict(pad=(choose([0, 1, 2]), choose([0, 1])), value=choose([0.0, 0.5]))


def graph_getitem(shapes, choose):
    if not shapes[0] or shapes[0][0] < 2:
        return None
    return dict(index=choose([(slice(1, None),), ([0, 1, 0],), (-1,)]))


def graph_clamp(shapes, choose):
    bounds = dict(min=choose([None, -0.5]), max=choose([None, 0.7, 1.5]))
    return bounds if bounds != dict(min=None, max=None) else dict(min=-0.5)


def graph_cat(shapes, choose):
    return dict(axis=choose(list(range(len(shapes[0]))))) if shapes[0] else None


def graph_stack(shapes, choose):
    return dict(axis=choose(list(range(len(shapes[0]) + 1))))


UNARY_GRAPH = GraphUse()
POSITIVE_GRAPH = GraphUse(domains=("positive",))
BOUNDED_GRAPH = GraphUse(domains=("bounded",))
BINARY_GRAPH = GraphUse(arity=2, domains=("any", "any"))


# ---------------------------------------------------------------- the table

OPS = [
    # elementwise, two inputs
    OpInfo("Tensor.__add__", lambda x, y: x + y, lambda x, y: x + y, binary_samples(),
           graph=BINARY_GRAPH),
    OpInfo("Tensor.__sub__", lambda x, y: x - y, lambda x, y: x - y, binary_samples(),
           graph=BINARY_GRAPH),
    OpInfo("Tensor.__mul__", lambda x, y: x * y, lambda x, y: x * y, binary_samples(),
           graph=BINARY_GRAPH),
    OpInfo("Tensor.__truediv__", lambda x, y: x / y, lambda x, y: x / y, binary_samples(),
           graph=GraphUse(arity=2, domains=("any", "positive"))),
    OpInfo("Tensor.__pow__", lambda x, y: x ** y, lambda x, y: x ** y,
           binary_samples(positive, away),
           graph=GraphUse(arity=2, domains=("positive", "bounded"))),
    OpInfo("Tensor.__pow__ (number)", lambda x, p: x ** p, lambda x, p: x ** p,
           lambda rng: [Sample((positive(rng, (3, 4)),), dict(p=p), note=f"p={p}")
                        for p in (3, -1.5, 0.5, 0, 1)]),
    OpInfo("Tensor.__rpow__", lambda x: 2.0 ** x, lambda x: 2.0 ** x, unary_samples()),
    OpInfo("Tensor.__rtruediv__", lambda x: 1.5 / x, lambda x: 1.5 / x, unary_samples()),
    OpInfo("Tensor.__rsub__", lambda x: 1.5 - x, lambda x: 1.5 - x, unary_samples()),
    OpInfo("ag.maximum", ag.maximum, torch and torch.maximum,
           lambda rng: binary_samples()(rng) + tie_samples(rng),
           theirs_at_ties=lambda x, y: torch.where(x >= y, x, y), graph=BINARY_GRAPH),
    OpInfo("ag.minimum", ag.minimum, torch and torch.minimum,
           lambda rng: binary_samples()(rng) + tie_samples(rng),
           theirs_at_ties=lambda x, y: torch.where(x <= y, x, y), graph=BINARY_GRAPH),
    OpInfo("ag.where", ag.where, torch and torch.where,
           lambda rng: [Sample((rng.random(c) > 0.5, away(rng, a), away(rng, b)), note=f"{c}{a}{b}")
                        for c, a, b in [((3, 4), (3, 4), (3, 4)), ((3, 1), (1, 4), (4,)),
                                        ((4,), (3, 4), ()), ((1, 4), (1, 4), (1, 1))]]),
    OpInfo("Tensor.__matmul__", lambda x, y: x @ y, lambda x, y: x @ y,
           lambda rng: [Sample((away(rng, a), away(rng, b)), note=f"{a}{b}") for a, b in
                        [((3, 4), (4, 5)), ((4,), (4, 5)), ((3, 4), (4,)), ((4,), (4,)),
                         ((2, 3, 4), (4, 2)), ((1, 3, 4), (2, 4, 2)), ((1, 4), (4, 1))]],
           graph=GraphUse(arity=2, domains=("any", "any"), second="matmul",
                          params=lambda shapes, choose: {} if shapes[0] else None)),

    # elementwise, one input
    OpInfo("Tensor.__neg__", lambda x: -x, lambda x: -x, unary_samples(), graph=UNARY_GRAPH),
    OpInfo("Tensor.exp", lambda x: x.exp(), lambda x: x.exp(), unary_samples(),
           graph=BOUNDED_GRAPH),
    OpInfo("Tensor.log", lambda x: x.log(), lambda x: x.log(), unary_samples(positive),
           graph=POSITIVE_GRAPH),
    OpInfo("Tensor.sqrt", lambda x: x.sqrt(), lambda x: x.sqrt(), unary_samples(positive),
           graph=POSITIVE_GRAPH),
    OpInfo("Tensor.abs", lambda x: x.abs(), lambda x: x.abs(),
           lambda rng: unary_samples()(rng) + [
               Sample((tied(rng, (3, 4)),), note="zeros", smooth=False)],
           graph=UNARY_GRAPH),
    OpInfo("Tensor.__abs__", abs, abs, unary_samples(shapes=[(3,)])),
    OpInfo("Tensor.sin", lambda x: x.sin(), lambda x: x.sin(), unary_samples(), graph=UNARY_GRAPH),
    OpInfo("Tensor.cos", lambda x: x.cos(), lambda x: x.cos(), unary_samples(), graph=UNARY_GRAPH),
    OpInfo("Tensor.tanh", lambda x: x.tanh(), lambda x: x.tanh(), unary_samples(),
           graph=UNARY_GRAPH),
    OpInfo("Tensor.sigmoid", lambda x: x.sigmoid(), lambda x: x.sigmoid(),
           lambda rng: unary_samples()(rng) + [
               Sample((np.array([-1e4, -50.0, 0.0, 50.0, 1e4]),), note="huge")],
           graph=UNARY_GRAPH),
    OpInfo("Tensor.relu", lambda x: x.relu(), lambda x: x.relu(),
           lambda rng: unary_samples()(rng) + [
               Sample((tied(rng, (3, 4)),), note="zeros", smooth=False)],
           graph=UNARY_GRAPH),
    OpInfo("Tensor.clamp", lambda x, **kw: x.clamp(**kw), lambda x, **kw: x.clamp(**kw),
           lambda rng: [Sample((away(rng, (3, 4)),), kw, note=str(kw)) for kw in
                        (dict(min=-0.5), dict(max=0.7), dict(min=-0.5, max=0.7),
                         dict(min=0.9, max=-0.4))] + [
               Sample((np.array([-1.0, -0.5, 0.0, 0.7, 1.0]),), dict(min=-0.5, max=0.7),
                      note="on the bounds", smooth=False)],
           graph=GraphUse(params=graph_clamp)),
    OpInfo("Tensor.clamp (tensor bounds)", lambda x, lo, hi: x.clamp(lo, hi),
           lambda x, lo, hi: x.clamp(lo, hi),
           lambda rng: [Sample((away(rng, (3, 4)), away(rng, (4,)) - 1.0, away(rng, (3, 1)) + 1.0),
                               note="min < max"),
                        Sample((away(rng, (3, 4)), positive(rng, (4,)) + 2.2, away(rng, (3, 1))),
                               note="min > max")]),
    OpInfo("Tensor.clip", lambda x: x.clip(-0.5, 0.5), lambda x: x.clip(-0.5, 0.5),
           unary_samples(shapes=[(3, 4)])),

    # reductions
    OpInfo("Tensor.sum", lambda x, **kw: x.sum(**kw), lambda x, **kw: x.sum(**torch_kw(kw)),
           reduce_samples(), graph=GraphUse(params=graph_axes)),
    OpInfo("Tensor.mean", lambda x, **kw: x.mean(**kw), lambda x, **kw: x.mean(**torch_kw(kw)),
           reduce_samples(), graph=GraphUse(params=graph_axes)),
    OpInfo("Tensor.max", lambda x, **kw: x.max(**kw),
           lambda x, **kw: x.amax(**torch_kw(kw, x.ndim)),
           lambda rng: reduce_samples(distinct)(rng) + max_ties_samples(rng),
           theirs_at_ties=lambda x, **kw: first_extreme(x, True, **torch_kw(kw)),
           graph=GraphUse(params=graph_axes)),
    OpInfo("Tensor.min", lambda x, **kw: x.min(**kw),
           lambda x, **kw: x.amin(**torch_kw(kw, x.ndim)),
           lambda rng: reduce_samples(distinct)(rng) + max_ties_samples(rng),
           theirs_at_ties=lambda x, **kw: first_extreme(x, False, **torch_kw(kw)),
           graph=GraphUse(params=graph_axes)),
    OpInfo("Tensor.var", lambda x, **kw: x.var(**kw), lambda x, **kw: x.var(**torch_var(kw)),
           var_samples, graph=GraphUse(params=graph_var_axes)),
    OpInfo("Tensor.std", lambda x, **kw: x.std(**kw), lambda x, **kw: x.std(**torch_var(kw)),
           var_samples),
    OpInfo("Tensor.logsumexp", lambda x, **kw: x.logsumexp(**kw),
           lambda x, **kw: x.logsumexp(**torch_kw(kw, x.ndim)),
           lambda rng: reduce_samples()(rng) + [
               Sample((away(rng, (2, 3)) * 1000,), dict(axis=1), note="|x| ~ 1000")],
           graph=GraphUse(params=graph_axes)),
    OpInfo("Tensor.argmax", lambda x, **kw: x.argmax(**kw),
           lambda x, **kw: x.argmax(**torch_kw(kw)), argmax_samples, differentiable=False),
    OpInfo("Tensor.argmin", lambda x, **kw: x.argmin(**kw),
           lambda x, **kw: x.argmin(**torch_kw(kw)), argmax_samples, differentiable=False),

    # shapes
    OpInfo("Tensor.reshape", lambda x, shape: x.reshape(shape), lambda x, shape: x.reshape(shape),
           lambda rng: [Sample((away(rng, a),), dict(shape=b), note=f"{a} to {b}")
                        for a, b in [((3, 4), (4, 3)), ((2, 3, 4), (-1,)), ((1,), ()),
                                     ((2, 3), (3, 1, 2))]],
           graph=GraphUse(params=lambda shapes, choose: dict(shape=(-1,)))),
    OpInfo("Tensor.transpose", lambda x: x.T, lambda x: x.T,
           lambda rng: [Sample((away(rng, (3, 4)),), note="T")],
           graph=GraphUse(params=lambda shapes, choose: {} if len(shapes[0]) == 2 else None)),
    OpInfo("Tensor.permute", lambda x, order: x.permute(*order),
           lambda x, order: x.permute(*order),
           lambda rng: [Sample((away(rng, (2, 3, 4)),), dict(order=o), note=str(o))
                        for o in [(2, 0, 1), (0, 2, 1), (-1, 0, 1)]],
           graph=GraphUse(params=graph_permutation)),
    OpInfo("Tensor.flatten", lambda x, **kw: x.flatten(**kw),
           lambda x, **kw: x.flatten(**{k.replace("axis", "dim"): v for k, v in kw.items()}),
           lambda rng: [Sample((away(rng, (2, 3, 2, 2)),), kw, note=str(kw)) for kw in
                        (dict(), dict(start_axis=1), dict(start_dim=1, end_dim=2),
                         dict(start_axis=0, end_axis=-2))] + [
               Sample((away(rng, ()),), note="0-d")],
           graph=GraphUse(params=lambda shapes, choose: {})),
    OpInfo("Tensor.squeeze", lambda x, **kw: x.squeeze(**kw),
           lambda x, **kw: x.squeeze(**torch_kw(kw)),
           lambda rng: [Sample((away(rng, (1, 3, 1)),), kw, note=str(kw)) for kw in
                        (dict(), dict(axis=0), dict(dim=-1), dict(axis=(0, 2)),
                         dict(axis=1))]),
    OpInfo("Tensor.unsqueeze", lambda x, **kw: x.unsqueeze(**kw),
           lambda x, **kw: x.unsqueeze(**torch_kw(kw)),
           lambda rng: [Sample((away(rng, (2, 3)),), kw, note=str(kw)) for kw in
                        (dict(axis=0), dict(dim=-1), dict(axis=1), dict(axis=-3))],
           graph=GraphUse(params=graph_new_axis)),
    OpInfo("Tensor.expand", lambda x, shape: x.expand(*shape), lambda x, shape: x.expand(*shape),
           lambda rng: [Sample((away(rng, a),), dict(shape=b), note=f"{a} to {b}") for a, b in
                        [((3, 1), (2, 3, 4)), ((3, 1), (-1, 4)), ((), (2, 3)), ((1, 4), (1, 4))]],
           graph=GraphUse(params=graph_expand)),
    OpInfo("Tensor.broadcast_to", lambda x, shape: x.broadcast_to(shape),
           lambda x, shape: x.broadcast_to(shape),
           lambda rng: [Sample((away(rng, (1, 4)),), dict(shape=(3, 2, 4)), note="new axes")]),
    OpInfo("Tensor.__getitem__", getitem_ours, getitem_theirs, getitem_samples,
           graph=GraphUse(params=graph_getitem)),
    OpInfo("ag.cat", lambda *xs, **kw: ag.cat(list(xs), **kw),
           lambda *xs, **kw: torch.cat(xs, **torch_kw(kw)), cat_samples,
           graph=GraphUse(arity=2, domains=("any", "any"), second="same", params=graph_cat)),
    OpInfo("ag.concatenate", lambda x, y: ag.concatenate([x, y], axis=1),
           lambda x, y: torch.concatenate([x, y], dim=1),
           lambda rng: [Sample((away(rng, (2, 1)), away(rng, (2, 2))))]),
    OpInfo("ag.stack", lambda *xs, **kw: ag.stack(list(xs), **kw),
           lambda *xs, **kw: torch.stack(xs, **torch_kw(kw)), stack_samples,
           graph=GraphUse(arity=2, domains=("any", "any"), second="same", params=graph_stack)),
    OpInfo("F.pad", F.pad, lambda x, **kw: TF.pad(x, **kw), pad_samples,
           graph=GraphUse(params=graph_pad)),
    OpInfo("F.flatten", lambda x: F.flatten(x), lambda x: x.flatten(1),
           unary_samples(shapes=[(2, 3, 2)])),

    # activations, normalisation
    OpInfo("F.relu", F.relu, lambda x: TF.relu(x),
           lambda rng: [Sample((tied(rng, (3, 4)),), note="zeros", smooth=False)]),
    OpInfo("F.leaky_relu", F.leaky_relu, lambda x, **kw: TF.leaky_relu(x, **kw),
           lambda rng: unary_samples()(rng) + [
               Sample((tied(rng, (3, 4)),), dict(negative_slope=0.2), note="zeros", smooth=False),
               Sample((away(rng, (3, 4)),), dict(negative_slope=-1.5), note="slope -1.5")],
           graph=UNARY_GRAPH),
    OpInfo("F.tanh", F.tanh, lambda x: torch.tanh(x), unary_samples(shapes=[(3, 4)])),
    OpInfo("F.sigmoid", F.sigmoid, lambda x: torch.sigmoid(x), unary_samples(shapes=[(3, 4)])),
    OpInfo("F.softmax", lambda x, **kw: F.softmax(x, **kw),
           lambda x, **kw: TF.softmax(x, **torch_kw(kw)),
           lambda rng: [Sample((away(rng, (2, 3, 4)) * 3,), kw, note=str(kw)) for kw in
                        (dict(axis=-1), dict(axis=0), dict(dim=1))],
           graph=GraphUse(params=graph_one_axis)),
    OpInfo("F.log_softmax", lambda x, **kw: F.log_softmax(x, **kw),
           lambda x, **kw: TF.log_softmax(x, **torch_kw(kw)),
           lambda rng: [Sample((away(rng, (2, 3, 4)) * 3,), kw, note=str(kw)) for kw in
                        (dict(axis=-1), dict(axis=0), dict(dim=1))] + [
               Sample((np.array([[1e4, 0.0, -1e4]]),), dict(dim=1), note="huge")],
           graph=GraphUse(params=graph_one_axis)),
    OpInfo("F.batch_norm", batch_norm_ours, batch_norm_theirs, batch_norm_samples),
    OpInfo("F.linear", F.linear, lambda x, w, b: TF.linear(x, w, b),
           lambda rng: [Sample((away(rng, x), away(rng, (5, 4)), away(rng, (5,))), note=str(x))
                        for x in [(3, 4), (2, 3, 4), (4,)]]),
    OpInfo("F.adaptive_avg_pool2d", F.adaptive_avg_pool2d,
           lambda x, **kw: TF.adaptive_avg_pool2d(x, **kw), adaptive_samples),
    OpInfo("F.conv1d", F.conv1d, lambda *a, **kw: TF.conv1d(*a, **kw), conv_samples(1)),
    OpInfo("F.conv2d", F.conv2d, lambda *a, **kw: TF.conv2d(*a, **kw), conv_samples(2)),
    OpInfo("F.max_pool1d", F.max_pool1d, lambda x, **kw: TF.max_pool1d(x, **kw),
           pool_samples(1, "max")),
    OpInfo("F.max_pool2d", F.max_pool2d, lambda x, **kw: TF.max_pool2d(x, **kw),
           pool_samples(2, "max")),
    OpInfo("F.avg_pool1d", F.avg_pool1d, lambda x, **kw: TF.avg_pool1d(x, **kw),
           pool_samples(1, "avg")),
    OpInfo("F.avg_pool2d", F.avg_pool2d, lambda x, **kw: TF.avg_pool2d(x, **kw),
           pool_samples(2, "avg")),

    # losses
    OpInfo("F.cross_entropy", F.cross_entropy,
           lambda x, target, **kw: TF.cross_entropy(x, target, **with_torch_weight(kw)),
           cross_entropy_samples),
    OpInfo("F.nll_loss", F.nll_loss,
           lambda x, target, **kw: TF.nll_loss(x, target, **with_torch_weight(kw)),
           lambda rng: [s for s in cross_entropy_samples(rng)
                        if "label_smoothing" not in s.kwargs]),
    OpInfo("F.mse_loss", F.mse_loss, lambda x, y: TF.mse_loss(x, y),
           lambda rng: [Sample((away(rng, s), away(rng, s)), note=str(s))
                        for s in [(5,), (3, 4), (1, 2, 2)]]),
    OpInfo("F.binary_cross_entropy", F.binary_cross_entropy,
           lambda p, target, **kw: TF.binary_cross_entropy(p, target, **with_torch_weight(kw)),
           bce_samples),
    OpInfo("F.binary_cross_entropy_with_logits", F.binary_cross_entropy_with_logits,
           lambda x, target, **kw: TF.binary_cross_entropy_with_logits(
               x, target, **with_torch_weight(kw)),
           bce_logits_samples),
]

# Public names that have no row, and why.
NOT_IN_THE_TABLE = {
    "F.dropout": "a random mask: tests/test_functional.py compares it with PyTorch's, mask "
                 "for mask",
    "Tensor.clone": "the identity with a copy: tests/test_inplace.py",
    "Tensor.detach": "outside the graph by design",
}
