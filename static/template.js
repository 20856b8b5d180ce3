// Building DOM nodes from data. Every piece of user data goes in through
// textContent or an attribute, never through innerHTML: a title like
// "<img src=x onerror=alert(1)>" shows as those characters.

/**
 * Create an element: el("li", {class: "x", "data-id": id}, "text", childNode).
 * Attribute values that are null, undefined or false are left out; true sets
 * an empty attribute. Strings among the children become text nodes.
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}

/** The text shown for the open count: "1 item left", "2 items left". */
export function itemsLeft(count) {
  const strong = el("strong", {}, String(count));
  return [strong, ` ${count === 1 ? "item" : "items"} left`];
}

/** The skeleton of one todo item; view.js fills it with updateItem(). */
export function todoItem(todo, context = {}) {
  const li = el("li", { "data-id": todo.id });
  const row = el("div", { class: "view" });
  const toggle = el("input", {
    class: "toggle",
    type: "checkbox",
  });
  const label = el("label", { tabindex: "0" });
  const destroy = el("button", { class: "destroy", type: "button" });
  const details = el("button", { class: "details", type: "button" });
  row.append(toggle, label, destroy, details);
  li.append(row);
  updateItem(li, todo, context);
  return li;
}

/**
 * Bring an item up to date with its todo. Details other than the title go
 * into data attributes that style.css shows with ::before / ::after, so the
 * item's visible text stays exactly its title.
 * context: {names: Map of user id -> username, readOnly: the list is read-only here}.
 */
export function updateItem(li, todo, context = {}) {
  const readOnly = Boolean(context.readOnly);
  li.classList.toggle("completed", Boolean(todo.completed));
  li.classList.toggle("pending-sync", Boolean(todo.pendingSync));
  setData(li, "priority", todo.priority && todo.priority !== "medium" ? todo.priority : null);
  setData(li, "status", todo.status && todo.status !== "pending" ? todo.status : null);
  setData(li, "due", todo.due_at ? formatDue(todo.due_at) : null);
  setData(li, "overdue", isOverdue(todo) ? "true" : null);
  setData(li, "tags", todo.tags && todo.tags.length ? todo.tags.map((t) => `#${t}`).join(" ") : null);
  const assignee = todo.assignee ? (context.names?.get(todo.assignee) ?? "someone") : null;
  setData(li, "assignee", assignee ? `@${assignee}` : null);
  setData(li, "listName", context.listName?.(todo) ?? null);
  const toggle = li.querySelector(".toggle");
  const label = li.querySelector("label");
  const destroy = li.querySelector(".destroy");
  const details = li.querySelector(".details");
  if (toggle) {
    toggle.checked = Boolean(todo.completed);
    toggle.disabled = readOnly;
    toggle.setAttribute("aria-label", `Complete ${todo.title}`);
  }
  if (label && label.textContent !== todo.title) label.textContent = todo.title;
  if (destroy) {
    destroy.hidden = readOnly;
    destroy.setAttribute("aria-label", `Delete ${todo.title}`);
  }
  if (details) details.setAttribute("aria-label", `Details of ${todo.title}`);
}

function setData(node, key, value) {
  if (value === null || value === undefined) delete node.dataset[key];
  else node.dataset[key] = value;
}

/** "due May 1, 09:00" in the browser's time zone; the time is left out at midnight. */
export function formatDue(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return null;
  const day = date.toLocaleDateString(undefined, { month: "short", day: "numeric" });
  if (date.getHours() === 0 && date.getMinutes() === 0) return `due ${day}`;
  const time = date.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
  return `due ${day}, ${time}`;
}

/** An ISO time in UTC as the value of a datetime-local input (the browser's zone). */
export function toLocalInput(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** A datetime-local value (the browser's zone) as ISO 8601 in UTC, or null when empty. */
export function fromLocalInput(value) {
  if (!value) return null;
  const date = new Date(value); // a date-time without a zone is local time
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

export function isOverdue(todo) {
  if (!todo.due_at || todo.completed || todo.status === "cancelled") return false;
  const time = new Date(todo.due_at).getTime();
  return !Number.isNaN(time) && time < Date.now();
}

/** A short human name for a device from its id and user agent. */
export function deviceName(device) {
  const agent = device.agent || "";
  let browser = "";
  if (/Edg\//.test(agent)) browser = "Edge";
  else if (/Firefox\//.test(agent)) browser = "Firefox";
  else if (/Chrom(e|ium)\//.test(agent)) browser = "Chrome";
  else if (/Safari\//.test(agent)) browser = "Safari";
  else if (/python|httpx|curl/i.test(agent)) browser = "Script";
  let system = "";
  if (/Android/.test(agent)) system = "Android";
  else if (/iPhone|iPad/.test(agent)) system = "iOS";
  else if (/Windows/.test(agent)) system = "Windows";
  else if (/Mac OS X/.test(agent)) system = "macOS";
  else if (/Linux/.test(agent)) system = "Linux";
  const kind = [browser, system].filter(Boolean).join(" on ");
  return kind ? `${kind} (${device.device})` : device.device;
}
