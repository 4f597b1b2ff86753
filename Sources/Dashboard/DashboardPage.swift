import Crypto
import Foundation

/// The dashboard page: one self-contained HTML document with its style and script inline, charts drawn as inline
/// SVG, no external requests. The Content-Security-Policy admits exactly this style and script (by SHA-256) and
/// connections to the same origin (the page reads `/dashboard/data`).
public enum DashboardPage {
    /// The page of a process (`Sealgate gateway`, `Sealgate key broker`).
    public static func html(title: String) -> String {
        """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <link rel="icon" href="data:,">
        <title>\(title) dashboard</title>
        <style>\(style)</style></head>
        <body><header><h1>\(title)</h1><nav><button type="button" data-range="hour">Last hour</button><button type="button" data-range="day">Last day</button></nav>
        <p id="status">loading…</p></header>
        <main id="panels"></main>
        <script>\(script)</script></body></html>
        """
    }

    /// The value of the `Content-Security-Policy` header of the page.
    public static let contentSecurityPolicy: String = {
        let hash = { (text: String) in "'sha256-" + Data(SHA256.hash(data: Data(text.utf8))).base64EncodedString() + "'" }
        return "default-src 'none'; script-src \(hash(script)); style-src \(hash(style)); connect-src 'self'; img-src data:; "
            + "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    }()

    static let style = #"""
    body{font:14px/1.4 system-ui,sans-serif;margin:0 1.5em;color:#1b1f24;background:#fafbfc}
    header{display:flex;flex-wrap:wrap;align-items:baseline;gap:1em}h1{font-size:1.3em}
    button{margin-right:.3em}button.on{font-weight:bold}
    #panels{display:grid;grid-template-columns:repeat(auto-fill,minmax(420px,1fr));gap:1em}
    section{background:#fff;border:1px solid #d0d7de;border-radius:6px;padding:.6em 1em;overflow-x:auto}
    #reasons,#timeline{grid-column:span 2}
    h2{font-size:1em;margin:.2em 0 .5em}table{border-collapse:collapse;width:100%}
    td,th{text-align:left;padding:2px 6px;border-bottom:1px solid #eaeef2;vertical-align:top}
    td.count{text-align:right;font-variant-numeric:tabular-nums}.muted{color:#57606a}
    svg text{font-size:10px;fill:#57606a}
    """#

    static let script = #"""
    "use strict";
    (function () {
      var range = "hour";
      var NS = "http://www.w3.org/2000/svg";
      var COLORS = ["#cf222e", "#1a7f37", "#0969da", "#8250df", "#bf8700"];
      function el(tag, text, cls) {
        var e = document.createElement(tag);
        if (text !== undefined) e.textContent = String(text);
        if (cls) e.className = cls;
        return e;
      }
      function svg(tag, attrs) {
        var e = document.createElementNS(NS, tag);
        Object.keys(attrs).forEach(function (k) { e.setAttribute(k, String(attrs[k])); });
        return e;
      }
      function denial(s) {
        switch (s.metric) {
          case "sealgate_denials_total": case "sealgate_connections_refused_total": return true;
          case "sealgate_key_release_total": return s.labels.decision === "denied";
          case "sealgate_attestation_total": return s.labels.reason !== "granted";
          case "sealgate_admin_actions_total": return s.labels.outcome === "denied";
          default: return false;
        }
      }
      function sum(data, pick) {
        var points = new Array(data.buckets).fill(0);
        data.series.forEach(function (s) { if (pick(s)) s.points.forEach(function (v, i) { points[i] += v; }); });
        return points;
      }
      function section(id, title) {
        var s = el("section"); s.id = id; s.appendChild(el("h2", title));
        document.getElementById("panels").appendChild(s);
        return s;
      }
      function chart(data, id, title, lines) {
        var s = section(id, title);
        var w = 400, h = 110, max = 1;
        lines.forEach(function (l) { l.points = sum(data, l.pick); l.points.forEach(function (v) { if (v > max) max = v; }); });
        var g = svg("svg", { viewBox: "0 0 " + (w + 40) + " " + (h + 30), width: "100%", role: "img" });
        g.appendChild(svg("line", { x1: 30, y1: h, x2: w + 30, y2: h, stroke: "#d0d7de" }));
        var top = svg("text", { x: 0, y: 10 }); top.textContent = String(max); g.appendChild(top);
        var zero = svg("text", { x: 0, y: h }); zero.textContent = "0"; g.appendChild(zero);
        var step = data.buckets > 1 ? w / (data.buckets - 1) : 0;
        lines.forEach(function (l, n) {
          var pts = l.points.map(function (v, i) { return (30 + i * step).toFixed(1) + "," + (h - (v / max) * (h - 12)).toFixed(1); });
          g.appendChild(svg("polyline", { points: pts.join(" "), fill: "none", stroke: COLORS[n % COLORS.length], "stroke-width": 1.5 }));
          var key = svg("text", { x: 30 + n * 130, y: h + 22, fill: COLORS[n % COLORS.length] });
          key.textContent = l.name + ": " + l.points.reduce(function (a, b) { return a + b; }, 0);
          g.appendChild(key);
        });
        s.appendChild(g);
      }
      function table(id, title, head, rows) {
        var s = section(id, title), t = el("table"), tr = el("tr");
        head.forEach(function (h) { tr.appendChild(el("th", h)); });
        t.appendChild(tr);
        if (rows.length === 0) { var r = el("tr"); var td = el("td", "none in this window", "muted"); td.colSpan = head.length; r.appendChild(td); t.appendChild(r); }
        rows.forEach(function (row) {
          var r = el("tr"); r.setAttribute("data-key", row.key);
          row.cells.forEach(function (c, i) { r.appendChild(el("td", c, i === row.cells.length - 1 && typeof c === "number" ? "count" : undefined)); });
          t.appendChild(r);
        });
        s.appendChild(t);
      }
      function breakdown(data, id, title, metric, labels, pick) {
        var totals = {};
        data.series.forEach(function (s) {
          if (s.metric !== metric || (pick && !pick(s))) return;
          var key = labels.map(function (l) { return s.labels[l] || "-"; }).join(" / ");
          totals[key] = (totals[key] || 0) + s.total;
        });
        var rows = Object.keys(totals).sort(function (a, b) { return totals[b] - totals[a] || (a < b ? -1 : 1); })
          .map(function (k) { return { key: k, cells: k.split(" / ").concat([totals[k]]) }; });
        table(id, title, labels.concat(["count"]), rows);
      }
      function render(data) {
        var panels = document.getElementById("panels");
        while (panels.firstChild) panels.removeChild(panels.firstChild);
        document.getElementById("status").textContent = data.process + " · scope " + data.scope + " · " + data.range + " in " +
          data.buckets + " buckets of " + data.bucket_seconds + " s · updated " + data.generated_at + (data.covers_window ? "" : " · counting since start-up");
        chart(data, "timeline", "Releases, allowed requests and denials over time", [
          { name: "denied", pick: denial },
          { name: "keys released", pick: function (s) { return s.metric === "sealgate_key_release_total" && s.labels.decision === "granted"; } },
          { name: "allowed requests", pick: function (s) { return s.metric === "sealgate_requests_total" && s.labels.outcome === "allowed"; } }
        ]);
        var s = section("reasons", "Top denial reasons"), t = el("table"), tr = el("tr");
        ["reason", "meaning", "explained in", "count"].forEach(function (h) { tr.appendChild(el("th", h)); });
        t.appendChild(tr);
        data.reasons.forEach(function (r) {
          var row = el("tr"); row.setAttribute("data-reason", r.reason);
          row.appendChild(el("td", r.reason)); row.appendChild(el("td", r.meaning)); row.appendChild(el("td", r.section, "muted"));
          row.appendChild(el("td", r.count, "count"));
          t.appendChild(row);
        });
        if (data.reasons.length === 0) { var none = el("tr"); var td = el("td", "no denials in this window", "muted"); td.colSpan = 4; none.appendChild(td); t.appendChild(none); }
        s.appendChild(t);
        breakdown(data, "by-tenant", "Denials by tenant", "sealgate_denials_total", ["tenant"]);
        breakdown(data, "by-class", "Denials by data class", "sealgate_denials_total", ["data_class"]);
        breakdown(data, "by-route", "Refusals by route and reason", "sealgate_denials_total", ["route", "reason"]);
        breakdown(data, "releases", "Key releases by tenant, type, TEE and decision", "sealgate_key_release_total", ["tenant", "resource_type", "tee", "decision"]);
        breakdown(data, "attestation", "Attestation outcomes by TEE, status and reason", "sealgate_attestation_total", ["tee", "status", "reason"]);
        breakdown(data, "redactions", "Redactions by label", "sealgate_redactions_total", ["label"]);
        breakdown(data, "admin", "Admin actions", "sealgate_admin_actions_total", ["action", "outcome", "reason"]);
        breakdown(data, "listener", "Listener refusals", "sealgate_connections_refused_total", ["reason"]);
        breakdown(data, "witness", "Witness cosignatures", "sealgate_audit_witness_cosignatures_total", ["witness"]);
        table("facts", "State now", ["", "value"], data.facts.map(function (f) { return { key: f.key, cells: [f.label, f.value] }; }));
      }
      function load() {
        fetch("/dashboard/data?range=" + range, { credentials: "same-origin", cache: "no-store" })
          .then(function (r) {
            if (!r.ok) return r.json().then(function (p) { throw new Error(p.type + ": " + p.detail); });
            return r.json();
          })
          .then(render)
          .catch(function (e) { document.getElementById("status").textContent = "could not load the figures (" + e.message + ")"; });
      }
      Array.prototype.forEach.call(document.querySelectorAll("button[data-range]"), function (b) {
        b.addEventListener("click", function () {
          range = b.getAttribute("data-range");
          Array.prototype.forEach.call(document.querySelectorAll("button[data-range]"), function (o) { o.className = o === b ? "on" : ""; });
          load();
        });
        if (b.getAttribute("data-range") === range) b.className = "on";
      });
      load();
      setInterval(load, 5000);
    })();
    """#
}
