/* Progressive enhancement of a cityflow form: the page works without this script. */
(function () {
  "use strict";
  var form = document.currentScript && document.currentScript.closest("form");
  if (!form || form.dataset.cfReady) return;
  form.dataset.cfReady = "1";

  function offerLocation(root) {
    if (!("geolocation" in navigator)) return;
    root.querySelectorAll("[data-cf-locate]").forEach(function (button) { button.hidden = false; });
  }

  /* Add a row in place instead of posting the form: copy the group's blank row with the next index. */
  function addRow(button, event) {
    var group = button.closest(".cf-group");
    var template = group && group.querySelector(":scope > template");
    var rows = group && group.querySelector(":scope > .cf-rows");
    if (!template || !rows) return;
    event.preventDefault();
    var index = Number(group.getAttribute("data-cf-next")) || 0;
    group.setAttribute("data-cf-next", String(index + 1));
    var html = template.innerHTML
      .split(template.getAttribute("data-cf-index")).join(String(index))
      .split(template.getAttribute("data-cf-number")).join(String(index + 1));
    rows.insertAdjacentHTML("beforeend", html);
    var row = rows.lastElementChild;
    offerLocation(row);
    row.dispatchEvent(new CustomEvent("cf:row-added", {bubbles: true}));  // pickers enhance the new row
    var first = row.querySelector("input:not([type=hidden]), select, textarea");
    if (first) first.focus();
  }

  function locate(button) {
    var box = button.closest(".cf-location");
    var status = box.querySelector("[data-cf-status]");
    status.textContent = button.getAttribute("data-cf-busy");
    navigator.geolocation.getCurrentPosition(function (position) {
      box.querySelector("[data-cf-lat]").value = position.coords.latitude.toFixed(6);
      box.querySelector("[data-cf-lon]").value = position.coords.longitude.toFixed(6);
      box.querySelector("[data-cf-lon]").dispatchEvent(new Event("change", {bubbles: true}));  /* a map follows */
      status.textContent = button.getAttribute("data-cf-done");
    }, function () {
      status.textContent = button.getAttribute("data-cf-failed");
    }, {enableHighAccuracy: true, timeout: 15000, maximumAge: 60000});
  }

  form.addEventListener("click", function (event) {
    var target = event.target instanceof Element ? event.target : null;
    var add = target && target.closest("[data-cf-add]");
    if (add) return addRow(add, event);
    var here = target && target.closest("[data-cf-locate]");
    if (here) locate(here);
  });
  offerLocation(form);
  var errors = form.querySelector(".cf-errors");
  if (errors) errors.focus();
})();
