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

  /* A phone's camera gives one photo at a time: each photo taken moves into a list (with a preview and a
     button to remove it) and a fresh input, under the same name, takes the next. */
  function photoTaken(input) {
    if (!input.files || !input.files.length) return;
    var list = input.parentNode.querySelector(":scope > .cf-taken");
    if (!list) {
      list = document.createElement("ul");
      list.className = "cf-files cf-taken";
      input.insertAdjacentElement("beforebegin", list);
    }
    var required = input.required || input.hasAttribute("data-cf-was-required");
    var fresh = input.cloneNode(false);
    fresh.value = "";
    fresh.required = false;  // the photos taken count
    if (required) fresh.setAttribute("data-cf-was-required", "");
    fresh.setAttribute("aria-label", input.getAttribute("data-cf-another"));
    input.insertAdjacentElement("afterend", fresh);
    input.removeAttribute("id");  // the field's label names the fresh input now
    input.hidden = true;
    var item = document.createElement("li");
    item.className = "cf-taken-photo";
    Array.prototype.forEach.call(input.files, function (file) {
      if (/^image\//.test(file.type) && window.URL && URL.createObjectURL) {
        var preview = document.createElement("img");
        preview.className = "cf-kept-photo";
        preview.alt = "";
        preview.src = URL.createObjectURL(file);
        item.appendChild(preview);
      }
    });
    var names = Array.prototype.map.call(input.files, function (file) { return file.name; }).join(", ");
    var text = document.createElement("span");
    text.textContent = input.getAttribute("data-cf-taken").replace("{name}", names);
    var remove = document.createElement("button");
    remove.type = "button";
    remove.className = "cf-button cf-secondary";
    remove.textContent = input.getAttribute("data-cf-remove");
    remove.addEventListener("click", function () {
      item.remove();
      var current = list.parentNode.querySelector(":scope > input[type=file][data-cf-camera]");
      if (!current) return;
      if (!list.children.length && current.hasAttribute("data-cf-was-required")) current.required = true;
      current.focus();
    });
    item.appendChild(text);
    item.appendChild(remove);
    item.appendChild(input);
    list.appendChild(item);
  }

  form.addEventListener("change", function (event) {
    var target = event.target instanceof Element ? event.target : null;
    if (target && target.matches("input[type=file][data-cf-camera]")) photoTaken(target);
  });

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
