// Building blocks of the metrics import page: DOM nodes made only from text, number and date wording, and the API
// calls. Everything from a file or the server goes on the page as text nodes: a CSV cell may hold HTML or a
// spreadsheet formula, and must show as typed.

export const API = "/api/v1/etl";
const MAX_VALUE_CHARS = 120;
const counts = new Intl.NumberFormat("en-US");

export const $ = (id) => document.getElementById(id);

export function csrfToken() {
  return document.querySelector('meta[name="csrf-token"]')?.content ?? "";
}

// An element with attributes and children; strings become text nodes, never markup.
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) continue;
    if (name === "className") node.className = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function count(n) {
  return counts.format(Number(n) || 0);
}

export function plural(n, word, many = `${word}s`) {
  return `${count(n)} ${Number(n) === 1 ? word : many}`;
}

export function bytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / (1024 * 1024)).toFixed(1)} MB`;
}

// The same form as the server's pages: "2026-11-22 08:27 UTC".
export function when(iso) {
  if (!iso) return "—";
  const moment = new Date(iso);
  if (Number.isNaN(moment.getTime())) return String(iso);
  return `${moment.toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

export function day(value) {
  if (!value) return "—";
  return /^\d{4}-\d{2}-\d{2}$/.test(String(value)) ? String(value) : when(value);
}

export function seconds(milliseconds) {
  return milliseconds === null || milliseconds === undefined ? "—" : `${(milliseconds / 1000).toFixed(1)} s`;
}

export function shortValue(value) {
  const text = String(value);
  return text.length > MAX_VALUE_CHARS ? `${text.slice(0, MAX_VALUE_CHARS)}…` : text;
}

export function share(progress) {
  return Math.max(0, Math.min(1, Number(progress) || 0));
}

// A problem+json answer as one sentence, or the fallback.
export function problemText(body, fallback) {
  const detail = body && typeof body === "object" ? body.detail || body.title : null;
  return detail ? String(detail).charAt(0).toUpperCase() + String(detail).slice(1) : fallback;
}

// A problem of the preview or a refused request: where (row, column), what, and what to do.
export function problemLine(problem) {
  if (!problem || typeof problem !== "object") return String(problem);
  const where = [problem.row ? `row ${problem.row}` : "", problem.column || problem.field || ""].filter(Boolean);
  const reason = problem.reason || problem.detail || JSON.stringify(problem);
  const advice = problem.suggestion ? ` (${problem.suggestion})` : "";
  return `${where.length ? `${where.join(", ")}: ` : ""}${reason}${advice}`;
}

// A call with the session cookie; a write carries the page's CSRF token. Never throws: no answer is status 0.
export async function api(path, options = {}) {
  const headers = { Accept: "application/json", ...(options.headers ?? {}) };
  if (options.method && options.method !== "GET") headers["X-CSRF-Token"] = csrfToken();
  try {
    const response = await fetch(path, { credentials: "same-origin", ...options, headers });
    return { status: response.status, body: await response.json().catch(() => null) };
  } catch {
    return { status: 0, body: null };
  }
}

export function status(id) {
  return api(`${API}/status/${encodeURIComponent(id)}`);
}

export function errorTable(errors, total) {
  const shown = errors.length;
  const caption =
    shown < total ? `Showing the first ${count(shown)} of ${count(total)} errors` : plural(total, "error");
  const titles = ["Row", "Column", "Value", "Problem", "Suggestion"];
  const rows = errors.map((error) => {
    const empty = error.value === null || error.value === undefined || error.value === "";
    const value = empty ? el("span", { className: "muted" }, "empty") : el("code", {}, shortValue(error.value));
    return el(
      "tr",
      {},
      el("td", { className: "num" }, error.row ?? "—"),
      el("td", {}, error.column || "—"),
      el("td", { className: "cell-value" }, value),
      el("td", {}, error.reason ?? ""),
      el("td", {}, error.suggestion || "—"),
    );
  });
  const table = el(
    "table",
    { className: "table table--compact row-errors" },
    el("caption", {}, caption),
    el("thead", {}, el("tr", {}, titles.map((title) => el("th", { scope: "col" }, title)))),
    el("tbody", {}, rows),
  );
  return el("div", { className: "table-scroll" }, table);
}

export function facts(pairs) {
  return el("dl", { className: "facts" }, pairs.map(([term, value]) => [el("dt", {}, term), el("dd", {}, value)]));
}

export function notice(kind, message) {
  return el("div", { className: `notice notice--${kind}`, role: kind === "error" ? "alert" : "status" }, message);
}

export function link(href, text) {
  return el("p", {}, el("a", { href }, text));
}
