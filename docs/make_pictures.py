"""Remake the README's pictures: ``.venv/bin/python docs/make_pictures.py``.

docs/graph.svg             what the README's Diagrams snippet renders (the snippet is run
                           as the README shows it, so the picture matches its code)
docs/check.svg             what the README's check_nodes snippet renders, the same way
docs/graph-in-browser.png  `python -m autograd draw` (the digits CNN) as Chromium shows
                           graph.svg in a 1400x900 window, cropped to the diagram
docs/step-pictures.png     `python -m autograd step --cnn` at the conv's step in a 1400x900
                           window, the pointer on a cell of dz (its window and filter marked)

Needs Graphviz's dot, Python playwright and /usr/bin/chromium (as the browser tests do).
"""

import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

DOCS = pathlib.Path(__file__).resolve().parent
ROOT = DOCS.parent
CHROMIUM = "/usr/bin/chromium"
WINDOW = {"width": 1400, "height": 900}


def readme_diagram_snippet(picture="graph.svg"):
    """The README's Python block that renders ``picture``."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", readme, re.S)
    return next(block for block in blocks if f'render("{picture}")' in block)


def run(args, cwd):
    subprocess.run([sys.executable, *args], cwd=cwd, check=True, stdout=subprocess.DEVNULL)


def screenshot(path, shot, before=None):
    """Open ``path`` in Chromium in a WINDOW-sized window, call ``before(page)`` if given
    (it may point, press keys, and return a clip), and save the window to ``shot``."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"])
        page = browser.new_page(viewport=WINDOW)
        page.goto(path.as_uri())
        clip = before(page) if before is not None else None
        page.screenshot(path=shot, clip=clip)
        browser.close()


def main():
    from PIL import Image

    with tempfile.TemporaryDirectory() as folder:
        work = pathlib.Path(folder)
        for picture in ("graph.svg", "check.svg"):
            run(["-c", readme_diagram_snippet(picture)], work)
            shutil.copyfile(work / picture, DOCS / picture)
        (work / "cnn").mkdir()
        run(["-m", "autograd", "draw"], work / "cnn")
        shot = work / "shot.png"

        def crop_to_the_diagram(page):
            box = page.eval_on_selector("svg", "e => { const r = e.getBoundingClientRect(); "
                                               "return [r.width, r.height]; }")
            return {"x": 0, "y": 0, "width": min(box[0], WINDOW["width"]),
                    "height": min(box[1], WINDOW["height"])}

        screenshot(work / "cnn" / "graph.svg", shot, crop_to_the_diagram)
        image = Image.open(shot).convert("RGB")
        image = image.quantize(colors=96, method=Image.Quantize.FASTOCTREE)  # flat colours
        image.save(DOCS / "graph-in-browser.png", optimize=True)
        step_pictures(work)
    for name in ("graph.svg", "check.svg", "graph-in-browser.png", "step-pictures.png"):
        print(f"wrote docs/{name} ({(DOCS / name).stat().st_size // 1024} KiB)")


def step_pictures(work):
    """docs/step-pictures.png: the CNN's page at the conv's step, pointing at dz[0, 4, 2, 5]."""
    from PIL import Image

    (work / "step").mkdir()
    run(["-m", "autograd", "step", "--cnn"], work / "step")
    shot = work / "step.png"

    def point_at_a_cell(page):
        page.keyboard.press("End")  # the last backward step: the conv
        picture = '.tg-block[data-name="dz"] .tg-pic[data-n="0"][data-c="4"] img'
        cell = page.eval_on_selector(picture, "e => { const r = e.getBoundingClientRect(); "
                                              "return [r.left + r.width * 11 / 16, "
                                              "r.top + r.height * 5 / 16]; }")  # (2, 5) of 8x8
        page.mouse.move(*cell)

    screenshot(work / "step" / "step.html", shot, point_at_a_cell)
    image = Image.open(shot).convert("RGB")
    image = image.quantize(colors=128, method=Image.Quantize.FASTOCTREE)
    image.save(DOCS / "step-pictures.png", optimize=True)


if __name__ == "__main__":
    main()
