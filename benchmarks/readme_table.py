"""The README's Performance table from one run's JSON: every row, six columns, no notes.

    .venv/bin/python -m benchmarks.run --json results.json
    .venv/bin/python -m benchmarks.readme_table results.json
"""

import json
import sys

from .common import format_figure, format_ratio


def readme_table(results):
    """The Markdown table (item, benchmark, tapegrad, PyTorch, ratio, target) of a run."""
    lines = ["| item | benchmark | tapegrad | PyTorch | ratio | target |", "|---|---|---|---|---|---|"]
    for r in results["rows"]:
        target = r["target_text"] + (", missed" if r["met"] is False else "")
        lines.append(f"| {r['item']} | {r['label']} | {format_figure(r['ours'], r['unit'])} | "
                     f"{format_figure(r['torch'], r['unit'])} | {format_ratio(r['ratio'])} | "
                     f"{target} |")
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
