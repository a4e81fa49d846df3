"""The Jupyter view of a Stepper: Prev/Next, a slider, Play, the diagram and the arithmetic.

Made by ``Stepper.widget()``. It shows the stepper's recorded frames and never moves the
stepper or changes the graph. ipywidgets is imported only when a widget is made, so the
rest of tapegrad works without it.

The diagram is HTML: the SVG in a box of fixed height, and a small script (``static/fit.js``,
the page's own) that fits the SVG to the box, or with "fit" unticked shows it at 100% and
scrolls the box to the current node, since every step replaces the output and a browser
would start it scrolled to the top. Where scripts do not run (an untrusted notebook), CSS
still fits the SVG to the box. The output also carries the bare SVG, for front ends
that show no HTML.
"""

import html
import json
import uuid

from .pictures import PictureTable, frame_html
from .step_diagram import frame_svg
from .step_page import _script_json, _static

BOX_HEIGHT = "min(70vh, 720px)"  # the diagram's box; its width is the row's, less the text


def diagram_html(svg, focus, fit=True):
    """The diagram as HTML for the widget: ``svg`` in a scrolling box, fitted to it (``fit``)
    or at 100%, and the script that keeps node ``focus`` (a DOT id) in view."""
    box_id = f"tapegrad-diagram-{uuid.uuid4().hex}"  # unique among a notebook's saved outputs
    start = svg.find("<svg") + len("<svg")
    if not fit:
        svg = svg[:start] + ' style="display: block; margin: 0 auto"' + svg[start:]
    else:  # the fit without a script: CSS alone scales the drawing down to the box
        svg = (svg[:start] + ' style="display: block; margin: 0 auto; max-width: 100%; '
               'max-height: 100%; width: auto; height: auto"' + svg[start:])
    call = (f"tapegradPlace(box, {json.dumps(focus)}, {json.dumps(bool(fit))});")
    return (f'<div id="{box_id}" class="tapegrad-diagram" style="height: {BOX_HEIGHT}; '
            f'overflow: auto; border: 1px solid #ddd; box-sizing: border-box">{svg}</div>\n'
            f"<script>\n{_static('fit.js')}(function () {{\n"
            f'  var box = document.getElementById("{box_id}");\n'
            f"  if (!box) {{ return; }}\n  {call}\n"
            "  // laid out later (a notebook scrolled into view, a resized window): again\n"
            "  if (window.ResizeObserver) {\n"
            f"    new ResizeObserver(function () {{ {call} }}).observe(box);\n"
            "  }\n})();\n</script>")


def pictures_html(item):
    """The step's image-shaped tensors as pictures, for the widget ('' when it has none):
    the page's HTML with each picture inline, its style, and the script that answers the
    pointer (pictures.js; without scripts the pictures still show). The script gets each
    picture's values only: its PNG is in the HTML already."""
    table = PictureTable()
    body = frame_html(item, table, inline=True)
    if not body:
        return ""
    box_id = f"tapegrad-pictures-{uuid.uuid4().hex}"
    values = [{"values": entry["values"]} for entry in table.entries]
    return (f"<style>{_static('pictures.css')}</style>\n<div id=\"{box_id}\">{body}</div>\n"
            f"<script>\n{_static('pictures.js')}tapegradPictures(document.getElementById("
            f"\"{box_id}\").firstElementChild, {_script_json(values)});\n</script>")


def stepper_widget(stepper, forward, interval, diagrams, rankdir):
    """A ``StepperWidget`` over ``stepper.frames(forward)``; a clear error without ipywidgets."""
    try:
        import ipywidgets
        import IPython.display  # noqa: F401  (the widget displays through it)
    except ImportError as error:
        raise ImportError("Stepper.widget() needs ipywidgets and IPython: "
                          "pip install 'tapegrad[notebooks]' (or pip install ipywidgets); "
                          "Stepper.to_html(path) needs neither") from error
    return StepperWidget(stepper, stepper.frames(forward), ipywidgets, interval, diagrams,
                         rankdir)


class StepperWidget:
    """The Jupyter view of a Stepper (made by ``Stepper.widget()``).

    Parts, for driving it from Python: ``prev_button``, ``next_button``, ``play``,
    ``slider`` (its value is the frame shown), ``fit`` (a Checkbox: the diagram fitted to
    its box, else at 100% scrolled to the current node), ``diagram`` (an Output holding the
    diagram as HTML and as SVG), ``text`` (an HTML widget with the step's arithmetic),
    ``pictures`` (an Output under it: the step's image-shaped tensors as pictures),
    ``box`` (the whole layout).
    """

    def __init__(self, stepper, frames, ipywidgets, interval, diagrams, rankdir):
        self.stepper = stepper
        self.frames = frames
        self._diagrams = diagrams
        self._rankdir = rankdir
        self._cache, self._pictures = {}, {}  # per frame: the diagram, the pictures
        last = len(frames) - 1
        w = ipywidgets
        self.prev_button = w.Button(description="◀ Prev", tooltip="previous step")
        self.next_button = w.Button(description="Next ▶", tooltip="next step")
        self.play = w.Play(value=0, min=0, max=last, step=1, interval=interval, description="play")
        self.slider = w.IntSlider(value=0, min=0, max=last, step=1, description="step",
                                  continuous_update=True)
        w.jslink((self.play, "value"), (self.slider, "value"))
        self.fit = w.Checkbox(value=True, description="fit the diagram to the box",
                              indent=False, layout=w.Layout(width="auto"))
        self.title = w.HTML()
        self.diagram = w.Output(layout=w.Layout(flex="3 1 0", min_width="0"))
        self.text = w.HTML(layout=w.Layout(min_width="0"))
        self.pictures = w.Output()
        side = w.VBox([self.text, self.pictures],
                      layout=w.Layout(flex="2 1 0", min_width="0", overflow="auto",
                                      max_height=BOX_HEIGHT))
        controls = [self.prev_button, self.next_button, self.play, self.slider]
        self.box = w.VBox([
            w.HBox(controls + ([self.fit] if diagrams else [])),
            self.title,
            w.HBox([self.diagram, side]),
        ])
        self.prev_button.on_click(lambda _: self._move(-1))
        self.next_button.on_click(lambda _: self._move(+1))
        self.slider.observe(self._on_slider, names="value")
        self.fit.observe(lambda _: self.show(self.frame), names="value")
        self.show(0)

    def _move(self, delta):
        self.slider.value = min(max(self.slider.value + delta, 0), self.slider.max)

    def _on_slider(self, change):
        self.show(change["new"])

    @property
    def frame(self):
        """The index of the frame shown."""
        return self.slider.value

    def show(self, index):
        """Show frame ``index``: its diagram and its text."""
        frame = self.frames[index]
        self.title.value = f"<b>{html.escape(frame['title'])}</b>"
        # Jupyter's output CSS breaks <pre> text anywhere ("multi / ply"): between words here.
        self.text.value = ("<pre style='white-space: pre-wrap; word-break: normal; "
                           "overflow-wrap: break-word; line-height: 1.35; margin: 0'>"
                           f"{html.escape(frame['text'])}</pre>")
        self.prev_button.disabled = index == 0
        self.next_button.disabled = index == len(self.frames) - 1
        self.pictures.outputs = ()
        if index not in self._pictures:
            self._pictures[index] = pictures_html(frame.get("step"))
        pictures = self._pictures[index]
        if pictures:
            self.pictures.outputs = ({"output_type": "display_data", "metadata": {},
                                      "data": {"text/html": pictures}},)
        self.diagram.outputs = ()
        if self._diagrams:
            if index not in self._cache:
                self._cache[index] = frame_svg(self.stepper.output, frame, self._rankdir)
            svg, focus = self._cache[index]
            self.diagram.outputs = ({"output_type": "display_data", "metadata": {},
                                     "data": {"text/html": diagram_html(svg, focus,
                                                                        self.fit.value),
                                              "image/svg+xml": svg}},)

    def _repr_mimebundle_(self, **kwargs):
        return self.box._repr_mimebundle_(**kwargs)

    def _ipython_display_(self):
        from IPython.display import display
        display(self.box)
