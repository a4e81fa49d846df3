// The controls of the stepper's page. autograd/viz/step_page.py inlines this file into
// the page and puts the time per step when playing, in ms, for the placeholder below.
(function () {
  "use strict";
  var frames = JSON.parse(document.getElementById("frames").textContent);
  var interval = INTERVAL;
  var last = frames.length - 1;
  var current = 0, timer = null;
  var $ = function (id) { return document.getElementById(id); };
  var slider = $("slider"), prev = $("prev"), next = $("next"), play = $("play");
  slider.max = String(last);
  function show(k) {
    k = Math.max(0, Math.min(last, k));
    current = k;
    slider.value = String(k);
    var box = $("diagram");
    box.innerHTML = frames[k].svg;
    focus(box, frames[k].focus);
    $("title").textContent = frames[k].title;
    $("text").textContent = frames[k].text;
    $("counter").textContent = k + " / " + last;
    prev.disabled = k === 0;
    next.disabled = k === last;
    document.body.setAttribute("data-frame", String(k));
  }
  function focus(box, id) {
    // Scroll the diagram (not the page) so the current node is in the middle of the view.
    if (!id || box.classList.contains("fit")) { return; }
    var titles = box.querySelectorAll("g.node > title");
    for (var i = 0; i < titles.length; i++) {
      if (titles[i].textContent === id) {
        var r = titles[i].parentNode.getBoundingClientRect(), c = box.getBoundingClientRect();
        box.scrollLeft += (r.left + r.width / 2) - (c.left + c.width / 2);
        box.scrollTop += (r.top + r.height / 2) - (c.top + c.height / 2);
        return;
      }
    }
  }
  $("fit").addEventListener("change", function () {
    $("diagram").classList.toggle("fit", this.checked);
    focus($("diagram"), frames[current].focus);
  });
  function stop() {
    if (timer !== null) { clearInterval(timer); timer = null; }
    play.textContent = "\u25B6 Play";
  }
  function start() {
    if (current === last) { show(0); }
    play.textContent = "\u23F8 Pause";
    timer = setInterval(function () {
      if (current >= last) { stop(); } else { show(current + 1); }
    }, interval);
  }
  prev.addEventListener("click", function () { stop(); show(current - 1); });
  next.addEventListener("click", function () { stop(); show(current + 1); });
  play.addEventListener("click", function () { if (timer === null) { start(); } else { stop(); } });
  slider.addEventListener("input", function () { stop(); show(parseInt(slider.value, 10)); });
  document.addEventListener("keydown", function (event) {
    if (event.target === slider || event.target.id === "fit") { return; }
    if (event.altKey || event.ctrlKey || event.metaKey) { return; }
    var moves = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 };
    if (event.key in moves) { stop(); show(current + moves[event.key]); }
    else if (event.key === "Home") { stop(); show(0); }
    else if (event.key === "End") { stop(); show(last); }
    else if (event.key === " " && event.target.tagName !== "BUTTON") {
      if (timer === null) { start(); } else { stop(); }
    } else { return; }
    event.preventDefault();
  });
  show(0);
})();
