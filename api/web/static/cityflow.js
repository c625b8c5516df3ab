/* cityflow — small helps for pages that work without them.
   The case diagram: fit to the box's width, zoom in and out, drag to pan (touch pans natively).
   Folded sections (details[data-unfold-wide]) open on a wide screen. */
(function () {
  "use strict";
  var STEP = 1.25, MAX = 4, WIDE = "(min-width: 48rem)";

  function zoomable(figure) {
    var view = figure.querySelector(".cf-diagram-view");
    var controls = figure.querySelector(".cf-zoom");
    var svg = view && view.querySelector("svg");
    var box = svg && (svg.getAttribute("viewBox") || "").trim().split(/[\s,]+/).map(Number);
    if (!controls || !box || box.length !== 4 || !(box[2] > 0) || !(box[3] > 0)) return;
    var width = box[2], height = box[3], scale = 1, fitting = true;

    function fitScale() { return view.clientWidth / width; }
    function apply(next) {
      // keep the point at the middle of the box where it was
      var cx = (view.scrollLeft + view.clientWidth / 2) / (width * scale);
      var cy = (view.scrollTop + view.clientHeight / 2) / (height * scale);
      scale = Math.min(Math.max(next, fitScale() / 4), MAX);
      svg.style.width = width * scale + "px";
      svg.style.height = height * scale + "px";
      view.scrollLeft = cx * width * scale - view.clientWidth / 2;
      view.scrollTop = cy * height * scale - view.clientHeight / 2;
    }
    function fit() {
      fitting = true;
      apply(fitScale());
      if (fitScale() !== scale) apply(fitScale());  // a scrollbar came or went
    }

    view.classList.add("cf-zoomable");
    controls.hidden = false;
    controls.addEventListener("click", function (event) {
      var button = event.target.closest("button[data-zoom]");
      if (!button) return;
      var how = button.getAttribute("data-zoom");
      if (how === "fit") { fit(); return; }
      fitting = false;
      apply(how === "in" ? scale * STEP : scale / STEP);
    });
    window.addEventListener("resize", function () { if (fitting) fit(); });

    var drag = null;
    view.addEventListener("pointerdown", function (event) {
      if (event.pointerType !== "mouse" || event.button !== 0) return;
      drag = { x: event.clientX, y: event.clientY, left: view.scrollLeft, top: view.scrollTop };
      view.classList.add("cf-panning");
      view.setPointerCapture(event.pointerId);
    });
    view.addEventListener("pointermove", function (event) {
      if (!drag) return;
      view.scrollLeft = drag.left - (event.clientX - drag.x);
      view.scrollTop = drag.top - (event.clientY - drag.y);
    });
    function stop() { drag = null; view.classList.remove("cf-panning"); }
    view.addEventListener("pointerup", stop);
    view.addEventListener("pointercancel", stop);
    fit();
  }

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll(".cf-diagram"), zoomable);
    if (window.matchMedia && window.matchMedia(WIDE).matches) {
      Array.prototype.forEach.call(document.querySelectorAll("details[data-unfold-wide]"), function (details) {
        details.open = true;
      });
    }
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
}());
