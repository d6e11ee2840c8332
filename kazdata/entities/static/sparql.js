// The query page: a highlighted editor, running the query with fetch, a results table whose
// IRIs link to their pages, downloads as files, the query and format kept in the URL so a
// result can be shared and survives a reload. No library, nothing from a CDN. Without this
// script the form still works: Download submits it and the server sends the file.
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("sparql-page-data").textContent);
  const form = document.getElementById("query-form");
  const textarea = document.getElementById("query");
  const highlight = document.getElementById("highlight");
  const formatSelect = document.getElementById("format");
  const bomBox = document.getElementById("bom");
  const status = document.getElementById("status");
  const errorBox = document.getElementById("query-error");
  const results = document.getElementById("results");
  const prefixNames = Object.keys(data.prefixes);
  // the page's own Accept: a table as SPARQL JSON, a graph as JSON-LD (Turtle if it cannot be),
  // and an error as JSON, which carries a syntax error's line and column
  const RUN_ACCEPT = "application/sparql-results+json, application/ld+json;q=0.95, text/turtle;q=0.9, application/json;q=0.1";
  const DOWNLOAD_ACCEPT = "text/csv, text/turtle;q=0.9, application/json;q=0.1";
  const LONGEST_URL = 8000;  // the server answers 414 past this: such a query is not put in the URL
  const RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type";
  let errorAt = null;  // {line, column}: where the last syntax error is, until the query is edited

  const TOKEN = /("""[\s\S]*?"""|'''[\s\S]*?'''|"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')|(#[^\n]*)|(<[^<>"\s]*>)|([?$][A-Za-z_][\w]*)|([A-Za-z][\w.-]*)?:([\w.-]*)|\b([A-Za-z]+)\b/g;
  const KEYWORDS = new Set("SELECT CONSTRUCT DESCRIBE ASK WHERE FILTER OPTIONAL UNION GRAPH PREFIX BASE DISTINCT REDUCED ORDER BY GROUP HAVING LIMIT OFFSET VALUES BIND AS MINUS EXISTS NOT IN FROM NAMED SERVICE COUNT SUM MIN MAX AVG SAMPLE GROUP_CONCAT ASC DESC LANG LANGMATCHES STR REGEX CONTAINS STRSTARTS YEAR IF COALESCE BOUND A".split(" "));

  function escapeHtml(text) {
    return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }
  // where the column-th character of a line starts, in the UTF-16 units a JavaScript string counts
  // (Oxigraph counts characters: an emoji or a letter past U+FFFF is one column, two units here)
  function unitsBefore(line, column) {
    return Array.from(line).slice(0, Math.max(column - 1, 0)).join("").length;
  }
  // [start, end) of the error mark in the text: one character at the column, or the whole line
  function errorSpan(text) {
    if (!errorAt) return null;
    const lines = text.split("\n");
    if (errorAt.line < 1 || errorAt.line > lines.length) return null;
    let start = 0;
    for (let i = 0; i < errorAt.line - 1; i++) start += lines[i].length + 1;
    const line = lines[errorAt.line - 1];
    if (errorAt.column == null) return { start: start, end: start + line.length, cls: "error-line" };
    const offset = start + unitsBefore(line, errorAt.column);
    return { start: offset, end: offset + (line.codePointAt(offset - start) > 0xFFFF ? 2 : 1), cls: "error-at" };
  }
  function piece(text, from, cls, span) {  // a stretch of text as HTML, the error mark cut into it
    let html = "";
    const to = from + text.length;
    if (span && span.start < to && span.end > from) {
      const a = Math.max(span.start, from) - from, b = Math.min(span.end, to) - from;
      let marked = text.slice(a, b);
      if (marked === "" || marked === "\n") marked = " " + marked;  // past the line's end: mark a space
      html = escapeHtml(text.slice(0, a)) + '<mark class="' + span.cls + '">' + escapeHtml(marked) + "</mark>" + escapeHtml(text.slice(b));
    } else {
      html = escapeHtml(text);
    }
    return cls ? '<span class="' + cls + '">' + html + "</span>" : html;
  }
  function render() {
    const text = textarea.value;
    const span = errorSpan(text);
    let out = "", last = 0, m;
    TOKEN.lastIndex = 0;
    while ((m = TOKEN.exec(text)) !== null) {
      out += piece(text.slice(last, m.index), last, null, span);
      let cls = null;
      if (m[1]) cls = "str"; else if (m[2]) cls = "comment"; else if (m[3]) cls = "iri";
      else if (m[4]) cls = "var";
      else if (m[6] !== undefined && m[0].includes(":")) cls = prefixNames.includes(m[5] || "") ? "pname" : "pname unknown";
      else if (m[7] && KEYWORDS.has(m[7].toUpperCase())) cls = "kw";
      out += piece(m[0], m.index, cls, span);
      last = TOKEN.lastIndex;
      if (m[0].length === 0) TOKEN.lastIndex++;
    }
    out += piece(text.slice(last), last, null, span);
    if (span && span.start >= text.length) out += '<mark class="' + span.cls + '"> </mark>';  // at the very end
    highlight.innerHTML = out + "\n";
    highlight.scrollTop = textarea.scrollTop;
  }
  textarea.addEventListener("input", function () { if (errorAt) { errorAt = null; } render(); });
  textarea.addEventListener("scroll", function () { highlight.scrollTop = textarea.scrollTop; });
  textarea.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) { event.preventDefault(); run(true); }
  });

  // -- results ------------------------------------------------------------------------------
  // The box takes the focus (its rows scroll with the arrow keys) only when it holds something:
  // empty, a Tab stopped on nothing visible.
  function showResults() {
    results.replaceChildren.apply(results, arguments);
    if (results.firstChild) results.tabIndex = 0; else results.removeAttribute("tabindex");
  }
  function localHref(iri) {  // the dataset's own IRIs open their pages here; others, themselves
    if (!iri.startsWith(data.base)) return iri;
    const path = iri.slice(data.base.length);
    return "/" + (path.startsWith("id/") ? "doc/" + path.slice(3) : path);
  }
  function shortName(iri) {
    for (const name of prefixNames) if (iri.startsWith(data.prefixes[name]) && iri.length > data.prefixes[name].length) return name + ":" + iri.slice(data.prefixes[name].length);
    return iri;
  }
  function iriLink(iri) {  // text that may wrap after / # ? & =, never inside a word
    const a = document.createElement("a");
    a.href = localHref(iri);
    iri.split(/(?<=[/#?&=])/).forEach(function (part, i) {
      if (i) a.appendChild(document.createElement("wbr"));
      a.appendChild(document.createTextNode(part));
    });
    return a;
  }
  function small(cls, text) { const s = document.createElement("span"); s.className = cls; s.textContent = text; return s; }
  function termNode(term) {  // a SPARQL JSON term
    if (term.type === "uri") return /^https?:\/\//i.test(term.value) ? iriLink(term.value) : document.createTextNode("<" + term.value + ">");  // never a javascript: link
    if (term.type === "bnode") return document.createTextNode("_:" + term.value);
    if (term.type === "triple") {
      const span = document.createElement("span");
      span.append("<< ", termNode(term.value.subject), " ", termNode(term.value.predicate), " ", termNode(term.value.object), " >>");
      return span;
    }
    const span = document.createElement("span");
    span.append(term.value);
    if (term["xml:lang"]) span.append(" ", small("lang", "@" + term["xml:lang"]));
    else if (term.datatype) span.append(" ", small("datatype", "^^" + shortName(term.datatype)));
    return span;
  }
  // A browser takes seconds to lay out a table of 10,000 rows (measured: 6 s in Chromium, nearly
  // all of it layout and style), so the first ROWS_AT_ONCE are shown and a button adds more.
  const ROWS_AT_ONCE = 1000;
  function table(headers, rows, word) {
    const t = document.createElement("table");
    t.className = "results";
    const head = t.createTHead().insertRow();
    headers.forEach(function (h) { const th = document.createElement("th"); th.textContent = h; head.appendChild(th); });
    const body = t.createTBody();
    let shown = 0;
    function more() {
      rows.slice(shown, shown + ROWS_AT_ONCE).forEach(function (row) {
        const tr = body.insertRow();
        row.forEach(function (term) {  // the div bounds the column's width: a cell's max-width is not
          const div = document.createElement("div");
          div.className = term && term.type === "literal" && term.value.length > 60 ? "cell long" : "cell";
          if (term) div.appendChild(termNode(term));
          tr.insertCell().appendChild(div);
        });
      });
      shown = Math.min(rows.length, shown + ROWS_AT_ONCE);
    }
    more();
    if (shown >= rows.length) return t;
    const button = document.createElement("button");
    button.type = "button";
    button.className = "more-rows";
    function label() { button.textContent = "Show " + Math.min(ROWS_AT_ONCE, rows.length - shown) + " more " + word + "s (" + shown + " of " + rows.length + " shown)"; }
    button.addEventListener("click", function () {
      more();
      if (shown < rows.length) { label(); return; }
      button.remove();
      results.focus();  // not lost to the page's top with the button: the arrow keys still scroll the rows
    });
    label();
    const both = document.createDocumentFragment();
    both.append(t, button);
    return both;
  }
  function jsonLdTerm(value) {  // an expanded JSON-LD object as a SPARQL JSON term
    if (value["@id"] !== undefined) return value["@id"].startsWith("_:") ? { type: "bnode", value: value["@id"].slice(2) } : { type: "uri", value: value["@id"] };
    const term = { type: "literal", value: String(value["@value"]) };
    if (value["@language"]) term["xml:lang"] = value["@language"];
    else if (value["@type"]) term.datatype = value["@type"];
    return term;
  }
  function graphRows(json) {
    const nodes = Array.isArray(json) ? json : (json["@graph"] || []);
    const rows = [];
    nodes.forEach(function (node) {
      const subject = jsonLdTerm({ "@id": node["@id"] });
      Object.keys(node).forEach(function (key) {
        if (key === "@id") return;
        const values = Array.isArray(node[key]) ? node[key] : [node[key]];
        const predicate = { type: "uri", value: key === "@type" ? RDF_TYPE : key };
        values.forEach(function (v) { rows.push([subject, predicate, key === "@type" ? { type: "uri", value: v } : jsonLdTerm(v)]); });
      });
    });
    return rows;
  }
  function plural(n, word) { return n + " " + word + (n === 1 ? "" : "s"); }
  function summary(count, what, elapsed, truncated) {
    let text = plural(count, what) + " in " + Math.round(elapsed) + " ms";
    if (count > ROWS_AT_ONCE) text += " (the first " + ROWS_AT_ONCE + " shown)";
    if (truncated) text += " — cut at the endpoint's limit (" + (truncated.match(/limit=(\d+)/) || [, truncated])[1] + "): add LIMIT/OFFSET or download in parts";
    return text;
  }

  // -- errors -------------------------------------------------------------------------------
  function clearError() { errorAt = null; errorBox.hidden = true; errorBox.replaceChildren(); render(); }
  function showError(response, text) {
    let message = text.trim(), title = response.statusText || "Error", line = null, column = null;
    if ((response.headers.get("Content-Type") || "").startsWith("application/json")) {
      try {
        const body = JSON.parse(text);
        message = body.message || message; title = body.error || title;
        line = Number.isInteger(body.line) ? body.line : null;
        column = Number.isInteger(body.column) ? body.column : null;
      } catch (e) { /* not the JSON it says: shown as text */ }
    } else if ((response.headers.get("Content-Type") || "").startsWith("text/html")) {
      // a proxy's error page (502, 504 from nginx or a load balancer): its words, not its markup
      const page = new DOMParser().parseFromString(text, "text/html");
      message = (page.body ? page.body.textContent : "").replace(/\s+/g, " ").trim().slice(0, 300) || "the server sent an error page";
    }
    message = message.replace(/^\d{3} [^:]+: /, "");  // a plain-text body repeats the status
    const strong = document.createElement("strong");
    strong.textContent = title + " (" + response.status + ")";
    errorBox.replaceChildren(strong, document.createTextNode(": "));
    if (line !== null) {
      errorAt = { line: line, column: column };
      const undeclared = /prefix that is not declared/.test(message) && undeclaredPrefix(line, column);
      if (undeclared) errorBox.append(small("where", "Undeclared prefix " + undeclared + " — "));
      moveCaret(line, column);
    }
    errorBox.append(message);
    errorBox.hidden = false;
    status.textContent = "";
    render();
  }
  function undeclaredPrefix(line, column) {
    const text = textarea.value.split("\n")[line - 1] || "";
    const found = text.slice(0, column == null ? text.length : unitsBefore(text, column + 1)).match(/([A-Za-z][\w.-]*)?:[\w.-]*\s*$/);
    return found ? (found[1] || "") + ":" : null;
  }
  function moveCaret(line, column) {
    const lines = textarea.value.split("\n");
    let offset = 0;
    for (let i = 0; i < line - 1 && i < lines.length; i++) offset += lines[i].length + 1;
    offset += unitsBefore(lines[line - 1] || "", column || 1);
    textarea.focus();
    textarea.setSelectionRange(offset, offset);
  }

  // -- the URL: ?query=...&format=... --------------------------------------------------------
  // Each history entry keeps its query and format in its state as well as in its address, so that
  // back and forward restore a query too long for the address, and an example's entry.
  const EXAMPLE_PATH = "/sparql/examples/";
  const opened = { query: textarea.value, path: location.pathname + location.search };
  function pageUrl() {
    const params = new URLSearchParams({ query: textarea.value });
    if (formatSelect.value) params.set("format", formatSelect.value);
    return "/sparql?" + params;
  }
  function tooLong() { return pageUrl().length > LONGEST_URL; }  // the server would answer 414
  function remember(push) {
    const url = tooLong() ? "/sparql" : pageUrl();  // a query too long is kept in the state only
    const state = { query: textarea.value, format: formatSelect.value };
    if (push && url === location.pathname + location.search && !tooLong()) push = false;
    (push ? history.pushState : history.replaceState).call(history, state, "", url);
  }
  function chooseFormat(wanted) {
    const offered = Array.prototype.some.call(formatSelect.options, function (o) { return o.value === wanted; });
    formatSelect.value = wanted && offered ? wanted : "";
  }
  function restoreFormat() { chooseFormat(new URLSearchParams(location.search).get("format")); }
  function markExample(name) {
    document.querySelectorAll("ol.examples li").forEach(function (li) {
      li.classList.toggle("selected", li.querySelector("a.example").dataset.name === name);
    });
  }
  // what the current history entry shows: its state, else its address (a shared link, an
  // example's URL), else the page as it was first opened
  function entry() {
    const params = new URLSearchParams(location.search);
    const example = location.pathname.startsWith(EXAMPLE_PATH)
      ? data.examples.find(function (e) { return EXAMPLE_PATH + e.name === location.pathname; }) : null;
    if (history.state && typeof history.state.query === "string") return { query: history.state.query, format: history.state.format || "", run: true, example: example };
    if (params.has("query")) return { query: params.get("query"), format: params.get("format") || "", run: true, example: null };
    if (example) return { query: example.query, format: "", run: true, example: example };
    if (location.pathname + location.search === opened.path) return { query: opened.query, format: "", run: data.run, example: null };
    return { query: data.examples.length ? data.examples[0].query : opened.query, format: "", run: false, example: null };
  }
  function show(state) {
    textarea.value = state.query;
    chooseFormat(state.format);
    markExample(state.example ? state.example.name : null);
    clearError();
    showResults();
    status.textContent = "";
    if (state.run) run(false);
  }

  // -- running and downloading ---------------------------------------------------------------
  async function ask(params, accept) {
    return fetch("/sparql", { method: "POST", body: new URLSearchParams(params), headers: { "Accept": accept } });
  }
  let latest = 0;  // the run whose answer is shown: an earlier, slower one arriving later is dropped
  async function run(fromUser) {
    if (fromUser) remember(true);
    const mine = ++latest;
    clearError();
    status.textContent = "Running…";
    showResults();
    const started = performance.now();
    let response, text;
    try {
      response = await ask({ query: textarea.value }, RUN_ACCEPT);
      if (response.status === 406) response = await ask({ query: textarea.value }, "text/turtle");  // terms JSON-LD cannot hold
      text = await response.text();
    } catch (error) {
      if (mine === latest) status.textContent = "The endpoint could not be reached: " + error.message;
      return;
    }
    if (mine !== latest) return;
    if (!response.ok) { showError(response, text); return; }
    const said = showAnswer(response, text, performance.now() - started);
    status.textContent = said.text + formatNote(said.graph) + (tooLong() ? " — too long to keep in the address (over " + LONGEST_URL + " bytes): this page's link does not hold it" : "");
  }
  // the answer in the results box; what the status line says of it, and whether it is a graph
  function showAnswer(response, text, elapsed) {
    const truncated = response.headers.get("X-Kazdata-Truncated");
    const type = response.headers.get("Content-Type") || "";
    if (type.startsWith("application/sparql-results+json")) {
      const json = JSON.parse(text);
      if (typeof json.boolean === "boolean") {
        showResults(small("answer", "Answer: " + json.boolean));
        return { text: "ASK answered in " + Math.round(elapsed) + " ms", graph: false };
      }
      const vars = json.head.vars;
      showResults(table(vars.map(function (v) { return "?" + v; }),
        json.results.bindings.map(function (row) { return vars.map(function (v) { return row[v]; }); }), "row"));
      return { text: summary(json.results.bindings.length, "row", elapsed, truncated), graph: false };
    }
    if (type.startsWith("application/ld+json")) {
      const rows = graphRows(JSON.parse(text));
      showResults(table(["subject", "predicate", "object"], rows, "triple"));
      return { text: summary(rows.length, "triple", elapsed, truncated), graph: true };
    }
    const pre = document.createElement("pre"); pre.textContent = text; showResults(pre);
    return { text: "Graph answered in " + Math.round(elapsed) + " ms" + (truncated ? " — cut at the endpoint's limit" : ""), graph: true };
  }
  // the chosen download format cannot hold this kind of answer: said now, not at the download's 406
  function formatNote(graph) {
    const chosen = formatSelect.value;
    if (!chosen || (chosen in data.graphFormats) === graph) return "";
    const name = formatSelect.selectedOptions[0].textContent.replace(/ \(.*\)$/, "");
    return graph ? " — " + name + " holds tables: to download this graph, choose Turtle, JSON-LD or another graph format"
      : " — " + name + " holds graphs: to download this answer, choose CSV, TSV, SPARQL JSON or SPARQL XML";
  }
  function fileName(response) {
    const named = (response.headers.get("Content-Disposition") || "").match(/filename="([^"]+)"/);
    return named ? named[1] : "kazdata-results";
  }
  async function download() {
    remember(false);
    clearError();
    status.textContent = "Preparing the download…";
    const params = { query: textarea.value, download: "1" };
    if (formatSelect.value) params.format = formatSelect.value;
    if (bomBox.checked) params.bom = "1";
    let response, blob;
    try {
      response = await ask(params, DOWNLOAD_ACCEPT);
      if (!response.ok) { showError(response, await response.text()); return; }
      blob = await response.blob();
    } catch (error) { status.textContent = "The endpoint could not be reached: " + error.message; return; }
    const link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = fileName(response);
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(function () { URL.revokeObjectURL(link.href); }, 60000);
    status.textContent = "Downloaded " + link.download + " (" + blob.size + " bytes)";
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (event.submitter && event.submitter.id === "download") download(); else run(true);
  });
  formatSelect.addEventListener("change", function () { remember(false); });
  window.addEventListener("popstate", function () { show(entry()); });
  document.querySelectorAll("a.example").forEach(function (link) {
    link.addEventListener("click", function (event) {
      const example = data.examples.find(function (e) { return e.name === link.dataset.name; });
      if (!example) return;
      event.preventDefault();
      history.pushState({ query: example.query, format: formatSelect.value }, "", link.getAttribute("href"));
      show(entry());
    });
  });
  if (history.state && typeof history.state.query === "string") {
    show(entry());  // a reload or a return to this entry: its query, even one too long for the address
  } else {
    restoreFormat();
    render();
    if (data.run) run(false);
  }
})();
