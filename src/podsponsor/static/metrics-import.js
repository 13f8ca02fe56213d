// The metrics import page: choose or drop a CSV, preview it, map its columns, upload it with a progress bar, follow
// the import job, and show the outcome; and an import's own page, which follows a running import.

import {
  $,
  API,
  api,
  bytes,
  count,
  csrfToken,
  day,
  el,
  errorTable,
  facts,
  link,
  notice,
  plural,
  problemLine,
  problemText,
  seconds,
  share,
  shortValue,
  status,
  when,
} from "./metrics-import-dom.js";

const POLL_MS = 1000;
const POLL_RETRIES = 5;
const TYPING_PAUSE_MS = 400;
// The preview reads only the first rows: a big file sends its head, cut at a line end.
const PREVIEW_BYTES = 256 * 1024;
const UNRECOGNISED = "Not recognised: map the columns";
const DELIMITERS = { ",": "Comma ( , )", ";": "Semicolon ( ; )", "\t": "Tab" };
const RUNNING = ["pending", "processing"];

async function previewPart(file) {
  if (file.size <= PREVIEW_BYTES) return file;
  const head = new Uint8Array(await file.slice(0, PREVIEW_BYTES).arrayBuffer());
  const lineEnd = head.lastIndexOf(10);
  return new File([head.subarray(0, lineEnd > 0 ? lineEnd + 1 : head.length)], file.name, { type: file.type });
}

class Importer {
  constructor(root) {
    this.root = root;
    this.maxBytes = Number(root.dataset.maxBytes) || Infinity;
    // The server names the formats; "generic" is a file of no known format.
    this.formats = JSON.parse(root.dataset.formats || "{}");
    this.file = null;
    this.preview = null;
    this.mapping = null;
    this.userMapped = false;
    this.xhr = null;
    this.pollTimer = null;
    this.previewRun = 0;
    this.bindFile();
    this.bindOptions();
    this.bindActions();
  }

  get selects() {
    return this.root.querySelectorAll("select[data-target]");
  }

  formatName(code) {
    return this.formats[code] ?? code ?? "—";
  }

  bindFile() {
    const zone = $("dropzone");
    const input = $("csv-file");
    input.addEventListener("change", () => input.files.length && this.choose(input.files[0], input.files.length));
    for (const name of ["dragenter", "dragover"]) {
      zone.addEventListener(name, (event) => {
        event.preventDefault();
        zone.classList.add("is-over");
      });
    }
    zone.addEventListener("dragleave", (event) => {
      if (!zone.contains(event.relatedTarget)) zone.classList.remove("is-over");
    });
    zone.addEventListener("drop", (event) => {
      event.preventDefault();
      zone.classList.remove("is-over");
      const files = event.dataTransfer?.files ?? [];
      if (files.length) this.choose(files[0], files.length);
    });
    // A file dropped beside the zone would otherwise make the browser leave the page to show the file.
    for (const name of ["dragover", "drop"]) {
      document.addEventListener(name, (event) => zone.contains(event.target) || event.preventDefault());
    }
    $("choose-again").addEventListener("click", () => this.reset(true));
  }

  bindOptions() {
    $("preset").addEventListener("change", () => {
      this.userMapped = false;
      this.mapping = null;
      this.runPreview();
    });
    let typing = null;
    $("source").addEventListener("input", () => {
      clearTimeout(typing);
      typing = setTimeout(() => this.runPreview(), TYPING_PAUSE_MS);
    });
    for (const select of this.selects) {
      select.addEventListener("change", () => {
        this.userMapped = true;
        this.mapping = this.chosenMapping();
        this.runPreview();
      });
    }
  }

  bindActions() {
    $("import-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.upload();
    });
    $("cancel-upload").addEventListener("click", () => this.xhr?.abort());
    $("url-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.importUrl();
    });
  }

  fileError(message) {
    $("file-error").textContent = message;
    $("file-error").hidden = !message;
  }

  refusal(file) {
    if (!/\.csv$/i.test(file.name) && file.type !== "text/csv") {
      return `“${file.name}” is not a CSV file: choose a file ending in .csv.`;
    }
    if (file.size > this.maxBytes) {
      return `“${file.name}” is ${bytes(file.size)}; files of up to ${bytes(this.maxBytes)} can be imported.`;
    }
    return file.size === 0 ? `“${file.name}” is empty.` : "";
  }

  choose(file, howMany = 1) {
    const refusal = this.refusal(file);
    this.fileError(refusal);
    if (refusal) return;
    this.reset(false);
    this.file = file;
    $("preset").value = "";
    $("mapping").open = false;
    if (howMany > 1) this.fileError(`One file at a time: “${file.name}” is the one read.`);
    this.runPreview(true);
  }

  reset(focusPicker) {
    const uploading = this.xhr;
    this.xhr = null;
    uploading?.abort();
    this.stopPolling();
    this.file = null;
    this.preview = null;
    this.mapping = null;
    this.userMapped = false;
    for (const id of ["preview", "progress", "result"]) $(id).hidden = true;
    $("csv-file").value = "";
    if (focusPicker) $("csv-file").focus();
  }

  options() {
    const fields = {};
    if ($("preset").value) fields.preset = $("preset").value;
    if ($("source").value.trim()) fields.source = $("source").value.trim();
    return fields;
  }

  async runPreview(focus = false) {
    if (!this.file) return;
    const run = ++this.previewRun;
    const form = new FormData();
    form.append("file", await previewPart(this.file), this.file.name);
    for (const [name, value] of Object.entries(this.options())) form.append(name, value);
    if (this.userMapped && this.mapping) form.append("mapping", JSON.stringify(this.mapping));
    $("import-button").disabled = true;
    const answer = await api(`${API}/preview`, { method: "POST", body: form });
    if (run !== this.previewRun || !this.file) return;
    if (answer.status !== 200) {
      $("preview").hidden = true;
      this.fileError(problemText(answer.body, "The file could not be read: check your connection and try again."));
      return;
    }
    this.showPreview(answer.body, focus);
  }

  showPreview(preview, focus) {
    this.preview = preview;
    const generic = preview.format === "generic";
    $("preview-file").textContent = `${this.file.name} · ${bytes(this.file.size)}`;
    $("preview-format").textContent = generic ? UNRECOGNISED : this.formatName(preview.format);
    $("preview-format").className = generic ? "badge badge--muted" : "badge badge--ok";
    $("preview-delimiter").textContent = DELIMITERS[preview.delimiter] ?? String(preview.delimiter ?? "—");
    $("preview-encoding").textContent = String(preview.encoding ?? "—").toUpperCase();
    $("preview-columns").textContent = (preview.columns ?? []).join(" · ") || "—";
    this.fillPresets(preview);
    this.fillSample(preview);
    this.fillMapping(preview);
    this.showProblems(preview.problems ?? []);
    $("mapping-needed").hidden = !generic;
    if (generic) $("mapping").open = true;
    $("import-button").disabled = false;
    $("preview").hidden = false;
    if (focus) $("preview-heading").focus();
  }

  showProblems(problems) {
    const intro = problems.length === 1 ? "Before importing, fix this:" : "Before importing, fix these:";
    $("preview-problems").replaceChildren(
      el("p", {}, intro),
      el("ul", {}, problems.map((problem) => el("li", {}, problemLine(problem)))),
    );
    $("preview-problems").hidden = problems.length === 0;
    $("import-hint").textContent = problems.length ? "The import will list every row that needs fixing." : "";
  }

  fillPresets(preview) {
    const select = $("preset");
    const chosen = select.value;
    const detected = preview.format === "generic" ? "none recognised" : this.formatName(preview.format);
    const presets = (preview.presets ?? []).filter((preset) => preset.name !== "generic");
    select.replaceChildren(
      el("option", { value: "" }, `Detect from the header (${detected})`),
      ...presets.map((preset) => el("option", { value: preset.name }, preset.label ?? preset.name)),
    );
    select.value = chosen;
  }

  fillSample(preview) {
    const columns = preview.columns ?? [];
    const cells = (row) => columns.map((_, i) => el("td", {}, shortValue(row[i] ?? "")));
    const rows = (preview.sample ?? []).map((row) => el("tr", {}, cells(row)));
    if (!rows.length) {
      // The server reads sample rows only once every required value has a column.
      const why = (preview.problems ?? []).length
        ? "The rows are shown once every required value has a column."
        : "The file has no data rows.";
      rows.push(el("tr", {}, el("td", { colspan: Math.max(columns.length, 1), className: "empty" }, why)));
    }
    const table = $("preview-table");
    table.tHead.replaceChildren(el("tr", {}, columns.map((column) => el("th", { scope: "col" }, column))));
    table.tBodies[0].replaceChildren(...rows);
  }

  fillMapping(preview) {
    const columns = preview.columns ?? [];
    const mapping = this.userMapped && this.mapping ? this.mapping : (preview.suggested_mapping ?? {});
    for (const select of this.selects) {
      const chosen = mapping[select.dataset.target];
      select.replaceChildren(
        el("option", { value: "" }, "Not in this file"),
        ...columns.map((column) => el("option", { value: column }, column)),
      );
      select.value = columns.includes(chosen) ? chosen : "";
    }
  }

  // Every field, so one set to "not in this file" overrides the format's own choice of column.
  chosenMapping() {
    return Object.fromEntries([...this.selects].map((select) => [select.dataset.target, select.value || null]));
  }

  startProgress(label, uploading) {
    this.stopPolling();
    $("result").hidden = true;
    $("progress-file").textContent = label;
    $("upload-bar").value = 0;
    $("upload-text").textContent = "0%";
    $("upload-meter").hidden = !uploading;
    $("cancel-upload").hidden = !uploading;
    $("job-meter").hidden = true;
    $("progress").hidden = false;
    $("import-button").disabled = true;
    $("url-button").disabled = true;
  }

  status(message) {
    $("import-status").textContent = message;
  }

  upload() {
    if (!this.file) return;
    const name = this.file.name;
    const form = new FormData();
    form.append("file", this.file, name);
    for (const [field, value] of Object.entries(this.options())) form.append(field, value);
    const mapped = this.userMapped || this.preview?.format === "generic";
    if (mapped) form.append("mapping", JSON.stringify(this.chosenMapping()));
    this.startProgress(name, true);
    this.status(`Uploading ${name}…`);
    const xhr = new XMLHttpRequest();
    this.xhr = xhr;
    xhr.open("POST", `${API}/upload`);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.setRequestHeader("X-CSRF-Token", csrfToken());
    xhr.responseType = "json";
    xhr.upload.addEventListener("progress", (event) => event.lengthComputable && this.uploaded(event));
    xhr.upload.addEventListener("load", () => {
      $("cancel-upload").hidden = true;
      this.status("Uploaded; checking every row…");
    });
    // A reset (another file chosen) drops this upload: its answer, if any, is no longer shown.
    const current = (handler) => () => this.xhr === xhr && handler();
    xhr.addEventListener("load", current(() => this.answer(xhr.status, xhr.response, name)));
    const lost = "The upload failed: check your connection and try again.";
    xhr.addEventListener("error", current(() => this.failed(lost)));
    xhr.addEventListener("abort", current(() => this.failed("The upload was cancelled. Nothing was imported.")));
    xhr.addEventListener("loadend", current(() => (this.xhr = null)));
    xhr.send(form);
  }

  uploaded(event) {
    const percent = Math.round((event.loaded / event.total) * 100);
    $("upload-bar").value = percent;
    $("upload-text").textContent = `${percent}% · ${bytes(event.loaded)} of ${bytes(event.total)}`;
  }

  urlRefused(message) {
    const error = $("csv-url-error");
    error.textContent = message;
    error.hidden = !message;
    if (message) {
      $("csv-url").setAttribute("aria-invalid", "true");
      $("csv-url").focus();
    } else {
      $("csv-url").removeAttribute("aria-invalid");
    }
  }

  async importUrl() {
    const url = $("csv-url").value.trim();
    this.urlRefused("");
    if (!/^https?:\/\/\S+$/i.test(url)) {
      this.urlRefused("Enter the address of the CSV file, starting with https://.");
      return;
    }
    const body = { url };
    if ($("url-preset").value) body.preset = $("url-preset").value;
    this.startProgress(url, false);
    this.status(`Fetching ${url}…`);
    const headers = { "Content-Type": "application/json" };
    const answer = await api(`${API}/import-url`, { method: "POST", body: JSON.stringify(body), headers });
    // An address refused before anything was fetched is the field's error; a fetched file's outcome is a result.
    const refused = (answer.body?.errors ?? []).find((error) => error.field === "url");
    if (answer.status >= 400 && refused) {
      this.settle(false);
      this.urlRefused(problemText({ detail: refused.reason }, "This address cannot be imported."));
      return;
    }
    this.answer(answer.status, answer.body, url);
  }

  answer(code, body, label) {
    if (code === 200 && body?.duplicate_of) return this.duplicate(body);
    if ((code === 200 || code === 201) && body) return this.finishedOrPoll(body);
    if (code === 202 && body?.id) {
      this.status("Uploaded. The import runs in the background; following its progress…");
      return this.poll(body.id);
    }
    const errors = Array.isArray(body?.errors) ? body.errors : [];
    if (code === 422 && body?.import_id) {
      const state = { id: body.import_id, file_name: label, errors, error_count: body.error_count };
      return this.showFailure(state, body.detail);
    }
    if (code === 0) return this.failed("No answer from the server: check your connection and try again.");
    const message = problemText(body, `The import failed (HTTP ${code}). Nothing was imported.`);
    return this.failed([message, ...errors.map(problemLine)].join(" · "));
  }

  finishedOrPoll(state) {
    if (state.status === "completed") return this.showSuccess(state);
    if (state.status === "failed") return this.showFailure(state);
    return this.poll(state.id);
  }

  poll(id, misses = 0) {
    $("job-meter").hidden = false;
    this.pollTimer = setTimeout(async () => {
      const answer = await status(id);
      if (this.pollTimer === null) return;
      if (answer.status !== 200) {
        if (misses + 1 < POLL_RETRIES) return this.poll(id, misses + 1);
        return this.failed(problemText(answer.body, "The import's progress could not be read; see the history."));
      }
      this.jobProgress(answer.body);
      return RUNNING.includes(answer.body.status) ? this.poll(id) : this.finishedOrPoll(answer.body);
    }, POLL_MS);
  }

  jobProgress(state) {
    const done = share(state.progress);
    const total = state.rows_total ? ` of ${count(state.rows_total)}` : "";
    $("job-bar").value = Math.round(done * 1000) / 10;
    $("job-text").textContent = `${Math.round(done * 100)}% · ${count(state.rows_processed)}${total} rows`;
    if (state.status === "pending") this.status("Waiting for a worker to start the import…");
    else if (state.status === "processing") this.status(`Importing: ${count(state.rows_processed)}${total} rows read.`);
  }

  stopPolling() {
    clearTimeout(this.pollTimer);
    this.pollTimer = null;
  }

  settle(imported) {
    this.stopPolling();
    $("progress").hidden = true;
    $("import-button").disabled = false;
    $("url-button").disabled = false;
    this.status("");
    if (imported) document.body.dispatchEvent(new CustomEvent("etl-imported"));
  }

  showResult(kind, heading, ...content) {
    this.settle(true);
    // After an import the preview is of a file dealt with; after a refusal it helps to fix the file.
    if (kind !== "error") $("preview").hidden = true;
    $("result").className = `card result result--${kind}`;
    $("result-heading").textContent = heading;
    $("result-body").replaceChildren(...content.flat().filter(Boolean));
    $("result").hidden = false;
    $("result-heading").focus();
  }

  detailLink(id, text) {
    return id ? link(`/metrics/import/${encodeURIComponent(id)}`, text) : null;
  }

  showSuccess(state) {
    const changed = `${count(state.rows_inserted)} new and ${count(state.rows_updated)} updated`;
    const summary = `Imported ${plural(state.rows_imported, "row")} from ${state.file_name ?? "the file"}: ${changed}.`;
    this.showResult("ok", "The metrics are imported", notice("ok", summary), [
      facts([
        ["Format", this.formatName(state.format)],
        ["Rows in the file", count(state.rows_total)],
        ["New rows", count(state.rows_inserted)],
        ["Updated rows", count(state.rows_updated)],
        ["Data up to", day(state.last_sync_watermark)],
        ["Took", seconds(state.duration_ms)],
      ]),
      this.detailLink(state.id, "See this import"),
    ]);
  }

  showFailure(state, detail) {
    const errors = state.errors ?? [];
    const total = Math.max(Number(state.error_count) || 0, errors.length);
    const file = state.file_name ?? "The file";
    const message = total
      ? `${file} was not imported: ${plural(total, "problem")} ${total === 1 ? "was" : "were"} found. ` +
        "Nothing was changed; fix the rows below and import the file again."
      : `${file} was not imported: ${detail ?? "it could not be read"}. Nothing was changed.`;
    this.showResult("error", "The file was not imported", notice("error", message), [
      errors.length ? errorTable(errors, total) : null,
      this.detailLink(state.id, "See this import"),
    ]);
  }

  async duplicate(state) {
    const answer = await status(state.duplicate_of);
    const original = answer.status === 200 ? answer.body : null;
    const on = original ? ` on ${when(original.finished_at ?? original.created_at)}` : "";
    const message = `This file was already imported${on}. Nothing was changed.`;
    this.showResult("info", "Already imported", notice("info", message), [
      this.detailLink(state.duplicate_of, "See that import"),
    ]);
  }

  failed(message) {
    this.showResult("error", "The file was not imported", notice("error", message));
  }
}

// An import's own page, while it runs: follow it, then reload to show the outcome.
function watch(section) {
  const tick = async () => {
    const answer = await status(section.dataset.importId);
    if (answer.status === 200) {
      const state = answer.body;
      $("watch-bar").value = Math.round(share(state.progress) * 1000) / 10;
      $("watch-text").textContent = `${count(state.rows_processed)} of ${count(state.rows_total)}`;
      if (!RUNNING.includes(state.status)) {
        window.location.reload();
        return;
      }
    }
    setTimeout(tick, POLL_MS);
  };
  setTimeout(tick, POLL_MS);
}

const root = document.getElementById("metrics-import");
if (root) new Importer(root);
const running = document.getElementById("import-watch");
if (running) watch(running);
