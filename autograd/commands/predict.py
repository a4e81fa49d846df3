"""Show what trained weights do: a grid of test digits, each with the network's answer and
the true label, in the terminal and as an image (predictions.svg, which any browser opens).

--weights is the .npz that `python -m autograd train` saved. The network is the one those
weights fit (autograd.models: digits or MNIST, basic or deeper), unless --data or --model
say otherwise. The digits shown are drawn at random (--seed) from the test images that
`train` held out, so the network never saw them; the accuracy on all of those is printed too.
An existing image is never overwritten silently: a new name is chosen unless --force.
No plotting library is needed.

examples:
  python -m autograd predict --weights weights.npz
  python -m autograd predict --weights mnist.npz --number 32 --seed 1
"""

import base64
import os
import shutil
import struct
import zlib

import numpy as np

from autograd.commands import (CommandError, add_output_arguments, check_output, fit_weights,
                               model_name, output_name, positive_int, read_weights)

HELP = "show test digits with the trained network's answers (text, and predictions.svg)"

DATA = ("digits", "mnist")
SHADES = " .:-=+*#%@"  # from no ink to full ink, one character per level


def add_arguments(parser):
    parser.add_argument("--weights", required=True, metavar="PATH",
                        help="the weights `python -m autograd train` saved (.npz)")
    parser.add_argument("--data", choices=DATA, default=None,
                        help="the 8x8 digits or the shipped 28x28 MNIST digits (default: the data "
                             "set the weights were trained for)")
    parser.add_argument("--model", choices=("basic", "deeper"), default=None,
                        help="which network (default: the one the weights fit)")
    parser.add_argument("--number", type=positive_int, default=16,
                        help="how many test digits to show (default 16)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed for picking the test digits (default 0)")
    add_output_arguments(parser, "predictions.svg", "the image")


def run(args):
    from autograd import models
    from autograd.commands.train import accuracy, load_data

    check_output(args.out, "predictions.svg")
    if os.path.splitext(args.out)[1].lower() != ".svg":
        raise CommandError(f"predict writes an SVG image (no plotting library needed): end --out "
                           f"in .svg, not {args.out}")
    state = read_weights(args.weights)
    found = [fit for fit in models.matching(state) if fit[0] in DATA]
    data = args.data or (found[0][0] if found else "digits")
    kind = args.model or (found[0][1] if found else "basic")
    model = models.for_data(data, kind, rng=0)
    fit_weights(model, state, args.weights, data, kind, supported=DATA)
    model.eval()

    _, _, x_test, y_test, _ = load_data(data)
    if args.number > len(x_test):
        raise CommandError(f"--number {args.number}: there are {len(x_test)} test digits; ask "
                           "for at most that many")
    pick = np.random.default_rng(args.seed).choice(len(x_test), size=args.number, replace=False)
    images, labels = x_test[pick], y_test[pick]
    predicted = predict(model, images)
    right = int((predicted == labels).sum())

    title = (f"{model_name(data, kind)} ({args.weights}) on {args.number} test "
             f"digit{'s' if args.number > 1 else ''}: {right} right")
    print(title)
    print("pred: the network's answer, true: the label; X marks a mistake")
    print(text_grid(images[:, 0], predicted, labels, shutil.get_terminal_size((100, 24)).columns))
    print(f"accuracy on all {len(x_test)} test digits: {accuracy(model, x_test, y_test):.4f}")
    path = output_name(args.out, args.force, reserve=True)
    with open(path, "w", encoding="utf-8") as file:
        file.write(svg_grid(images[:, 0], predicted, labels, title))
    print(f"wrote {path}: open it in a browser")
    return 0


def predict(model, images):
    """The class with the highest score for each image (no tape, as in eval)."""
    import autograd as ag

    with ag.no_grad():
        return model(ag.Tensor(images)).data.argmax(axis=1)


def caption(predicted, label):
    return f"pred {predicted} true {label}" + ("" if predicted == label else " X")


def text_picture(image):
    """An image (values 0 to 1, 1 = ink) as lines of text, two characters per pixel;
    images wider than 16 pixels are halved first (28x28 MNIST -> 14x14)."""
    while image.shape[1] > 16:
        height, width = image.shape[0] // 2 * 2, image.shape[1] // 2 * 2
        image = image[:height, :width].reshape(height // 2, 2, width // 2, 2).mean(axis=(1, 3))
    levels = np.clip(np.rint(image * (len(SHADES) - 1)), 0, len(SHADES) - 1).astype(int)
    return ["".join(SHADES[v] * 2 for v in row) for row in levels]


def text_grid(images, predicted, labels, width=100):
    """The images side by side, as many as fit in ``width`` characters, each with its caption."""
    pictures = [text_picture(image) for image in images]
    captions = [caption(p, t) for p, t in zip(predicted, labels)]
    cell = max(max(len(line) for picture in pictures for line in picture),
               max(len(c) for c in captions)) + 3
    per_row = max(1, width // cell)
    blocks = []
    for start in range(0, len(pictures), per_row):
        row = range(start, min(start + per_row, len(pictures)))
        lines = ["".join(pictures[i][k].ljust(cell) for i in row).rstrip()
                 for k in range(len(pictures[start]))]
        lines.append("".join(captions[i].ljust(cell) for i in row).rstrip())
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def png(image):
    """An 8-bit greyscale PNG of ``image`` (values 0 to 1, 1 = ink, drawn dark on white)."""
    grey = np.rint(255 * (1 - np.clip(image, 0, 1))).astype(np.uint8)
    height, width = grey.shape
    raw = b"".join(b"\x00" + row.tobytes() for row in grey)  # filter 0 before each row

    def chunk(kind, body):
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8 bits, greyscale
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw))
            + chunk(b"IEND", b""))


def _escape(text):
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def svg_grid(images, predicted, labels, title, per_row=8, size=96):
    """The images in a grid, each with 'pred 3' and 'true 3' below it; mistakes in red."""
    cell_width, cell_height, top = size + 16, size + 44, 36
    rows = -(-len(images) // per_row)
    width = min(len(images), per_row) * cell_width + 16
    height = top + rows * cell_height + 8
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" font-family="sans-serif">',
             f'<rect width="{width}" height="{height}" fill="white"/>',
             f'<text x="8" y="22" font-size="15">{_escape(title)}</text>']
    for i, (image, p, t) in enumerate(zip(images, predicted, labels)):
        x = 8 + (i % per_row) * cell_width + 8
        y = top + (i // per_row) * cell_height
        wrong = p != t
        colour = "#c00000" if wrong else "#006400"
        data = base64.b64encode(png(image)).decode("ascii")
        parts.append(f'<g><title>{_escape(caption(p, t))}</title>'
                     f'<image x="{x}" y="{y}" width="{size}" height="{size}" '
                     f'image-rendering="optimizeSpeed" style="image-rendering: pixelated" '
                     f'href="data:image/png;base64,{data}"/>'
                     f'<rect x="{x - 0.5}" y="{y - 0.5}" width="{size + 1}" height="{size + 1}" '
                     f'fill="none" stroke="{colour}" stroke-width="{3 if wrong else 1}"/>'
                     f'<text x="{x}" y="{y + size + 18}" font-size="14" font-weight="bold" '
                     f'fill="{colour}">pred {p}</text>'
                     f'<text x="{x + size}" y="{y + size + 18}" font-size="14" text-anchor="end" '
                     f'fill="#333">true {t}</text></g>')
    parts.append("</svg>\n")
    return "\n".join(parts)
