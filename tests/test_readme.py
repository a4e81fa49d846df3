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
