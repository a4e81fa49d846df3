"""The step-through as one self-contained HTML page (made by ``Stepper.to_html``).

The page holds everything it needs: the frames as JSON, each with its diagram as inline
SVG, and the style and controls from ``static/stepper.css``, ``static/fit.js`` and
``static/stepper.js`` (shipped as package data, read with ``importlib.resources`` and
inlined). It needs no network, server or Jupyter. The diagram fills the window beside the
text and is fitted to it by default; unticked, it shows at 100% and scrolls so that the
current node (the output at the start of backprop) is in view. Beside the step's text, its
image-shaped tensors are drawn as pictures (``pictures.py``, ``static/pictures.js``), each
picture once per page in a table the frames refer to.
"""

import functools
import html
import importlib.resources
import json
import os

from .pictures import PictureTable, frame_html
from .step_diagram import frame_svg


def write_page(stepper, path, overwrite, forward, interval, title, diagrams, rankdir):
    """Write ``stepper``'s frames to ``path`` as one page and return the path.

    An existing file is kept unless ``overwrite``; nothing is written when a diagram
    cannot be drawn.
    """
    path = os.fspath(path)
    if os.path.exists(path) and not overwrite:
        raise FileExistsError(f"Stepper.to_html: {path} already exists; pass overwrite=True "
                              "to replace it, or choose another path")
    records, table = [], PictureTable()
    for frame in stepper.frames(forward):
        svg, focus = frame_svg(stepper.output, frame, rankdir) if diagrams else ("", None)
        pictures = frame_html(frame.get("step"), table)
        records.append({"counter": frame["counter"], "title": frame["title"],
                        "text": frame["text"], "svg": svg, "focus": focus,
                        "pictures": pictures})
    page = _page(records, title or "tapegrad: backprop step by step", interval, table.entries)
    with open(path, "w" if overwrite else "x", encoding="utf-8") as handle:
        handle.write(page)
    return path


@functools.lru_cache(maxsize=None)
def _static(name):
    """The text of ``static/<name>``, from the installed package."""
    return (importlib.resources.files(__package__) / "static" / name).read_text(encoding="utf-8")


def _script_json(value):
    """JSON that is safe inside <script>: no '<', '>' or '&' left to end the element early."""
    return (json.dumps(value, ensure_ascii=False)
            .replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


def _page(records, title, interval, pictures):
    """The page's HTML: ``records`` the frames, ``pictures`` the PictureTable's entries."""
    script = (_static("fit.js") + _static("pictures.js")
              + _static("stepper.js").replace("INTERVAL", str(int(interval))))
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>
{_static("stepper.css")}{_static("pictures.css")}</style>
</head>
<body data-frame="0">
<header>
<h1>{html.escape(title)}</h1>
<div id="controls">
  <button id="prev" type="button">&#9664; Prev</button>
  <button id="play" type="button">&#9654; Play</button>
  <button id="next" type="button">Next &#9654;</button>
  <input id="slider" type="range" min="0" max="{len(records) - 1}" value="0" step="1"
         aria-label="step">
  <span id="counter"></span>
  <label title="untick to see the diagram at 100%, scrolled to the current node"><input
    id="fit" type="checkbox" checked> fit the diagram to the window</label>
</div>
<div id="title"></div>
</header>
<div id="main"><div id="diagram"></div>
<div id="side"><pre id="text"></pre><div id="pictures"></div></div></div>
<p class="help">Keys: &larr; &rarr; previous / next step, Home / End, space to play.
Made by tapegrad's Stepper; this page needs no network.</p>
<script id="frames" type="application/json">{_script_json(records)}</script>
<script id="picture-table" type="application/json">{_script_json(pictures)}</script>
<script>
{script}</script>
</body>
</html>
"""
