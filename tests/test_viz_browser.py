"""Diagrams as a browser shows them: a laptop's window, labels as rendered, text in its box.

Graphviz lays text out with its own font measurements; Chromium draws the SVG's text
itself. These tests read the SVG back from Debian's Chromium (see test_stepper_browser.py
for how it is launched, and when it is skipped).
"""

import pathlib

import numpy as np
import pytest

import autograd as ag
from autograd import data, models
from autograd import functional as F
from autograd.viz import draw, render

from test_stepper_browser import WINDOW, browser  # noqa: F401  (the fixture)

pytestmark = pytest.mark.slow

# Each label line as the browser renders it: the runs (one <text> each) of one line in x
# order, with the white space the browser keeps (plain spaces at the ends of a run are
# dropped, no-break spaces kept), and any run that overlaps the next or leaves its box.
READ_LABELS = """() => {
    const rendered = t => t.textContent.replace(/[\\n\\t]/g, '').replace(/ +/g, ' ')
        .replace(/^ | $/g, '').replace(/\\u00a0/g, ' ');
    const found = {};
    for (const g of document.querySelectorAll('g.node')) {
        const id = g.querySelector('title').textContent;
        const shapes = [...g.querySelectorAll('polygon, path, ellipse')].map(s => s.getBBox());
        const lines = {}, problems = [];
        for (const t of g.querySelectorAll('text')) {
            const b = t.getBBox();
            if (t.getNumberOfChars() !== rendered(t).length) {
                problems.push('white space: ' + JSON.stringify(t.textContent));
            }
            const cx = b.x + b.width / 2, cy = b.y + b.height / 2;
            const home = shapes.filter(s => s.x <= cx && cx <= s.x + s.width
                                            && s.y <= cy && cy <= s.y + s.height)
                               .sort((p, q) => p.width * p.height - q.width * q.height)[0];
            if (home && (b.x < home.x - 0.5 || b.x + b.width > home.x + home.width + 0.5)) {
                problems.push('outside its box: ' + rendered(t));
            }
            const y = Math.round(parseFloat(t.getAttribute('y')));
            (lines[y] = lines[y] || []).push({x: b.x, right: b.x + b.width, text: rendered(t)});
        }
        found[id] = {problems: problems, lines: Object.keys(lines).sort((a, b) => a - b).map(y => {
            const runs = lines[y].sort((p, q) => p.x - q.x);
            const inked = runs.filter(r => r.text.trim() !== '');  // a run of spaces shows nothing
            for (let i = 1; i < inked.length; i++) {
                if (inked[i - 1].right > inked[i].x + 0.5) {
                    problems.push('overlap: ' + inked[i - 1].text + ' | ' + inked[i].text);
                }
            }
            return runs.map(r => r.text).join('');
        })};
    }
    const svg = document.querySelector('svg').getBoundingClientRect();
    return {nodes: found, size: [svg.width, svg.height]};
}"""


def cnn_loss(model="basic"):
    network = models.digits_cnn(model, rng=0)
    images, labels = data.load_digits()
    loss = F.cross_entropy(network(ag.Tensor(images[:2], name="images")),
                           ag.Tensor(labels[:2], name="labels"))
    loss.backward()
    return loss


def read(browser, path):
    page = browser.new_page(viewport=WINDOW)
    page.goto(pathlib.Path(path).as_uri())
    found = page.evaluate(READ_LABELS)
    page.close()
    return found


def all_lines(found, exact=False):
    """Every label line; spaces collapsed unless ``exact`` (the browser keeps no-break ones)."""
    return [line if exact else " ".join(line.split())
            for node in found["nodes"].values() for line in node["lines"]]


def assert_labels_read_right(found):
    problems = {key: node["problems"] for key, node in found["nodes"].items() if node["problems"]}
    assert problems == {}


def test_the_default_cnn_and_its_layer_view_fit_a_laptop_window(browser, tmp_path):
    loss = cnn_loss()
    for name, diagram in (("graph.svg", draw(loss)), ("layers.svg", draw(loss, expand=False))):
        found = read(browser, render(diagram, tmp_path / name))
        width, height = found["size"]
        assert width <= WINDOW["width"] and height <= WINDOW["height"], (name, found["size"])
        assert width >= 0.2 * WINDOW["width"]  # at its natural size, not shrunk to fit
        assert_labels_read_right(found)


def test_labels_read_in_the_browser_as_written(browser, tmp_path):
    """'conv Conv2d', not 'convConv2d': a label run that starts with a plain space loses
    it in a browser. And every gradient line (red) stays inside its box."""
    loss = cnn_loss()
    layers = read(browser, render(draw(loss, expand=False), tmp_path / "layers.svg"))
    lines = all_lines(layers)
    for title in ("conv Conv2d", "relu ReLU", "pool MaxPool2d", "fc Linear"):
        assert any(line.startswith(title) for line in lines), (title, lines)
    assert not any("convConv2d" in line or "reluReLU" in line for line in lines)
    expanded = read(browser, render(draw(loss), tmp_path / "graph.svg"))
    lines = all_lines(expanded)
    assert any(line.startswith("conv.weight (16, 1, 3, 3)") for line in lines), lines
    assert any(line.startswith("* conv #") for line in lines), lines
    assert any(line.startswith("grad min ") for line in lines)
    assert_labels_read_right(expanded)
    # the small graph, left to right, with whole matrices in its labels
    rng = np.random.default_rng(0)
    x = ag.tensor(rng.normal(size=(3,)).round(2), name="x")
    w1 = ag.tensor(rng.normal(size=(4, 3)).round(2), requires_grad=True, name="W1")
    f = (ag.maximum(0.0, w1 @ x)).sum()
    f.backward()
    small = read(browser, render(draw(f), tmp_path / "small.svg"))
    assert_labels_read_right(small)
    assert " [1.3, 0.95, -0.7]," in all_lines(small, exact=True)  # a matrix's rows align


def test_a_bigger_network_scrolls_one_way(browser, tmp_path):
    found = read(browser, render(draw(cnn_loss("deeper")), tmp_path / "deeper.svg"))
    assert found["size"][0] <= WINDOW["width"]  # as wide as the window at most: scroll down
    assert_labels_read_right(found)
