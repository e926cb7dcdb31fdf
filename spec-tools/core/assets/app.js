// spectrace site: theme toggle (every page) and search with filters (the dashboard).
// Vanilla JavaScript, no dependencies, no network: works from file://.
(function () {
  "use strict";
  var KEY = "spectrace-theme";
  var root = document.documentElement;

  function stored() {
    try { return window.localStorage.getItem(KEY); } catch (e) { return null; }
  }
  function store(value) {
    try { window.localStorage.setItem(KEY, value); } catch (e) { /* storage disabled */ }
  }
  function current() {
    var chosen = root.getAttribute("data-theme");
    if (chosen) { return chosen; }
    var dark = window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
    return dark ? "dark" : "light";
  }
  // Before the body is drawn, so a stored choice does not flash the other theme.
  var saved = stored();
  if (saved === "light" || saved === "dark") { root.setAttribute("data-theme", saved); }

  function setupTheme() {
    var button = document.getElementById("theme-toggle");
    if (!button) { return; }
    var label = function () {
      var next = current() === "dark" ? "light" : "dark";
      button.textContent = next === "dark" ? "Dark" : "Light";
      button.setAttribute("aria-label", "Switch to the " + next + " theme");
    };
    button.addEventListener("click", function () {
      var next = current() === "dark" ? "light" : "dark";
      root.setAttribute("data-theme", next);
      store(next);
      label();
    });
    label();
  }

  function setupSearch() {
    var input = document.getElementById("search");
    var results = document.getElementById("results");
    var count = document.getElementById("result-count");
    if (!input || !results || !count) { return; }
    var index = window.SPECTRACE_INDEX || [];
    var filters = {
      level: document.getElementById("filter-level"),
      status: document.getElementById("filter-status"),
      sec: document.getElementById("filter-section"),
      kind: document.getElementById("filter-kind")
    };
    var haystacks = index.map(function (r) {
      return (r.id + "\n" + r.title + "\n" + r.text).toLowerCase();
    });

    function value(select) { return select ? select.value : ""; }

    function item(r) {
      var li = document.createElement("li");
      li.className = "result status-" + r.status;
      li.setAttribute("data-id", r.id);
      var link = document.createElement("a");
      link.href = r.page;
      link.textContent = r.id;
      var badge = document.createElement("span");
      badge.className = "badge status-" + r.status;
      badge.textContent = r.status;
      var level = document.createElement("span");
      level.className = "level";
      level.textContent = r.level.toUpperCase();
      var where = document.createElement("a");
      where.href = r.spec;
      where.className = "note";
      where.textContent = r.section;
      li.appendChild(link);
      li.appendChild(document.createTextNode(" "));
      li.appendChild(badge);
      li.appendChild(document.createTextNode(" "));
      if (r.strength) {
        var strength = document.createElement("span");
        strength.className = "strength";
        strength.title = "evidence strength";
        strength.textContent = r.strength;
        li.appendChild(strength);
        li.appendChild(document.createTextNode(" "));
      }
      li.appendChild(level);
      li.appendChild(document.createTextNode(" " + r.title + " "));
      li.appendChild(where);
      return li;
    }

    function update() {
      var query = input.value.trim().toLowerCase();
      var level = value(filters.level);
      var status = value(filters.status);
      var sec = value(filters.sec);
      var kind = value(filters.kind);
      var fragment = document.createDocumentFragment();
      var shown = 0;
      for (var i = 0; i < index.length; i++) {
        var r = index[i];
        if (level && r.level !== level) { continue; }
        if (status && r.status !== status) { continue; }
        if (sec && r.sec !== sec) { continue; }
        if (kind && r.kinds.indexOf(kind) < 0) { continue; }
        if (query && haystacks[i].indexOf(query) < 0) { continue; }
        fragment.appendChild(item(r));
        shown++;
      }
      results.textContent = "";
      results.appendChild(fragment);
      count.textContent = String(shown);
    }

    input.addEventListener("input", update);
    Object.keys(filters).forEach(function (name) {
      if (filters[name]) { filters[name].addEventListener("change", update); }
    });
    var form = input.form;
    if (form) { form.addEventListener("submit", function (e) { e.preventDefault(); }); }
    update();
  }

  document.addEventListener("DOMContentLoaded", function () {
    setupTheme();
    setupSearch();
  });
})();
