"""The step-through page in a real headless browser: buttons, arrow keys, slider, play.

Uses Debian's chromium through Python playwright (``playwright install`` cannot download
here). Without /usr/bin/chromium the test is skipped on a developer machine, but fails
in CI (the CI environment variable is set), where the browser must be installed.
"""

import importlib.util
import os

import numpy as np
import pytest

import autograd as ag
from autograd.viz.stepper import Stepper

CHROMIUM = "/usr/bin/chromium"

pytestmark = pytest.mark.slow


def _browser_or_skip():
    missing = None
    if importlib.util.find_spec("playwright") is None:
        missing = "Python playwright is not installed (pip install 'tapegrad[test]')"
    elif not os.path.exists(CHROMIUM):
        missing = f"{CHROMIUM} is missing (apt-get install -y chromium)"
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"browser test in CI: {missing}")
        pytest.skip(missing)


@pytest.fixture(scope="module")
def browser():
    _browser_or_skip()
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"])
        yield browser
        browser.close()


def course_example():
    w1 = ag.tensor(1.5, requires_grad=True, name="W1")
    x = ag.tensor(2.0, name="x")
    w2 = ag.tensor(-4.0, requires_grad=True, name="W2")
    return (ag.maximum(0.0, w1 * x) * w2) * 2.0


@pytest.fixture
def page_and_frames(browser, tmp_path):
    stepper = Stepper(course_example())
    path = tmp_path / "step.html"
    stepper.to_html(path, interval=50, diagrams=True)
    frames = stepper.frames()
    page = browser.new_page()
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(path.as_uri())
    yield page, frames, requests, errors
    page.close()


def state(page):
    return {
        "frame": int(page.get_attribute("body", "data-frame")),
        "title": page.text_content("#title"),
        "text": page.text_content("#text"),
        "slider": int(page.eval_on_selector("#slider", "e => e.value")),
        "svgs": page.eval_on_selector_all("#diagram svg", "e => e.length"),
    }


def test_page_moves_on_click_and_arrow_keys(page_and_frames):
    page, frames, requests, errors = page_and_frames
    start = state(page)
    assert start["frame"] == 0 and start["title"] == frames[0]["title"]
    assert page.is_disabled("#prev") and not page.is_disabled("#next")
    page.click("#next")
    now = state(page)
    assert now["frame"] == 1 and now["slider"] == 1
    assert now["title"] == frames[1]["title"] and now["text"] == frames[1]["text"]
    assert "dx′ = 2.0 * dz = 2.0 * 1.0 = 2.0" in now["text"]  # x′: the learner's x is W1's
    page.keyboard.press("ArrowRight")
    now = state(page)
    assert now["frame"] == 2 and now["text"] == frames[2]["text"]
    assert "dx′ = W2 * dz = -4.0 * 2.0 = -8.0" in now["text"]
    page.keyboard.press("ArrowLeft")
    assert state(page)["frame"] == 1
    page.keyboard.press("End")
    assert state(page)["frame"] == len(frames) - 1 and page.is_disabled("#next")
    page.keyboard.press("ArrowRight")  # past the end: stays
    assert state(page)["frame"] == len(frames) - 1
    page.click("#prev")
    assert state(page)["frame"] == len(frames) - 2
    assert state(page)["svgs"] == 1  # one diagram at a time, inline
    assert errors == []
    assert all(url.startswith("file://") for url in requests), requests  # no network


def test_page_slider_and_play(page_and_frames):
    page, frames, _, errors = page_and_frames
    page.eval_on_selector("#slider", "e => { e.value = '3'; e.dispatchEvent(new Event('input')); }")
    assert state(page)["frame"] == 3 and state(page)["text"] == frames[3]["text"]
    page.keyboard.press("Home")
    assert state(page)["frame"] == 0
    page.click("#play")
    last = len(frames) - 1
    page.wait_for_function(f"document.body.getAttribute('data-frame') === '{last}'", timeout=10000)
    page.wait_for_function("document.getElementById('play').textContent.includes('Play')",
                           timeout=10000)  # playing stops at the end
    assert state(page)["text"] == frames[last]["text"]
    assert errors == []


# ---------------------------------------------------------------- the diagram in the window

WINDOW = {"width": 1400, "height": 900}  # a laptop's browser window


def rect(page, selector):
    return page.eval_on_selector(selector, "e => { const r = e.getBoundingClientRect(); "
                                           "return [r.left, r.top, r.right, r.bottom]; }")


def node_rect(page, dot_id):
    """The rectangle of the diagram's node ``dot_id`` (a DOT id such as n12 or t3)."""
    return page.evaluate("""id => {
        for (const title of document.querySelectorAll('#diagram g.node > title')) {
            if (title.textContent === id) {
                const r = title.parentNode.getBoundingClientRect();
                return [r.left, r.top, r.right, r.bottom];
            }
        }
        return null; }""", dot_id)


def visible_area(page):
    """The part of the diagram's box that shows its content (without its scroll bars)."""
    return page.eval_on_selector("#diagram", """e => { const r = e.getBoundingClientRect();
        return [r.left + e.clientLeft, r.top + e.clientTop, r.left + e.clientLeft + e.clientWidth,
                r.top + e.clientTop + e.clientHeight]; }""")


def inside(inner, outer, slack=1.0):
    return (inner[0] >= outer[0] - slack and inner[1] >= outer[1] - slack
            and inner[2] <= outer[2] + slack and inner[3] <= outer[3] + slack)


@pytest.fixture(scope="module")
def cnn_page_path(tmp_path_factory):
    from autograd.commands.step import cnn_example
    loss, _ = cnn_example(seed=0)
    stepper = Stepper(loss)
    path = tmp_path_factory.mktemp("cnn") / "cnn.html"
    stepper.to_html(path, interval=50)
    return path, stepper.frames()


def test_the_cnn_diagram_fits_the_window_and_the_current_node_stays_in_view(browser,
                                                                             cnn_page_path):
    path, frames = cnn_page_path
    page = browser.new_page(viewport=WINDOW)
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(path.as_uri())
    focus = page.evaluate("JSON.parse(document.getElementById('frames').textContent)"
                          ".map(f => f.focus)")
    # Fit is on by default: the box uses the window and the whole diagram is in it.
    assert page.is_checked("#fit")
    window = [0, 0, WINDOW["width"], WINDOW["height"]]
    box = rect(page, "#diagram")
    assert inside(box, window)
    assert box[2] - box[0] > 0.55 * WINDOW["width"] and box[3] - box[1] > 0.6 * WINDOW["height"]
    assert inside(rect(page, "#diagram svg"), visible_area(page))
    assert page.text_content("#counter") == "backward: start"  # one numbering: the title's
    assert page.text_content("#title").startswith("backward: start")
    # At 100% the diagram is larger than its box: it scrolls, and the node of the current
    # step stays in view, at the start too, where the output is (backprop starts there).
    page.click("#fit")
    svg, area = rect(page, "#diagram svg"), visible_area(page)
    assert svg[3] - svg[1] > area[3] - area[1]  # scrolls
    assert focus[0] == f"n{frames[1]['highlight']._seq}"  # the output, with the op that made it
    assert inside(node_rect(page, focus[0]), visible_area(page))
    for key, frame in (("ArrowRight", 1), ("ArrowRight", 2), ("End", len(frames) - 1),
                       ("Home", 0)):
        page.keyboard.press(key)
        assert int(page.get_attribute("body", "data-frame")) == frame
        assert page.text_content("#counter") == frames[frame]["counter"]
        assert inside(node_rect(page, focus[frame]), visible_area(page)), (key, frame)
    page.click("#fit")  # and back to fitting
    assert inside(rect(page, "#diagram svg"), visible_area(page))
    assert errors == []
    page.close()


def test_the_widgets_diagram_fits_its_box_and_scrolls_to_the_current_node(browser, tmp_path):
    """The HTML the widget puts in its output (Jupyter cannot run here): in Chromium, in a
    576 px column like JupyterLab's, fitted by default; at 100% scrolled to the node."""
    pytest.importorskip("ipywidgets")
    from autograd.commands.step import cnn_example
    loss, _ = cnn_example(seed=0)
    stepper = Stepper(loss)
    view = stepper.widget()
    view.slider.value = 3
    frame = stepper.frames()[3]
    focus = f"n{frame['highlight']._seq}"
    assert view.fit.value  # fit by default

    def open_output(name):
        data = view.diagram.outputs[0]["data"]
        assert data["image/svg+xml"].startswith("<svg")  # for front ends without HTML
        page_path = tmp_path / name
        page_path.write_text(f'<!DOCTYPE html><html><body style="margin: 0">'
                             f'<div style="width: 576px">{data["text/html"]}</div></body></html>',
                             encoding="utf-8")
        page = browser.new_page(viewport=WINDOW)
        page.goto(page_path.as_uri())
        return page

    page = open_output("fit.html")
    box = page.eval_on_selector(".tapegrad-diagram", "e => { const r = e.getBoundingClientRect(); "
                                                     "return [r.left, r.top, r.right, r.bottom]; }")
    svg = rect(page, ".tapegrad-diagram svg")
    assert inside(svg, box) and svg[2] - svg[0] > 0.9 * 574  # fits, using the box's width
    page.close()
    view.fit.value = False
    page = open_output("full.html")
    area = page.eval_on_selector(".tapegrad-diagram", """e => { const r = e.getBoundingClientRect();
        return [r.left, r.top, r.left + e.clientWidth, r.top + e.clientHeight]; }""")
    svg = rect(page, ".tapegrad-diagram svg")
    assert svg[2] - svg[0] > area[2] - area[0]  # at 100%: wider than the box
    node = page.evaluate("""id => {
        for (const title of document.querySelectorAll('g.node > title')) {
            if (title.textContent === id) {
                const r = title.parentNode.getBoundingClientRect();
                return [r.left, r.top, r.right, r.bottom];
            }
        } }""", focus)
    assert inside(node, area)
    page.close()


# ---------------------------------------------------------------- tensors as pictures

def frame_of(frames, node_type):
    """The index of the backward frame of the (first) node of ``node_type``."""
    return next(k for k, frame in enumerate(frames)
                if type(frame["highlight"]).__name__ == node_type)


def open_frame(browser, path, index):
    page = browser.new_page(viewport=WINDOW)
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(path.as_uri())
    page.eval_on_selector("#slider", f"e => {{ e.value = '{index}'; "
                                     "e.dispatchEvent(new Event('input')); }")
    assert int(page.get_attribute("body", "data-frame")) == index
    return page, errors


def pictures(page, name, n=None):
    """(n, c, natural width, natural height) of each picture of the block ``name``."""
    return page.evaluate("""([name, n]) => Array.from(document.querySelectorAll(
        `.tg-block[data-name="${name}"] .tg-pic`)).filter(p => n === null || +p.dataset.n === n)
        .map(p => [+p.dataset.n, +p.dataset.c, p.firstChild.naturalWidth,
                   p.firstChild.naturalHeight])""", [name, n])


def point_at(page, name, n, c, i, j):
    """Move the pointer to the centre of cell (i, j) of picture (n, c) of block ``name``."""
    selector = f'.tg-block[data-name="{name}"] .tg-pic[data-n="{n}"][data-c="{c}"] img'
    box = page.eval_on_selector(selector, "e => { const r = e.getBoundingClientRect(); "
                                          "return [r.left, r.top, r.width, r.height]; }")
    height, width = (int(page.get_attribute(f'.tg-block[data-name="{name}"]', key))
                     for key in ("data-h", "data-w"))
    page.mouse.move(box[0] + (j + 0.5) * box[2] / width, box[1] + (i + 0.5) * box[3] / height)


def marks(page, name, n, c, kind="tg-src"):
    """The cells (i, j) of picture (n, c) of block ``name`` marked with class ``kind``."""
    return set(map(tuple, page.evaluate("""([name, n, c, kind]) => Array.from(
        document.querySelectorAll(`.tg-block[data-name="${name}"] .tg-pic[data-n="${n}"]` +
                                  `[data-c="${c}"] .tg-mark.${kind}`))
        .map(m => [+m.dataset.i, +m.dataset.j])""", [name, n, c, kind])))


def window_cells(node, i, j):
    """The input cells (row, column) output (i, j) of a conv or pool node read, padding
    included (outside the image), from the node's own geometry."""
    (Sh, Sw), (Ph, Pw), (Fh, Fw) = node.strides, node.pads, node.kernel
    Dh, Dw = getattr(node, "dilations", (1, 1))
    return {(Sh * i + Dh * m - Ph, Sw * j + Dw * q - Pw) for m in range(Fh) for q in range(Fw)}


def test_the_conv_step_shows_a_picture_per_filter_and_points_from_dz_to_its_window(
        browser, cnn_page_path):
    path, frames = cnn_page_path
    index = frame_of(frames, "ConvolutionNode")
    node = frames[index]["highlight"]
    x, w = (t.data for t in node._inputs[:2])
    filters = w.shape[0]
    page, errors = open_frame(browser, path, index)
    # each channel of the output and of the gradient that arrived: one picture per filter,
    # for each of the 2 digits, drawn (decoded) at the feature map's size
    for name in ("z", "dz"):
        for n in range(2):
            shown = pictures(page, name, n)
            assert [c for _, c, _, _ in shown] == list(range(filters)), name
            assert all((width, height) == (8, 8) for _, _, width, height in shown)
    assert len(pictures(page, "x")) == 2 and len(pictures(page, "conv.weight")) == filters
    assert [size[2:] for size in pictures(page, "conv.weight")] == [[3, 3]] * filters
    assert len(pictures(page, "dconv.weight")) == filters  # the gradient sent to the filters
    # dz[1, 5, 0, 7]: the 3x3 window of digit 1 around (0, 7), reaching into the padding
    point_at(page, "dz", 1, 5, 0, 7)
    expected = window_cells(node, 0, 7)
    inside = {(r, s) for r, s in expected if 0 <= r < x.shape[2] and 0 <= s < x.shape[3]}
    assert marks(page, "x", 1, 0) == expected
    assert marks(page, "x", 1, 0, "tg-pad") == expected - inside and len(inside) == 4
    assert marks(page, "x", 0, 0) == set()  # the other digit is not involved
    lit = page.eval_on_selector_all('.tg-block[data-name="conv.weight"] .tg-lit',
                                    "e => e.map(p => +p.dataset.n)")
    assert lit == [5]  # the filter it came from, and no other
    assert marks(page, "z", 1, 5, "tg-here") == {(0, 7)}  # the same element of z
    readout = page.text_content(".tg-readout")
    assert readout.startswith("dz[1, 5, 0, 7] = ") and "conv.weight[5]" in readout
    page.mouse.move(5, 5)  # away: the marks go
    assert marks(page, "x", 1, 0) == set()
    assert errors == []
    page.close()


def test_a_max_pool_step_points_from_z_to_the_element_that_won(browser, cnn_page_path):
    path, frames = cnn_page_path
    index = frame_of(frames, "MaxPoolNode")
    node = frames[index]["highlight"]
    x = node._inputs[0].data
    page, errors = open_frame(browser, path, index)
    assert [c for _, c, _, _ in pictures(page, "z", 0)] == list(range(x.shape[1]))
    for n, c, i, j in ((0, 3, 1, 2), (1, 15, 3, 0)):
        point_at(page, "z", n, c, i, j)
        window = window_cells(node, i, j)
        cells = sorted(window)
        values = [x[n, c, r, s] for r, s in cells]
        won = cells[int(np.argmax(values))]  # the first max, in row-major order
        assert marks(page, "x", n, c) | marks(page, "x", n, c, "tg-chosen") == window
        assert marks(page, "x", n, c, "tg-chosen") == {won}
        assert marks(page, "dx", n, c, "tg-chosen") == {won}  # where dz[n, c, i, j] went
    assert errors == []
    page.close()


def test_pointing_follows_stride_padding_and_dilation(browser, tmp_path):
    """A conv with stride 2, padding 2, dilation 2 and 2 groups: the marked cells are the
    taps of the dilated window, in the channels of the filter's group only."""
    from autograd import functional as F
    rng = np.random.default_rng(3)
    x = ag.tensor(rng.normal(size=(1, 4, 9, 9)), name="x")
    w = ag.tensor(rng.normal(size=(6, 2, 3, 3)), requires_grad=True, name="w")
    loss = F.conv2d(x, w, stride=2, padding=2, dilation=2, groups=2).sum()
    stepper = Stepper(loss)
    path = tmp_path / "dilated.html"
    stepper.to_html(path, diagrams=False)
    frames = stepper.frames()
    index = frame_of(frames, "ConvolutionNode")
    node = frames[index]["highlight"]
    page, errors = open_frame(browser, path, index)
    output = frames[index]["step"].out
    point_at(page, "d" + output, 0, 4, 2, 0)  # filter 4 is in the second group: channels 2, 3
    expected = window_cells(node, 2, 0)
    assert expected == {(r, s) for r in (2, 4, 6) for s in (-2, 0, 2)}
    for channel in range(4):
        assert marks(page, "x", 0, channel) == (expected if channel >= 2 else set()), channel
    lit = page.eval_on_selector_all('.tg-block[data-name="w"] .tg-lit',
                                    "e => e.map(p => [+p.dataset.n, +p.dataset.c])")
    assert sorted(lit) == [[4, 0], [4, 1]]
    assert errors == []
    page.close()


def test_the_widget_shows_the_pictures_and_points_the_same_way(browser, tmp_path):
    """The widget's pictures output (Jupyter cannot run here) in Chromium: a picture per
    filter on the conv step, and pointing at dz marks the window, as on the page."""
    pytest.importorskip("ipywidgets")
    from autograd.commands.step import cnn_example
    loss, _ = cnn_example(seed=0)
    stepper = Stepper(loss)
    view = stepper.widget(diagrams=False)
    frames = stepper.frames()
    view.slider.value = index = frame_of(frames, "ConvolutionNode")
    node = frames[index]["highlight"]
    page_path = tmp_path / "widget.html"
    page_path.write_text('<!DOCTYPE html><html><body style="margin: 0"><div style="width: 576px">'
                         + view.pictures.outputs[0]["data"]["text/html"] + "</div></body></html>",
                         encoding="utf-8")
    page = browser.new_page(viewport=WINDOW)
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(page_path.as_uri())
    filters = node._inputs[1].shape[0]
    assert [c for _, c, _, _ in pictures(page, "z", 0)] == list(range(filters))
    assert all(size == [8, 8] for size in (p[2:] for p in pictures(page, "dz")))
    point_at(page, "dz", 0, 9, 4, 4)
    assert marks(page, "x", 0, 0) == window_cells(node, 4, 4)
    assert errors == []
    page.close()
    view.slider.value = 0  # the start of backprop: a scalar, no pictures
    assert view.pictures.outputs == ()
