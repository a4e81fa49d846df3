"""The README's Layout, checked: which package may import which (read from the source, not run)."""

import ast
import pathlib
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
STDLIB = set(sys.stdlib_module_names)


def imports(path):
    """Every module a file imports, as absolute dotted names (relative ones resolved)."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    if path.name != "__init__.py":
        package = package.rsplit(".", 1)[0]
    names = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[:len(package.split(".")) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            names += [module] if node.module else [f"{module}.{a.name}" for a in node.names]
    return names


def files(folder):
    return sorted((ROOT / folder).rglob("*.py"))


def top(name):
    return name.split(".")[0]


@pytest.mark.parametrize("path", files("nodes"), ids=lambda p: str(p.relative_to(ROOT)))
def test_nodes_depend_on_numpy_only(path):
    """nodes/ knows nothing of tensors, tapes or layers, and needs nothing but NumPy."""
    for name in imports(path):
        assert top(name) in STDLIB | {"numpy", "nodes"}, f"{path.name} imports {name}"


@pytest.mark.parametrize("path", files("nodes/kernels"), ids=lambda p: p.name)
def test_kernels_do_not_import_the_nodes(path):
    """The nodes ask the kernels (nodes.kernels.find), never the other way round."""
    for name in imports(path):
        if top(name) == "nodes":
            assert name.startswith("nodes.kernels"), f"{path.name} imports {name}"


CORE = ["tensor.py", "tape.py", "gradcheck.py", "functional.py", "optim.py", "serialization.py",
        "allocator.py", "models.py", "nn", "data"]


@pytest.mark.parametrize("path", [p for entry in CORE for p in (
    [ROOT / "autograd" / entry] if entry.endswith(".py") else files(f"autograd/{entry}"))
    if p.exists()], ids=lambda p: str(p.relative_to(ROOT)))
def test_the_engine_does_not_import_its_views_or_commands(path):
    """Arrows run one way: viz and commands read the engine; the engine never imports them."""
    for name in imports(path):
        assert not name.startswith(("autograd.viz", "autograd.commands", "autograd.onnx")), \
            f"{path.name}: {name}"


@pytest.mark.parametrize("path", files("autograd") + files("nodes"), ids=lambda p: str(p.relative_to(ROOT)))
def test_torch_is_never_imported_by_the_package(path):
    """PyTorch is for the tests and benchmarks only, never a runtime dependency; onnx (an
    extra, tapegrad[onnx]) by autograd/onnx/ alone, which the engine never imports."""
    in_onnx = (ROOT / "autograd" / "onnx") in path.parents
    for name in imports(path):
        assert top(name) != "torch", path.name
        assert in_onnx or top(name) != "onnx", f"{path.name} imports {name}"
