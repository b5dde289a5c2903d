// HematoVision review station: uploads on the classify page, reviews on a slide page.
"use strict";

function show(message) {
  const box = document.getElementById("message");
  if (!box) return;
  box.textContent = message || "";
  box.hidden = !message;
}

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

async function answer(response) {
  let body = {};
  try { body = await response.json(); } catch (_) { body = { error: "the station sent no answer (" + response.status + ")" }; }
  if (!response.ok) throw new Error(body.error || ("request failed: " + response.status));
  return body;
}

function classifyPage(form) {
  const input = document.getElementById("files");
  const drop = document.getElementById("drop");
  const results = document.getElementById("results");
  ["dragenter", "dragover"].forEach(t => drop.addEventListener(t, e => { e.preventDefault(); drop.classList.add("over"); }));
  ["dragleave", "drop"].forEach(t => drop.addEventListener(t, e => { e.preventDefault(); drop.classList.remove("over"); }));
  drop.addEventListener("drop", e => { input.files = e.dataTransfer.files; form.requestSubmit(); });
  form.addEventListener("reset", () => { results.replaceChildren(); show(""); });
  form.addEventListener("submit", async e => {
    e.preventDefault();
    show("");
    results.replaceChildren();
    const files = Array.from(input.files);
    if (files.length === 0) { show("Choose a picture first (JPEG, PNG or BMP)."); return; }
    const data = new FormData();
    files.forEach(f => data.append("image", f, f.name));
    try {
      const body = await answer(await fetch("/api/classify", { method: "POST", body: data }));
      body.images.forEach((r, i) => results.append(resultCard(r, files[i])));
    } catch (err) {
      show(err.message);
    }
  });
}

function resultCard(r, file) {
  const card = el("div", "result");
  card.dataset.file = r.file;
  if (file) { const img = el("img"); img.alt = r.file; img.src = URL.createObjectURL(file); card.append(img); }
  card.append(el("div", "name", r.file));
  if (r.error) { card.append(el("p", "error", r.error)); return card; }
  const head = el("p", "label");
  head.append(el("b", "class", r.label), " " + (100 * r.confidence).toFixed(1) + "%");
  if (r.unsure) head.append(" ", el("span", "unsure", "UNSURE"));
  card.append(head);
  const bar = el("div", "bar"); const fill = el("div"); fill.style.width = (100 * r.confidence).toFixed(1) + "%"; bar.append(fill); card.append(bar);
  const list = el("ul", "probabilities");
  Object.entries(r.probabilities).sort((a, b) => b[1] - a[1]).forEach(([l, p]) => list.append(el("li", "", l + " " + (100 * p).toFixed(1) + "%")));
  card.append(list);
  return card;
}

function slidePage(summary) {
  const slide = summary.dataset.slide;
  const reviewer = document.getElementById("reviewer");
  if (reviewer) {
    reviewer.value = localStorage.getItem("hv-reviewer") || "";
    reviewer.addEventListener("change", () => localStorage.setItem("hv-reviewer", reviewer.value));
  }
  const post = async (url, body) => {
    try {
      await answer(await fetch(url, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) }));
      location.reload();
    } catch (err) { show(err.message); }
  };
  document.querySelectorAll("form.review").forEach(form => form.addEventListener("submit", e => {
    e.preventDefault();
    const body = { label: form.elements.label.value };
    if (reviewer && reviewer.value.trim()) body.reviewer = reviewer.value.trim();
    post("/api/slides/" + slide + "/cells/" + form.dataset.seq, body);
  }));
  const signOff = document.getElementById("sign-off");
  if (signOff) signOff.addEventListener("submit", e => {
    e.preventDefault();
    post("/api/slides/" + slide + "/sign-off", { operator: signOff.elements.operator.value });
  });
}

const upload = document.getElementById("upload");
if (upload) classifyPage(upload);
const summary = document.querySelector(".summary[data-slide]");
if (summary) slidePage(summary);
