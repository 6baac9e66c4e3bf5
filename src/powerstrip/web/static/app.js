// Every page: the phone drawer, confirmations, copy buttons, the chat list filter, and the
// service worker (the app shell offline; conversations always come from the server).

export const csrfToken = () => document.querySelector('meta[name="csrf-token"]')?.content ?? "";

export async function copyText(text, button) {
  try {
    await navigator.clipboard.writeText(text);
    if (button) {
      const before = button.title;
      button.title = "Copied";
      button.classList.add("done");
      setTimeout(() => { button.title = before; button.classList.remove("done"); }, 1500);
    }
  } catch {
    // No clipboard permission (an http page, say): nothing to do but leave the text selectable.
  }
}

function drawer() {
  const toggle = document.getElementById("drawer-toggle");
  const sidebar = document.getElementById("sidebar");
  const scrim = document.getElementById("scrim");
  if (!toggle || !sidebar || !scrim) return;
  const set = (open) => {
    document.body.classList.toggle("drawer-open", open);
    toggle.setAttribute("aria-expanded", String(open));
    scrim.hidden = !open;
  };
  toggle.addEventListener("click", () => set(!document.body.classList.contains("drawer-open")));
  scrim.addEventListener("click", () => set(false));
  document.addEventListener("keydown", (event) => { if (event.key === "Escape") set(false); });
}

function confirmations() {
  for (const form of document.querySelectorAll("form.confirm")) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm || "Are you sure?")) event.preventDefault();
    });
  }
}

function copyButtons() {
  document.addEventListener("click", (event) => {
    const button = event.target.closest(".copy-code");
    if (!button) return;
    const code = button.parentElement.querySelector("code");
    if (code) copyText(code.textContent, button);
  });
}

function chatFilter() {
  const input = document.getElementById("chat-search");
  if (!input) return;
  input.addEventListener("input", () => {
    const needle = input.value.trim().toLowerCase();
    for (const item of document.querySelectorAll("#chat-list .chat-item")) {
      item.hidden = needle !== "" && !item.dataset.title.includes(needle);
    }
  });
}

drawer();
confirmations();
copyButtons();
chatFilter();
if ("serviceWorker" in navigator && window.isSecureContext) {
  navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => {});
}
