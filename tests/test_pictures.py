"""Tensors as pictures: the colour scale, the PNG writer, what is drawn, the pooling winners."""

import struct
import zlib

import numpy as np
import pytest

import autograd as ag
import nodes
from autograd.viz import pictures
from autograd.viz.pictures import (NAN_COLOR, NEGATIVE, NEUTRAL, POSITIVE, Grid, color_scale,
                                   heatmap_rgb, image_shaped, png_bytes)
from autograd.viz.stepper import Stepper


def read_png(data):
    """(width, height, rows as an (H, W, 3) uint8 array) of an 8-bit RGB PNG, checking
    the signature, each chunk's CRC and that every row uses filter 0."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    position, chunks = 8, {}
    while position < len(data):
        (length,) = struct.unpack(">I", data[position:position + 4])
        kind = data[position + 4:position + 8]
        body = data[position + 8:position + 8 + length]
        (crc,) = struct.unpack(">I", data[position + 8 + length:position + 12 + length])
        assert crc == zlib.crc32(kind + body) & 0xFFFFFFFF, kind
        chunks[kind] = chunks.get(kind, b"") + body
        position += 12 + length
    assert list(chunks)[-1] == b"IEND"
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", chunks[b"IHDR"])
    assert (depth, colour, interlace) == (8, 2, 0)
    raw = np.frombuffer(zlib.decompress(chunks[b"IDAT"]), np.uint8).reshape(height, -1)
    assert (raw[:, 0] == 0).all()
    return width, height, raw[:, 1:].reshape(height, width, 3)


def test_zero_is_the_neutral_colour_and_the_scale_is_symmetric():
    values = np.array([[0.0, 1.0, -1.0], [0.5, -0.5, 2.0]])
    rgb = heatmap_rgb(values, scale=1.0).astype(int)
    assert tuple(rgb[0, 0]) == NEUTRAL
    assert tuple(rgb[0, 1]) == POSITIVE and tuple(rgb[0, 2]) == NEGATIVE  # full at +-scale
    assert tuple(rgb[1, 2]) == POSITIVE  # beyond the scale: clipped to full colour
    # +v and -v are equally far from white, towards red and towards blue
    white = np.array(NEUTRAL)
    for up, down in ((rgb[0, 1], rgb[0, 2]), (rgb[1, 0], rgb[1, 1])):
        assert np.allclose((white - up) / (white - np.array(POSITIVE)),
                           (white - down) / (white - np.array(NEGATIVE)), atol=0.01)
    half = (white - rgb[1, 0]) / (white - np.array(POSITIVE))
    assert np.allclose(half, 0.5, atol=0.01)  # linear in |value| / scale
    assert tuple(heatmap_rgb(np.array([[np.nan, np.inf, -np.inf]]), 1.0)[0, 0]) == NAN_COLOR
    assert [tuple(c) for c in heatmap_rgb(np.array([[np.inf, -np.inf]]), 1.0)[0]] == [
        POSITIVE, NEGATIVE]


def test_one_scale_per_tensor_from_its_largest_magnitude():
    assert color_scale(np.array([-3.0, 1.0, 2.0])) == 3.0  # the negative side sets it
    assert color_scale(np.array([0.5, np.nan, -np.inf])) == 0.5  # finite values only
    assert color_scale(np.zeros((2, 2))) == 1.0  # all 0: all white, no division by 0
    grid = Grid(np.array([[[[0.0, 4.0], [-1.0, 0.0]]], [[[2.0, 0.0], [0.0, -8.0]]]]))
    assert grid.scale == 8.0  # one scale for every picture of the tensor, not one each
    assert "min -8.0, max 4.0; ±8.0 full colour" == grid.range_text()
    with pytest.raises(ValueError, match="2-D"):
        heatmap_rgb(np.zeros((1, 2, 2)), 1.0)


def test_png_holds_the_colours_row_by_row():
    rgb = heatmap_rgb(np.array([[0.0, 1.0, -1.0], [-0.25, 0.25, 0.0]]), 1.0)
    width, height, pixels = read_png(png_bytes(rgb))
    assert (width, height) == (3, 2)
    assert (pixels == rgb).all()
    width, height, pixels = read_png(png_bytes(rgb, upscale=4))
    assert (width, height) == (12, 8)
    assert (pixels[::4, ::4] == rgb).all() and (pixels[3::4, 3::4] == rgb).all()
    with pytest.raises(ValueError, match="uint8"):
        png_bytes(np.zeros((2, 2, 3)))


def test_what_counts_as_images_and_the_caps():
    assert image_shaped((2, 16, 8, 8)) and image_shaped((16, 1, 3, 3)) and image_shaped((3, 4, 4))
    for shape in ((2, 256), (16,), (2, 16, 1, 1), (1, 1, 100, 100), (0, 1, 8, 8)):
        assert not image_shaped(shape), shape
    grid = Grid(np.ones((64, 40, 8, 8)))
    drawn = [(n, c) for n, c, _ in grid.pictures()]
    assert drawn == [(n, c) for n in range(2) for c in range(32)]
    assert grid.note == "the first 2 of 64 images and the first 32 of 40 channels shown"
    filters = Grid(np.ones((16, 8, 5, 5)), filters=True)
    assert (filters.count, filters.channels) == (16, 4) and "4 of 8 channels" in filters.note
    assert Grid(np.ones((2, 16, 4, 4))).note == ""


def brute_force_winners(x, kernel, stride, padding, sizes):
    """Window by window: the first NaN, else the first max; a window whose inputs are all
    -inf, its first input (never the padding)."""
    height, width = x.shape[2:]
    found = {}
    for n in range(x.shape[0]):
        for c in range(x.shape[1]):
            offsets = []
            for i in range(sizes[0]):
                for j in range(sizes[1]):
                    best, first_input = None, None
                    for m in range(kernel):
                        for q in range(kernel):
                            r, s = stride * i + m - padding, stride * j + q - padding
                            if not (0 <= r < height and 0 <= s < width):
                                continue
                            value = x[n, c, r, s]
                            if first_input is None:
                                first_input = m * kernel + q
                            if best is None or np.isnan(value) or (
                                    not np.isnan(best[0]) and value > best[0]):
                                if best is None or not np.isnan(best[0]):
                                    best = (value, m * kernel + q)
                    offsets.append(best[1] if best[0] > -np.inf or np.isnan(best[0])
                                   else first_input)
            found[f"{n},{c}"] = offsets
    return found


@pytest.mark.parametrize("padding, stride", [(1, 2), (1, 1), (0, 1), (0, 2)])
def test_the_max_pool_winners_follow_the_nodes_rule(padding, stride):
    """Ties go to the first max, NaN wins, a window of -inf inputs to its first input: from
    the node's own winners (padding: its math ran) or its math run again (its fast kernel
    ran and kept none; backward released them)."""
    rng = np.random.default_rng(0)
    x = rng.integers(0, 3, size=(2, 3, 6, 7)).astype(float)  # many ties
    x[0, 0, :3, :3] = -np.inf
    x[1, 2, 2, 2] = np.nan
    node = nodes.MaxPoolNode(3, stride, floor=True, padding=padding)
    node.forwardPass(x)
    expected = brute_force_winners(x, 3, stride, padding, node.out_shape[2:])
    assert pictures._winners(node, x) == expected
    z = ag.functional.max_pool2d(ag.tensor(x, requires_grad=True), 3, stride, padding=padding,
                                 floor=True)
    z.sum().backward()  # the engine releases what the node saved
    assert not hasattr(z._node, "winner")
    assert pictures._winners(z._node, x) == expected
    caps = pictures.Caps(images=1, channels=2)  # the part the page draws, no more
    assert pictures._winners(node, x, caps) == {key: expected[key] for key in ("0,0", "0,1")}


def test_a_conv_steps_tensors_and_their_roles():
    rng = np.random.default_rng(1)
    x = ag.tensor(rng.normal(size=(2, 1, 6, 6)), name="x")
    w = ag.tensor(rng.normal(size=(4, 1, 3, 3)), requires_grad=True, name="w")
    b = ag.tensor(np.zeros(4), requires_grad=True, name="b")
    loss = ag.functional.conv2d(x, w, b, padding=1).sum()
    conv_step = Stepper(loss).all_steps()[-1]
    blocks = [(name, what, role) for name, what, _, role in pictures.frame_blocks(conv_step)]
    assert blocks == [("x", "value", "in"), ("w", "value", "filter"), ("z", "value", "out"),
                      ("dz", "gradient that arrived", "out"), ("dw", "gradient sent", "filter")]
    table = pictures.PictureTable()
    page = pictures.frame_html(conv_step, table)
    assert page.count('class="tg-pic"') == 2 + 4 + 2 * 4 * 2 + 4  # x, w, z and dz, dw
    before = len(table.entries)  # shown again (the tensor on another frame): stored once
    pictures.frame_html(conv_step, table)
    assert len(table.entries) == before
    sum_step = Stepper(loss).all_steps()[0]  # the sum's input is (2, 4, 6, 6): images
    assert 'data-name="x′"' in pictures.frame_html(sum_step, table)
    scalar = ag.tensor(2.0, requires_grad=True) * 3.0
    assert pictures.frame_html(Stepper(scalar).all_steps()[0], table) == ""  # no images


def small_cnn():
    rng = np.random.default_rng(2)
    x = ag.tensor(rng.normal(size=(3, 1, 6, 6)), name="x")
    w = ag.tensor(rng.normal(size=(4, 1, 3, 3)), requires_grad=True, name="w")
    z = ag.functional.max_pool2d(ag.functional.relu(ag.functional.conv2d(x, w, padding=1)), 2)
    return x, w, z.sum()


def test_draw_images_names_a_picture_per_channel_and_filter():
    x, w, loss = small_cnn()
    loss.backward(retain_grads=True)
    plain = ag.draw(loss)
    assert "<IMG" not in plain.source and not plain.images
    diagram = ag.draw(loss, images=True)
    # x: 2 of its 3 images (1 channel); w and its gradient: 4 filters each; the conv, relu and
    # pool outputs and their gradients: 2 images x 4 channels each
    assert len(diagram.images) == 2 + 2 * 4 + 3 * 2 * 2 * 4
    assert diagram.source.count("<IMG") == len(diagram.images)
    assert "the first 2 of 3 images shown" in diagram.source
    assert all(data.startswith(b"\x89PNG") for data in diagram.images.values())


@pytest.mark.skipif(not __import__("shutil").which("dot"), reason="needs Graphviz's dot")
def test_draw_images_renders_them_inline(tmp_path):
    import base64
    import re

    x, w, loss = small_cnn()
    loss.backward()
    diagram = ag.draw(loss, images=True)
    svg = diagram.pipe(format="svg", encoding="utf-8")
    hrefs = re.findall(r'<image [^>]*xlink:href="([^"]*)"', svg)
    assert len(hrefs) == len(diagram.images) and all(h.startswith("data:image/png;base64,")
                                                      for h in hrefs)
    assert "tapegrad-picture-" not in svg  # no file named: the SVG stands alone
    # the first picture is digit 0 of x, in x's colour scale, each cell 5x5 pixels
    width, height, pixels = read_png(base64.b64decode(hrefs[0].split(",", 1)[1]))
    assert (width, height) == (30, 30)
    assert (pixels[::5, ::5] == heatmap_rgb(x.data[0, 0], color_scale(x.data))).all()
    path = diagram.render(tmp_path / "g.png")  # dot reads the pictures itself
    assert open(path, "rb").read(8) == b"\x89PNG\r\n\x1a\n"


def test_the_geometry_the_page_maps_with():
    x = np.zeros((1, 4, 9, 9))
    conv = nodes.ConvolutionNode(stride=2, padding=(1, 2), dilation=2, groups=2)
    conv.forwardPass(x, np.zeros((6, 2, 3, 3)))
    assert pictures.geometry(conv, [x, np.zeros((6, 2, 3, 3))]) == {
        "kind": "conv", "kernel": [3, 3], "stride": [2, 2], "pad": [1, 2], "dilation": [2, 2],
        "groups": 2, "channels": 4, "filters": 6}
    average = nodes.AvgPoolNode(3, 2, padding=1, floor=True)
    average.forwardPass(x)
    assert pictures.geometry(average, [x]) == {
        "kind": "avgpool", "kernel": [3, 3], "stride": [2, 2], "pad": [1, 1],
        "dilation": [1, 1], "groups": 1, "channels": 4}
    conv1d = nodes.ConvolutionNode()
    conv1d.forwardPass(np.zeros((1, 2, 9)), np.zeros((3, 2, 3)))
    assert pictures.geometry(conv1d, [np.zeros((1, 2, 9))]) is None  # 1-D: no windows drawn


def test_one_dimensional_signals_are_not_drawn_as_images():
    """A conv1d's x (N, C, L) is not C images of height C', nor its weight (K, C, F) one
    filter of K channels: a 1-D conv or pool step has no pictures, in a page or a diagram."""
    rng = np.random.default_rng(3)
    x = ag.tensor(rng.normal(size=(2, 3, 10)), name="x")
    w = ag.tensor(rng.normal(size=(5, 3, 3)), requires_grad=True, name="w")
    z = ag.functional.max_pool1d(ag.functional.conv1d(x, w), 2)  # (2, 5, 8) -> (2, 5, 4)
    loss = z.sum()
    table = pictures.PictureTable()
    for step in Stepper(loss).all_steps():  # conv, maxpool, and the sum of the pool's output
        assert pictures.frame_blocks(step) == [] and pictures.frame_html(step, table) == ""
    loss.backward(retain_grads=True)
    diagram = ag.draw(loss, images=True)
    assert not diagram.images and "<IMG" not in diagram.source


def test_the_widgets_pictures_send_each_png_once():
    """The widget's HTML has each picture's PNG in its <img>; its script gets the values the
    pointer reads, not the PNGs a second time."""
    from autograd.viz.step_widget import pictures_html
    x, w, loss = small_cnn()
    conv_step = next(s for s in Stepper(loss).all_steps() if s.op == "conv")
    text = pictures_html(conv_step)
    images = text.count("<img ")  # x (2 of 3 images), w, z and dz, dw
    assert images == 2 + 4 + 2 * 4 * 2 + 4 and text.count("data:image/png;base64,") == images
    assert '"values": [' in text
