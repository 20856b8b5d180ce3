// Wiring only: the session (api.js), the state (store.js), the live socket
// (socket.js) and the screen (view.js, panels.js) meet here.

import { ApiError, NetworkError, Session } from "./api.js";
import { Panels } from "./panels.js";
import { Connection } from "./socket.js";
import { Store, uuid } from "./store.js";
import { filterFromHash, View } from "./view.js";

const DEVICE_KEY = "todohub.device";
const SESSION_KEY = "todohub.session";
const STORE_KEY = "todohub.store";

/** One id per browser profile, made on the first visit. */
function deviceId() {
  let id = localStorage.getItem(DEVICE_KEY);
  if (!id) {
    id = `web-${uuid().slice(0, 8)}`;
    localStorage.setItem(DEVICE_KEY, id);
  }
  return id;
}

const device = deviceId();
const store = new Store();
const session = new Session();
const view = new View();
const panels = new Panels();
let filter = filterFromHash(location.hash);
let connection = null;
let refreshTimer = null;
let guestAllowed = true;

function render() {
  view.render(store.list(), filter);
  panels.setUnsent(store.pending.length);
}

/** Send every op the hub has not seen on this socket yet. */
function flush() {
  if (!connection?.live) return;
  if (store.prune()) panels.notify("A todo you changed was deleted on another device.");
  for (const frame of store.takeUnsent(connection.number)) connection.send(frame);
}

function explain(error) {
  if (error instanceof NetworkError) return "The hub cannot be reached. Try again when online.";
  if (!(error instanceof ApiError)) return String(error.message ?? error);
  if (error.status === 401) return "Wrong username or password.";
  if (error.status === 409) return "That username is taken.";
  if (error.status === 429) return "Too many attempts. Wait a moment and try again.";
  const detail = error.details?.[0];
  if (detail?.reason) return `${detail.field ? `${detail.field}: ` : ""}${detail.reason}`;
  return error.message;
}

// ---- the list ----------------------------------------------------------

store.subscribe(render);
view.bindAdd((title) => {
  store.create(title);
  flush();
});
view.bindToggle((id, completed) => {
  store.update(id, { completed });
  flush();
});
view.bindRemove((id) => {
  store.remove(id);
  flush();
});
view.bindEdit((id, title) => {
  const todo = store.find(id);
  if (!todo) return;
  if (!title) store.remove(id);
  else if (title !== todo.title) store.update(id, { title });
  flush();
});
view.bindToggleAll((completed) => {
  store.setAllCompleted(completed);
  flush();
});
view.bindClearCompleted(() => {
  store.clearCompleted();
  flush();
});
window.addEventListener("hashchange", () => {
  filter = filterFromHash(location.hash);
  render();
});

// ---- the live socket ---------------------------------------------------

const handlers = {
  welcome(frame) {
    store.beginSync();
    if (frame.user && frame.user.id !== store.userId) {
      // The hello's `since` belonged to another account's state: start over.
      store.bindUser(frame.user.id);
      connection.reconnectNow();
    }
  },
  snapshot: (frame) => store.applySnapshot(frame),
  change: (frame) => store.applyChange(frame),
  synced: () => flush(),
  ack: (frame) => store.applyAck(frame),
  error(frame) {
    if (!frame.id) {
      console.warn(`todohub: ${frame.code}: ${frame.message}`);
      return;
    }
    const { notice, retryAfter } = store.applyError(frame);
    panels.notify(notice);
    if (retryAfter !== undefined) setTimeout(flush, retryAfter);
  },
  presence: (frame) => panels.setPresence(frame.devices ?? [], device),
  auth_ok() {},
  token_expiring: () => refreshToken(),
};

function wsUrl() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}/ws`;
}

async function startSync() {
  store.bindUser(session.user.id);
  panels.setAccount(session.user);
  panels.showApp();
  view.focusNewTodo();
  connection?.stop();
  connection = null;
  // A token about to expire (a visit after a long pause) is refreshed first
  // rather than spent on a hello that would be refused with 4401.
  if (session.expiresAt - Date.now() < 10_000 && navigator.onLine !== false) {
    if ((await refreshToken()) === false) return;
  }
  connection = new Connection({
    url: wsUrl(),
    hello: () => ({ token: session.token, device, since: store.seq }),
    handlers,
    onState: (state) => panels.setConnection(state),
    onUnauthorized: refreshToken,
  });
  connection.start();
  scheduleRefresh();
}

// ---- tokens ------------------------------------------------------------

function scheduleRefresh() {
  clearTimeout(refreshTimer);
  if (!session.data) return;
  const left = session.expiresAt - Date.now();
  const lifetime = session.expiresAt - (session.data.obtained_at ?? Date.now() - left);
  const margin = Math.min(60_000, lifetime / 4);
  refreshTimer = setTimeout(refreshToken, Math.max(0, left - margin));
}

/** Fresh tokens, handed to the live socket. true: done; false: signed out; null: try later. */
async function refreshToken() {
  clearTimeout(refreshTimer);
  try {
    await session.refresh();
  } catch (error) {
    if (error instanceof ApiError && (error.status === 401 || error.status === 403)) {
      signedOut("Your session has ended. Please sign in again.");
      return false;
    }
    refreshTimer = setTimeout(refreshToken, 10_000);
    return null;
  }
  connection?.send({ type: "auth", token: session.token });
  scheduleRefresh();
  return true;
}

// ---- accounts ----------------------------------------------------------

let guestRetry = null;

async function startAsGuest() {
  clearTimeout(guestRetry);
  window.removeEventListener("online", startAsGuest);
  try {
    await session.guest();
  } catch (error) {
    if (error instanceof ApiError && error.status === 403) {
      guestAllowed = false;
      panels.showSignin({ guest: false });
    } else if (error instanceof NetworkError) {
      // Offline, or the hub is down: try again when the network is back or soon.
      panels.setConnection(navigator.onLine === false ? "offline" : "reconnecting");
      window.addEventListener("online", startAsGuest);
      guestRetry = setTimeout(startAsGuest, 3000);
    } else {
      panels.showSignin({ guest: true, message: explain(error) });
    }
    return;
  }
  startSync();
}

function signedOut(message = "") {
  clearTimeout(refreshTimer);
  connection?.stop();
  connection = null;
  session.forget();
  store.clear();
  panels.setPresence([], device);
  panels.setAccount(null);
  panels.showSignin({ guest: guestAllowed, message });
}

async function signIn(username, password) {
  try {
    await session.login(username, password);
  } catch (error) {
    throw new Error(explain(error));
  }
  startSync();
}

async function register(username, password) {
  try {
    await session.register(username, password);
  } catch (error) {
    throw new Error(explain(error));
  }
  startSync();
}

async function upgrade(username, password) {
  try {
    await session.upgrade(username, password);
  } catch (error) {
    throw new Error(explain(error));
  }
  panels.setAccount(session.user);
  panels.closeAccountMenu();
  panels.notify(`Saved as ${session.user.username}: sign in with it on your other devices.`);
  connection?.send({ type: "auth", token: session.token });
  scheduleRefresh();
}

async function signOut(all) {
  if (all) {
    try {
      await session.logout(true);
    } catch (error) {
      panels.notify(`Not signed out everywhere: ${explain(error)}`);
      if (error instanceof NetworkError) return;
    }
  } else {
    session.logout(false).catch(() => null);
  }
  signedOut();
}

panels.bindUpgrade(upgrade);
panels.bindLogin(signIn);
panels.bindRegister(register);
panels.bindGuest(async () => {
  panels.showApp();
  await startAsGuest();
});
panels.bindSwitchAccount(() => {
  panels.closeAccountMenu();
  const message = session.user?.guest
    ? "Signing in to another account leaves this guest list behind: save it as an account first to keep it."
    : "";
  panels.showSignin({ guest: false, cancel: true, message });
});
panels.bindCancelSignin(() => {
  panels.showApp();
  view.focusNewTodo();
});
panels.bindSignOut(signOut);

// Another tab of this profile changed the list, or signed out or in: follow it.
window.addEventListener("storage", (event) => {
  if (event.key === STORE_KEY) {
    store.mergeFromStorage();
    flush();
    return;
  }
  if (event.key !== SESSION_KEY) return;
  const other = session.reload();
  if (!other) signedOut();
  else if (other.user?.id !== store.userId) location.reload();
});

// ---- start -------------------------------------------------------------

if ("serviceWorker" in navigator) {
  navigator.serviceWorker
    .register("sw.js")
    .then(() => navigator.serviceWorker.ready)
    .then(() => {
      document.documentElement.dataset.offlineReady = "true";
    })
    .catch((error) => console.warn("todohub: no offline start:", error));
}

render();
view.focusNewTodo();
if (session.data) startSync();
else startAsGuest();
