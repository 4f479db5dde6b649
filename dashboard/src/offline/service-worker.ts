/**
 * Registers /sw.js (dashboard/public/sw.js) so the patrol screen opens without network. Browsers
 * allow service workers on https and on localhost only: on a plain-http venue LAN this does
 * nothing and the outbox still works while the page stays open.
 */
export function registerServiceWorker(): void {
  if (!('serviceWorker' in navigator) || !window.isSecureContext) return;
  navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch(() => {
    // Not fatal: the dashboard works online without it.
  });
}

/** Forgets the cached shell and API answers (the signed-in user among them) at logout. */
export async function clearOfflineCache(): Promise<void> {
  try {
    navigator.serviceWorker?.controller?.postMessage('clear');
    if ('caches' in window) await caches.delete('vw-shell-v1');
  } catch {
    // Nothing cached, or storage blocked.
  }
}
