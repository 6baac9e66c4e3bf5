// The chat page: send with Enter, stream the answer (SSE from the REST API), call cards and
// their details, approvals, stop, regenerate, edit, copy, feedback, the plugin picker, voice.
// Regenerate and edit rewind the conversation on the server (the REST API's /regenerate, and
// "replaces" on /messages): the answers they redo are replaced, not kept above the new ones.
// Everything a plugin or the model sent is put in the page as text (textContent); the only
// HTML inserted comes from our own server, rendered and sanitised there.

const chat = document.getElementById("chat");
const chatId = chat?.dataset.chatId || "";
const transcript = document.getElementById("transcript");
const form = document.getElementById("composer");
const box = document.getElementById("message");
const sendButton = document.getElementById("send");
const stopButton = document.getElementById("stop");
const micButton = document.getElementById("mic");
const errorLine = document.getElementById("composer-error");
const dialog = document.getElementById("call-dialog");
const PENDING = "powerstrip.pending-message";
let controller = null;

const csrf = () => document.querySelector('meta[name="csrf-token"]')?.content ?? "";

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function showError(message) {
  errorLine.textContent = message;
  errorLine.hidden = !message;
}

function scrollDown() {
  transcript.scrollTop = transcript.scrollHeight;
  window.scrollTo(0, document.body.scrollHeight);
}

function setBusy(busy) {
  sendButton.hidden = busy;
  stopButton.hidden = !busy;
  box.setAttribute("aria-busy", String(busy));
}

function grow() {
  box.style.height = "auto";
  box.style.height = `${Math.min(box.scrollHeight, 240)}px`;
}

async function errorOf(response) {
  try {
    const body = await response.json();
    return body?.error?.message || `The server answered ${response.status}.`;
  } catch {
    return `The server answered ${response.status}.`;
  }
}

function parseEvent(block) {
  const data = block.split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6)).join("\n");
  if (!data) return null;
  try { return JSON.parse(data); } catch { return null; }
}

async function refreshTranscript() {
  const response = await fetch(`/c/${encodeURIComponent(chatId)}/transcript`, { credentials: "same-origin" });
  if (response.ok) {
    transcript.innerHTML = await response.text(); // our server's HTML: escaped and sanitised
    const title = document.getElementById("chat-title-value")?.dataset.title;
    if (title) {
      for (const node of document.querySelectorAll(".chat-title, .topbar-title, .chat-item.current a")) node.textContent = title;
      document.title = `${title} · Powerstrip`;
    }
    decorate();
    scrollDown();
  }
}

async function streamTurn(url, body) {
  showError("");
  controller = new AbortController();
  setBusy(true);
  const article = el("article", "msg assistant streaming");
  const answer = el("div", "answer");
  article.append(answer);
  transcript.append(article);
  const cards = new Map();
  let stopped = false;
  try {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "text/event-stream", "X-CSRF-Token": csrf() },
      body: JSON.stringify({ ...body, stream: true }),
      signal: controller.signal,
    });
    if (!response.ok) {
      showError(await errorOf(response));
      return;
    }
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const event = parseEvent(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
        if (event) handle(event, article, answer, cards);
      }
    }
  } catch (error) {
    stopped = error.name === "AbortError";
    if (!stopped) showError("The connection broke before the answer was complete.");
  } finally {
    controller = null;
    setBusy(false);
    await refreshTranscript();
    // The server closes a stopped turn's call once it sees the stream gone; until then the
    // call shows as running, so look again for a few seconds.
    for (let tries = 0; stopped && tries < 10 && transcript.querySelector(".call-card.status-running"); tries += 1) {
      await new Promise((resolve) => { setTimeout(resolve, 300); });
      await refreshTranscript();
    }
  }
}

function handle(event, article, answer, cards) {
  switch (event.type) {
    case "text_delta":
      answer.textContent += event.text;
      break;
    case "call_started": {
      const card = el("div", "call-card status-running");
      card.append(el("span", "spinner"), el("span", "", `Using ${event.function_name.split("__")[0]}…`));
      cards.set(event.call_id, card);
      article.insertBefore(card, answer);
      break;
    }
    case "call_finished": {
      const card = cards.get(event.call_id);
      if (card) {
        card.className = `call-card status-${event.outcome === "ok" ? "ok" : "failed"}`;
        card.textContent = `Used ${event.function_name.split("__")[0]} · ${event.duration_ms} ms`;
      }
      break;
    }
    case "approval_needed":
      article.append(el("p", "muted small", `Waiting for your approval to run ${event.function_name}.`));
      break;
    case "error":
      article.append(el("p", "error", event.message));
      break;
    default:
      break;
  }
  scrollDown();
}

function removeFrom(article) {
  // What a rewind removes on the server goes from the page too: this message and all after it.
  while (article) {
    const next = article.nextElementSibling;
    article.remove();
    article = next;
  }
}

function sendMessage(text, replaces) {
  if (replaces) removeFrom(transcript.querySelector(`.msg.user[data-seq="${CSS.escape(replaces)}"]`));
  const article = el("article", "msg user");
  article.append(el("div", "bubble", text));
  transcript.querySelector(".empty")?.remove();
  transcript.append(article);
  scrollDown();
  const body = replaces ? { content: text, replaces: Number(replaces) } : { content: text };
  return streamTurn(`/api/conversations/${encodeURIComponent(chatId)}/messages`, body);
}

function regenerate() {
  // The server removes the last answer (and whatever followed your message) and answers again.
  const users = transcript.querySelectorAll(".msg.user");
  const last = users[users.length - 1];
  if (!last) return;
  removeFrom(last.nextElementSibling);
  for (const approval of transcript.querySelectorAll(".approval")) approval.remove();
  streamTurn(`/api/conversations/${encodeURIComponent(chatId)}/regenerate`, {});
}

const editing = document.getElementById("editing");

function startEdit(article) {
  form.dataset.replaces = article.dataset.seq;
  box.value = article.dataset.raw || article.textContent.trim();
  editing.hidden = false;
  grow();
  box.focus();
}

function stopEdit() {
  delete form.dataset.replaces;
  editing.hidden = true;
}

async function rate(tools, rating, note) {
  const data = new FormData();
  data.set("csrf", csrf());
  data.set("seq", tools.dataset.seq);
  data.set("rating", rating);
  data.set("note", note || "");
  const response = await fetch(`/c/${encodeURIComponent(chatId)}/feedback`, {
    method: "POST", body: data, credentials: "same-origin", headers: { "X-CSRF-Token": csrf() },
  });
  if (!response.ok) { showError("The feedback could not be saved."); return; }
  for (const button of tools.querySelectorAll(".rate")) {
    const chosen = button.dataset.rating === rating;
    button.classList.toggle("chosen", chosen);
    button.setAttribute("aria-pressed", String(chosen));
  }
}

function askNote(tools) {
  if (tools.querySelector(".note-form")) return;
  const noteForm = el("form", "note-form");
  const label = el("label", "", "What was wrong? (optional)");
  const id = `note-${tools.dataset.seq}`;
  label.htmlFor = id;
  const area = el("textarea");
  area.id = id;
  area.rows = 2;
  area.maxLength = 2000;
  const submit = el("button", "", "Send feedback");
  submit.type = "submit";
  noteForm.append(label, area, submit);
  noteForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    await rate(tools, "down", area.value);
    noteForm.replaceWith(el("p", "muted small", "Thanks for the feedback."));
  });
  tools.after(noteForm);
  area.focus();
}

async function openCall(callId) {
  const response = await fetch(`/c/${encodeURIComponent(chatId)}/calls/${encodeURIComponent(callId)}`, { credentials: "same-origin" });
  const body = document.getElementById("call-dialog-body");
  body.innerHTML = response.ok ? await response.text() : "";
  if (!response.ok) body.append(el("p", "error", "The call's details could not be loaded."));
  dialog.showModal();
}

function decide(button) {
  const card = button.closest(".approval");
  card.dataset.decision = button.dataset.decision;
  for (const other of card.querySelectorAll(".decide")) other.disabled = true;
  const cards = [...transcript.querySelectorAll(".approval")];
  if (cards.some((c) => !c.dataset.decision)) return; // every waiting call needs an answer
  const decisions = {};
  const always = [];
  for (const c of cards) {
    decisions[c.dataset.callId] = c.dataset.decision !== "decline";
    if (c.dataset.decision === "always") always.push(c.dataset.callId);
  }
  for (const c of cards) c.remove();
  streamTurn(`/api/conversations/${encodeURIComponent(chatId)}/approvals`, { decisions, always_allow: always });
}

function decorate() {
  // Edit and resend any message you sent: what followed it is replaced.
  for (const article of transcript.querySelectorAll(".msg.user[data-seq]")) {
    if (article.querySelector(".edit")) continue;
    const edit = el("button", "tool edit", "Edit");
    edit.type = "button";
    edit.title = "Edit and send again (the answers after it are replaced)";
    article.append(edit);
  }
}

function clicks() {
  transcript.addEventListener("click", (event) => {
    const target = event.target.closest("button");
    if (!target || target.disabled) return;
    const tools = target.closest(".answer-tools");
    if (target.classList.contains("call-card") && target.dataset.call) openCall(target.dataset.call);
    else if (target.classList.contains("decide")) decide(target);
    else if (target.classList.contains("copy")) {
      const article = target.closest(".msg");
      navigator.clipboard?.writeText(article.dataset.raw || article.textContent).catch(() => {});
      target.classList.add("done");
    } else if (target.classList.contains("rate") && tools) {
      if (target.dataset.rating === "down") askNote(tools);
      else rate(tools, "up", "");
    } else if (target.classList.contains("regenerate")) {
      if (!controller) regenerate();
    } else if (target.classList.contains("edit")) {
      if (!controller) startEdit(target.closest(".msg.user"));
    }
  });
}

function picker() {
  const boxes = [...document.querySelectorAll('#plugin-picker input[type="checkbox"]')];
  const count = document.getElementById("picked-count");
  const update = () => {
    const picked = boxes.filter((b) => b.checked);
    count.textContent = picked.length ? `(${picked.length} on)` : "(none)";
  };
  for (const b of boxes) {
    b.addEventListener("change", () => {
      const limit = Number(b.dataset.limit || 3);
      if (boxes.filter((x) => x.checked).length > limit) {
        b.checked = false;
        showError(`At most ${limit} plugins can be on in one chat.`);
      } else showError("");
      update();
    });
  }
  if (count) update();
}

async function canRecord() {
  // A browser that cannot record (no MediaRecorder, no media devices outside a secure
  // context) or has no microphone at all gets no button.
  if (!window.MediaRecorder || !navigator.mediaDevices?.enumerateDevices) return "no-recorder";
  try {
    const devices = await navigator.mediaDevices.enumerateDevices();
    if (!devices.some((d) => d.kind === "audioinput")) return "no-microphone";
  } catch { return "no-microphone"; }
  try {
    const response = await fetch("/api/audio", { credentials: "same-origin", headers: { "X-CSRF-Token": csrf() } });
    if (!response.ok || !(await response.json()).available) return "no-transcriber";
  } catch { return "no-transcriber"; }
  return "ready";
}

async function voice() {
  if (!micButton) return;
  const state = await canRecord();
  micButton.dataset.voice = state; // what was decided, for the browser tests to wait on
  if (state !== "ready") return;
  micButton.hidden = false;
  let recorder = null;
  micButton.addEventListener("click", async () => {
    if (recorder) { recorder.stop(); return; }
    let stream;
    try { stream = await navigator.mediaDevices.getUserMedia({ audio: true }); } catch {
      showError("The microphone could not be opened."); return;
    }
    const chunks = [];
    recorder = new MediaRecorder(stream);
    recorder.addEventListener("dataavailable", (e) => chunks.push(e.data));
    recorder.addEventListener("stop", async () => {
      stream.getTracks().forEach((t) => t.stop());
      micButton.setAttribute("aria-pressed", "false");
      micButton.classList.remove("recording");
      recorder = null;
      const data = new FormData();
      data.set("file", new Blob(chunks, { type: chunks[0]?.type || "audio/webm" }), "speech.webm");
      const answer = await fetch("/api/audio/transcriptions", {
        method: "POST", body: data, credentials: "same-origin", headers: { "X-CSRF-Token": csrf() },
      });
      if (!answer.ok) { showError(await errorOf(answer)); return; }
      const text = (await answer.json()).text || "";
      box.value = box.value ? `${box.value} ${text}` : text; // checked by the person before sending
      grow();
      box.focus();
    });
    recorder.start();
    micButton.setAttribute("aria-pressed", "true");
    micButton.classList.add("recording");
  });
}

if (form) {
  form.addEventListener("submit", (event) => {
    const text = box.value.trim();
    if (!text) { event.preventDefault(); return; }
    if (!chatId) {
      // A new chat: the form makes it (with the chosen plugins), then its page sends this.
      sessionStorage.setItem(PENDING, text);
      return;
    }
    event.preventDefault();
    if (controller) return;
    const replaces = form.dataset.replaces;
    stopEdit();
    box.value = "";
    grow();
    sendMessage(text, replaces);
  });
  box.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    } else if (event.key === "Escape" && form.dataset.replaces) {
      stopEdit();
      box.value = "";
      grow();
    }
  });
  document.getElementById("cancel-edit")?.addEventListener("click", () => {
    stopEdit();
    box.value = "";
    grow();
    box.focus();
  });
  box.addEventListener("input", grow);
  stopButton.addEventListener("click", () => controller?.abort());
  clicks();
  picker();
  decorate();
  voice();
  scrollDown();
  const pending = sessionStorage.getItem(PENDING);
  if (chatId && pending) {
    sessionStorage.removeItem(PENDING);
    sendMessage(pending);
  }
}
