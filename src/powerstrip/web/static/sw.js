// The service worker: the app shell (styles, scripts, icons) is cached so the app opens fast
// and installs on a phone's home screen. Pages and conversations are never cached: they always
// come from the server, so every device shows the same history.
const SHELL = "powerstrip-shell-v1";

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(SHELL).then((cache) =>
      cache.addAll(["/static/app.css", "/static/app.js", "/static/chat.js", "/static/icon.svg"]),
    ),
  );
  self.skipWaiting();
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys().then((keys) => Promise.all(keys.filter((k) => k !== SHELL).map((k) => caches.delete(k)))),
  );
  self.clients.claim();
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin) return;
  if (!url.pathname.startsWith("/static/")) return; // pages, the API, logos: the network only
  // Asset URLs carry their digest (?v=...): an exact hit is always current. Offline, any
  // cached version of the file is better than nothing.
  event.respondWith(
    caches.open(SHELL).then(async (cache) => {
      const exact = await cache.match(event.request);
      if (exact) return exact;
      try {
        const response = await fetch(event.request);
        if (response.ok) cache.put(event.request, response.clone());
        return response;
      } catch (error) {
        const any = await cache.match(event.request, { ignoreSearch: true });
        if (any) return any;
        throw error;
      }
    }),
  );
});
