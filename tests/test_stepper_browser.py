"""The step-through page in a real headless browser: buttons, arrow keys, slider, play.

Uses Debian's chromium through Python playwright (``playwright install`` cannot download
here). Without /usr/bin/chromium the test is skipped on a developer machine, but fails
in CI (the CI environment variable is set), where the browser must be installed.
"""

import importlib.util
import os

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
    assert "dx = y * dz = 2.0 * 1.0 = 2.0" in now["text"]
    page.keyboard.press("ArrowRight")
    now = state(page)
    assert now["frame"] == 2 and now["text"] == frames[2]["text"]
    assert "dx = y * dz = -4.0 * 2.0 = -8.0" in now["text"]
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
