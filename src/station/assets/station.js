// HematoVision review station: uploads on the classify page, reviews on a slide page,
// live refresh of the slide pages from the station's server-sent events.
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
      body.images.forEach((r, i) => results.append(resultCard(r, files[i], results.dataset.openSlide)));
    } catch (err) {
      show(err.message);
    }
  });
}

function picture(src, alt, cls) {
  const figure = el("figure", cls); const img = el("img"); img.alt = alt; img.src = src;
  figure.append(img, el("figcaption", "", alt)); return figure;
}

function resultCard(r, file, slide) {
  const card = el("div", "result");
  card.dataset.file = r.file;
  const pictures = el("div", "pictures");
  if (file) pictures.append(picture(URL.createObjectURL(file), "uploaded", "upload"));
  if (r.framing) pictures.append(picture(r.framing, r.framed ? "what the model saw" : "what the model saw (no cell found to frame)", "framing"));
  card.append(pictures, el("div", "name", r.file));
  if (r.error) { card.append(el("p", "error", r.error)); return card; }
  const head = el("p", "label");
  head.append(el("b", "class", r.label), " " + (100 * r.confidence).toFixed(1) + "%");
  if (r.unsure) head.append(" ", el("span", "unsure", r.unfamiliar ? "UNFAMILIAR: unlike any class the model knows, check by eye" : "UNSURE"));
  card.append(head);
  const bar = el("div", "bar"); const fill = el("div"); fill.style.width = (100 * r.confidence).toFixed(1) + "%"; bar.append(fill); card.append(bar);
  const list = el("ul", "probabilities");
  Object.entries(r.probabilities).sort((a, b) => b[1] - a[1]).forEach(([l, p]) => list.append(el("li", "", l + " " + (100 * p).toFixed(1) + "%")));
  card.append(list);
  if (slide && file) {
    const save = el("button", "save", "Save to slide " + slide);
    save.type = "button";
    const note = el("span", "saved");
    save.addEventListener("click", async () => {
      const data = new FormData(); data.append("image", file, file.name);
      try {
        const done = await answer(await fetch("/api/slides/" + encodeURIComponent(slide) + "/cells", { method: "POST", body: data }));
        note.textContent = " saved as cell " + done.seq + " of slide " + done.slide;
        save.disabled = true;
      } catch (err) { note.textContent = " " + err.message; note.className = "error"; }
    });
    card.append(save, note);
  }
  return card;
}

// Refreshes #live from the server's rendering of this very page (no page reload).
async function refresh(live) {
  try {
    const response = await fetch(location.pathname, { headers: { "Accept": "text/html" } });
    if (!response.ok) return;
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    const fresh = page.getElementById("live");
    if (!fresh) return;
    const operator = live.querySelector("#sign-off input[name=operator]");
    const typed = operator ? operator.value : "";
    live.replaceChildren(...fresh.childNodes);
    const again = live.querySelector("#sign-off input[name=operator]");
    if (again) again.value = typed;
    live.dataset.updated = String(Number(live.dataset.updated || 0) + 1);
  } catch (_) { /* the next change tries again */ }
}

// Follows the station's changes: a page refreshes when its slide changed ("*": any).
function follow(live) {
  if (!window.EventSource) return;
  let pending = null;
  const source = new EventSource("/api/events");
  source.addEventListener("message", e => {
    let change = {};
    try { change = JSON.parse(e.data); } catch (_) { return; }
    const mine = live.dataset.live === "*" || change.slide === "*" || change.slide === live.dataset.live;
    if (!mine || pending) return;
    // Changes that come together (a burst of counts) cost one refresh.
    pending = setTimeout(() => { pending = null; refresh(live); }, 150);
  });
}

function slidePage(live) {
  const slide = live.dataset.live;
  const reviewer = document.getElementById("reviewer");
  if (reviewer) {
    reviewer.value = localStorage.getItem("hv-reviewer") || "";
    reviewer.addEventListener("change", () => localStorage.setItem("hv-reviewer", reviewer.value));
  }
  const post = async (url, body) => {
    try {
      const sent = { method: "POST" };
      if (body) { sent.headers = { "Content-Type": "application/json" }; sent.body = JSON.stringify(body); }
      const done = await answer(await fetch(url, sent));
      show("");
      refresh(live);
      return done;
    } catch (err) { show(err.message); return null; }
  };
  // Delegated: the gallery's forms are replaced by every refresh.
  live.addEventListener("submit", e => {
    const form = e.target;
    e.preventDefault();
    if (form.classList.contains("review")) {
      const body = { label: form.elements.label.value };
      if (reviewer && reviewer.value.trim()) body.reviewer = reviewer.value.trim();
      post("/api/slides/" + slide + "/cells/" + form.dataset.seq, body);
    } else if (form.id === "sign-off") {
      post("/api/slides/" + slide + "/sign-off", { operator: form.elements.operator.value });
    }
  });
  const exportButton = document.getElementById("export");
  if (exportButton) exportButton.addEventListener("click", async () => {
    const done = await post("/api/slides/" + slide + "/export", null);
    if (done) document.getElementById("export-result").textContent = done.message;
  });
}

// "Teach this microscope": the station runs the recalibration and answers with the
// before/after table rendered (and escaped) on the server.
async function teach(slides, button) {
  const message = document.getElementById("teach-message");
  const result = document.getElementById("teach-result");
  const say = text => { message.textContent = text || ""; message.hidden = !text; };
  say("");
  result.replaceChildren(el("p", null, "Recalibrating: embedding every reviewed cell and cross-validating…"));
  button.disabled = true;
  try {
    const sent = { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ slides: slides }) };
    const done = await answer(await fetch("/api/calibrate", sent));
    result.innerHTML = done.html;
  } catch (err) { result.replaceChildren(); say(err.message); }
  button.disabled = false;
}

const teachForm = document.getElementById("teach");
if (teachForm) teachForm.addEventListener("submit", e => {
  e.preventDefault();
  const slides = Array.from(teachForm.elements.slide ? (teachForm.elements.slide.length === undefined ? [teachForm.elements.slide] : teachForm.elements.slide) : [])
    .filter(box => box.checked).map(box => box.value);
  if (slides.length === 0) { document.getElementById("teach-result").textContent = "Tick the slides to learn from first."; return; }
  teach(slides, teachForm.querySelector("button"));
});
const teachSlide = document.getElementById("teach-slide");
if (teachSlide) teachSlide.addEventListener("click", () => teach([document.getElementById("slide-id").textContent], teachSlide));

const upload = document.getElementById("upload");
if (upload) classifyPage(upload);
const live = document.getElementById("live");
if (live) {
  if (live.dataset.live !== "*") slidePage(live);
  follow(live);
}
