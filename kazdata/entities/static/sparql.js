// The query page: a highlighted editor, running the query with fetch, a results table whose
// IRIs link to entity pages, downloads in every format. No library, nothing from a CDN.
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("sparql-page-data").textContent);
  const textarea = document.getElementById("query");
  const highlight = document.getElementById("highlight");
  const status = document.getElementById("status");
  const results = document.getElementById("results");
  const prefixNames = Object.keys(data.prefixes);

  const TOKEN = /("""[\s\S]*?"""|'''[\s\S]*?'''|"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')|(#[^\n]*)|(<[^<>"\s]*>)|([?$][A-Za-z_][\w]*)|([A-Za-z][\w.-]*)?:([\w.-]*)|\b([A-Za-z]+)\b/g;
  const KEYWORDS = new Set("SELECT CONSTRUCT DESCRIBE ASK WHERE FILTER OPTIONAL UNION GRAPH PREFIX BASE DISTINCT REDUCED ORDER BY GROUP HAVING LIMIT OFFSET VALUES BIND AS MINUS EXISTS NOT IN FROM NAMED SERVICE COUNT SUM MIN MAX AVG SAMPLE GROUP_CONCAT ASC DESC LANG LANGMATCHES STR REGEX CONTAINS STRSTARTS YEAR IF COALESCE BOUND A".split(" "));

  function escapeHtml(text) {
    return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }
  function render() {
    const text = textarea.value;
    let out = "", last = 0, m;
    TOKEN.lastIndex = 0;
    while ((m = TOKEN.exec(text)) !== null) {
      out += escapeHtml(text.slice(last, m.index));
      let cls = null;
      if (m[1]) cls = "str"; else if (m[2]) cls = "comment"; else if (m[3]) cls = "iri";
      else if (m[4]) cls = "var";
      else if (m[6] !== undefined && m[0].includes(":")) cls = prefixNames.includes(m[5] || "") ? "pname" : "pname unknown";
      else if (m[7] && KEYWORDS.has(m[7].toUpperCase())) cls = "kw";
      out += cls ? '<span class="' + cls + '">' + escapeHtml(m[0]) + "</span>" : escapeHtml(m[0]);
      last = TOKEN.lastIndex;
      if (m[0].length === 0) TOKEN.lastIndex++;
    }
    highlight.innerHTML = out + escapeHtml(text.slice(last)) + "\n";
  }
  textarea.addEventListener("input", render);
  textarea.addEventListener("scroll", function () { highlight.scrollTop = textarea.scrollTop; });

  function localHref(iri) {
    if (iri.startsWith(data.base + "id/")) return "/doc/" + iri.slice((data.base + "id/").length);
    if (iri.startsWith(data.base + "ontology#")) return "/ontology#" + iri.slice((data.base + "ontology#").length);
    return iri;
  }
  function cell(term) {
    const td = document.createElement("td");
    if (!term) return td;
    if (term.type === "uri" && /^https?:\/\//i.test(term.value)) {  // never a javascript: link
      const a = document.createElement("a");
      a.href = localHref(term.value);
      a.textContent = term.value;
      td.appendChild(a);
    } else {
      td.textContent = term.value + (term["xml:lang"] ? " @" + term["xml:lang"] : "");
    }
    return td;
  }
  function showTable(json, truncated) {
    results.replaceChildren();
    if (typeof json.boolean === "boolean") { results.textContent = "Answer: " + json.boolean; return; }
    const table = document.createElement("table");
    table.className = "results";
    const head = table.createTHead().insertRow();
    json.head.vars.forEach(function (v) { const th = document.createElement("th"); th.textContent = "?" + v; head.appendChild(th); });
    const body = table.createTBody();
    json.results.bindings.forEach(function (row) {
      const tr = body.insertRow();
      json.head.vars.forEach(function (v) { tr.appendChild(cell(row[v])); });
    });
    results.appendChild(table);
    status.textContent = json.results.bindings.length + " row(s)" + (truncated ? " — truncated at the endpoint's result limit (" + truncated + ")" : "");
  }
  async function run() {
    status.textContent = "Running…";
    results.replaceChildren();
    const body = new URLSearchParams({ query: textarea.value });
    let response;
    try {
      response = await fetch("/sparql", { method: "POST", body: body,
        headers: { "Accept": "application/sparql-results+json, text/turtle;q=0.9" } });
    } catch (error) { status.textContent = "Network error: " + error; return; }
    const text = await response.text();
    if (!response.ok) { status.textContent = "Error " + response.status + ": " + text; return; }
    const truncated = response.headers.get("X-Kazdata-Truncated");
    if ((response.headers.get("Content-Type") || "").startsWith("application/sparql-results+json")) {
      showTable(JSON.parse(text), truncated);
    } else {
      const pre = document.createElement("pre"); pre.textContent = text; results.appendChild(pre);
      status.textContent = "Graph result" + (truncated ? " — truncated (" + truncated + ")" : "");
    }
  }
  document.getElementById("query-form").addEventListener("submit", function (event) { event.preventDefault(); run(); });
  document.getElementById("download").addEventListener("click", function () {
    const format = document.getElementById("download-format").value || "json";
    window.location.href = "/sparql?" + new URLSearchParams({ query: textarea.value, format: format });
  });
  document.querySelectorAll("a.example").forEach(function (link) {
    link.addEventListener("click", function (event) {
      const example = data.examples.find(function (e) { return e.name === link.dataset.name; });
      if (!example) return;
      event.preventDefault();
      textarea.value = example.query;
      history.replaceState(null, "", link.href);
      render();
      run();
    });
  });
  render();
  if (data.run) run();
})();
