/* The public page: the map of public cases (cases.json) and two charts drawn with uPlot from the
   figures the page carries (#public-data, the same as stats.json and stats.csv). Everything from
   the data is put into the page as text (textContent), never as HTML. */
(function () {
  "use strict";
  var COLOURS = { open: "#d9480f", closed: "#2b8a3e" };
  var SERIES = ["#0b5cad", "#d9480f", "#2b8a3e", "#7048e8", "#c2255c", "#495057", "#e67700", "#1098ad"];
  var data = JSON.parse(document.getElementById("public-data").textContent);
  var names = {};
  data.categories.forEach(function (c) { names[c.code] = c.name; });

  function drawMap() {
    var el = document.getElementById("map");
    var status = document.getElementById("map-status");
    if (!el || typeof L === "undefined") { return; }
    var statuses = JSON.parse(el.dataset.statuses || "{}");
    var map = L.map(el, { scrollWheelZoom: false }).setView([23.03, 120.41], 13);  // 臺南市左鎮區
    L.tileLayer(el.dataset.tiles, { maxZoom: 18, attribution: el.dataset.attribution || "" }).addTo(map);
    function popup(c) {
      var box = document.createElement("div");
      box.className = "map-popup";
      [names[c.c] || "", statuses[c.st] || "", c.d, c.id, c.t || ""].forEach(function (t) {
        if (!t) { return; }
        var line = document.createElement("div");
        line.textContent = t;
        box.appendChild(line);
      });
      return box;
    }
    fetch(el.dataset.source, { headers: { "Accept": "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error(String(r.status)); } return r.json(); })
      .then(function (body) {
        var bounds = [];
        body.cases.forEach(function (c) {
          L.circleMarker([c.lat, c.lng], { radius: 9, weight: 2, color: "#ffffff",
            fillColor: COLOURS[c.s] || COLOURS.open, fillOpacity: 0.9 }).addTo(map).bindPopup(popup(c));
          bounds.push([c.lat, c.lng]);
        });
        if (bounds.length) { map.fitBounds(bounds, { padding: [30, 30], maxZoom: 15, animate: false }); }  // the view settles before data-loaded is set
        else if (status) { status.textContent = el.dataset.labelNone || ""; }
        el.dataset.loaded = String(bounds.length);
      })
      .catch(function () { if (status) { status.textContent = el.dataset.labelError || ""; } });
  }

  function width(el) { return Math.max(280, el.clientWidth || 600); }

  function monthlyChart(el) {
    var xs = data.months.map(function (m, i) { return i; });
    var series = [{}].concat(data.categories.map(function (c, i) {
      return { label: c.name, stroke: SERIES[i % SERIES.length], width: 2, points: { size: 6 } };
    }));
    var values = [xs].concat(data.categories.map(function (c) { return c.monthly; }));
    return new uPlot({
      width: width(el), height: 260, series: series,
      scales: { x: { time: false, range: [-0.3, xs.length - 0.7] }, y: { range: function (u, lo, hi) { return [0, Math.max(4, hi + 1)]; } } },
      axes: [{ values: function (u, splits) { return splits.map(function (i) { var m = data.months[i]; return m ? m.slice(2).replace("-", "/") : ""; }); },
               splits: function () { return xs; }, space: 10, size: 56, rotate: -45, font: "13px sans-serif" },
             { incrs: [1, 2, 5, 10, 20, 50, 100], size: 40 }],
      legend: { live: false }
    }, values, el);
  }

  function closedChart(el) {
    var xs = data.categories.map(function (c, i) { return i; });
    function pct(key) { return data.categories.map(function (c) { return c[key] === null ? null : Math.round(c[key] * 100); }); }
    var bars = function (align) { return uPlot.paths.bars({ size: [0.35, 40], align: align }); };
    return new uPlot({
      width: width(el), height: 280,
      series: [{}, { label: "已結案（%）", fill: "#74c0fc", stroke: "#1c7ed6", paths: bars(-1), points: { show: false } },
                   { label: "如期結案（%）", fill: "#8ce99a", stroke: "#2b8a3e", paths: bars(1), points: { show: false } }],
      scales: { x: { time: false, range: [-0.6, xs.length - 0.4] }, y: { range: [0, 100] } },
      axes: [{ values: function (u, splits) { return splits.map(function (i) { return (data.categories[i] || {}).name || ""; }); },
               splits: function () { return xs; }, space: 10, size: 80, rotate: -30, font: "13px sans-serif" },
             { size: 52, values: function (u, splits) { return splits.map(function (v) { return v + "%"; }); } }],
      legend: { live: false }
    }, [xs, pct("share_closed"), pct("share_within_target")], el);
  }

  function drawCharts() {
    if (typeof uPlot === "undefined") { return; }
    var charts = [];
    [["chart-monthly", monthlyChart], ["chart-closed", closedChart]].forEach(function (pair) {
      var el = document.getElementById(pair[0]);
      if (el) { charts.push([el, pair[1](el)]); el.dataset.drawn = "1"; }
    });
    window.addEventListener("resize", function () {
      charts.forEach(function (c) { c[1].setSize({ width: width(c[0]), height: c[1].height }); });
    });
  }

  drawCharts();
  drawMap();
}());
