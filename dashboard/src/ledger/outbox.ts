import { ref } from 'vue';
import type { LedgerEntryCreate } from '../../../protocol/ledger.ts';
import { ApiRequestError } from '../api/client.ts';
import { ledgerApi } from '../api/ledger.ts';

/**
 * The tablet's outbox: every entry (and its photo) is written to IndexedDB first, then sent. If
 * the venue Wi-Fi is down it stays there, visible as "waiting to send", and is retried when the
 * browser says it is online again and every few seconds. Each entry carries a client key made on
 * the tablet, so a resend after a lost answer is recognised by the server and saved once.
 */

export interface OutboxItem {
  clientKey: string;
  body: LedgerEntryCreate;
  photo: Blob | null;
  /** Set once the server has the entry; only the photo is left to send. */
  entryId: string | null;
  number: string | null;
  queuedAt: string;
  /** The server refused it (not a network problem): shown, not retried. */
  error: string | null;
}

const DB_NAME = 'venuewatch';
const STORE = 'ledger-outbox';
const RETRY_MS = 3000;

export const pending = ref<OutboxItem[]>([]);
export const lastSent = ref<{ number: string; clientKey: string } | null>(null);

function open(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE, { keyPath: 'clientKey' });
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function tx<T>(mode: IDBTransactionMode, run: (store: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  const db = await open();
  try {
    return await new Promise<T>((resolve, reject) => {
      const t = db.transaction(STORE, mode);
      const req = run(t.objectStore(STORE));
      t.oncomplete = () => resolve(req.result);
      t.onerror = () => reject(t.error);
      t.onabort = () => reject(t.error);
    });
  } finally {
    db.close();
  }
}

const all = () => tx<OutboxItem[]>('readonly', (s) => s.getAll() as IDBRequest<OutboxItem[]>);
const put = (item: OutboxItem) => tx('readwrite', (s) => s.put(item));
const remove = (key: string) => tx('readwrite', (s) => s.delete(key));

async function refresh(): Promise<void> {
  pending.value = (await all()).sort((a, b) => a.queuedAt.localeCompare(b.queuedAt));
}

/** A random key that works on plain-http venue LANs too (randomUUID needs a secure context). */
export function newClientKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

const isNetworkError = (err: unknown) => err instanceof ApiRequestError && (err.status === 0 || err.code === 'unavailable' || err.code === 'rate_limited');

let flushing: Promise<void> | null = null;

/** Sends what is queued, one item at a time; stops at the first network failure. */
export function flush(): Promise<void> {
  flushing ??= (async () => {
    try {
      for (const item of await all()) {
        if (item.error) continue;
        try {
          if (!item.entryId) {
            const saved = await ledgerApi.create(item.body);
            item.entryId = saved.entry.id;
            item.number = saved.entry.number;
            await put(item);
          }
          if (item.photo) await ledgerApi.addPhoto(item.entryId, item.photo);
          await remove(item.clientKey);
          lastSent.value = { number: item.number ?? '', clientKey: item.clientKey };
        } catch (err) {
          if (isNetworkError(err)) break;
          if (err instanceof ApiRequestError && err.code === 'unauthenticated') break;
          item.error = err instanceof Error ? err.message : String(err);
          await put(item);
        }
      }
    } finally {
      await refresh();
      flushing = null;
    }
  })();
  return flushing;
}

/** Queues one entry (and photo) and tries to send it at once. */
export async function enqueue(body: LedgerEntryCreate, photo: Blob | null): Promise<void> {
  await put({ clientKey: body.clientKey, body, photo, entryId: null, number: null, queuedAt: new Date().toISOString(), error: null });
  await refresh();
  await flush();
}

export async function discard(clientKey: string): Promise<void> {
  await remove(clientKey);
  await refresh();
}

let started = false;
/** Starts retrying in the background (once per page). */
export function startOutbox(): void {
  if (started) return;
  started = true;
  void refresh().then(flush);
  window.addEventListener('online', () => void flush());
  setInterval(() => {
    if (pending.value.some((p) => !p.error)) void flush();
  }, RETRY_MS);
}
