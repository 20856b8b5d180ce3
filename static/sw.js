// Service worker: lets the app start while offline. The shell (the files of
// static/) is fetched from the network first, so a new version shows as soon
// as it is deployed, and from the cache when the network fails. The API and
// the socket are never cached: the list itself lives in localStorage.

const CACHE = "todohub-shell-v3";
const SHELL = [
  "./",
  "index.html",
  "style.css",
  "app.js",
  "api.js",
  "ops.js",
  "panels.js",
  "socket.js",
  "store.js",
  "template.js",
  "view.js",
  "switcher.js",
  "listbar.js",
  "details.js",
  "sharepanel.js",
  "sharing.js",
  "dialogs.js",
  "selection.js",
  "icon.svg",
];

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(CACHE).then((cache) =>
      // One missing file must not keep the others out of the cache.
      Promise.all(SHELL.map((path) => cache.add(path).catch(() => undefined))),
    ).then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

function isShell(url) {
  return (
    url.origin === self.location.origin &&
    !url.pathname.startsWith("/api/") &&
    url.pathname !== "/ws" &&
    !["/health", "/metrics"].includes(url.pathname)
  );
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || !isShell(url)) return;
  event.respondWith(
    (async () => {
      const cache = await caches.open(CACHE);
      try {
        const response = await fetch(request);
        if (response.ok) await cache.put(request, response.clone());
        return response;
      } catch (error) {
        const cached =
          (await cache.match(request, { ignoreSearch: true })) ??
          (request.mode === "navigate" ? await cache.match("./") : undefined);
        if (cached) return cached;
        throw error;
      }
    })(),
  );
});
