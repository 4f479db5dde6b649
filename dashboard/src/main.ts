import { createApp, watch } from 'vue';
import App from './App.vue';
import { router } from './router.ts';
import { i18n } from './i18n/index.ts';
import { setApiLanguage, setUnauthenticatedHandler } from './api/client.ts';
import { setCurrentUser } from './auth/current-user.ts';
import './styles.css';
import { registerServiceWorker } from './offline/service-worker.ts';

// A 401 on any call means the login expired: forget the user and go to the login page,
// coming back to where the user was afterwards.
setUnauthenticatedHandler(() => {
  setCurrentUser(null);
  const current = router.currentRoute.value;
  if (current.name !== 'login') void router.push({ name: 'login', query: { redirect: current.fullPath } });
});

document.documentElement.lang = i18n.global.locale.value;
// The centre's error messages follow the language switch.
watch(i18n.global.locale, (locale) => setApiLanguage(locale), { immediate: true });
createApp(App).use(i18n).use(router).mount('#app');
registerServiceWorker();
