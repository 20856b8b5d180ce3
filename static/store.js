// The state of one device: what the server last told us (base), the changes
// made here that the server has not answered yet (pending), and the seq of
// the last change applied (sent as `since` when the socket reconnects).
//
// What the screen shows is base with every pending op replayed on top, so a
// change made offline shows at once and an answer from the server (ack,
// change, error) only has to fix base and drop the op. Everything is kept in
// localStorage, so a reload, online or not, starts from the last known list
// and still holds the ops that were never acknowledged, with their op ids:
// sending them again is safe because the hub applies an op id only once.

import {
  batches,
  expectedVersion,
  isListOp,
  mergeStates,
  prunePending,
  replay,
  replayLists,
  uuid,
} from "./ops.js";

export { uuid };

const KEY = "todohub.store";

function emptyState(userId = null) {
  return { userId, seq: null, todos: {}, lists: {}, tombstones: {}, pending: [] };
}

export class Store {
  constructor(storage = globalThis.localStorage) {
    this.storage = storage;
    this.state = emptyState();
    this.listeners = new Set();
    this.snapshotBuffer = null;
    this.sentOn = new Map(); // op id -> connection number it was last sent on
    this.snapshotLists = null;
    this.forgotten = new Map(); // todo id -> title, of todos dropped with their list
    this.onListRemoved = () => {}; // (list, reason): a list this user had is gone
    this.load();
  }

  // ---- persistence and listeners -------------------------------------

  load() {
    try {
      const raw = this.storage.getItem(KEY);
      if (raw) this.state = { ...emptyState(), ...JSON.parse(raw) };
    } catch {
      this.state = emptyState();
    }
  }

  save() {
    try {
      this.storage.setItem(KEY, JSON.stringify(this.state));
    } catch {
      // Storage full or denied: the state still lives in memory.
    }
  }

  /** Take in what another tab of this profile saved (a "storage" event). */
  mergeFromStorage() {
    let other = null;
    try {
      other = JSON.parse(this.storage.getItem(KEY) ?? "null");
    } catch {
      return;
    }
    const merged = mergeStates(this.state, other);
    if (!merged) return;
    this.state = merged;
    this.changed();
  }

  subscribe(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  changed() {
    this.save();
    for (const listener of this.listeners) listener();
  }

  get userId() {
    return this.state.userId;
  }

  get seq() {
    return this.state.seq;
  }

  get pending() {
    return this.state.pending;
  }

  /**
   * Attach the state to a user. Ops made before any account existed (first
   * visit, guest not created yet) are adopted by that first user; a
   * different user starts from nothing.
   */
  bindUser(userId) {
    if (this.state.userId === userId) return;
    if (this.state.userId === null) {
      this.state = { ...emptyState(userId), pending: this.state.pending };
    } else {
      this.state = emptyState(userId);
      this.sentOn.clear();
    }
    this.changed();
  }

  /** Forget everything (sign out). */
  clear() {
    this.state = emptyState();
    this.sentOn.clear();
    this.snapshotBuffer = null;
    this.changed();
  }

  // ---- what the screen shows -----------------------------------------

  /** The todos as shown: base plus pending ops, in list order (every list). */
  list() {
    return replay(this.state.todos, this.state.pending);
  }

  find(todoId) {
    return this.list().find((t) => t.id === todoId) ?? null;
  }

  /** The lists as shown: base plus pending list ops, the inbox first. */
  lists() {
    return replayLists(this.state.lists ?? {}, this.state.pending);
  }

  findList(listId) {
    return this.lists().find((l) => l.id === listId) ?? null;
  }

  get inbox() {
    return this.lists().find((l) => l.inbox) ?? null;
  }

  /** A short name of a todo or list for a notice, from anything this device knows. */
  nameOf(kind, id) {
    if (kind === "list") return this.findList(id)?.name ?? this.state.lists?.[id]?.name ?? null;
    return this.find(id)?.title ?? this.state.todos[id]?.title ?? this.forgotten.get(id) ?? null;
  }

  // ---- changes made on this device -------------------------------------

  enqueue(op) {
    this.state.pending.push(op);
    this.changed();
    return op;
  }

  /** A new todo at the end of list listId (null: the inbox, before it is known). */
  create(title, listId = null, extra = {}) {
    const list = this.list();
    const last = list.length ? Math.max(...list.map((t) => Number(t.order) || 0)) : 0;
    const todo = { id: uuid(), title, order: Math.floor(last) + 1, ...extra };
    if (listId) todo.list_id = listId;
    return this.enqueue({ type: "create", id: uuid(), todo });
  }

  // ---- lists made and changed on this device -----------------------------

  createList(name) {
    const op = { type: "list_create", id: uuid(), list: { id: uuid(), name } };
    this.enqueue(op);
    return op.list.id;
  }

  renameList(listId, name) {
    return this.enqueue({ type: "list_update", id: uuid(), list_id: listId, patch: { name },
                          meta: { name: this.nameOf("list", listId) } });
  }

  deleteList(listId) {
    return this.enqueue({ type: "list_delete", id: uuid(), list_id: listId,
                          meta: { name: this.nameOf("list", listId) } });
  }

  /** Todos of a list as shown, in order. */
  todosOf(listId) {
    const inbox = this.inbox?.id ?? null;
    return this.list().filter((t) => (t.list_id ?? inbox) === listId);
  }

  /** Change fields. A new title is sent with if_version (see onConflict). */
  update(todoId, patch) {
    const current = this.find(todoId);
    if (!current) return null;
    const op = { type: "update", id: uuid(), todo_id: todoId, patch, meta: { title: current.title } };
    if ("title" in patch) {
      op.if_version = expectedVersion(this.state.todos, this.state.pending, todoId);
      op.meta.baseTitle = current.title;
    }
    return this.enqueue(op);
  }

  remove(todoId) {
    return this.enqueue({ type: "delete", id: uuid(), todo_id: todoId,
                          meta: { title: this.nameOf("todo", todoId) } });
  }

  /** Several sub-ops, sent as atomic batches of at most 100. */
  batch(subs) {
    const ops = batches(subs);
    this.state.pending.push(...ops);
    if (ops.length) this.changed();
    return ops;
  }

  setAllCompleted(completed, listId) {
    const subs = this.todosOf(listId)
      .filter((t) => t.completed !== completed)
      .map((t) => ({ type: "update", todo_id: t.id, patch: { completed } }));
    return this.batch(subs);
  }

  clearCompleted(listId) {
    const subs = this.todosOf(listId)
      .filter((t) => t.completed)
      .map((t) => ({ type: "delete", todo_id: t.id }));
    return this.batch(subs);
  }

  // ---- sending -------------------------------------------------------

  /** Ops not yet sent on this connection, as wire frames, in order. */
  takeUnsent(connection) {
    const frames = [];
    for (const op of this.state.pending) {
      if (this.sentOn.get(op.id) === connection) continue;
      this.sentOn.set(op.id, connection);
      const { meta, ...frame } = op;
      frames.push(frame);
    }
    return frames;
  }

  /**
   * Drop the parts of pending ops that aim at todos base knows are gone
   * (deleted on another device): sending them would only earn not_found.
   * Sound at any time, since this device only acts on todos it has seen.
   * Returns how many updates were dropped, for a notice.
   */
  prune() {
    const { kept, lost } = prunePending(this.state.todos, this.state.pending, this.state.lists);
    const same = kept.length === this.state.pending.length && kept.every((op, i) => op === this.state.pending[i]);
    if (!same) {
      this.state.pending = kept;
      this.changed();
    }
    return lost.map((op) => this.describe(op)).filter(Boolean);
  }

  /** “Title” or “List name” of an op, for a notice. */
  describe(op) {
    if (isListOp(op)) {
      const name = op.meta?.name ?? op.list?.name ?? this.nameOf("list", op.list_id);
      return name ? `the list “${name}”` : "a list";
    }
    const title = op.meta?.title ?? op.todo?.title ?? this.nameOf("todo", op.todo_id);
    return title ? `“${title}”` : "a todo";
  }

  // ---- answers from the server -----------------------------------------

  /** Put a todo from the server into base, if it is newer than ours. */
  putServerTodo(todo) {
    const known = this.state.todos[todo.id]?.version ?? this.state.tombstones[todo.id] ?? -1;
    if (todo.version <= known) return false;
    if (todo.deleted) {
      delete this.state.todos[todo.id];
      this.state.tombstones[todo.id] = todo.version;
    } else {
      this.state.todos[todo.id] = todo;
      delete this.state.tombstones[todo.id];
    }
    return true;
  }

  /** A new socket said welcome: a snapshot cut short by a lost socket is void. */
  beginSync() {
    this.snapshotBuffer = null;
  }

  /** A snapshot frame; the last one (more: false) replaces base. */
  applySnapshot(frame) {
    if (frame.lists) this.snapshotLists = frame.lists;
    this.snapshotBuffer = (this.snapshotBuffer ?? []).concat(frame.todos);
    if (frame.more) return;
    const todos = {};
    for (const todo of this.snapshotBuffer) todos[todo.id] = todo;
    const lists = {};
    for (const list of this.snapshotLists ?? Object.values(this.state.lists ?? {})) lists[list.id] = list;
    const before = this.state.lists ?? {};
    this.snapshotBuffer = null;
    this.snapshotLists = null;
    this.state.lists = lists;
    for (const [id, list] of Object.entries(before)) {
      if (!lists[id]) this.onListRemoved(list, "gone");
    }
    this.state.todos = todos;
    this.state.tombstones = {};
    this.state.seq = frame.seq;
    this.changed();
  }

  applyChange(frame) {
    if (this.state.seq !== null && frame.seq <= this.state.seq) return;
    if (frame.op === "list") this.putServerList(frame.list);
    else if (frame.op === "list_removed") this.dropList(frame.list.id, frame.reason);
    else if (frame.todo) this.putServerTodo(frame.todo);
    this.state.seq = frame.seq;
    this.changed();
  }

  /** Put a list from the server into base, unless ours is newer. */
  putServerList(list) {
    if (!list?.id) return;
    this.state.lists ??= {};
    if (list.deleted) {
      this.dropList(list.id, "deleted");
      return;
    }
    const known = this.state.lists[list.id];
    if (known && known.version > list.version) return;
    this.state.lists[list.id] = list;
  }

  /** A list is gone (deleted, left, removed): drop it and every todo in it. */
  dropList(listId, reason) {
    const list = this.state.lists?.[listId];
    if (!list) return;
    delete this.state.lists[listId];
    for (const [id, todo] of Object.entries(this.state.todos)) {
      if (todo.list_id !== listId) continue;
      this.forgotten.set(id, todo.title);
      delete this.state.todos[id];
    }
    this.onListRemoved(list, reason);
  }

  applyAck(frame) {
    if (frame.list) this.putServerList(frame.list);
    for (const todo of frame.todos ?? (frame.todo ? [frame.todo] : [])) this.putServerTodo(todo);
    this.dropOp(frame.id);
    this.changed();
  }

  dropOp(opId) {
    this.state.pending = this.state.pending.filter((op) => op.id !== opId);
    this.sentOn.delete(opId);
  }

  /**
   * An error answering one of our ops. Returns {notice, retryAfter} where
   * notice is a short text for the person (or null) and retryAfter is set
   * when the op stays queued and should be sent again later.
   */
  applyError(frame) {
    const op = this.state.pending.find((o) => o.id === frame.id);
    if (!op) return { notice: null };
    if (frame.todo) this.putServerTodo(frame.todo);
    let result = { notice: null };
    const what = this.describe(op);
    switch (frame.code) {
      case "unavailable":
        // Not applied (the hub is busy or restarting): send it again under the same id.
        this.sentOn.delete(op.id);
        return { notice: null, retryAfter: 2000 };
      case "rate_limited":
        this.sentOn.delete(op.id);
        return { notice: "Slow down: sending again in a moment.", retryAfter: 2000 };
      case "conflict":
        if (isListOp(op)) {
          this.dropOp(op.id);
          result = { notice: `Not saved: ${what} changed elsewhere.` };
        } else result = this.onConflict(op, frame);
        break;
      case "not_found":
        if (isListOp(op)) {
          this.dropOp(op.id);
          result = { notice: `Not saved: ${what} is gone, or you no longer have access to it.` };
        } else result = this.onNotFound(op, what);
        break;
      case "forbidden":
        // The role allows no such change (a viewer, or not the owner): never retried.
        this.dropOp(op.id);
        result = { notice: `Not saved: you may not change ${what}.` };
        break;
      case "validation":
        this.dropOp(op.id);
        result = { notice: `Not saved: ${frame.message || "invalid change"}` };
        break;
      default:
        this.dropOp(op.id);
        result = { notice: `Not saved (${frame.code}): ${frame.message || "error"}` };
    }
    this.changed();
    return result;
  }

  /**
   * A title edit carries if_version. When the todo changed elsewhere but its
   * title did not (someone ticked it, say), the edit is sent again without
   * if_version: fields merge. When the title itself changed, the server's
   * title wins and the person is told.
   */
  onConflict(op, frame) {
    const server = frame.todo ?? this.state.todos[op.todo_id];
    const index = this.state.pending.indexOf(op);
    if (op.type === "update" && op.meta?.baseTitle !== undefined && server && server.title === op.meta.baseTitle) {
      const { if_version: _ignored, meta: _meta, ...rest } = op;
      this.state.pending[index] = { ...rest, id: uuid() };
      this.sentOn.delete(op.id);
      return { notice: null, retryAfter: 0 };
    }
    this.dropOp(op.id);
    return { notice: "Changed on another device: showing the latest version." };
  }

  onNotFound(op, what = "a todo") {
    const index = this.state.pending.indexOf(op);
    if (op.type === "batch") {
      // Atomic, so nothing was applied. Try again a little later under a new
      // id: by then the change that deleted the todo has arrived and prune()
      // takes its part out of the batch.
      const tries = (op.meta?.tries ?? 0) + 1;
      this.dropOp(op.id);
      if (tries > 3) return { notice: "Some todos were deleted, or you lost access to their list." };
      this.state.pending.splice(index, 0, { ...op, id: uuid(), meta: { tries } });
      return { notice: null, retryAfter: 300 * tries };
    }
    this.dropOp(op.id);
    // The server says this todo does not exist: stop showing it.
    const id = op.todo_id;
    if (this.state.todos[id]) {
      this.state.tombstones[id] = this.state.todos[id].version + 1;
      delete this.state.todos[id];
    }
    if (op.type === "delete") return { notice: null };
    return { notice: `Not saved: ${what} was deleted, or you lost access to its list.` };
  }
}
