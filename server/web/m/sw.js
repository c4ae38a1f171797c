// Service worker of /m/: keeps the page itself (the app shell and Leaflet)
// available offline. Pages and scripts: network first, the cached copy when
// the network fails or takes more than 4 s. API calls are not touched; the
// page's own outbox (IndexedDB) handles reports made offline.

const CACHE = 'wangge-m-v1';
const SHELL = [
  '/m/', '/m/index.html', '/m/app.js', '/m/outbox.js', '/m/style.css',
  '/shared/i18n.js', '/shared/api.js', '/shared/dom.js',
  '/vendor/leaflet/leaflet.js', '/vendor/leaflet/leaflet.css',
  '/vendor/leaflet/images/marker-icon.png', '/vendor/leaflet/images/marker-icon-2x.png',
  '/vendor/leaflet/images/marker-shadow.png',
];

self.addEventListener('install', (ev) => {
  ev.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (ev) => {
  ev.waitUntil((async () => {
    for (const k of await caches.keys()) if (k !== CACHE) await caches.delete(k);
    await self.clients.claim();
  })());
});

function timeout(ms) {
  return new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), ms));
}

self.addEventListener('fetch', (ev) => {
  const url = new URL(ev.request.url);
  if (ev.request.method !== 'GET' || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith('/api/') || url.pathname.startsWith('/open311/')) return;
  ev.respondWith((async () => {
    const cache = await caches.open(CACHE);
    try {
      const res = await Promise.race([fetch(ev.request), timeout(4000)]);
      if (res.ok) cache.put(ev.request, res.clone());
      return res;
    } catch (e) {
      const hit = await cache.match(ev.request, { ignoreSearch: true });
      if (hit) return hit;
      throw e;
    }
  })());
});
