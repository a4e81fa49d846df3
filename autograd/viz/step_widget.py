"""The Jupyter view of a Stepper: Prev/Next, a slider, Play, the diagram and the arithmetic.

Made by ``Stepper.widget()``. It shows the stepper's recorded frames and never moves the
stepper or changes the graph. ipywidgets is imported only when a widget is made, so the
rest of tapegrad works without it.
"""

import html

from .step_diagram import frame_svg


def stepper_widget(stepper, forward, interval, diagrams, rankdir):
    """A ``StepperWidget`` over ``stepper.frames(forward)``; a clear error without ipywidgets."""
    try:
        import ipywidgets
        from IPython.display import SVG
    except ImportError as error:
        raise ImportError("Stepper.widget() needs ipywidgets and IPython: "
                          "pip install 'tapegrad[notebooks]' (or pip install ipywidgets); "
                          "Stepper.to_html(path) needs neither") from error
    return StepperWidget(stepper, stepper.frames(forward), ipywidgets, SVG, interval, diagrams,
                         rankdir)


class StepperWidget:
    """The Jupyter view of a Stepper (made by ``Stepper.widget()``).

    Parts, for driving it from Python: ``prev_button``, ``next_button``, ``play``,
    ``slider`` (its value is the frame shown), ``diagram`` (an Output holding the SVG),
    ``text`` (an HTML widget with the step's arithmetic), ``box`` (the whole layout).
    """

    def __init__(self, stepper, frames, ipywidgets, svg_class, interval, diagrams, rankdir):
        self.stepper = stepper
        self.frames = frames
        self._svg_class = svg_class
        self._diagrams = diagrams
        self._rankdir = rankdir
        self._cache = {}
        last = len(frames) - 1
        w = ipywidgets
        self.prev_button = w.Button(description="◀ Prev", tooltip="previous step")
        self.next_button = w.Button(description="Next ▶", tooltip="next step")
        self.play = w.Play(value=0, min=0, max=last, step=1, interval=interval, description="play")
        self.slider = w.IntSlider(value=0, min=0, max=last, step=1, description="step",
                                  continuous_update=True)
        w.jslink((self.play, "value"), (self.slider, "value"))
        self.title = w.HTML()
        self.diagram = w.Output(layout=w.Layout(flex="3 1 0", overflow="auto", max_height="80vh"))
        self.text = w.HTML(layout=w.Layout(flex="2 1 0"))
        self.box = w.VBox([
            w.HBox([self.prev_button, self.next_button, self.play, self.slider]),
            self.title,
            w.HBox([self.diagram, self.text]),
        ])
        self.prev_button.on_click(lambda _: self._move(-1))
        self.next_button.on_click(lambda _: self._move(+1))
        self.slider.observe(self._on_slider, names="value")
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
        self.text.value = f"<pre style='white-space: pre-wrap'>{html.escape(frame['text'])}</pre>"
        self.prev_button.disabled = index == 0
        self.next_button.disabled = index == len(self.frames) - 1
        self.diagram.outputs = ()
        if self._diagrams:
            if index not in self._cache:
                self._cache[index] = frame_svg(self.stepper.output, frame, self._rankdir)
            self.diagram.append_display_data(self._svg_class(data=self._cache[index]))

    def _repr_mimebundle_(self, **kwargs):
        return self.box._repr_mimebundle_(**kwargs)

    def _ipython_display_(self):
        from IPython.display import display
        display(self.box)
