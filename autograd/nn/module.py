"""Module and Parameter: the bookkeeping every layer shares.

A ``Module`` holds its ``Parameter``s, its buffers (arrays it keeps and saves but does not
learn, such as BatchNorm's running statistics) and its child modules in the order they were
assigned; ``parameters()``, ``state_dict()`` and the repr walk that tree with an explicit
stack (no recursion). Calling a module runs ``forward`` inside ``autograd.scope`` so every
node it makes remembers the layer (``node._scope.path`` like ``"features.0"``), which the
diagrams use to draw one box per layer.
"""

import threading
from collections import OrderedDict, namedtuple
from itertools import chain

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
    ``kind`` the class name; the outermost call also names every parameter and buffer after
    its dotted path (``"0.weight"``, ``"1.running_mean"``) and each call records the output
    shape for the repr.
    """

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent", set())
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
            self._forget(name, but="_parameters")
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._forget(name, but="_modules")
            self._modules[name] = value
            object.__setattr__(value, "_name", name)
        elif name in self._buffers:  # a new value for a buffer, which stays a buffer
            value = self._as_buffer(name, value)
            self._buffers[name] = value
        else:
            self._forget(name)
        object.__setattr__(self, name, value)

    def __delattr__(self, name):
        self._forget(name)
        object.__delattr__(self, name)

    def _forget(self, name, but=None):
        """Remove ``name`` from the registries (all but ``but``)."""
        for registry in ("_parameters", "_buffers", "_modules"):
            if registry != but:
                getattr(self, registry).pop(name, None)
        if but != "_buffers":
            self._non_persistent.discard(name)

    def register_buffer(self, name, value, persistent=True):
        """Keep ``value`` (an array or Tensor, or None) as the buffer ``name``: an attribute that
        ``state_dict()`` saves and ``load_state_dict()`` restores (unless ``persistent=False``)
        but that is not a parameter: no gradient, and optimizers never see it. BatchNorm keeps
        its running statistics so, as in PyTorch. Assigning to the name later replaces the
        buffer's value."""
        owner = type(self).__name__
        if "_buffers" not in self.__dict__:
            raise AttributeError(f"{owner}: call super().__init__() before register_buffer")
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"{owner}.register_buffer: the name must be an identifier, got "
                             f"{name!r}")
        if name in self._parameters or name in self._modules or (
                hasattr(self, name) and name not in self._buffers):
            raise KeyError(f"{owner}.register_buffer: {name!r} is already an attribute of the "
                           "module; pick another name")
        self._buffers[name] = None  # so that the assignment below takes the buffer branch
        if persistent:
            self._non_persistent.discard(name)
        else:
            self._non_persistent.add(name)
        setattr(self, name, value)

    def _as_buffer(self, name, value):
        """A buffer's value as a Tensor that takes no gradient (or None)."""
        if value is None:
            return None
        if not isinstance(value, (Tensor, np.ndarray, np.generic)):
            raise TypeError(f"{type(self).__name__}: the buffer {name!r} holds an array or a "
                            f"Tensor (or None), got {type(value).__name__}")
        if isinstance(value, Tensor) and (value.requires_grad or not value.is_leaf):
            raise ValueError(f"{type(self).__name__}: the buffer {name!r} takes no gradient; "
                             "assign value.detach()")
        return value if isinstance(value, Tensor) else Tensor(value)

    def forward(self, *inputs):
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *inputs, **kwargs):
        running = _running.modules
        if not running:
            name = ""
            for dotted, tensor in chain(self.named_parameters(), self.named_buffers()):
                tensor.name = dotted
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

    def named_buffers(self):
        """(dotted name, buffer) for every buffer that holds a value, each once."""
        seen = set()
        for prefix, module in self.named_modules():
            for name, buffer in module._buffers.items():
                if buffer is None or id(buffer) in seen:
                    continue
                seen.add(id(buffer))
                yield (f"{prefix}.{name}" if prefix else name), buffer

    def buffers(self):
        return (buffer for _, buffer in self.named_buffers())

    def _named_state(self):
        """(dotted name, tensor) for what the state dict holds: each module's parameters, then
        its persistent buffers, module after module (PyTorch's order); each tensor once."""
        seen = set()
        for prefix, module in self.named_modules():
            entries = list(module._parameters.items()) + [
                (name, buffer) for name, buffer in module._buffers.items()
                if buffer is not None and name not in module._non_persistent]
            for name, tensor in entries:
                if id(tensor) in seen:
                    continue
                seen.add(id(tensor))
                yield (f"{prefix}.{name}" if prefix else name), tensor

    def num_parameters(self):
        """How many numbers the module learns (each shared parameter counted once)."""
        return sum(p.data.size for p in self.parameters())

    # ------------------------------------------------------------ modes and gradients
    def train(self, mode=True):
        """Training mode for this module and all below it (dropout active, BatchNorm on the
        batch's statistics); returns self."""
        for module in self.modules():
            object.__setattr__(module, "training", bool(mode))
        return self

    def eval(self):
        """Evaluation mode (dropout off, BatchNorm on its running statistics); returns self."""
        return self.train(False)

    def zero_grad(self):
        """Forget the accumulated gradients: every parameter's ``.grad`` becomes None."""
        for parameter in self.parameters():
            parameter.grad = None

    def to(self, dtype):
        """Convert every parameter, and every floating-point buffer, to a floating dtype
        (``np.float64`` for gradchecks); returns self. Integer buffers (BatchNorm's
        ``num_batches_tracked``) stay integers, as in PyTorch."""
        dtype = np.dtype(dtype)
        if dtype.kind != "f":
            raise TypeError(f"{type(self).__name__}.to: parameters must be floating point, got {dtype}")
        for parameter in self.parameters():
            parameter.data = parameter.data.astype(dtype)
            parameter.grad = None
        for buffer in self.buffers():
            if buffer.data.dtype.kind == "f":
                buffer.data = buffer.data.astype(dtype)
        return self

    # ------------------------------------------------------------ weights
    def state_dict(self):
        """Dotted names -> copies of the arrays of the parameters and the persistent buffers
        (what ``autograd.save`` writes), with PyTorch's names and order."""
        return OrderedDict((name, t.data.copy()) for name, t in self._named_state())

    def load_state_dict(self, state_dict, strict=True):
        """Copy arrays into the parameters and buffers, keeping each one's dtype.

        Entries whose shape differs from the parameter's are always an error; with
        ``strict=True`` (the default) so are missing and unexpected names. Nothing is
        changed unless every entry fits. Returns ``(missing_keys, unexpected_keys)``.
        """
        own = OrderedDict(self._named_state())
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
        for name, tensor in own.items():
            if name in arrays:
                tensor.data[...] = arrays[name]
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
