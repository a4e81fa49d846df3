// Tensors as pictures (autograd/viz/pictures.py writes the HTML): fills in each picture from
// the page's table and answers the pointer. Over a cell it prints the cell's index and value;
// over a cell of a conv's or a pooling node's output z (or of dz) it marks the input window
// that cell came from (dashed where the window lies on the zero padding), the filter (conv)
// and, for max pooling, the element that won the window.
function tapegradPictures(root, table) {
  "use strict";
  if (!root) { return; }
  var pictures = root.querySelectorAll("img[data-pic]");
  for (var p = 0; p < pictures.length; p++) {
    if (!pictures[p].getAttribute("src")) {
      pictures[p].src = table[+pictures[p].getAttribute("data-pic")].png;
    }
  }
  var text = root.getAttribute("data-geometry");
  var geometry = text ? JSON.parse(text) : null;
  var readout = root.querySelector(".tg-readout");
  var hint = readout ? readout.textContent : "";
  var last = "";

  function clear() {
    var marks = root.querySelectorAll(".tg-mark");
    for (var k = 0; k < marks.length; k++) { marks[k].parentNode.removeChild(marks[k]); }
    var lit = root.querySelectorAll(".tg-lit");
    for (k = 0; k < lit.length; k++) { lit[k].classList.remove("tg-lit"); }
  }
  function blocks(role, grad) {  // the blocks of a role (and kind: value / gradient)
    var found = root.querySelectorAll('.tg-block[data-role="' + role + '"]');
    return Array.prototype.filter.call(found, function (b) {
      return grad === undefined || b.getAttribute("data-grad") === grad;
    });
  }
  function picturesOf(block, n, c) {  // c undefined: every channel of item n
    var selector = '.tg-pic[data-n="' + n + '"]' + (c === undefined ? "" : '[data-c="' + c + '"]');
    return block.querySelectorAll(selector);
  }
  function mark(picture, block, i, j, kind) {
    var height = +block.getAttribute("data-h"), width = +block.getAttribute("data-w");
    var img = picture.querySelector("img");
    var ch = img.height / height, cw = img.width / width;
    var box = document.createElement("span");
    var outside = i < 0 || j < 0 || i >= height || j >= width;
    box.className = "tg-mark " + kind + (outside ? " tg-pad" : "");
    box.setAttribute("data-i", String(i));
    box.setAttribute("data-j", String(j));
    box.style.left = (j * cw) + "px";
    box.style.top = (i * ch) + "px";
    box.style.width = cw + "px";
    box.style.height = ch + "px";
    picture.appendChild(box);
  }
  function span(first, last) { return first === last ? String(first) : first + "–" + last; }
  function name(role, grad) {
    var found = blocks(role, grad);
    return found.length ? found[0].getAttribute("data-name") : (role === "in" ? "x" : "w");
  }

  // Mark where output element (n, k, i, j) came from; return the sentence that says so.
  function sources(n, k, i, j, grad, outWidth) {
    var g = geometry, S = g.stride, P = g.pad, D = g.dilation, F = g.kernel;
    var channels = [k], padded = false, chosen = null;
    if (g.kind === "conv") {
      var perGroup = g.channels / g.groups, group = Math.floor(k / (g.filters / g.groups));
      channels = [];
      for (var c = group * perGroup; c < (group + 1) * perGroup; c++) { channels.push(c); }
    } else if (g.kind === "maxpool") {
      var won = g.winners[n + "," + k][i * outWidth + j];
      chosen = [S[0] * i + Math.floor(won / F[1]) - P[0], S[1] * j + (won % F[1]) - P[1]];
    }
    var rows = [], cols = [];
    for (var m = 0; m < F[0]; m++) { rows.push(S[0] * i + D[0] * m - P[0]); }
    for (var q = 0; q < F[1]; q++) { cols.push(S[1] * j + D[1] * q - P[1]); }
    blocks("in").forEach(function (block) {
      var height = +block.getAttribute("data-h"), width = +block.getAttribute("data-w");
      channels.forEach(function (c) {
        Array.prototype.forEach.call(picturesOf(block, n, c), function (picture) {
          rows.forEach(function (r) {
            cols.forEach(function (s) {
              var isChosen = chosen && chosen[0] === r && chosen[1] === s;
              if (r < 0 || s < 0 || r >= height || s >= width) { padded = true; }
              mark(picture, block, r, s, isChosen ? "tg-chosen" : "tg-src");
            });
          });
        });
      });
    });
    var x = name("in", "0"), where = " rows " + span(rows[0], rows[rows.length - 1]) +
      ", columns " + span(cols[0], cols[cols.length - 1]) +
      (D[0] > 1 || D[1] > 1 ? " (every " + D.join("×") + "-th)" : "");
    var pad = padded ? " (dashed: the zero padding)" : "";
    if (g.kind === "conv") {
      blocks("filter").forEach(function (block) {
        Array.prototype.forEach.call(picturesOf(block, k), function (picture) {
          picture.classList.add("tg-lit");
        });
      });
      var w = name("filter", "0");
      var c0 = channels[0], c1 = channels[channels.length - 1];
      var window_ = x + "[" + n + ", " + span(c0, c1) + "]" + where + pad;
      return grad
        ? ": sent back through filter " + w + "[" + k + "] to the window " + window_ +
          ", and through that window to " + w + "[" + k + "]"
        : ": filter " + w + "[" + k + "] · the window " + window_ + ", plus the bias";
    }
    var win = x + "[" + n + ", " + k + "]" + where + pad;
    if (g.kind === "maxpool") {
      var at = x + "[" + n + ", " + k + ", " + chosen[0] + ", " + chosen[1] + "]";
      return grad ? ": all of it goes to " + at + ", the first max of the window " + win
                  : ": the max of the window " + win + ", at " + at;
    }
    return grad ? ": shared equally by the " + F[0] * F[1] + " cells of the window " + win
                : ": the mean of the window " + win;
  }

  root.addEventListener("mousemove", function (event) {
    var img = event.target;
    if (!img || img.tagName !== "IMG" || !img.hasAttribute("data-pic")) { return; }
    var picture = img.parentNode, block = picture.closest(".tg-block");
    var height = +block.getAttribute("data-h"), width = +block.getAttribute("data-w");
    var r = img.getBoundingClientRect();
    var cell = function (offset, extent, count) {
      return Math.min(count - 1, Math.max(0, Math.floor(offset / extent * count)));
    };
    var i = cell(event.clientY - r.top, r.height, height);
    var j = cell(event.clientX - r.left, r.width, width);
    var n = +picture.getAttribute("data-n"), c = +picture.getAttribute("data-c");
    var key = block.getAttribute("data-name") + [n, c, i, j].join(",");
    if (key === last) { return; }
    last = key;
    clear();
    var value = table[+img.getAttribute("data-pic")].values[i * width + j];
    var index = block.getAttribute("data-dims") === "4" ? [n, c, i, j] : [c, i, j];
    var line = block.getAttribute("data-name") + "[" + index.join(", ") + "] = " +
      (value === null ? "not finite" : String(value));
    var role = block.getAttribute("data-role");
    if (geometry && role === "out") {
      blocks("out").forEach(function (other) {
        Array.prototype.forEach.call(picturesOf(other, n, c), function (p) {
          mark(p, other, i, j, "tg-here");
        });
      });
      line += sources(n, c, i, j, block.getAttribute("data-grad") === "1", width);
    } else {
      mark(picture, block, i, j, "tg-here");
    }
    if (readout) { readout.textContent = line; }
  });
  root.addEventListener("mouseleave", function () {
    last = "";
    clear();
    if (readout) { readout.textContent = hint; }
  });
}
