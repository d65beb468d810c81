/* The disaster situation board: draws the open disaster cases on a map and refreshes the counts,
   the villages' check-ins and the map from board.json every few seconds; when the disaster mode
   was switched elsewhere, the page reloads to show it. Data goes into the page
   only as text (textContent), never as HTML. */
(function () {
  "use strict";
  var board = document.getElementById("board");
  if (!board) { return; }
  var status = document.getElementById("board-status");
  var every = Math.max(15, parseInt(board.dataset.refresh || "30", 10)) * 1000;
  var mapEl = document.getElementById("disaster-map");
  var map = null, layer = null;
  var COLOURS = { critical: "#d62828", high: "#e07a00", normal: "#0b5cad" };

  if (mapEl && typeof L !== "undefined") {
    map = L.map(mapEl, { scrollWheelZoom: true }).setView([23.03, 120.41], 13);   // 臺南市左鎮區
    L.tileLayer(mapEl.dataset.tiles, { maxZoom: 19, attribution: mapEl.dataset.attribution || "" }).addTo(map);
    layer = L.layerGroup().addTo(map);
  }

  function setText(el, value) { if (el) { el.textContent = value === null || value === undefined ? "" : String(value); } }

  function drawMap(cases) {
    if (!layer) { return; }
    layer.clearLayers();
    cases.forEach(function (c) {
      if (c.lat === null || c.lng === null) { return; }
      var m = L.circleMarker([c.lat, c.lng], {
        radius: c.verified ? 11 : 8, weight: 2, color: "#ffffff",
        fillColor: COLOURS[c.severity] || COLOURS.normal, fillOpacity: 0.9
      });
      var box = document.createElement("div");
      var a = document.createElement("a");
      a.href = c.url;
      a.textContent = c.ref;
      box.appendChild(a);
      [c.severity_label + " · " + c.category_label, c.village + " " + c.place, c.created_at].forEach(function (t) {
        var line = document.createElement("div");
        line.textContent = t;
        box.appendChild(line);
      });
      m.bindPopup(box);
      m.bindTooltip(c.ref);
      layer.addLayer(m);
    });
  }

  function update(data) {
    if (typeof data.mode_on === "boolean" && String(data.mode_on) !== board.dataset.modeOn) {
      // Another admin turned the disaster mode on or off: the mode's section and forms change too.
      window.location.reload();
      return;
    }
    Object.keys(data.totals || {}).forEach(function (k) {
      setText(board.querySelector('[data-total="' + k + '"]'), data.totals[k]);
    });
    (data.villages || []).forEach(function (v) {
      var row = board.querySelector('tr[data-village="' + v.village + '"]');
      if (!row) { return; }
      row.dataset.status = v.status;
      setText(row.querySelector('[data-field="status_label"]'), v.status_label);
      setText(row.querySelector('[data-field="at"]'), v.at || "－");
      setText(row.querySelector('[data-field="open_cases"]'), v.open_cases);
    });
    (data.categories || []).forEach(function (c) {
      var row = board.querySelector('tr[data-category="' + c.id + '"]');
      if (!row) { return; }
      ["critical", "high", "normal", "total"].forEach(function (f) {
        setText(row.querySelector('[data-field="' + f + '"]'), c[f]);
      });
    });
    drawMap(data.cases || []);
    setText(status, board.dataset.labelUpdated + " " + (data.updated_at || ""));
  }

  function load() {
    fetch(board.dataset.source, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error(String(r.status)); } return r.json(); })
      .then(update)
      .catch(function () { setText(status, board.dataset.labelError); });
  }

  load();
  window.setInterval(load, every);
}());
