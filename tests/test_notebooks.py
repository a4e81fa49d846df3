"""The course notebooks: each runs top to bottom in a fresh kernel, and is committed clean.

The notebooks' own ``assert``s check the course notes' numbers, so an execution error
here means a wrong number (or a broken API), not just a crash.

Decision: the ``.ipynb`` files are committed with their outputs cleared and no execution
counts, so diffs stay small; the readable source is the paired jupytext "percent" script
``.py`` next to each, and the two must hold the same cells. After editing a ``.py``,
regenerate its notebook with ``jupytext --update --to ipynb notebooks/NN_name.py``
(``--update`` keeps the cell ids, so the diff shows only what changed).
"""

import os
import pathlib
import shutil

import pytest

nbformat = pytest.importorskip("nbformat")

ROOT = pathlib.Path(__file__).resolve().parent.parent
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
SCRIPTS = sorted(NOTEBOOK_DIR.glob("[0-9]*.py"))
EXPECTED = [
    "01_computational_graphs", "02_convolution", "03_pooling", "04_backprop_small_cnn",
    "05_training_a_cnn", "06_your_own_primitive", "07_exercises",
]
CELL_TIMEOUT = 600  # seconds per cell: a guard against a hung kernel, not a speed test


def ids(paths):
    return [p.stem for p in paths]


def test_the_seven_course_notebooks_are_there_each_with_its_script():
    assert [p.stem for p in NOTEBOOKS] == EXPECTED
    assert [p.stem for p in SCRIPTS] == EXPECTED


def test_the_readme_links_every_notebook_with_a_line_on_what_it_teaches():
    readme = (ROOT / "README.md").read_text()
    assert "## Notebooks" in readme, "README.md needs a '## Notebooks' section"
    section = readme.split("## Notebooks", 1)[1].split("\n## ", 1)[0]
    for name in EXPECTED:
        link = f"(notebooks/{name}.ipynb)"
        lines = [line for line in section.splitlines() if link in line]
        assert len(lines) == 1, f"the README's Notebooks section should link notebooks/{name}.ipynb once"
        assert len(lines[0].split(link, 1)[1].strip(" :-—")) > 20, f"say what {name} teaches"


def dirty_cells(notebook):
    """Indices of the code cells that hold outputs or an execution count."""
    return [index for index, cell in enumerate(notebook.cells) if cell.cell_type == "code"
            and (cell.get("outputs") or cell.get("execution_count") is not None)]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids(NOTEBOOKS))
def test_notebook_is_committed_with_outputs_cleared(path):
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    dirty = dirty_cells(notebook)
    assert not dirty, (
        f"{path.name}: code cells {dirty} hold outputs or execution counts; notebooks are "
        f"committed cleared: regenerate with `jupytext --update --to ipynb notebooks/{path.stem}.py` "
        f"(or `jupyter nbconvert --clear-output --inplace {path.name}`)")
    assert "widgets" not in notebook.metadata, f"{path.name}: saved widget state in the metadata"


def _cells(path):
    """(cell type, source) of each cell of a notebook or of a jupytext script."""
    jupytext = pytest.importorskip("jupytext")
    return [(cell.cell_type, cell.source.strip()) for cell in jupytext.read(path).cells]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids(NOTEBOOKS))
def test_notebook_has_the_same_cells_as_its_paired_script(path):
    script = path.with_suffix(".py")
    assert script.exists(), f"{path.name} has no paired jupytext script {script.name}"
    from_notebook = _cells(path)
    from_script = _cells(script)
    code_notebook = [source for kind, source in from_notebook if kind == "code"]
    code_script = [source for kind, source in from_script if kind == "code"]
    assert code_notebook == code_script, (
        f"{path.name} and {script.name} differ in their code cells: regenerate the notebook "
        f"with `jupytext --update --to ipynb notebooks/{script.name}`")
    assert from_notebook == from_script, (
        f"{path.name} and {script.name} differ in their text cells: regenerate the notebook "
        f"with `jupytext --update --to ipynb notebooks/{script.name}`")


def test_a_changed_script_is_detected_as_out_of_sync(tmp_path):
    """The pairing check must catch a script edited without regenerating its notebook."""
    source = NOTEBOOK_DIR / f"{EXPECTED[0]}.py"
    script = tmp_path / source.name
    script.write_text(source.read_text().replace("import numpy as np", "import numpy as numpy_", 1))
    assert _cells(script) != _cells(source.with_suffix(".ipynb"))


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids(NOTEBOOKS))
def test_notebook_runs_top_to_bottom_in_a_fresh_kernel(path, tmp_path, monkeypatch):
    # The exercises (notebook 07) check the worked answers instead of the empty learner
    # cells, so every exercise must accept a right answer and reject the wrong variants.
    monkeypatch.setenv("TAPEGRAD_SOLUTIONS", "1")
    notebook = execute(path, tmp_path, monkeypatch)
    pictures = [output for cell in notebook.cells if cell.cell_type == "code"
                for output in cell.outputs
                if output.output_type in ("display_data", "execute_result")
                and {"image/png", "image/svg+xml"} & set(output.get("data", {}))]
    assert pictures, f"{path.name} showed no picture (matplotlib figure or diagram)"
    assert dirty_cells(notebook), "the cleared-outputs check must catch an executed notebook"
    if path.stem == "07_exercises":  # the kernel saw the flag: the eight worked answers passed
        assert printed(notebook).count(": right on all ") == 8


@pytest.mark.slow
def test_the_exercises_notebook_runs_for_a_learner_who_has_written_nothing(tmp_path, monkeypatch):
    """As committed, each exercise's cell raises NotImplementedError in its backwardPass: the
    checks say "not written yet" and the notebook still runs to the end."""
    monkeypatch.delenv("TAPEGRAD_SOLUTIONS", raising=False)
    notebook = execute(NOTEBOOK_DIR / "07_exercises.ipynb", tmp_path, monkeypatch)
    assert printed(notebook).count(": not written yet: your backwardPass raises") == 8


def printed(notebook):
    """What the notebook's code cells printed."""
    return "".join(output.get("text", "") for cell in notebook.cells if cell.cell_type == "code"
                   for output in cell.outputs if output.output_type == "stream")


def execute(path, tmp_path, monkeypatch):
    """Run a copy of the notebook in a fresh kernel; fail on any error; return it executed."""
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    copy = tmp_path / path.name
    shutil.copy(path, copy)
    notebook = nbformat.read(copy, as_version=4)
    # The kernel "python3" runs on this interpreter (jupyter_client replaces the kernel
    # spec's "python" with sys.executable), in a temporary folder, and imports this
    # checkout's autograd and nodes first, whatever else is installed.
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the kernel then shows figures inline
    client = nbclient.NotebookClient(notebook, timeout=CELL_TIMEOUT, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    errors = [output for cell in notebook.cells if cell.cell_type == "code"
              for output in cell.outputs if output.output_type == "error"]
    assert not errors
    assert all(cell.execution_count is not None for cell in notebook.cells if cell.cell_type == "code")
    return notebook
