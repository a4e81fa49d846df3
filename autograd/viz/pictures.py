"""Tensors shaped like images, drawn as small heatmaps: for the step-through and ``draw``.

A tensor (N, C, H, W) (or (C, H, W), one image) with H and W at most ``MAX_SIDE`` is shown
as a grid of pictures, one per image and channel (a conv's filters (K, C, Fh, Fw): one per
filter and channel). Every picture of a tensor shares one colour scale centred on 0:
white is 0, red positive, blue negative, full colour at the largest |value| of the whole
tensor (its range is printed beside the pictures). Only the first few images and channels
are drawn (``Caps``); the page says so.

The pictures are PNG files written here with zlib and struct (no imaging library), sent
inline as data: URIs, so a page or an SVG still needs no network.

On a conv or pooling node the page and the widget also know the node's geometry
(``geometry``): ``static/pictures.js`` then marks, for the element of z or dz under the
pointer, the input window it came from and the filter (for max pooling, the element that
won the window).
"""

import base64
import html
import json
import os
import re
import struct
import tempfile
import zlib
from dataclasses import dataclass

import numpy as np

import nodes
from nodes import kernels

from .numbers import number

MAX_SIDE = 64              # larger images are not drawn: a picture would not fit its place
NEUTRAL = (255, 255, 255)  # the colour of 0
POSITIVE = (178, 24, 43)   # the colour of +scale (red)
NEGATIVE = (33, 102, 172)  # the colour of -scale (blue)
NAN_COLOR = (0, 170, 0)    # NaN: a colour of neither sign
PICTURE_PX = 33            # a picture's side on the page, about (whole pixels per cell)


@dataclass(frozen=True)
class Caps:
    """How much of a tensor is drawn: images of a batch, channels of each, filters (a
    conv's weight is (K, C, Fh, Fw)) and channels of each filter."""
    images: int = 2
    channels: int = 32
    filters: int = 32
    filter_channels: int = 4


PAGE_CAPS = Caps()


# ---------------------------------------------------------------- colours and PNG

def color_scale(array):
    """The colour scale of a tensor: the largest |value| of its finite values (1.0 when
    they are all 0 or there are none), so that 0 is white and +-scale full colour."""
    array = np.asarray(array, dtype=np.float64)
    finite = array[np.isfinite(array)]
    scale = float(np.abs(finite).max()) if finite.size else 0.0
    return scale if scale > 0 else 1.0


def heatmap_rgb(array, scale):
    """An (H, W) array as (H, W, 3) uint8 colours: white at 0, towards red for positive
    values and blue for negative ones, full colour at |value| >= ``scale``; NaN green."""
    array = np.asarray(array, dtype=np.float64)
    if array.ndim != 2:
        raise ValueError(f"heatmap_rgb: expected a 2-D array (one picture), got shape "
                         f"{array.shape}")
    if not scale > 0:
        raise ValueError(f"heatmap_rgb: the colour scale must be positive, got {scale!r}")
    with np.errstate(invalid="ignore"):
        strength = np.clip(np.abs(array) / scale, 0.0, 1.0)[..., None]  # inf: full colour
    neutral = np.array(NEUTRAL, dtype=np.float64)
    end = np.where((array < 0)[..., None], np.array(NEGATIVE, float), np.array(POSITIVE, float))
    rgb = np.rint(neutral + strength * (end - neutral))
    rgb[np.isnan(array)] = NAN_COLOR
    return rgb.astype(np.uint8)


def png_bytes(rgb, upscale=1):
    """(H, W, 3) uint8 colours as a PNG file (8-bit RGB, no interlace); each cell
    ``upscale`` x ``upscale`` pixels when asked (for viewers that smooth small images)."""
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"png_bytes: expected (H, W, 3) uint8 colours, got {rgb.shape} "
                         f"{rgb.dtype}")
    if upscale > 1:
        rgb = rgb.repeat(upscale, axis=0).repeat(upscale, axis=1)
    height, width = rgb.shape[:2]
    rows = np.concatenate([np.zeros((height, 1), np.uint8), rgb.reshape(height, -1)], axis=1)

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8 bits, RGB
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(rows.tobytes(), 9)) + chunk(b"IEND", b""))


def data_uri(png):
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def cell_px(height, width):
    """Pixels per cell on the page: a picture about ``PICTURE_PX`` across, at least 2 per cell."""
    return int(min(16, max(2, round(PICTURE_PX / max(height, width)))))


# ---------------------------------------------------------------- which tensors, how much

def image_shaped(shape):
    """True for (N, C, H, W) or (C, H, W) with H, W at most MAX_SIDE and 4 cells or more."""
    if len(shape) not in (3, 4) or 0 in shape:
        return False
    height, width = shape[-2:]
    return height <= MAX_SIDE and width <= MAX_SIDE and height * width >= 4


class Grid:
    """The part of a tensor that is drawn, and its colour scale.

    ``array`` (N, C, H, W), or (C, H, W) as one image; ``filters=True`` for a conv's weight
    (K, C, Fh, Fw). ``pictures()`` yields (n, c, the (H, W) array); ``note`` says what was
    left out ('' when all is drawn).
    """

    def __init__(self, array, filters=False, caps=PAGE_CAPS):
        array = np.asarray(array)
        self.shape = array.shape
        if array.ndim == 3:
            array = array[None]
        self.array, self.filters = array, filters
        self.scale = color_scale(array)
        finite = array[np.isfinite(array)] if array.dtype.kind == "f" else array
        self.low = float(finite.min()) if finite.size else float("nan")
        self.high = float(finite.max()) if finite.size else float("nan")
        self.has_nan = array.dtype.kind == "f" and bool(np.isnan(array).any())
        many, channels = ((caps.filters, caps.filter_channels) if filters
                          else (caps.images, caps.channels))
        self.count, self.channels = min(array.shape[0], many), min(array.shape[1], channels)
        what = "filters" if filters else "images"
        left_out = []
        if self.count < array.shape[0]:
            left_out.append(f"the first {self.count} of {array.shape[0]} {what}")
        if self.channels < array.shape[1]:
            left_out.append(f"the first {self.channels} of {array.shape[1]} channels")
        self.note = (" and ".join(left_out) + " shown") if left_out else ""

    def pictures(self):
        for n in range(self.count):
            for c in range(self.channels):
                yield n, c, self.array[n, c]

    def range_text(self):
        """'min -8.0, max 4.0; ±8.0 full colour' (and '; NaN green' when there is one)."""
        scale = number(self.scale, 3)
        text = f"min {number(self.low, 3)}, max {number(self.high, 3)}; ±{scale} full colour"
        return text + ("; NaN green" if self.has_nan else "")


# ---------------------------------------------------------------- conv and pooling geometry

def _kind(node):
    """"conv", "maxpool" or "avgpool" for a 2-D conv or pooling node, else None (a 1-D one
    too: its (N, C, L) tensors are signals, not images)."""
    if getattr(node, "spatial", None) != 2:
        return None
    if isinstance(node, nodes.ConvolutionNode):
        return "conv"
    if isinstance(node, nodes.MaxPoolNode):
        return "maxpool"
    if isinstance(node, nodes.AvgPoolNode):
        return "avgpool"
    return None


def geometry(node, inputs):
    """What the page needs to map an output element to its input window, as a dict (None
    for other nodes and for 1-D ones): the kind, kernel, stride, padding, dilation,
    groups and channels; for max pooling also which element of each window won, for the
    images and channels drawn (``winners["n,c"]``: per output element, its offset m·Fw + n)."""
    kind = _kind(node)
    if kind == "conv":
        x, w = inputs[0], inputs[1]
        return {"kind": "conv", "kernel": list(node.kernel), "stride": list(node.strides),
                "pad": list(node.pads), "dilation": list(node.dilations),
                "groups": node.groups, "channels": int(x.shape[1]), "filters": int(w.shape[0])}
    if kind is None:
        return None
    found = {"kind": kind, "kernel": list(node.kernel), "stride": list(node.strides),
             "pad": list(node.pads), "dilation": [1, 1], "groups": 1,
             "channels": int(inputs[0].shape[1])}
    if kind == "maxpool":
        found["winners"] = _winners(node, np.asarray(inputs[0]))
    return found


def _winners(node, x, caps=PAGE_CAPS):
    """The first maximum of each window, as MaxPoolNode chose it, for the images and channels
    the page draws: {"n,c": [offset m·Fw + n of each output element, row-major]}. The node's
    own ``winner`` when it kept one; when its fast kernel ran (it keeps none) or backward
    released it, a copy of the node runs its math again on the part drawn."""
    winner = getattr(node, "winner", None)
    if winner is None or getattr(node, "fast", None) is not None:
        twin = nodes.MaxPoolNode(node.kernel_size, node.stride, node.floor, node.padding,
                                 node.ceil_mode)
        with kernels.use("reference"):
            twin.forwardPass(x[:caps.images, :caps.channels])
        winner = twin.winner
    winner = winner[:caps.images, :caps.channels]
    return {f"{n},{c}": winner[n, c].ravel().tolist() for n in range(winner.shape[0])
            for c in range(winner.shape[1])}


# ---------------------------------------------------------------- a frame's pictures

CONV_ROLES, POOL_ROLES = ("in", "filter"), ("in",)  # of the inputs; the bias has none


def frame_blocks(item):
    """The tensors of one step worth drawing, as (name, what, array, role) in order: the
    node's inputs and its output (values); on a backward step also the gradient that arrived
    and the ones sent. ``role`` is "in", "filter" or "out" on a conv or pooling node (what
    the pointer maps between), else None. ``item`` is a Step or a ForwardStep.

    A 1-D conv or pool step has none: its (N, C, L) signals and (K, C, F) filters are not
    images; nor has a tensor a 1-D conv or pool made (the next node's input)."""
    node, backward = item.node, hasattr(item, "upstream")
    if getattr(node, "spatial", None) == 1:
        return []
    kind = _kind(node)
    roles = CONV_ROLES if kind == "conv" else POOL_ROLES if kind else ()
    out_role = "out" if roles else None
    blocks = []
    for k, (tensor, name) in enumerate(zip(item.inputs, item.names)):
        if getattr(tensor._node, "spatial", None) != 1:
            role = roles[k] if k < len(roles) else None
            blocks.append((name, "value", tensor.data, role))
    blocks.append((item.out, "value", item.output.data, out_role))
    if backward:
        blocks.append(("d" + item.out, "gradient that arrived", item.upstream, out_role))
        for k, (grad, tensor, name) in enumerate(zip(item.grads, item.inputs, item.names)):
            if grad is not None and getattr(tensor._node, "spatial", None) != 1:
                role = roles[k] if k < len(roles) else None
                blocks.append(("d" + name, "gradient sent", grad, role))
    return [b for b in blocks if b[2] is not None and image_shaped(np.shape(b[2]))]


class PictureTable:
    """Pictures shared by the frames of one page: the same array (a tensor's value on every
    frame, a gradient sent then arriving) is stored once. ``entries`` is a list of
    {"png": data URI, "values": [...]}; the HTML refers to them by index (``data-pic``)."""

    def __init__(self):
        self.entries, self._index = [], {}

    def add(self, picture, scale):
        picture = np.asarray(picture)
        key = (picture.shape, str(picture.dtype), scale, picture.tobytes())
        if key not in self._index:
            values = [None if not np.isfinite(v) else float(number(v, 4))
                      for v in picture.astype(np.float64).ravel()]
            self._index[key] = len(self.entries)
            self.entries.append({"png": data_uri(png_bytes(heatmap_rgb(picture, scale))),
                                 "values": values})
        return self._index[key]


def frame_html(item, table, inline=False):
    """The pictures of one step as HTML ('' when it has none): a block per tensor, its name,
    what it is, its shape and colour range, a row of channel pictures per image (or the
    filters in one row). Pictures refer to ``table`` by ``data-pic``; with ``inline`` their
    src is set here too (a view without the page's script still shows them)."""
    if item is None:
        return ""
    blocks, backward = frame_blocks(item), hasattr(item, "upstream")
    if not blocks:
        return ""
    found = geometry(item.node, [t.data for t in item.inputs])
    out = item.out
    target = f"{out} or d{out}" if backward else out
    hint = (f"Point at a cell of {target}: the cells it came from are marked." if found
            else "Point at a cell to read its value.")
    parts = [f'<div class="tg-readout">{html.escape(hint)}</div>']
    for name, what, array, role in blocks:
        grid = Grid(array, filters=role == "filter")
        height, width = grid.array.shape[2:]
        cell = cell_px(height, width)
        if grid.count * grid.channels <= 4:  # a few pictures (the input digits): twice as large
            cell = min(16, 2 * cell)
        head = (f'<div class="tg-head"><b>{html.escape(name)}</b> {html.escape(what)} '
                f'{html.escape(str(tuple(grid.shape)))} <span class="tg-bar"></span> '
                f'<span class="tg-range">{html.escape(grid.range_text())}</span>'
                + (f' <span class="tg-note">{html.escape(grid.note)}</span>' if grid.note else "")
                + "</div>")
        rows = []
        for n, c, picture in grid.pictures():
            if c == 0 and (n == 0 or not grid.filters):  # a row per image; the filters in one
                label = "filters" if grid.filters else f"image {n}"
                rows.append(f'<div class="tg-row"><div class="tg-label">{label}</div>'
                            '<div class="tg-cells">')
            if grid.filters and c == 0:
                rows.append(f'<span class="tg-filter" title="filter {n}">')
            index = table.add(picture, grid.scale)
            src = f' src="{table.entries[index]["png"]}"' if inline else ""
            title = f"{name}[{n}, {c}]" if len(grid.shape) == 4 else f"{name}[{c}]"
            rows.append(f'<span class="tg-pic" data-n="{n}" data-c="{c}" '
                        f'title="{html.escape(title)}"><img data-pic="{index}"{src} '
                        f'width="{width * cell}" height="{height * cell}" alt=""></span>')
            if grid.filters and c == grid.channels - 1:
                rows.append("</span>")
            if c == grid.channels - 1 and (not grid.filters or n == grid.count - 1):
                rows.append("</div></div>")
        parts.append(f'<div class="tg-block" data-name="{html.escape(name)}" '
                     f'data-role="{role or ""}" data-h="{height}" data-w="{width}" '
                     f'data-grad="{int(what != "value")}" '
                     f'data-dims="{len(grid.shape)}">{head}{"".join(rows)}</div>')
    geometry_json = html.escape(json.dumps(found)) if found is not None else ""
    return (f'<div class="tg-pics" data-geometry="{geometry_json}">' + "".join(parts)
            + "</div>")


# ---------------------------------------------------------------- pictures in a diagram

DRAW_CAPS = Caps(images=2, channels=16, filters=16, filter_channels=4)
DRAW_PER_ROW = 8     # pictures in a row of a diagram's node
DRAW_PICTURE_PX = 32  # a picture's side in a diagram, about (in PNG pixels: 24 pt)
IMAGE_NAME = "tapegrad-picture-{}.png"  # as the DOT text names them; inlined when rendered
_IMAGE_HREF = re.compile(r'xlink:href="(?:[^"]*/)?(tapegrad-picture-\d+\.png)" '
                         r'width="[^"]*" height="([0-9.]+)px"')


def dot_pictures(array, images, filters=False, gradient=False):
    """A Graphviz HTML-like table of ``array``'s pictures, rows of ``DRAW_PER_ROW``, under a
    caption with its colour range; the PNG files it names are added to ``images`` ({name:
    bytes}, written where dot finds them when the diagram is rendered)."""
    grid = Grid(array, filters=filters, caps=DRAW_CAPS)
    height, width = grid.array.shape[2:]
    upscale = max(1, round(DRAW_PICTURE_PX / max(height, width)))
    size = [round(0.75 * upscale * side) + 2 for side in (height, width)]  # pt, and a border
    items = {}  # a row (or several) per image; the filters of one channel all together
    for n, c, picture in grid.pictures():
        name = IMAGE_NAME.format(len(images))
        images[name] = png_bytes(heatmap_rgb(picture, grid.scale), upscale)
        items.setdefault(n if grid.channels > 1 else 0, []).append(
            f'<TD BORDER="1" COLOR="#aaaaaa" FIXEDSIZE="TRUE" WIDTH="{size[1]}" '
            f'HEIGHT="{size[0]}"><IMG SRC="{name}"/></TD>')
    rows = []
    for n, cells in items.items():
        lines = [cells[k:k + DRAW_PER_ROW] for k in range(0, len(cells), DRAW_PER_ROW)]
        label = "" if filters or grid.count == 1 or grid.channels == 1 else f"image {n}"
        for k, line in enumerate(lines):
            head = (f'<TD ROWSPAN="{len(lines)}" VALIGN="TOP"><FONT POINT-SIZE="7" '
                    f'COLOR="#666666">{label}</FONT></TD>' if label and k == 0 else "")
            rows.append(f'<TR>{head}{"".join(line)}</TR>')
    what = "grad" if gradient else ("filters" if filters else "images")
    caption = f"{what}: {grid.range_text()}" + (f"; {grid.note}" if grid.note else "")
    color = ' COLOR="#c62828"' if gradient else ""
    # the pictures in a table of their own, so that a long caption does not spread them
    return (f'<TABLE BORDER="0" CELLSPACING="0" CELLPADDING="0"><TR><TD ALIGN="LEFT">'
            f'<FONT POINT-SIZE="8"{color}>{html.escape(caption)}</FONT></TD></TR><TR>'
            f'<TD ALIGN="LEFT"><TABLE BORDER="0" CELLSPACING="2" CELLPADDING="0">{"".join(rows)}'
            "</TABLE></TD></TR></TABLE>")


def pipe_with_images(pipe, digraph, images, args, kwargs):
    """``pipe(digraph, *args, **kwargs)`` (graphviz's own) where dot finds ``images``: they
    are written to a temporary folder, named by the graph's ``imagepath``; in SVG each is
    then inlined as a data: URI, so the drawing needs no file beside it."""
    format = kwargs.get("format") or (args[0] if args else None) or digraph.format
    with tempfile.TemporaryDirectory(prefix="tapegrad-pictures-") as folder:
        for name, data in images.items():
            with open(os.path.join(folder, name), "wb") as handle:
                handle.write(data)
        copy = digraph.copy()
        copy.attr("graph", imagepath=folder)
        result = pipe(copy, *args, **kwargs)
    if format != "svg":
        return result
    text = result.decode("utf-8") if isinstance(result, bytes) else result
    uris = {name: data_uri(data) for name, data in images.items()}
    # dot 2.43 lays a picture out at its size in points (96 pixels an inch) but writes its
    # width in pixels: both are set to the height, the size it was laid out at
    text = _IMAGE_HREF.sub(lambda found: f'style="image-rendering: pixelated" '
                                         f'xlink:href="{uris[found.group(1)]}" '
                                         f'width="{found.group(2)}" height="{found.group(2)}"',
                           text)
    return text.encode("utf-8") if isinstance(result, bytes) else text
