"""The README's Performance table from one run's JSON: every row, six columns, no notes.

    .venv/bin/python -m benchmarks.run --json results.json
    .venv/bin/python -m benchmarks.readme_table results.json
"""

import json
import sys

from .run import _format


def readme_table(results):
    """The Markdown table (item, benchmark, tapegrad, PyTorch, ratio, target) of a run."""
    lines = ["| item | benchmark | tapegrad | PyTorch | ratio | target |", "|---|---|---|---|---|---|"]
    for r in results["rows"]:
        ratio = "" if r["ratio"] is None else f"{r['ratio']:.2f}x"
        target = r["target_text"] + (", missed" if r["met"] is False else "")
        lines.append(f"| {r['item']} | {r['label']} | {_format(r['ours'], r['unit'])} | "
                     f"{_format(r['torch'], r['unit'])} | {ratio} | {target} |")
    return "\n".join(lines)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m benchmarks.readme_table results.json", file=sys.stderr)
        return 2
    with open(argv[0]) as source:
        print(readme_table(json.load(source)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
