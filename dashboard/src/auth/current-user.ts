import { ref } from 'vue';
import { can, type Capability } from '../../../protocol/access.ts';
import type { User } from '../../../protocol/api.ts';
import { api, ApiRequestError } from '../api/client.ts';
import { clearOfflineCache } from '../offline/service-worker.ts';

/** The signed-in user, shared by the router guard, the top bar and views that depend on the role. */
export const currentUser = ref<User | null>(null);
let checked = false;

/** Asks the server once per page load (or after login/logout) who is signed in. */
export async function loadCurrentUser(force = false): Promise<User | null> {
  if (checked && !force) return currentUser.value;
  try {
    currentUser.value = (await api.me()).user;
  } catch (err) {
    if (err instanceof ApiRequestError && err.code === 'unauthenticated') currentUser.value = null;
    else throw err;
  }
  checked = true;
  return currentUser.value;
}

/**
 * Whether the signed-in user's role may do this, from the one table the centre enforces
 * (protocol/access.ts): views offer only what the centre would allow. Scope is still the centre's.
 */
export function allowed(capability: Capability): boolean {
  return currentUser.value !== null && can(currentUser.value, capability);
}

export function setCurrentUser(user: User | null): void {
  currentUser.value = user;
  checked = true;
}

export async function logout(): Promise<void> {
  try {
    await api.logout();
  } finally {
    setCurrentUser(null);
    await clearOfflineCache();
  }
}
