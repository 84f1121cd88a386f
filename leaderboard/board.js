// codequarry leaderboard: sortable tables and filters; no dependencies, works from file://.
(function () {
  "use strict";

  function sortValue(cell, numeric) {
    var raw = cell ? cell.getAttribute("data-sort") : null;
    if (raw === null || raw === "") { return null; }
    return numeric ? parseFloat(raw) : raw;
  }

  function sortTable(table, th) {
    var headers = Array.prototype.slice.call(table.tHead.rows[0].cells);
    var index = headers.indexOf(th);
    var numeric = th.getAttribute("data-type") === "num";
    var current = th.getAttribute("aria-sort");
    var first = th.getAttribute("data-first") || (numeric ? "descending" : "ascending");
    var direction = current === first ? (first === "ascending" ? "descending" : "ascending") : first;
    headers.forEach(function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", direction);
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.forEach(function (row, i) { row.setAttribute("data-order", String(i)); });
    rows.sort(function (a, b) {
      var x = sortValue(a.cells[index], numeric);
      var y = sortValue(b.cells[index], numeric);
      if (x === null && y === null) { return a.getAttribute("data-order") - b.getAttribute("data-order"); }
      if (x === null) { return 1; }  // blanks last whatever the direction
      if (y === null) { return -1; }
      var c = numeric ? x - y : String(x).localeCompare(String(y));
      if (c === 0) { return a.getAttribute("data-order") - b.getAttribute("data-order"); }
      return direction === "ascending" ? c : -c;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }

  function checked(id) {
    var boxes = document.querySelectorAll("#" + id + " input[type=checkbox]");
    var on = {};
    Array.prototype.forEach.call(boxes, function (b) { on[b.value] = b.checked; });
    return on;
  }

  function applyFilters() {
    var task = document.getElementById("filter-task").value;
    var provenance = checked("filter-provenance");
    var columns = checked("filter-column");
    var shown = 0;
    var total = 0;
    Array.prototype.forEach.call(document.querySelectorAll("section.board"), function (section) {
      var sectionVisible = !task || section.getAttribute("data-task") === task;
      section.hidden = !sectionVisible;
      Array.prototype.forEach.call(section.querySelectorAll("[data-col]"), function (el) {
        var col = el.getAttribute("data-col");
        el.hidden = Object.prototype.hasOwnProperty.call(columns, col) && !columns[col];
      });
      Array.prototype.forEach.call(section.querySelectorAll("tbody tr"), function (row) {
        var prov = row.getAttribute("data-provenance");
        var hide = prov !== null && provenance[prov] === false;
        var valueCells = row.querySelectorAll("td[data-col][data-sort]:not([data-sort='']):not([data-col='avg'])");
        if (!hide && valueCells.length > 0) {
          var anyVisible = Array.prototype.some.call(valueCells, function (td) { return !td.hidden; });
          hide = !anyVisible;
        }
        row.hidden = hide;
        if (section.classList.contains("ranked")) {
          total += 1;
          if (sectionVisible && !hide) { shown += 1; }
        }
      });
    });
    Array.prototype.forEach.call(document.querySelectorAll("section.compare tbody tr"), function (row) {
      row.hidden = Boolean(task) && row.getAttribute("data-task") !== task;
    });
    var count = document.getElementById("row-count");
    count.textContent = shown + " of " + total + " rows shown";
    count.setAttribute("data-shown", String(shown));
  }

  function init() {
    Array.prototype.forEach.call(document.querySelectorAll("table.lb"), function (table) {
      Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th) {
        th.addEventListener("click", function () { sortTable(table, th); });
      });
    });
    document.getElementById("filter-task").addEventListener("change", applyFilters);
    Array.prototype.forEach.call(document.querySelectorAll("nav.controls input[type=checkbox]"), function (box) {
      box.addEventListener("change", applyFilters);
    });
    applyFilters();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
