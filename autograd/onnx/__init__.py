"""Hand-off through ONNX, the format every runtime reads: ``export`` and ``load``.

    import autograd.onnx
    autograd.onnx.export(model, x[:2], "model.onnx")   # run it in onnxruntime, anywhere
    model = autograd.onnx.load("model.onnx")            # a tapegrad Module: train it, draw it,
                                                        # step through its backprop

Export records one forward pass on the example inputs and writes each recorded node as
the ONNX operators its class declares beside its passes (``onnx_op``, or a method
``onnx(self, graph, inputs)``; see ``autograd/onnx/builder.py``). Load replays an ONNX graph
with tapegrad's operations. Both need PyPI's ``onnx`` package (``pip install
tapegrad[onnx]``), which tapegrad itself never needs: nothing else imports this package.
"""


class OnnxError(ValueError):
    """An ONNX file that cannot be loaded, or a model that cannot be exported; the message
    names the file or the node and what to do."""


def require(what):
    """An ImportError saying how to install onnx, unless it is installed; ``what`` needs it."""
    try:
        import onnx  # noqa: F401  (PyPI's onnx, not this package: imports are absolute)
    except ImportError:
        raise ImportError(f"{what} needs the onnx package, which tapegrad does not install by "
                          "default: pip install tapegrad[onnx] (or pip install onnx)") from None


def export(model_or_fn, example_inputs, path, input_names=None, output_names=None,
           dynamic_batch=True, opset=None):
    """Write ``model_or_fn`` (a Module, in eval mode while it is recorded, or a function of
    tensors) as an ONNX model at ``path``, from one forward pass on ``example_inputs`` (a
    tensor or array, or a tuple of them). Parameters become initializers with their
    state-dict names; other constants are folded into the graph. With ``dynamic_batch``
    axis 0 of every input and output is the batch axis, of any size. ``opset`` defaults to
    18. Returns the ``onnx.ModelProto`` that was written (checked by onnx.checker).

    What the tape does not record is folded as a constant of the example: values computed
    through ``.data`` or NumPy, and arithmetic on comparison masks (a mask itself, as in
    ``where(x > 0, ...)``, is written as the comparison)."""
    require("autograd.onnx.export")
    from .exporter import export as run
    return run(model_or_fn, example_inputs, path, input_names, output_names, dynamic_batch, opset)


def load(path):
    """The ONNX model at ``path`` as a tapegrad Module whose forward replays its graph with
    tapegrad's operations; its initializers are Parameters that require a gradient (batch
    norm's running statistics are buffers), named as in the file. A file that is not a
    model tapegrad can run is an ``OnnxError`` naming the file and the cause."""
    require("autograd.onnx.load")
    from .importer import load as run
    return run(path)


__all__ = ["export", "load", "OnnxError", "require"]
