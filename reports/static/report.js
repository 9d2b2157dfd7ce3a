// linkspider report: table sorting and filtering, and opening every finding for print.
// Works from a file opened from disk: no fetch, no module, no HTML built from strings
// (the page's policy requires Trusted Types, so only text and DOM nodes are written).
(function () {
  "use strict";

  function cellKey(row, index, numeric) {
    const cell = row.cells[index];
    if (!cell) {
      return numeric ? -Infinity : "";
    }
    const raw = cell.getAttribute("data-v");
    const text = raw === null ? cell.textContent : raw;
    if (numeric) {
      const value = parseFloat(text);
      return Number.isNaN(value) ? -Infinity : value;
    }
    return text.trim().toLowerCase();
  }

  function sortBy(table, th) {
    const headers = Array.from(th.parentNode.cells);
    const index = headers.indexOf(th);
    const numeric = th.getAttribute("data-type") === "num";
    const current = th.getAttribute("aria-sort");
    // Numbers sort largest first on the first click, text A to Z.
    let ascending;
    if (current === "ascending") {
      ascending = false;
    } else if (current === "descending") {
      ascending = true;
    } else {
      ascending = !numeric;
    }
    headers.forEach(function (other) {
      other.removeAttribute("aria-sort");
    });
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    const body = table.tBodies[0];
    const rows = Array.from(body.rows).map(function (row, position) {
      return { row: row, key: cellKey(row, index, numeric), position: position };
    });
    const direction = ascending ? 1 : -1;
    rows.sort(function (a, b) {
      if (a.key < b.key) {
        return -direction;
      }
      if (a.key > b.key) {
        return direction;
      }
      return a.position - b.position;
    });
    const fragment = document.createDocumentFragment();
    rows.forEach(function (item) {
      fragment.appendChild(item.row);
    });
    body.appendChild(fragment);
  }

  function applyFilter(table) {
    const id = table.id;
    const search = document.querySelector('input[data-filter-for="' + id + '"]');
    const select = document.querySelector('select[data-flag-for="' + id + '"]');
    const counter = document.querySelector('[data-count-for="' + id + '"]');
    const words = search ? search.value.trim().toLowerCase().split(/\s+/).filter(Boolean) : [];
    const flag = select ? select.value : "";
    const rows = Array.from(table.tBodies[0].rows);
    let shown = 0;
    rows.forEach(function (row) {
      const text = row.textContent.toLowerCase();
      const flags = (row.getAttribute("data-flags") || "").split(" ");
      const visible =
        words.every(function (word) {
          return text.indexOf(word) !== -1;
        }) && (flag === "" || flags.indexOf(flag) !== -1);
      row.hidden = !visible;
      if (visible) {
        shown += 1;
      }
    });
    if (counter) {
      counter.textContent =
        shown === rows.length
          ? rows.length.toLocaleString("en") + " rows"
          : shown.toLocaleString("en") + " of " + rows.length.toLocaleString("en") + " rows match";
    }
  }

  document.querySelectorAll("table.sortable").forEach(function (table) {
    table.querySelectorAll("thead th button.sort").forEach(function (button) {
      button.addEventListener("click", function () {
        sortBy(table, button.closest("th"));
      });
    });
  });

  document.querySelectorAll("input[data-filter-for], select[data-flag-for]").forEach(function (control) {
    const id = control.getAttribute("data-filter-for") || control.getAttribute("data-flag-for");
    const table = document.getElementById(id);
    if (!table) {
      return;
    }
    control.addEventListener("input", function () {
      applyFilter(table);
    });
    applyFilter(table);
  });

  // A printed report shows every finding's details, then the page goes back as it was.
  let closedForPrint = [];
  window.addEventListener("beforeprint", function () {
    closedForPrint = Array.from(document.querySelectorAll("details:not([open])"));
    closedForPrint.forEach(function (item) {
      item.open = true;
    });
  });
  window.addEventListener("afterprint", function () {
    closedForPrint.forEach(function (item) {
      item.open = false;
    });
    closedForPrint = [];
  });
})();
