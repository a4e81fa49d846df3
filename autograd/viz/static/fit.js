// Fit a Graphviz SVG to its box (or show it at 100%) and keep one node in view. Shared by
// the step-through page (inlined before stepper.js) and the Jupyter widget's diagram
// (autograd/viz/step_widget.py), so both behave alike.
function tapegradPlace(box, focusId, fit) {
  "use strict";
  var MIN_SCALE = 0.5;  // fitting shrinks at most to half size; a larger graph scrolls
  var svg = box.querySelector("svg");
  if (!svg) { return; }
  var size = function (value) {  // Graphviz writes width="725pt": CSS pixels are 4/3 of that
    var n = parseFloat(value);
    return /pt$/.test(value) ? n * 4 / 3 : n;
  };
  var width = size(svg.getAttribute("width")), height = size(svg.getAttribute("height"));
  var scale = 1;
  if (fit) {
    var style = getComputedStyle(box);
    var room = {
      w: box.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight),
      h: box.clientHeight - parseFloat(style.paddingTop) - parseFloat(style.paddingBottom)
    };
    scale = Math.max(MIN_SCALE, Math.min(1, room.w / width, room.h / height));
  }
  svg.style.width = (width * scale) + "px";
  svg.style.height = (height * scale) + "px";
  svg.style.maxWidth = "none";   // the CSS fallback for when no script runs
  svg.style.maxHeight = "none";
  if (!focusId) { return; }
  var titles = svg.querySelectorAll("g.node > title");
  for (var i = 0; i < titles.length; i++) {
    if (titles[i].textContent !== focusId) { continue; }
    // Scroll the box (not the page) when the node is not wholly in view: to its middle.
    var r = titles[i].parentNode.getBoundingClientRect(), c = box.getBoundingClientRect();
    var inside = r.left >= c.left && r.right <= c.left + box.clientWidth &&
                 r.top >= c.top && r.bottom <= c.top + box.clientHeight;
    if (!inside) {
      box.scrollLeft += (r.left + r.width / 2) - (c.left + box.clientWidth / 2);
      box.scrollTop += (r.top + r.height / 2) - (c.top + box.clientHeight / 2);
    }
    return;
  }
}
