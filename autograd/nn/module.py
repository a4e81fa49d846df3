"""Module and Parameter: the bookkeeping every layer shares.

A ``Module`` holds its ``Parameter``s and its child modules in the order they were
assigned; ``parameters()``, ``state_dict()`` and the repr walk that tree with an explicit
stack (no recursion). Calling a module runs ``forward`` inside ``autograd.scope`` so every
node it makes remembers the layer (``node._scope.path`` like ``"features.0"``), which the
diagrams use to draw one box per layer.
"""

import threading
from collections import OrderedDict, namedtuple

import numpy as np

from ..tape import scope, state
from ..tensor import Tensor


class Parameter(Tensor):
    """A tensor a module learns: a leaf with ``requires_grad=True``.

    NumPy arrays keep their floating dtype; other data (lists, Python floats) becomes
    float32, as in PyTorch. Modules set ``.name`` to the parameter's dotted name
    (``"0.weight"``) so diagrams can label it.
    """

    __slots__ = ()

    def __init__(self, data, requires_grad=True, dtype=None, name=None):
        if isinstance(data, Tensor):
            data = data.data
        if dtype is None:
            is_array = isinstance(data, (np.ndarray, np.generic))
            if not is_array or np.asarray(data).dtype.kind != "f":
                dtype = np.float32
        super().__init__(data, requires_grad=requires_grad, dtype=dtype, name=name)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


IncompatibleKeys = namedtuple("IncompatibleKeys", "missing_keys unexpected_keys")
IncompatibleKeys.__doc__ = ("What load_state_dict(strict=False) skipped: names missing from, "
                            "and unknown to, the model.")


class _Running(threading.local):
    """The modules whose forward is running in this thread, outermost first (per thread, as
    the tape's module scope is: two threads calling models at once must not nest them)."""

    def __init__(self):
        self.modules = []


_running = _Running()


class Module:
    """Base class of layers and models: subclass it, assign layers and ``Parameter``s as
    attributes in ``__init__``, and write ``forward``.

    ``model(x)`` runs ``forward(x)`` inside ``autograd.scope(name, kind)``, where ``name`` is
    the attribute name under the parent module ('' for the module called first) and
    ``kind`` the class name; the outermost call also names every parameter after its dotted
    path (``"0.weight"``) and each call records the output shape for the repr.
    """

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_name", "")
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "output_shape", None)

    # ------------------------------------------------------------ registration
    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__}: call super().__init__() at the start of "
                                 f"__init__, before assigning {name!r}")
        # Replacing a parameter or layer keeps its place (dict assignment keeps order), so
        # model.relu = X on a Sequential does not change the order its layers run in.
        if isinstance(value, Parameter):
            self._modules.pop(name, None)
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._parameters.pop(name, None)
            self._modules[name] = value
            object.__setattr__(value, "_name", name)
        else:
            self._parameters.pop(name, None)
            self._modules.pop(name, None)
        object.__setattr__(self, name, value)

    def __delattr__(self, name):
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        object.__delattr__(self, name)

    def forward(self, *inputs):
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *inputs, **kwargs):
        running = _running.modules
        if not running:
            name = ""
            for dotted, parameter in self.named_parameters():
                parameter.name = dotted
        else:
            name = self._name_under(running[-1])
        running.append(self)
        try:
            with scope(name, type(self).__name__):
                output = self.forward(*inputs, **kwargs)
        finally:
            running.pop()
        if isinstance(output, Tensor):
            object.__setattr__(self, "output_shape", output.shape)
        return output

    def _name_under(self, parent):
        """This module's attribute name in the module calling it (one layer object can sit in
        several containers); ``_name`` when the caller does not hold it as a child."""
        for name, child in parent._modules.items():
            if child is self:
                return name
        return self._name

    def _label(self):
        """How errors name this module: its dotted path and class, e.g. 'features.0 (Conv2d)'."""
        path = state.scope.path if state.scope is not None else self._name
        kind = type(self).__name__
        return f"{path} ({kind})" if path else kind

    # ------------------------------------------------------------ the module tree
    def children(self):
        """The direct child modules, in assignment order."""
        return iter(self._modules.values())

    def named_children(self):
        return iter(self._modules.items())

    def named_modules(self):
        """(dotted name, module) for this module ('') and every module below it, depth first,
        each module once."""
        seen = set()
        stack = [("", self)]
        while stack:
            prefix, module = stack.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
            yield prefix, module
            children = [(f"{prefix}.{name}" if prefix else name, child)
                        for name, child in module._modules.items()]
            stack.extend(reversed(children))

    def modules(self):
        return (module for _, module in self.named_modules())

    def named_parameters(self):
        """(dotted name, parameter) for every parameter, each once even when shared."""
        seen = set()
        for prefix, module in self.named_modules():
            for name, parameter in module._parameters.items():
                if id(parameter) in seen:
                    continue
                seen.add(id(parameter))
                yield (f"{prefix}.{name}" if prefix else name), parameter

    def parameters(self):
        return (parameter for _, parameter in self.named_parameters())

    def num_parameters(self):
        """How many numbers the module learns (each shared parameter counted once)."""
        return sum(p.data.size for p in self.parameters())

    # ------------------------------------------------------------ modes and gradients
    def train(self, mode=True):
        """Training mode (dropout active) for this module and all below it; returns self."""
        for module in self.modules():
            object.__setattr__(module, "training", bool(mode))
        return self

    def eval(self):
        """Evaluation mode (dropout off); returns self."""
        return self.train(False)

    def zero_grad(self):
        """Forget the accumulated gradients: every parameter's ``.grad`` becomes None."""
        for parameter in self.parameters():
            parameter.grad = None

    def to(self, dtype):
        """Convert every parameter to a floating dtype (``np.float64`` for gradchecks); returns self."""
        dtype = np.dtype(dtype)
        if dtype.kind != "f":
            raise TypeError(f"{type(self).__name__}.to: parameters must be floating point, got {dtype}")
        for parameter in self.parameters():
            parameter.data = parameter.data.astype(dtype)
            parameter.grad = None
        return self

    # ------------------------------------------------------------ weights
    def state_dict(self):
        """Dotted parameter names -> copies of their arrays (what ``autograd.save`` writes)."""
        return OrderedDict((name, p.data.copy()) for name, p in self.named_parameters())

    def load_state_dict(self, state_dict, strict=True):
        """Copy arrays into the parameters, keeping each parameter's dtype.

        Entries whose shape differs from the parameter's are always an error; with
        ``strict=True`` (the default) so are missing and unexpected names. Nothing is
        changed unless every entry fits. Returns ``(missing_keys, unexpected_keys)``.
        """
        own = OrderedDict(self.named_parameters())
        arrays = {}
        for name, value in state_dict.items():
            arrays[name] = np.asarray(value.data if isinstance(value, Tensor) else value)
        missing = [name for name in own if name not in arrays]
        unexpected = [name for name in arrays if name not in own]
        misshaped = [name for name in own if name in arrays and arrays[name].shape != own[name].shape]
        not_numeric = [name for name in own if name in arrays and arrays[name].dtype.kind not in "biuf"]
        problems = []
        if misshaped:
            problems.append("shapes differ: " + ", ".join(
                f"{n} is {own[n].shape} in the model but {arrays[n].shape} in the state dict"
                for n in misshaped))
        if not_numeric:
            problems.append("not numbers: " + ", ".join(f"{n} has dtype {arrays[n].dtype}"
                                                        for n in not_numeric))
        if strict and missing:
            problems.append("missing: " + ", ".join(f"{n} {own[n].shape}" for n in missing))
        if strict and unexpected:
            problems.append("unexpected: " + ", ".join(f"{n} {arrays[n].shape}" for n in unexpected))
        if problems:
            message = (f"{type(self).__name__}.load_state_dict: the state dict does not fit the "
                       "model: " + "; ".join(problems) + ".")
            if misshaped or missing:
                message += " Was it saved from a different model (other layers or sizes)?"
            if not misshaped and not not_numeric:
                message += " Pass strict=False to load only the entries that match."
            raise ValueError(message)
        for name, parameter in own.items():
            if name in arrays:
                parameter.data[...] = arrays[name]
        return IncompatibleKeys(missing, unexpected)

    # ------------------------------------------------------------ summary
    def extra_repr(self):
        """The constructor arguments shown in the summary, e.g. '1, 16, kernel_size=3'."""
        return ""

    def __repr__(self):
        return summary(self)


def _count(n):
    return f"{n:,}"


def summary(model):
    """A model summary: one line per module with its output shape (once it has run) and
    the number of parameters it holds itself, then the total."""
    rows = []
    seen_parameters = set()
    total = 0
    stack = [(0, "", model)]
    seen_modules = set()
    while stack:
        depth, name, module = stack.pop()
        shared = id(module) in seen_modules
        seen_modules.add(id(module))
        own = 0
        for p in module._parameters.values():
            if id(p) not in seen_parameters:
                seen_parameters.add(id(p))
                own += p.data.size
        total += own
        label = f"{type(module).__name__}({module.extra_repr()})"
        if name:
            label = f"({name}): {label}"
        if shared:
            label += "  [shared, shown above]"
        shape = "" if module.output_shape is None else str(tuple(module.output_shape))
        rows.append(("  " * depth + label, shape, _count(own) if own else ""))
        if not shared:
            stack.extend((depth + 1, n, child) for n, child in reversed(module._modules.items()))
    header = ("layer", "output shape", "parameters")
    widths = [max(len(row[i]) for row in rows + [header]) for i in range(3)]
    lines = [f"{header[0]:<{widths[0]}}  {header[1]:<{widths[1]}}  {header[2]:>{widths[2]}}"]
    for label, shape, count in rows:
        lines.append(f"{label:<{widths[0]}}  {shape:<{widths[1]}}  {count:>{widths[2]}}".rstrip())
    if all(module.output_shape is None for module in model.modules()):
        lines.append("(output shapes appear once the model has run on an input)")
    trainable = sum(p.data.size for p in model.parameters() if p.requires_grad)
    lines.append(f"total: {_count(total)} parameters" +
                 (f" ({_count(trainable)} trainable)" if trainable != total else ""))
    return "\n".join(lines)


class Sequential(Module):
    """Modules applied one after the other.

    ``Sequential(a, b, c)`` names the children '0', '1', '2'; ``Sequential(OrderedDict(
    conv=..., relu=...))`` (or a dict) names them by its keys, which then appear in
    parameter names ('conv.weight') and diagrams.
    """

    def __init__(self, *layers):
        super().__init__()
        if len(layers) == 1 and isinstance(layers[0], dict):
            named = list(layers[0].items())
        else:
            named = [(str(index), layer) for index, layer in enumerate(layers)]
        for name, layer in named:
            if not isinstance(layer, Module):
                raise TypeError(f"Sequential: layer {name!r} is a {type(layer).__name__}, not a "
                                "Module; wrap functions in a Module subclass")
            if not isinstance(name, str) or not name.isidentifier() and not name.isdigit():
                raise ValueError(f"Sequential: layer names must be identifiers, got {name!r}")
            if hasattr(Sequential, name):
                raise ValueError(f"Sequential: a layer cannot be called {name!r}, which would hide "
                                 f"the method Sequential.{name}; pick another name")
            setattr(self, name, layer)

    def forward(self, x):
        for layer in self._modules.values():
            x = layer(x)
        return x

    def __getitem__(self, index):
        """A layer by position (``model[0]``) or name (``model['conv']``); a slice is a Sequential."""
        if isinstance(index, str):
            return self._modules[index]
        layers = list(self._modules.items())
        if isinstance(index, slice):
            return Sequential(OrderedDict(layers[index]))
        return layers[index][1]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())
