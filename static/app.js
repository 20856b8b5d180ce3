// Wiring only: the session (api.js, sharing.js), the state (store.js), the
// live socket (socket.js) and the screen (view.js, switcher.js, listbar.js,
// details.js, sharepanel.js, dialogs.js, panels.js) meet here.

import { ApiError, NetworkError, Session } from "./api.js";
import { DetailsPanel } from "./details.js";
import { Dialogs } from "./dialogs.js";
import { ListBar } from "./listbar.js";
import { Panels } from "./panels.js";
import { Selection } from "./selection.js";
import { SharePanel } from "./sharepanel.js";
import { inviteToken, Sharing } from "./sharing.js";
import { Connection } from "./socket.js";
import { Store, uuid } from "./store.js";
import { Switcher } from "./switcher.js";
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
const switcher = new Switcher();
const listBar = new ListBar();
const details = new DetailsPanel();
const sharePanel = new SharePanel();
const dialogs = new Dialogs();
const sharing = new Sharing(session);
const selection = new Selection();
let filter = filterFromHash(location.hash);
let connection = null;
let refreshTimer = null;
let guestAllowed = true;

const me = () => session.user?.id ?? null;

/** The list shown (null in the "Assigned to me" view). */
function currentList() {
  if (selection.view) return null;
  return store.findList(selection.list) ?? store.inbox;
}

/** user id -> username, over every member of every list. */
function memberNames(lists) {
  const names = new Map();
  for (const list of lists) for (const m of list.members ?? []) names.set(m.user.id, m.user.username);
  return names;
}

function render() {
  const lists = store.lists();
  const all = store.list();
  const list = currentList();
  const inboxId = store.inbox?.id ?? null;
  const listOf = (todo) => todo.list_id ?? inboxId;
  const counts = new Map();
  for (const todo of all) if (!todo.completed) counts.set(listOf(todo), (counts.get(listOf(todo)) ?? 0) + 1);
  // Across lists: in the switcher's order of lists, then each list's own order.
  const place = new Map(lists.map((l, i) => [l.id, i]));
  const mine = all
    .filter((t) => t.assignee && t.assignee === me())
    .sort((a, b) => (place.get(listOf(a)) ?? 1e9) - (place.get(listOf(b)) ?? 1e9));
  const shown = selection.view ? mine : all.filter((t) => listOf(t) === (list?.id ?? null));
  const tags = [...new Set(shown.flatMap((t) => t.tags ?? []))].sort();
  const tagged = selection.tag ? shown.filter((t) => (t.tags ?? []).includes(selection.tag)) : shown;
  const names = memberNames(lists);
  const byId = new Map(lists.map((l) => [l.id, l]));
  view.render(tagged, filter, {
    readOnly: list?.role === "viewer",
    canAdd: Boolean(!selection.view),
    names,
    listName: selection.view ? (todo) => byId.get(listOf(todo))?.name ?? null : null,
  });
  switcher.render(lists, counts, selection.view ? { view: selection.view } : { list: list?.id ?? null },
                  mine.filter((t) => !t.completed).length);
  listBar.render({ list, title: selection.view ? "Assigned to me" : (list?.name ?? "Inbox"), tags, tag: selection.tag });
  const sharedId = sharePanel.openListId;
  if (sharedId) {
    const shared = store.findList(sharedId);
    if (shared) sharePanel.render(shared, me());
    else sharePanel.close();
  }
  if (details.openId && !store.find(details.openId)) details.close();
  panels.setUnsent(store.pending.length);
}

/** Send every op the hub has not seen on this socket yet. */
function flush() {
  if (!connection?.live) return;
  const lost = store.prune();
  if (lost.length) panels.notify(`Not saved: ${lost.join(", ")}: deleted, or you no longer have access.`);
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

/** What went wrong with a sharing call, in a short sentence. */
function reason(error) {
  if (error instanceof NetworkError) return "the hub cannot be reached; try again when online.";
  if (error instanceof ApiError && error.status === 403) return "only the list's owner may do that.";
  if (error instanceof ApiError && error.status === 404) return "that list or member is gone.";
  return String(error.message ?? error);
}

// ---- the list ----------------------------------------------------------

store.subscribe(render);
view.bindAdd((title) => {
  if (selection.view) return;
  store.create(title, currentList()?.id ?? null);
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
  store.setAllCompleted(completed, currentList()?.id ?? null);
  flush();
});
view.bindClearCompleted(() => {
  store.clearCompleted(currentList()?.id ?? null);
  flush();
});
window.addEventListener("hashchange", () => {
  if (takeInviteFromHash()) offerInvite();
  filter = filterFromHash(location.hash);
  render();
});

// ---- the whole todo ----------------------------------------------------

view.bindDetails((id) => {
  const todo = store.find(id);
  if (!todo) return;
  const lists = store.lists();
  const list = store.findList(todo.list_id) ?? store.inbox;
  details.open(todo, {
    members: list?.members ?? [],
    lists: lists.filter((l) => l.role !== "viewer" || l.id === list?.id),
    readOnly: list?.role === "viewer",
  });
});
details.bindSave((id, patch) => {
  if (Object.keys(patch).length === 0) return;
  store.update(id, patch);
  flush();
});
details.bindClosed((id) => view.focusItem(id));

// ---- lists -------------------------------------------------------------

function select(choice) {
  selection.choose(choice, me());
  details.close();
  render();
}

switcher.bindSelect((choice) => {
  select(choice);
  view.focusNewTodo();
});
switcher.bindCreate((name) => {
  const id = store.createList(name);
  flush();
  select({ list: id });
  view.focusNewTodo();
});
listBar.bindTag((tag) => {
  selection.setTag(tag);
  render();
});
listBar.bindRename(async () => {
  const list = currentList();
  if (!list) return;
  const name = await dialogs.ask(`Rename “${list.name}”`, list.name);
  if (name && name !== list.name) {
    store.renameList(list.id, name);
    flush();
  }
});
listBar.bindDelete(async () => {
  const list = currentList();
  if (!list || list.inbox) return;
  const count = store.todosOf(list.id).length;
  const what = count === 1 ? "its 1 todo" : `its ${count} todos`;
  const yes = await dialogs.confirm(`Delete “${list.name}” and ${what}? This cannot be undone.`, "Delete");
  if (!yes) return;
  store.deleteList(list.id);
  select({ list: store.inbox?.id ?? null });
  flush();
});

const REMOVED_TEXT = {
  deleted: (name) => `“${name}” was deleted.`,
  left: (name) => `You left “${name}”.`,
  removed: (name) => `You were removed from “${name}”.`,
  gone: (name) => `“${name}” is no longer yours to see.`,
};

store.onListRemoved = (list, reason) => {
  const open = !selection.view && selection.list === list.id;
  if (open) selection.choose({ list: null }, me());
  if (open || reason === "removed") {
    const text = (REMOVED_TEXT[reason] ?? REMOVED_TEXT.gone)(list.name);
    panels.notify(open ? `${text} Showing your inbox.` : text);
  }
};

// ---- sharing -----------------------------------------------------------

async function loadInvites(listId) {
  try {
    sharePanel.renderInvites(await sharing.openInvites(listId));
  } catch (error) {
    sharePanel.showError(reason(error));
  }
}

listBar.bindShare(() => {
  const list = currentList();
  if (!list || list.inbox) return;
  sharePanel.open(list, me());
  if (list.role === "owner") loadInvites(list.id);
});
sharePanel.bindInvite(async (listId, role) => {
  sharePanel.showError("");
  try {
    const made = await sharing.invite(listId, role);
    sharePanel.showLink(made.url);
    await loadInvites(listId);
  } catch (error) {
    sharePanel.showError(reason(error));
  }
});
sharePanel.bindRevoke(async (listId, inviteId) => {
  try {
    await sharing.revoke(listId, inviteId);
  } catch (error) {
    sharePanel.showError(reason(error));
  }
  await loadInvites(listId);
});
sharePanel.bindRole(async (listId, userId, role) => {
  const list = store.findList(listId);
  const name = list?.members?.find((m) => m.user.id === userId)?.user.username ?? "this member";
  if (role === "owner") {
    sharePanel.close();
    const yes = await dialogs.confirm(`Hand “${list?.name}” over to ${name}? You stay in it as an editor.`, "Hand over");
    if (!yes) return;
  }
  try {
    await sharing.setRole(listId, userId, role);
  } catch (error) {
    panels.notify(`Role not changed: ${reason(error)}`);
    if (list) sharePanel.render(list, me());
  }
});
sharePanel.bindRemove(async (listId, userId) => {
  const list = store.findList(listId);
  const name = list?.members?.find((m) => m.user.id === userId)?.user.username ?? "this member";
  sharePanel.close();
  const yes = await dialogs.confirm(`Remove ${name} from “${list?.name}”?`, "Remove");
  if (!yes) return;
  try {
    await sharing.removeMember(listId, userId);
  } catch (error) {
    panels.notify(`Not removed: ${reason(error)}`);
  }
});
sharePanel.bindLeave(async (listId) => {
  const list = store.findList(listId);
  sharePanel.close();
  const yes = await dialogs.confirm(`Leave “${list?.name}”? You will need a new invitation to come back.`, "Leave");
  if (!yes) return;
  try {
    await sharing.removeMember(listId, me());
  } catch (error) {
    panels.notify(`You are still in the list: ${reason(error)}`);
  }
});

// ---- invitation links (/#/invite/<token>) ---------------------------------

const INVITE_KEY = "todohub.invite";

/** Keep a token from the address (it survives becoming a guest) and clean the address. */
function takeInviteFromHash() {
  const token = inviteToken(location.hash);
  if (!token) return false;
  sessionStorage.setItem(INVITE_KEY, token);
  history.replaceState(null, "", `${location.pathname}${location.search}#/`);
  return true;
}

let offering = false;

async function offerInvite() {
  const token = sessionStorage.getItem(INVITE_KEY);
  if (!token || !session.data || offering) return;
  offering = true;
  try {
    let offer;
    try {
      offer = await sharing.preview(token);
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) {
        sessionStorage.removeItem(INVITE_KEY);
        await dialogs.offer(
          "This invitation link cannot be used any more: it was used already, it expired, or it was revoked. Ask the person who shared the list for a new link.",
          false,
        );
      } else panels.notify(`The invitation could not be read: ${reason(error)}`);
      return;
    }
    const role = offer.role === "viewer" ? "a viewer (you can read it)" : "an editor (you can change its todos)";
    const join = await dialogs.offer(
      `${offer.invited_by.username} shared the list “${offer.list.name}” with you, as ${role}.`,
      true,
    );
    sessionStorage.removeItem(INVITE_KEY);
    if (!join) return;
    try {
      const list = await sharing.accept(token);
      store.putServerList(list);
      store.changed();
      select({ list: list.id });
      panels.notify(`You joined “${list.name}”.`);
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) {
        await dialogs.offer("This invitation link was used up or withdrawn a moment ago. Ask for a new link.", false);
      } else panels.notify(`Not joined: ${reason(error)}`);
    }
  } finally {
    offering = false;
  }
}

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
  selection.load(session.user.id);
  panels.setAccount(session.user);
  panels.showApp();
  render();
  view.focusNewTodo();
  offerInvite();
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
panels.bindOpenSave();
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

takeInviteFromHash();
filter = filterFromHash(location.hash);
render();
view.focusNewTodo();
if (session.data) startSync();
else startAsGuest();
