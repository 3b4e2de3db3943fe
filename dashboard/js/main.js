// The dashboard's entry: a hash router over the pages, the account field, and the API-key prompt.
import { api, auth, setUnauthorizedHandler } from './api.js';
import { clear, errorBox, h } from './ui.js';
import { jobsPage } from './jobs.js';
import { createPage } from './create.js';
import { jobPage } from './job.js';
import { comparePage } from './compare.js';
import { playgroundPage } from './playground.js';

const main = document.getElementById('main');
const accountInput = document.getElementById('account');
const authBar = document.getElementById('auth');
const authState = document.getElementById('auth-state');
let cleanup = () => {};

function askForKey(message) {
  authBar.hidden = false;
  document.getElementById('auth-error').textContent = auth.key && message ? message : '';
  document.getElementById('auth-key').focus();
}

setUnauthorizedHandler(askForKey);

document.getElementById('auth-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const key = document.getElementById('auth-key').value.trim();
  auth.setKey(key);
  try {
    // the key decides the account
    const r = await api('GET', '/v1/accounts');
    const name = r.accounts?.[0]?.name;
    if (name) {
      auth.setAccount(name.split('/')[1]);
      accountInput.value = auth.account;
    }
    authBar.hidden = true;
    document.getElementById('auth-key').value = '';
    showAuth();
    route();
  } catch (e) {
    document.getElementById('auth-error').textContent = e.message;
  }
});

function showAuth() {
  clear(authState, auth.key ? h('span', {}, h('span', { class: 'muted' }, 'key set '), h('button', { type: 'button', onclick: () => { auth.setKey(''); showAuth(); route(); } }, 'forget key')) : '');
}

accountInput.value = auth.account;
accountInput.addEventListener('change', () => {
  auth.setAccount(accountInput.value.trim() || 'default');
  route();
});

const routes = [
  [/^#?\/?$/, () => jobsPage],
  [/^#\/new$/, () => createPage],
  [/^#\/job\/([A-Za-z]+)\/([^/?]+)(?:\/([a-z]+))?$/, () => jobPage],
  [/^#\/compare(?:\?.*)?$/, () => comparePage],
  [/^#\/playground(?:\?.*)?$/, () => playgroundPage],
];

async function route() {
  cleanup();
  cleanup = () => {};
  const hash = location.hash || '#/';
  const [path, query = ''] = hash.split('?');
  const params = new URLSearchParams(query);
  for (const [re, page] of routes) {
    const m = re.exec(hash) || re.exec(path);
    if (!m) continue;
    clear(main);
    try {
      const stop = await page()(main, m.slice(1).map((s) => (s === undefined ? s : decodeURIComponent(s))), params);
      if (typeof stop === 'function') cleanup = stop;
    } catch (e) {
      main.append(errorBox(e));
    }
    return;
  }
  clear(main, h('p', { class: 'error' }, `no page ${hash}`));
}

async function start() {
  try {
    const health = await fetch('/health').then((r) => r.json());
    if (health.auth === 'api-key' && !auth.key) askForKey();
  } catch {
    // the pages report the server's errors themselves
  }
  showAuth();
  window.addEventListener('hashchange', route);
  await route();
}

start();
