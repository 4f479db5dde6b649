import { createRouter, createWebHistory, type RouteRecordRaw } from 'vue-router';
import type { Capability } from '../../protocol/access.ts';
import { loadCurrentUser } from './auth/current-user.ts';

declare module 'vue-router' {
  interface RouteMeta {
    /** Reachable without signing in. */
    public?: boolean;
    /** i18n key of the top-bar entry; views with one are listed in the navigation. */
    navKey?: string;
    /**
     * The capability the top-bar entry is shown for (protocol/access.ts); all when absent. Only
     * hides the entry: the server decides what each role may read, and the view shows its refusal.
     */
    capability?: Capability;
  }
}

/**
 * One entry per view. Later views (device health, patrol ledger, exports) are added here with a
 * navKey and appear in the top bar without touching App.vue.
 */
export const routes: RouteRecordRaw[] = [
  { path: '/', redirect: '/sessions' },
  { path: '/login', name: 'login', component: () => import('./views/LoginView.vue'), meta: { public: true } },
  // First in the navigation: the centre's one-screen view of its counties. '/' still opens the
  // sessions, which county staff start from.
  { path: '/overview', name: 'overview', component: () => import('./views/OverviewView.vue'), meta: { navKey: 'nav.overview' } },
  { path: '/sessions', name: 'sessions', component: () => import('./views/SessionsView.vue'), meta: { navKey: 'nav.sessions' } },
  { path: '/devices', name: 'devices', component: () => import('./views/DevicesView.vue'), meta: { navKey: 'nav.devices' } },
  { path: '/sessions/:id', name: 'session', component: () => import('./views/SessionView.vue'), props: true },
  { path: '/patrol', name: 'patrol', component: () => import('./views/PatrolView.vue'), meta: { navKey: 'nav.patrol' } },
  { path: '/ledger', name: 'ledger', component: () => import('./views/LedgerView.vue'), meta: { navKey: 'nav.ledger' } },
  { path: '/ledger/:id', name: 'ledger-entry', component: () => import('./views/LedgerEntryView.vue'), props: true },
  { path: '/equipment', name: 'equipment', component: () => import('./views/EquipmentView.vue'), meta: { navKey: 'nav.equipment' } },
  { path: '/exports', name: 'exports', component: () => import('./views/ExportsView.vue'), meta: { navKey: 'nav.exports' } },
  { path: '/reports', name: 'reports', component: () => import('./views/ReportView.vue'), meta: { navKey: 'nav.reports' } },
  { path: '/audit', name: 'audit', component: () => import('./views/AuditView.vue'), meta: { navKey: 'nav.audit', capability: 'audit.read' } },
  { path: '/users', name: 'users', component: () => import('./views/UsersView.vue'), meta: { navKey: 'nav.users', capability: 'user.manage' } },
  { path: '/account', name: 'account', component: () => import('./views/AccountView.vue') },
  { path: '/public', name: 'public-ledger', component: () => import('./views/PublicLedgerView.vue'), meta: { public: true } },
  { path: '/:pathMatch(.*)*', redirect: '/sessions' },
];

export const router = createRouter({ history: createWebHistory('/'), routes });

router.beforeEach(async (to) => {
  if (to.meta.public) return true;
  try {
    const user = await loadCurrentUser();
    if (user) return true;
  } catch {
    // The centre is unreachable: the login page shows that error when the user tries to sign in.
  }
  return { name: 'login', query: { redirect: to.fullPath } };
});
