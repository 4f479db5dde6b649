/*
 * VenueWatch service worker: lets the patrol screen open while the venue Wi-Fi is down.
 * - the app shell (the page and its hashed /assets/*) is cached as it is loaded;
 * - three GET answers the patrol screen needs to start (who am I, venues/rooms, categories) are
 *   network-first with the last answer as the offline fallback;
 * - nothing else is cached: footage, photos and ledger data always come from the centre.
 * Writes are never touched here: the page's IndexedDB outbox queues and resends them.
 * The page clears this cache on logout (message "clear").
 */
const CACHE = 'vw-shell-v1';
const SHELL_KEY = '/__vw_shell';
const API_OFFLINE = new Set(['/api/auth/me', '/api/venues', '/api/ledger/categories']);

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

self.addEventListener('message', (event) => {
  if (event.data === 'clear') event.waitUntil(caches.delete(CACHE));
});

function fromCache(response) {
  // Marked so the page (and the tests) can tell a cached answer from a live one.
  const headers = new Headers(response.headers);
  headers.set('x-vw-offline', '1');
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}

async function networkFirst(request, key) {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(request);
    if (response.ok) await cache.put(key, response.clone());
    return response;
  } catch (err) {
    const cached = await cache.match(key);
    if (cached) return fromCache(cached);
    throw err;
  }
}

async function cacheFirst(request) {
  const cache = await caches.open(CACHE);
  const cached = await cache.match(request);
  if (cached) return cached;
  const response = await fetch(request);
  if (response.ok) await cache.put(request, response.clone());
  return response;
}

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname.startsWith('/api/')) {
    if (API_OFFLINE.has(url.pathname)) event.respondWith(networkFirst(request, url.pathname));
    return;
  }
  // The dashboard is a single-page app: every navigation is the same shell.
  if (request.mode === 'navigate') return event.respondWith(networkFirst(request, SHELL_KEY));
  if (url.pathname.startsWith('/assets/')) event.respondWith(cacheFirst(request));
});
