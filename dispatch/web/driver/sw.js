/* gongpei driver page's service worker (scope /driver).
 *
 * - The app shell is kept at install and served from the cache first, so the page opens with no signal.
 *   The server writes a digest of the shell files into VERSION: a changed shell is a changed worker,
 *   which the browser installs, and the old shell cache is dropped.
 * - The driver's manifest goes to the network first; the last good answer is kept, tagged with a digest
 *   of the token and device that fetched it, and served when the network fails (offline, time-out, 5xx).
 *   The worker revalidates its copy with If-None-Match, so an unchanged route costs a 304, not the body.
 * - Scans are not handled here: the page queues them itself (POSTs pass through untouched).
 */
'use strict';

const VERSION = '__SHELL_VERSION__';
const SHELL_PREFIX = 'gongpei-driver-shell-';
const SHELL_CACHE = SHELL_PREFIX + VERSION;
const MANIFEST_CACHE = 'gongpei-driver-manifest';
const MANIFEST_PATH = '/v1/driver/manifest';
const SHELL = ['/driver', '/driver/app.js', '/driver/app.css', '/driver/manifest.webmanifest', '/driver/icon.svg'];
const NETWORK_TIMEOUT_MS = 10000;

self.addEventListener('install', (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(SHELL_CACHE);
      await cache.addAll(SHELL.map((path) => new Request(path, { cache: 'reload' })));
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      const names = await caches.keys();
      await Promise.all(
        names.filter((n) => n.startsWith(SHELL_PREFIX) && n !== SHELL_CACHE).map((n) => caches.delete(n)),
      );
      await self.clients.claim();
    })(),
  );
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin || url.search) return;
  if (url.pathname === MANIFEST_PATH) event.respondWith(manifest(request));
  else if (SHELL.includes(url.pathname)) event.respondWith(shell(url.pathname));
});

async function shell(path) {
  const cache = await caches.open(SHELL_CACHE);
  const kept = await cache.match(path);
  if (kept) return kept;
  const response = await fetch(path);
  if (response.ok) await cache.put(path, response.clone());
  return response;
}

async function digest(text) {
  const buf = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return Array.from(new Uint8Array(buf), (v) => v.toString(16).padStart(2, '0')).join('');
}

async function fetchWithTimeout(url, init) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), NETWORK_TIMEOUT_MS);
  try {
    return await fetch(url, { ...init, signal: controller.signal });
  } finally {
    clearTimeout(timer);
  }
}

function fromCopy(copy, source) {
  const headers = new Headers(copy.headers);
  headers.delete('X-Gongpei-Owner');
  headers.set('X-Gongpei-Source', source);
  return new Response(copy.body, { status: 200, statusText: 'OK', headers });
}

async function manifest(request) {
  // A copy is only ever served to the token and device that fetched it.
  const owner = await digest(`${request.headers.get('Authorization') || ''}\n${request.headers.get('X-Device-Id') || ''}`);
  const cache = await caches.open(MANIFEST_CACHE);
  const stored = await cache.match(MANIFEST_PATH);
  const copy = stored && stored.headers.get('X-Gongpei-Owner') === owner ? stored : null;
  const headers = new Headers(request.headers);
  const pageAsked = headers.has('If-None-Match');
  if (!pageAsked && copy && copy.headers.get('ETag')) headers.set('If-None-Match', copy.headers.get('ETag'));

  let response;
  try {
    response = await fetchWithTimeout(request.url, { method: 'GET', headers, cache: 'no-store', credentials: 'omit' });
  } catch (err) {
    if (copy) return fromCopy(copy, 'cache');
    throw err;
  }
  if (response.status === 304) return !pageAsked && copy ? fromCopy(copy, 'revalidated') : response;
  if (response.status === 200) {
    const body = await response.arrayBuffer();
    const fetchedAt = new Date().toISOString();
    const keep = new Headers(response.headers);
    keep.set('X-Gongpei-Owner', owner);
    keep.set('X-Gongpei-Fetched-At', fetchedAt);
    await cache.put(MANIFEST_PATH, new Response(body, { status: 200, headers: keep }));
    const out = new Headers(response.headers);
    out.set('X-Gongpei-Source', 'network');
    out.set('X-Gongpei-Fetched-At', fetchedAt);
    return new Response(body, { status: 200, statusText: 'OK', headers: out });
  }
  if (response.status === 401 || response.status === 404) {
    await cache.delete(MANIFEST_PATH); // a refused token or nothing published: no stale route
    return response;
  }
  if (response.status >= 500 && copy) return fromCopy(copy, 'cache');
  return response;
}
