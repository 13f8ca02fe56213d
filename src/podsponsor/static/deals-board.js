// The deal board (/deals). Without this script every move is a plain form post and a page load. With it, a card
// dragged onto another stage posts that same form (the page's CSRF token in the X-CSRF-Token header), the move
// buttons post without leaving the page, and the board, the forecast and the notice are replaced by the ones the
// server answers with, so what is shown is always what was stored.

const REGIONS = ["deal-board", "deal-forecast"];
const FAILED = "The deal could not be moved: the connection failed. Try again.";

let dragged = null;

function csrfToken() {
  return document.querySelector('meta[name="csrf-token"]')?.content ?? "";
}

function board() {
  return document.getElementById("deal-board");
}

function showNotice(notice) {
  const main = document.getElementById("main");
  for (const old of main.querySelectorAll(":scope > .notice")) old.remove();
  if (notice) main.prepend(notice);
}

function errorNotice(text) {
  const notice = document.createElement("div");
  notice.className = "notice notice--error";
  notice.setAttribute("role", "alert");
  notice.textContent = text;
  return notice;
}

function swapIn(page, dealId) {
  if (!page.getElementById("deal-board")) {
    // Not the board (the deal is gone, or the session ended): the page's own heading says what happened.
    const heading = page.querySelector("h1")?.textContent?.trim();
    showNotice(errorNotice(heading ? `The deal could not be moved: ${heading}.` : FAILED));
    return;
  }
  for (const id of REGIONS) {
    const fresh = page.getElementById(id);
    const current = document.getElementById(id);
    if (fresh && current) current.replaceWith(document.adoptNode(fresh));
  }
  showNotice(page.querySelector("main > .notice"));
  // The card moved to another column: keep the keyboard where the deal now is.
  document.getElementById(`deal-${dealId}`)?.focus({ preventScroll: true });
}

async function post(url, fields, dealId) {
  const current = board();
  current?.setAttribute("aria-busy", "true");
  try {
    const response = await fetch(url, {
      method: "POST",
      body: fields,
      credentials: "same-origin",
      headers: { "X-CSRF-Token": csrfToken(), Accept: "text/html" },
    });
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    swapIn(page, dealId);
  } catch {
    showNotice(errorNotice(FAILED));
  } finally {
    board()?.removeAttribute("aria-busy");
  }
}

function moveCard(card, stage) {
  const fields = new URLSearchParams({
    stage,
    from_stage: card.dataset.stage,
    next: window.location.pathname + window.location.search,
  });
  return post(`/deals/${card.dataset.dealId}/stage`, fields, card.dataset.dealId);
}

function dropColumn(event) {
  if (!dragged || !(event.target instanceof Element)) return null;
  const column = event.target.closest(".deal-column");
  if (!column) return null;
  return dragged.dataset.moves.split(" ").includes(column.dataset.stage) ? column : null;
}

function endDrag() {
  dragged?.classList.remove("is-dragging");
  dragged = null;
  for (const column of document.querySelectorAll(".deal-column")) column.classList.remove("is-target", "is-over");
}

document.addEventListener("dragstart", (event) => {
  const card = event.target instanceof Element ? event.target.closest('.deal-card[draggable="true"]') : null;
  if (!card) return;
  dragged = card;
  card.classList.add("is-dragging");
  event.dataTransfer.effectAllowed = "move";
  event.dataTransfer.setData("text/plain", card.dataset.dealId);
  const allowed = card.dataset.moves.split(" ");
  for (const column of document.querySelectorAll(".deal-column")) {
    if (allowed.includes(column.dataset.stage)) column.classList.add("is-target");
  }
});

document.addEventListener("dragover", (event) => {
  const column = dropColumn(event);
  if (!column) return;
  // Accepting the drop only over a column the deal may move to: elsewhere the browser shows "not allowed".
  event.preventDefault();
  event.dataTransfer.dropEffect = "move";
  column.classList.add("is-over");
});

document.addEventListener("dragleave", (event) => {
  if (!(event.target instanceof Element)) return;
  const column = event.target.closest(".deal-column");
  if (column && !column.contains(event.relatedTarget)) column.classList.remove("is-over");
});

document.addEventListener("drop", (event) => {
  const column = dropColumn(event);
  if (!column) return;
  event.preventDefault();
  const card = dragged;
  endDrag();
  moveCard(card, column.dataset.stage);
});

document.addEventListener("dragend", endDrag);

document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.closest("#deal-board")) return;
  event.preventDefault();
  const card = form.closest(".deal-card");
  post(form.action, new URLSearchParams(new FormData(form)), card?.dataset.dealId);
});
