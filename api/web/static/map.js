/* Maps of cityflow, drawn from the city's tile server (CITYFLOW_MAP_TILES): base.html loads this script
   only when one is set, and gives it the tile address, the city hall's point and the texts.
   - [data-cf-map] boxes (a place shown on a page, api/web/media.py): the tiles around the point, a marker.
   - .cf-location fieldsets of a form: a picker above the inputs. Drag to move the map, tap to put the
     point there (latitude and longitude are filled in), + and − to zoom; typing the numbers or
     "현재 위치 입력" moves it. Without this script the inputs work as they are.
   Tiles are Web Mercator ("slippy map") tiles of 256 px: zoom z has 2^z × 2^z of them. */
(function () {
  "use strict";
  var script = document.currentScript;
  var template = script && script.getAttribute("data-tiles");
  if (!template) return;
  var TILE = 256;
  var center = (script.getAttribute("data-center") || "37.2636,127.0286").split(",").map(Number);
  var texts = {
    zoomIn: script.getAttribute("data-zoom-in") || "+",
    zoomOut: script.getAttribute("data-zoom-out") || "-",
    hint: script.getAttribute("data-hint") || "",
    attribution: script.getAttribute("data-attribution") || ""
  };

  function world(z) { return TILE * Math.pow(2, z); }

  /* latitude and longitude → pixels of the whole world at zoom z, and back */
  function project(lat, lon, z) {
    var sin = Math.sin(Math.max(-85.05, Math.min(85.05, lat)) * Math.PI / 180);
    return {
      x: (lon + 180) / 360 * world(z),
      y: (0.5 - Math.log((1 + sin) / (1 - sin)) / (4 * Math.PI)) * world(z)
    };
  }

  function unproject(x, y, z) {
    var n = Math.PI * (1 - 2 * y / world(z));
    return {lat: Math.atan(Math.sinh(n)) * 180 / Math.PI, lon: x / world(z) * 360 - 180};
  }

  function tileUrl(z, x, y) {
    return template.replace("{z}", z).replace("{x}", x).replace("{y}", y);
  }

  /* A map in `box`: view = {lat, lon, z} is its middle; marker = {lat, lon} or null. */
  function TileMap(box, view, marker) {
    this.box = box;
    box.cfMap = this;
    this.view = view;
    this.marker = marker;
    this.layer = document.createElement("span");
    this.layer.className = "cf-map-tiles";
    this.pin = document.createElement("span");
    this.pin.className = "cf-map-marker";
    this.pin.setAttribute("aria-hidden", "true");
    box.appendChild(this.layer);
    box.appendChild(this.pin);
    if (texts.attribution) {
      var note = document.createElement("span");
      note.className = "cf-map-attribution";
      note.textContent = texts.attribution;
      box.appendChild(note);
    }
    box.hidden = false;
    this.draw();
  }

  TileMap.prototype.origin = function () {
    var middle = project(this.view.lat, this.view.lon, this.view.z);
    return {x: middle.x - this.box.clientWidth / 2, y: middle.y - this.box.clientHeight / 2};
  };

  TileMap.prototype.draw = function () {
    var z = this.view.z, origin = this.origin(), count = Math.pow(2, z);
    var width = this.box.clientWidth, height = this.box.clientHeight;
    var wanted = {};
    for (var ty = Math.floor(origin.y / TILE); ty * TILE < origin.y + height; ty++) {
      if (ty < 0 || ty >= count) continue;
      for (var tx = Math.floor(origin.x / TILE); tx * TILE < origin.x + width; tx++) {
        var url = tileUrl(z, ((tx % count) + count) % count, ty);
        wanted[url] = {left: tx * TILE - origin.x, top: ty * TILE - origin.y};
      }
    }
    var kept = {};
    Array.prototype.slice.call(this.layer.children).forEach(function (img) {
      var place = wanted[img.getAttribute("src")];
      if (!place || kept[img.getAttribute("src")]) { img.remove(); return; }
      kept[img.getAttribute("src")] = img;
    });
    for (var url2 in wanted) {
      var img = kept[url2];
      if (!img) {
        img = document.createElement("img");
        img.className = "cf-map-tile";
        img.alt = "";
        img.draggable = false;
        img.src = url2;
        this.layer.appendChild(img);
      }
      img.style.left = Math.round(wanted[url2].left) + "px";
      img.style.top = Math.round(wanted[url2].top) + "px";
    }
    if (this.marker) {
      var at = project(this.marker.lat, this.marker.lon, z);
      this.pin.hidden = false;
      this.pin.style.left = Math.round(at.x - origin.x) + "px";
      this.pin.style.top = Math.round(at.y - origin.y) + "px";
    } else {
      this.pin.hidden = true;
    }
  };

  TileMap.prototype.pointAt = function (offsetX, offsetY) {
    var origin = this.origin();
    return unproject(origin.x + offsetX, origin.y + offsetY, this.view.z);
  };

  TileMap.prototype.panBy = function (dx, dy) {
    var middle = project(this.view.lat, this.view.lon, this.view.z);
    var moved = unproject(middle.x - dx, middle.y - dy, this.view.z);
    this.view.lat = moved.lat;
    this.view.lon = moved.lon;
    this.draw();
  };

  TileMap.prototype.zoom = function (step) {
    this.view.z = Math.max(3, Math.min(19, this.view.z + step));
    this.draw();
  };

  function number(input) {
    var value = input ? parseFloat(input.value) : NaN;
    return isFinite(value) ? value : null;
  }

  /* a place shown on a page */
  function showPlace(box) {
    var lat = parseFloat(box.getAttribute("data-lat")), lon = parseFloat(box.getAttribute("data-lon"));
    if (!isFinite(lat) || !isFinite(lon)) return;
    new TileMap(box, {lat: lat, lon: lon, z: 16}, {lat: lat, lon: lon});
  }

  function button(label, text) {
    var made = document.createElement("button");
    made.type = "button";
    made.className = "cf-map-zoom";
    made.textContent = text;
    made.setAttribute("aria-label", label);
    return made;
  }

  /* a location field of a form */
  function pick(fieldset) {
    var latInput = fieldset.querySelector("[data-cf-lat]"), lonInput = fieldset.querySelector("[data-cf-lon]");
    if (!latInput || !lonInput || fieldset.querySelector(".cf-map-picker")) return;
    var lat = number(latInput), lon = number(lonInput);
    var given = lat !== null && lon !== null;
    var box = document.createElement("div");
    box.className = "cf-map cf-map-picker";
    box.setAttribute("data-cf-map-picker", "");
    var hint = document.createElement("p");
    hint.className = "cf-help cf-map-hint";
    hint.textContent = texts.hint;
    var anchor = fieldset.querySelector("[data-cf-status]") || fieldset.querySelector("legend");
    anchor.insertAdjacentElement("afterend", box);
    box.insertAdjacentElement("beforebegin", hint);
    var map = new TileMap(box, {lat: given ? lat : center[0], lon: given ? lon : center[1], z: given ? 17 : 15},
                      given ? {lat: lat, lon: lon} : null);
    var zoomIn = button(texts.zoomIn, "+"), zoomOut = button(texts.zoomOut, "−");
    var controls = document.createElement("span");
    controls.className = "cf-map-controls";
    controls.appendChild(zoomIn);
    controls.appendChild(zoomOut);
    box.appendChild(controls);
    zoomIn.addEventListener("click", function () { map.zoom(1); });
    zoomOut.addEventListener("click", function () { map.zoom(-1); });

    var press = null;
    box.addEventListener("pointerdown", function (event) {
      if (event.target.closest(".cf-map-controls")) return;
      press = {x: event.clientX, y: event.clientY, moved: false, id: event.pointerId};
      box.setPointerCapture(event.pointerId);
    });
    box.addEventListener("pointermove", function (event) {
      if (!press || event.pointerId !== press.id) return;
      var dx = event.clientX - press.x, dy = event.clientY - press.y;
      if (!press.moved && Math.abs(dx) + Math.abs(dy) < 6) return;
      press.moved = true;
      map.panBy(dx, dy);
      press.x = event.clientX;
      press.y = event.clientY;
    });
    box.addEventListener("pointerup", function (event) {
      if (!press || event.pointerId !== press.id) return;
      var tapped = !press.moved;
      press = null;
      if (!tapped) return;
      var rect = box.getBoundingClientRect();
      var point = map.pointAt(event.clientX - rect.left, event.clientY - rect.top);
      latInput.value = point.lat.toFixed(6);
      lonInput.value = point.lon.toFixed(6);
      map.marker = {lat: point.lat, lon: point.lon};
      map.draw();
    });
    box.addEventListener("pointercancel", function () { press = null; });

    function follow() {
      var newLat = number(latInput), newLon = number(lonInput);
      if (newLat === null || newLon === null || Math.abs(newLat) > 85 || Math.abs(newLon) > 180) return;
      map.marker = {lat: newLat, lon: newLon};
      map.view.lat = newLat;
      map.view.lon = newLon;
      map.draw();
    }
    latInput.addEventListener("change", follow);
    lonInput.addEventListener("change", follow);
  }

  function start(root) {
    root.querySelectorAll("[data-cf-map]").forEach(showPlace);
    root.querySelectorAll("form .cf-location").forEach(pick);
  }

  start(document);
  /* a location inside a group's row that the form's script adds later */
  new MutationObserver(function (changes) {
    changes.forEach(function (change) {
      change.addedNodes.forEach(function (node) { if (node.nodeType === 1) start(node); });
    });
  }).observe(document.body, {childList: true, subtree: true});
  window.addEventListener("resize", function () {
    document.querySelectorAll(".cf-map").forEach(function (box) { if (box.cfMap) box.cfMap.draw(); });
  });
})();
