/* The case map: reads its settings from #map's data attributes, loads the visible cases from
   map.json (same filters as the page) and draws one marker per case. Case data is put into the
   page only as text (textContent), never as HTML. */
(function () {
  "use strict";
  var el = document.getElementById("map");
  if (!el || typeof L === "undefined") { return; }
  var status = document.getElementById("map-status");
  var list = document.getElementById("map-list");
  var CENTER = [23.03, 120.41];   // 臺南市左鎮區
  var map = L.map(el, { scrollWheelZoom: true }).setView(CENTER, 13);
  L.tileLayer(el.dataset.tiles, { maxZoom: 19, attribution: el.dataset.attribution || "" }).addTo(map);

  function say(text) { if (status) { status.textContent = text || ""; } }

  function colour(c) {
    if (c.overdue) { return "#d62828"; }
    return (c.status === "new" || c.status === "in_progress") ? "#0b5cad" : "#8a8a8a";
  }

  function popup(c) {
    var box = document.createElement("div");
    box.className = "map-popup";
    var a = document.createElement("a");
    a.href = c.url;
    a.textContent = c.ref;
    a.title = el.dataset.labelOpen || "";
    box.appendChild(a);
    [c.category, c.status_label + (c.overdue ? " ⚠" : ""), c.village, c.created_at].forEach(function (t) {
      if (!t) { return; }
      var line = document.createElement("div");
      line.textContent = t;
      box.appendChild(line);
    });
    return box;
  }

  function listItem(c) {
    var li = document.createElement("li");
    var a = document.createElement("a");
    a.href = c.url;
    a.textContent = c.ref;
    li.appendChild(a);
    li.appendChild(document.createTextNode(" " + [c.category, c.status_label, c.village].filter(Boolean).join(" · ")));
    return li;
  }

  fetch(el.dataset.source, { credentials: "same-origin", headers: { "Accept": "application/json" } })
    .then(function (r) { if (!r.ok) { throw new Error(String(r.status)); } return r.json(); })
    .then(function (data) {
      var cases = data.cases || [];
      var bounds = [];
      cases.forEach(function (c) {
        var m = L.circleMarker([c.lat, c.lng], {
          radius: 9, weight: 2, color: "#ffffff", fillColor: colour(c), fillOpacity: 0.9
        }).addTo(map);
        m.bindPopup(popup(c));
        m.bindTooltip(c.ref);
        bounds.push([c.lat, c.lng]);
        if (list) { list.appendChild(listItem(c)); }
      });
      if (bounds.length === 1) { map.setView(bounds[0], 16); }
      else if (bounds.length > 1) { map.fitBounds(bounds, { padding: [30, 30], maxZoom: 16, animate: false }); }
      if (!cases.length) { say(el.dataset.labelNone); }
      else if (data.truncated) { say(el.dataset.labelTruncated); }
    })
    .catch(function () { say(el.dataset.labelError); });
}());
