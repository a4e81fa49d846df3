"""The README's commands and snippets: what a newcomer runs first must work."""

import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def quick_start_commands():
    section = README.split("## Quick start", 1)[1]
    block = re.search(r"```(?:sh|bash)\n(.*?)```", section, re.S).group(1)
    return [line for line in block.splitlines() if line.strip()]


def test_quick_start_has_exactly_two_commands_and_ci_runs_the_second():
    commands = quick_start_commands()
    assert len(commands) == 2
    ci = (ROOT / ".ci" / "run").read_text()
    assert commands[1] in ci.splitlines()


PYTHON_BLOCKS = re.findall(r"```python\n(.*?)```", README, re.S)


@pytest.mark.parametrize("index", range(len(PYTHON_BLOCKS)))
def test_readme_python_snippets_run_and_print_what_their_comments_say(index, tmp_path):
    code = PYTHON_BLOCKS[index]
    if 'ag.load("weights.npz")' in code:  # the snippet that follows `python -m autograd train`
        subprocess.run([sys.executable, "-m", "autograd", "train", "--epochs", "1", "--no-progress"],
                       cwd=tmp_path, capture_output=True, check=True, timeout=300)
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    # Each `print(...)  # text` must print a line starting with text, in order (other
    # output may come between).
    printed = iter(result.stdout.splitlines())
    for line in code.splitlines():
        match = re.match(r"\s*print\(.*\)\s+# (.+?)(?::.*)?$", line)
        if match:
            expected = match.group(1).strip().split(" ...")[0]
            assert any(out.strip().startswith(expected) for out in printed), (
                f"README snippet {index}: no printed line starts with {expected!r}")


def test_the_performance_table_is_the_benchmarks_own():
    """The README's short table is pasted from `python -m benchmarks.readme_table`: it has
    exactly the rows a full run gives (``benchmarks.common.ROWS``, which the benchmarks'
    smoke test checks a run against), in their order, each in six columns."""
    from benchmarks.common import ROWS  # side-effect free, unlike benchmarks.run
    section = README.split("## Performance", 1)[1].split("\n## ", 1)[0]
    assert "python -m benchmarks.run" in section
    lines = section.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("| item |"))
    table = lines[first:lines.index("", first)]
    assert table[1].startswith("|---"), "the table's second line is not its header rule"
    rows = table[2:]
    assert all(row.count("|") == 7 for row in rows), "a row lost a column"
    cells = [[cell.strip() for cell in row.split("|")[1:3]] for row in rows]
    assert len(cells) == len(ROWS), f"{len(cells)} rows in the README's table, a run gives {len(ROWS)}"
    for (item, label), (key, expected_item, part) in zip(cells, ROWS):
        assert item == expected_item and part in label, (
            f"the README's row {item} {label!r} is not the run's {key!r} "
            f"(item {expected_item}, {part!r})")
