"""Remake the README's pictures: ``.venv/bin/python docs/make_pictures.py``.

docs/graph.svg             what the README's Diagrams snippet renders (the snippet is run
                           as the README shows it, so the picture matches its code)
docs/check.svg             what the README's check_nodes snippet renders, the same way
docs/graph-in-browser.png  `python -m autograd draw` (the digits CNN) as Chromium shows
                           graph.svg in a 1400x900 window, cropped to the diagram

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


def main():
    from PIL import Image
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as folder:
        work = pathlib.Path(folder)
        for picture in ("graph.svg", "check.svg"):
            run(["-c", readme_diagram_snippet(picture)], work)
            shutil.copyfile(work / picture, DOCS / picture)
        (work / "cnn").mkdir()
        run(["-m", "autograd", "draw"], work / "cnn")
        shot = work / "shot.png"
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM,
                args=["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"])
            page = browser.new_page(viewport=WINDOW)
            page.goto((work / "cnn" / "graph.svg").as_uri())
            box = page.eval_on_selector("svg", "e => { const r = e.getBoundingClientRect(); "
                                               "return [r.width, r.height]; }")
            page.screenshot(path=shot, clip={"x": 0, "y": 0, "width": min(box[0], WINDOW["width"]),
                                             "height": min(box[1], WINDOW["height"])})
            browser.close()
        image = Image.open(shot).convert("RGB")
        image = image.quantize(colors=96, method=Image.Quantize.FASTOCTREE)  # flat colours
        image.save(DOCS / "graph-in-browser.png", optimize=True)
    for name in ("graph.svg", "check.svg", "graph-in-browser.png"):
        print(f"wrote docs/{name} ({(DOCS / name).stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main()
