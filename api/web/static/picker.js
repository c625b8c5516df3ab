/* cityflow — people and departments chosen from the organisation by a few words of their name,
   department or position. A form's person and department fields are <select>s that work without
   this script (select[data-cf-picker]); here each becomes a search box over /api/people or
   /api/departments, with the chosen ones listed above it. The select stays the form's value:
   choosing selects its option (moved to the end, so the order chosen is the order posted). */
(function () {
  "use strict";
  var SOURCES = { person: "/api/people", department: "/api/departments" };
  var counter = 0;

  function optionFor(select, value) {
    for (var i = 0; i < select.options.length; i++) {
      if (select.options[i].value === value) return select.options[i];
    }
    return null;
  }

  function labelOf(option) {
    var note = option.getAttribute("data-cf-note");
    return { text: option.textContent.trim(), note: note || "" };
  }

  /* A list item naming someone (or a department), with their department (or bureau) beside. */
  function entry(className, shown) {
    var item = document.createElement("li");
    item.className = className;
    var name = document.createElement("span");
    name.textContent = shown.text;
    item.appendChild(name);
    if (shown.note) {
      var note = document.createElement("span");
      note.className = "cf-chip-note";
      note.textContent = shown.note;
      item.appendChild(note);
    }
    return item;
  }

  function chosen(select) {
    return Array.prototype.filter.call(select.options, function (o) { return o.selected && o.value; });
  }

  function enhance(select) {
    if (select.dataset.cfPicked) return;
    select.dataset.cfPicked = "1";
    var kind = select.getAttribute("data-cf-picker");
    var multiple = select.multiple;
    var id = "cf-picker-" + (++counter);
    var box = document.createElement("div");
    box.className = "cf-picker";
    var list = document.createElement("ul");
    list.className = "cf-chosen";
    list.setAttribute("aria-live", "polite");
    var input = document.createElement("input");
    input.type = "search";
    input.className = "cf-picker-search";
    input.autocomplete = "off";
    input.placeholder = select.getAttribute("data-cf-find") || "";
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", id);
    var label = select.id && document.querySelector('label[for="' + CSS.escape(select.id) + '"]');
    if (label) {  // the field's label now names the search box
      label.setAttribute("for", id + "-q");
      input.id = id + "-q";
    }
    if (select.getAttribute("aria-describedby")) input.setAttribute("aria-describedby", select.getAttribute("aria-describedby"));
    if (select.getAttribute("aria-invalid")) input.setAttribute("aria-invalid", "true");
    var results = document.createElement("ul");
    results.className = "cf-picker-results";
    results.id = id;
    results.setAttribute("role", "listbox");
    results.hidden = true;
    box.appendChild(list);
    box.appendChild(input);
    box.appendChild(results);
    select.parentNode.insertBefore(box, select.nextSibling);
    select.hidden = true;
    select.required = false;  // the server says what is missing; a hidden input cannot be pointed at
    select.tabIndex = -1;

    function drawChosen() {
      list.textContent = "";
      chosen(select).forEach(function (option) {
        var shown = labelOf(option);
        var item = entry("cf-chip", shown);
        var remove = document.createElement("button");
        remove.type = "button";
        remove.className = "cf-chip-remove";
        remove.textContent = "×";
        remove.setAttribute("aria-label", (select.getAttribute("data-cf-remove") || "{name}").replace("{name}", shown.text));
        remove.addEventListener("click", function () {
          option.selected = false;
          drawChosen();
          input.focus();
        });
        item.appendChild(remove);
        list.appendChild(item);
      });
    }

    function choose(found) {
      var option = optionFor(select, found.value);
      if (!option) {
        option = document.createElement("option");
        option.value = found.value;
      }
      option.textContent = found.text;
      if (found.note) option.setAttribute("data-cf-note", found.note);
      if (!multiple) chosen(select).forEach(function (o) { o.selected = false; });
      select.appendChild(option);  // the end of the select: the order chosen is the order posted
      option.selected = true;
      select.dispatchEvent(new Event("change", { bubbles: true }));
      input.value = "";
      close();
      drawChosen();
      input.focus();
    }

    function close() {
      results.hidden = true;
      results.textContent = "";
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
    }

    function show(items) {
      results.textContent = "";
      var taken = {};
      chosen(select).forEach(function (o) { taken[o.value] = true; });
      items = items.filter(function (item) { return !taken[item.value]; });
      if (!items.length) {
        var none = document.createElement("li");
        none.className = "cf-picker-none";
        none.textContent = select.getAttribute("data-cf-none") || "";
        results.appendChild(none);
      }
      items.forEach(function (item, index) {
        var row = entry("cf-picker-option", item);
        row.id = id + "-" + index;
        row.setAttribute("role", "option");
        row.addEventListener("mousedown", function (event) { event.preventDefault(); });
        row.addEventListener("click", function () { choose(item); });
        row._cfItem = item;
        results.appendChild(row);
      });
      results.hidden = false;
      input.setAttribute("aria-expanded", "true");
    }

    function shownAs(found) {
      if (kind === "person") {
        var name = found.name || "";
        var position = found.position || "";
        var text = position && name.slice(-position.length) !== position ? name + " · " + position : name;
        return { value: found.value, text: text, note: found.department || "" };
      }
      return { value: found.value, text: found.name, note: found.parent || "" };
    }

    var pending = null, timer = null;
    function search() {
      var words = input.value.trim();
      if (pending) pending.abort();
      pending = new AbortController();
      results.setAttribute("aria-busy", "true");
      fetch(SOURCES[kind] + "?limit=20&q=" + encodeURIComponent(words),
            { credentials: "same-origin", signal: pending.signal, headers: { Accept: "application/json" } })
        .then(function (answer) { return answer.ok ? answer.json() : []; })
        .then(function (found) { show(found.map(shownAs)); })
        .catch(function () { /* a newer search replaced this one, or the network failed: keep the select's */ })
        .then(function () { results.removeAttribute("aria-busy"); });
    }

    function move(step) {
      var rows = results.querySelectorAll("[role=option]");
      if (!rows.length) return;
      var current = results.querySelector("[aria-selected=true]");
      var index = Array.prototype.indexOf.call(rows, current) + step;
      index = (index + rows.length) % rows.length;
      if (current) current.removeAttribute("aria-selected");
      rows[index].setAttribute("aria-selected", "true");
      rows[index].scrollIntoView({ block: "nearest" });
      input.setAttribute("aria-activedescendant", rows[index].id);
    }

    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(search, 150);
    });
    input.addEventListener("click", function () { if (results.hidden) search(); });  // a tap lists the organisation
    input.addEventListener("blur", function () { setTimeout(close, 150); });
    input.addEventListener("keydown", function (event) {
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        if (results.hidden) search(); else move(event.key === "ArrowDown" ? 1 : -1);
      } else if (event.key === "Enter") {
        var current = results.querySelector("[aria-selected=true]") ||
          (results.querySelectorAll("[role=option]").length === 1 ? results.querySelector("[role=option]") : null);
        if (!results.hidden) event.preventDefault();  // Enter picks, it never submits the form from here
        if (current && current._cfItem) choose(current._cfItem);
      } else if (event.key === "Escape") {
        close();
      } else if (event.key === "Backspace" && !input.value && multiple) {
        var last = chosen(select).pop();
        if (last) { last.selected = false; drawChosen(); }
      }
    });
    drawChosen();
  }

  function enhanceAll(root) {
    root.querySelectorAll("select[data-cf-picker]").forEach(function (select) {
      if (!select.closest("template")) enhance(select);
    });
  }

  document.addEventListener("cf:row-added", function (event) { enhanceAll(event.target); });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { enhanceAll(document); });
  } else {
    enhanceAll(document);
  }
})();
