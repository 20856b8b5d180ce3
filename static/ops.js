// Pending operations, as pure functions: how they look on the screen before
// the hub answers, and how they are trimmed when the hub's state shows that
// their todo or list is gone. An op is a command frame of the protocol
// (create, update, delete, batch, list_create, list_update, list_delete)
// plus a `meta` the hub never sees (the title an edit started from, names
// for notices).

export const BATCH_LIMIT = 100;

const TODO_DEFAULTS = {
  description: null,
  status: "pending",
  completed: false,
  priority: "medium",
  due_at: null,
  tags: [],
  order: 0,
  created_at: null,
  updated_at: null,
  completed_at: null,
  list_id: null,
  assignee: null,
  version: 0,
};

export const LIST_OPS = Object.freeze(["list_create", "list_update", "list_delete"]);

/** Whether an op is about a list rather than a todo. */
export function isListOp(op) {
  return LIST_OPS.includes(op.type);
}

/** A random UUID, also outside secure contexts (where crypto.randomUUID is missing). */
export function uuid() {
  if (globalThis.crypto && typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** List order: by `order`, ties by id, as the hub sorts with sort=order. */
export function compareTodos(a, b) {
  const byOrder = (Number(a.order) || 0) - (Number(b.order) || 0);
  if (byOrder) return byOrder;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** A todo with a patch merged in, as the hub merges it. */
export function applyPatch(todo, patch) {
  const next = { ...todo, ...patch };
  if ("completed" in patch) next.status = patch.completed ? "completed" : "pending";
  if ("status" in patch) next.completed = patch.status === "completed";
  return next;
}

/** The sub-operations of an op, as one list: a batch has many, the others one. */
export function subOps(op) {
  if (isListOp(op)) return [];
  return op.type === "batch" ? op.ops : [op];
}

/** The id of the todo a sub-operation is about. */
export function targetOf(sub) {
  return sub.type === "create" ? sub.todo.id : sub.todo_id;
}

/**
 * The list as shown: the hub's todos (an object by id) with every pending op
 * replayed on top, sorted. Todos with a pending op carry pendingSync: true.
 */
export function replay(base, pending) {
  const todos = new Map(Object.entries(base));
  const touched = new Set();
  for (const op of pending) {
    if (op.type === "list_delete") {
      for (const [id, todo] of todos) if (todo.list_id === op.list_id) todos.delete(id);
    }
    for (const sub of subOps(op)) {
      const id = targetOf(sub);
      if (sub.type === "create") {
        if (!todos.has(id)) todos.set(id, { ...TODO_DEFAULTS, ...sub.todo });
        touched.add(id);
      } else if (sub.type === "update") {
        const todo = todos.get(id);
        if (todo) todos.set(id, applyPatch(todo, sub.patch));
        touched.add(id);
      } else if (sub.type === "delete") {
        todos.delete(id);
      }
    }
  }
  const list = [...todos.values()].map((t) => (touched.has(t.id) ? { ...t, pendingSync: true } : t));
  return list.sort(compareTodos);
}

/**
 * The lists as shown: the hub's lists (an object by id) with pending list
 * ops on top; the inbox first, then by name. A list made here is owned here.
 */
export function replayLists(base, pending) {
  const lists = new Map(Object.entries(base));
  for (const op of pending) {
    if (op.type === "list_create" && !lists.has(op.list.id)) {
      lists.set(op.list.id, {
        id: op.list.id,
        name: op.list.name,
        inbox: false,
        role: "owner",
        members: [],
        version: 0,
        pendingSync: true,
      });
    } else if (op.type === "list_update" && lists.has(op.list_id)) {
      lists.set(op.list_id, { ...lists.get(op.list_id), ...op.patch, pendingSync: true });
    } else if (op.type === "list_delete") {
      lists.delete(op.list_id);
    }
  }
  return [...lists.values()].sort(compareLists);
}

/** Inbox first, then by name (case-insensitive), then id: as the hub lists them. */
export function compareLists(a, b) {
  if (a.inbox !== b.inbox) return a.inbox ? -1 : 1;
  const byName = a.name.toLowerCase().localeCompare(b.name.toLowerCase());
  if (byName) return byName;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** The version a todo will have once the hub applied every pending op (each adds one). */
export function expectedVersion(base, pending, todoId) {
  let version = base[todoId]?.version ?? 0;
  for (const op of pending) {
    for (const sub of subOps(op)) if (targetOf(sub) === todoId) version += 1;
  }
  return version;
}

/** Batch ops of at most BATCH_LIMIT sub-operations each. */
export function batches(subs) {
  const ops = [];
  for (let i = 0; i < subs.length; i += BATCH_LIMIT) {
    ops.push({ type: "batch", id: uuid(), ops: subs.slice(i, i + BATCH_LIMIT) });
  }
  return ops;
}

/**
 * Drop the sub-operations that aim at todos missing from `base` (the hub's
 * whole state after catch-up) and not created by an earlier pending op.
 * A trimmed batch keeps its op id: if the hub applied it already, it answers
 * the original ack; if not, it applies what is left. Returns {kept, dropped}
 * where dropped counts the updates that were lost. With baseLists (the
 * hub's lists), list ops and todo ops aimed at lists that are gone go too;
 * `lost` holds every dropped op or sub-op, to name them in a notice.
 */
export function prunePending(base, pending, baseLists = null) {
  const known = new Set(Object.keys(base));
  const knownLists = baseLists ? new Set(Object.keys(baseLists)) : null;
  const listKnown = (id) => !knownLists || id === null || id === undefined || knownLists.has(id);
  let dropped = 0;
  const kept = [];
  const lost = [];
  for (const op of pending) {
    if (isListOp(op)) {
      if (op.type === "list_create") knownLists?.add(op.list.id);
      else if (!listKnown(op.list_id)) {
        lost.push(op);
        continue;
      } else if (op.type === "list_delete") knownLists?.delete(op.list_id);
      kept.push(op);
      continue;
    }
    const subs = [];
    for (const sub of subOps(op)) {
      const id = targetOf(sub);
      const into = sub.type === "create" ? sub.todo.list_id : sub.patch?.list_id;
      if (!listKnown(into)) {
        lost.push(sub);
        if (sub.type !== "create") dropped += 1;
        continue;
      }
      if (sub.type === "create") known.add(id);
      if (sub.type === "create" || known.has(id)) {
        subs.push(sub);
        if (sub.type === "delete") known.delete(id);
      } else if (sub.type === "update") {
        dropped += 1;
        lost.push(sub);
      }
    }
    if (op.type === "batch") {
      if (subs.length === op.ops.length) kept.push(op);
      else if (subs.length) kept.push({ ...op, ops: subs });
    } else if (subs.length) {
      kept.push(op);
    }
  }
  return { kept, dropped, lost };
}

/**
 * Another tab of this browser profile saved its state: the merged state, or
 * null when there is nothing new. The base with the higher seq wins; pending
 * ops are the union by op id (sending an op twice is harmless: the hub
 * answers the repeat with its first ack).
 */
export function mergeStates(mine, other) {
  if (!other || other.userId !== mine.userId) return null;
  const newerBase = (other.seq ?? -1) > (mine.seq ?? -1);
  const known = new Set(mine.pending.map((op) => op.id));
  const added = (other.pending ?? []).filter((op) => !known.has(op.id));
  if (!newerBase && added.length === 0) return null;
  const base = newerBase ? other : mine;
  return {
    ...mine,
    seq: base.seq,
    todos: base.todos,
    lists: base.lists ?? mine.lists,
    tombstones: base.tombstones,
    pending: [...mine.pending, ...added],
  };
}
