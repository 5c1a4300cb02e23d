// clinic cohort dashboard: sorting and filtering on top of a plain table.
// Without this script the table is complete and readable; with it, each column header sorts
// the rows and the controls above the table filter them. It only reads data-* attributes
// and moves existing rows; it never builds HTML from text.
(function () {
  "use strict";
  var table = document.getElementById("cohort-table");
  var controls = document.getElementById("cohort-controls");
  if (!table || !controls || !table.tBodies.length) {
    return;
  }
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  var count = document.getElementById("cohort-count");

  function key(row, name) {
    return row.getAttribute("data-" + name) || "";
  }

  // Sorting: a button in each sortable header; a second press reverses the order.
  var current = { column: null, descending: false };
  var headers = table.tHead.querySelectorAll("th[data-sort-key]");
  Array.prototype.forEach.call(headers, function (th) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "cohort-sort";
    while (th.firstChild) {
      button.appendChild(th.firstChild);
    }
    th.appendChild(button);
    button.addEventListener("click", function () {
      var column = th.getAttribute("data-sort-key");
      var numeric = th.getAttribute("data-sort-type") === "number";
      current.descending = current.column === column ? !current.descending : false;
      current.column = column;
      var sorted = rows.slice().sort(function (a, b) {
        var x = key(a, column);
        var y = key(b, column);
        var order = numeric ? Number(x) - Number(y) : x.localeCompare(y);
        if (order === 0) {
          order = Number(key(a, "index")) - Number(key(b, "index"));
        }
        return current.descending ? -order : order;
      });
      sorted.forEach(function (row) {
        body.appendChild(row);
      });
      Array.prototype.forEach.call(headers, function (other) {
        other.removeAttribute("aria-sort");
      });
      th.setAttribute("aria-sort", current.descending ? "descending" : "ascending");
    });
  });

  // Filtering: by name, by what needs attention, and by source (re-checked or reported).
  var search = document.createElement("input");
  search.type = "search";
  search.id = "cohort-search";
  search.placeholder = "Filter by name";
  search.setAttribute("aria-label", "Filter students by name");
  var show = document.createElement("select");
  show.id = "cohort-show";
  show.setAttribute("aria-label", "Show students");
  [
    ["all", "All students"],
    ["attention", "Not all verified"],
    ["verified", "All four verified"],
    ["error", "Errors only"],
  ].forEach(function (pair) {
    var option = document.createElement("option");
    option.value = pair[0];
    option.textContent = pair[1];
    show.appendChild(option);
  });

  var source = document.createElement("select");
  source.id = "cohort-source";
  source.setAttribute("aria-label", "Show students by source");
  [
    ["all", "Any source"],
    ["rechecked", "Re-checked here"],
    ["reported", "Reported by their CI"],
  ].forEach(function (pair) {
    var option = document.createElement("option");
    option.value = pair[0];
    option.textContent = pair[1];
    source.appendChild(option);
  });

  function apply() {
    var needle = search.value.trim().toLowerCase();
    var mode = show.value;
    var origin = source.value;
    var visible = 0;
    rows.forEach(function (row) {
      var match = key(row, "name").indexOf(needle) !== -1;
      if (mode === "attention") {
        match = match && key(row, "attention") === "true";
      } else if (mode === "verified") {
        match = match && key(row, "attention") === "false";
      } else if (mode === "error") {
        match = match && key(row, "error") === "true";
      }
      if (origin !== "all") {
        match = match && key(row, "source") === origin;
      }
      row.hidden = !match;
      if (match) {
        visible += 1;
      }
    });
    if (count) {
      count.textContent = visible + " of " + rows.length + " students shown";
    }
  }
  search.addEventListener("input", apply);
  show.addEventListener("change", apply);
  source.addEventListener("change", apply);
  controls.appendChild(search);
  controls.appendChild(show);
  controls.appendChild(source);
  controls.hidden = false;
  table.setAttribute("data-enhanced", "true");
  apply();
})();
