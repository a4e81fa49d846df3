// The controls of the stepper's page. autograd/viz/step_page.py inlines this file into
// the page, after fit.js (tapegradPlace) and pictures.js (tapegradPictures), and puts the time per step when playing, in ms,
// for the placeholder below.
(function () {
  "use strict";
  var frames = JSON.parse(document.getElementById("frames").textContent);
  var pictures = JSON.parse(document.getElementById("picture-table").textContent);
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
    $("title").textContent = frames[k].title;  // first: the box's size depends on them
    $("text").textContent = frames[k].text;
    $("counter").textContent = frames[k].counter;
    $("pictures").innerHTML = frames[k].pictures || "";  // the step's tensors as pictures
    document.body.classList.toggle("has-pictures", Boolean(frames[k].pictures));
    tapegradPictures($("pictures").firstElementChild, pictures);
    $("diagram").innerHTML = frames[k].svg;
    place();
    prev.disabled = k === 0;
    next.disabled = k === last;
    document.body.setAttribute("data-frame", String(k));
  }
  function place() {
    // Fitted to the window (or at 100%), the current node in view: at the start of backprop
    // that is the output, where it starts.
    tapegradPlace($("diagram"), frames[current].focus, $("fit").checked);
  }
  $("fit").addEventListener("change", place);
  if (window.ResizeObserver) {  // a resized window, a title that wraps to two lines
    new ResizeObserver(function () { place(); }).observe($("diagram"));
  } else {
    window.addEventListener("resize", place);
  }
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
    if (event.target === slider) { return; }             // the slider has its own keys
    if (event.target.id === "fit" && event.key === " ") { return; }  // space ticks the box
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
