// The DOM of the todo list, following the TodoMVC app spec. The view knows
// nothing of the store or the socket: app.js hands it data (render*) and
// handlers (bind*).

import { itemsLeft, todoItem, updateItem } from "./template.js";

const ENTER = "Enter";
const ESCAPE = "Escape";

const $ = (selector, root = document) => root.querySelector(selector);

export const FILTERS = Object.freeze({
  all: () => true,
  active: (todo) => !todo.completed,
  completed: (todo) => Boolean(todo.completed),
});

/** The filter named by the location hash: "#/active" -> "active". */
export function filterFromHash(hash) {
  const name = hash.replace(/^#\/?/, "");
  return name in FILTERS ? name : "all";
}

export class View {
  constructor() {
    this.newTodo = $("input.new-todo");
    this.main = $("section.main");
    this.list = $("ul.todo-list");
    this.toggleAll = $("input.toggle-all");
    this.footer = $("footer.footer");
    this.count = $("span.todo-count");
    this.filters = $(".filters");
    this.clearCompleted = $("button.clear-completed");
    this.items = new Map(); // todo id -> li
  }

  // ---- rendering -------------------------------------------------------

  /**
   * todos: the current list's todos; context: {readOnly, names (user id ->
   * username), listName(todo) or null, canAdd}.
   */
  render(todos, filter, context = {}) {
    this.context = context;
    const readOnly = Boolean(context.readOnly);
    const visible = todos.filter(FILTERS[filter]);
    this.renderItems(visible);
    this.newTodo.hidden = readOnly || context.canAdd === false;
    this.newTodo.disabled = this.newTodo.hidden;
    this.toggleAll.disabled = readOnly;
    this.list.classList.toggle("is-read-only", readOnly);
    const completed = todos.filter((t) => t.completed).length;
    const active = todos.length - completed;
    this.main.hidden = todos.length === 0;
    this.footer.hidden = todos.length === 0;
    this.toggleAll.checked = todos.length > 0 && active === 0;
    this.count.replaceChildren(...itemsLeft(active));
    this.clearCompleted.hidden = completed === 0 || readOnly;
    for (const link of this.filters.querySelectorAll("a")) {
      const selected = filterFromHash(link.getAttribute("href")) === filter;
      link.classList.toggle("selected", selected);
      if (selected) link.setAttribute("aria-current", "page");
      else link.removeAttribute("aria-current");
    }
  }

  /** Keyed update: items keep their node (and an open editor) across renders. */
  renderItems(todos) {
    const wanted = new Set(todos.map((t) => t.id));
    for (const [id, li] of this.items) {
      if (!wanted.has(id)) {
        li.dataset.editDone = "true";
        li.remove();
        this.items.delete(id);
      }
    }
    todos.forEach((todo, index) => {
      let li = this.items.get(todo.id);
      if (li) updateItem(li, todo, this.context);
      else {
        li = todoItem(todo, this.context);
        this.items.set(todo.id, li);
      }
      const at = this.list.children[index];
      if (at !== li) this.list.insertBefore(li, at ?? null);
    });
  }

  focusNewTodo() {
    if (!this.newTodo.hidden) this.newTodo.focus();
  }

  /** Focus the item at index (or the one before it), else the new-todo input. */
  focusAt(index) {
    const items = this.list.children;
    const target = items[index] ?? items[index - 1];
    const label = target && $("label", target);
    if (label) label.focus();
    else this.focusNewTodo();
  }

  indexOf(li) {
    return Array.prototype.indexOf.call(this.list.children, li);
  }

  /** Focus the label of a todo's item, if it is shown. */
  focusItem(todoId) {
    const li = this.items.get(todoId);
    if (li?.isConnected) $("label", li)?.focus();
  }

  // ---- editing ---------------------------------------------------------

  startEdit(li) {
    if (li.classList.contains("editing") || this.context?.readOnly) return;
    const label = $("label", li);
    const input = document.createElement("input");
    input.className = "edit";
    input.value = label.textContent;
    input.setAttribute("aria-label", "Edit todo");
    input.maxLength = 200;
    delete li.dataset.editDone;
    li.classList.add("editing");
    li.append(input);
    input.focus();
    input.setSelectionRange(input.value.length, input.value.length);
  }

  /**
   * Close the editor; save = true hands the trimmed text to the handler.
   * refocus: the person pressed a key (Enter, Escape), so the focus goes to
   * the item (or, when it was deleted, its neighbour); after a blur it stays
   * where the person moved it.
   */
  finishEdit(li, save, handler, refocus = true) {
    if (li.dataset.editDone === "true") return;
    li.dataset.editDone = "true";
    const input = $("input.edit", li);
    const title = input ? input.value.trim() : "";
    const index = this.indexOf(li);
    li.classList.remove("editing");
    if (input) input.remove();
    if (save) handler(li.dataset.id, title);
    if (!refocus) return;
    if (li.isConnected) $("label", li)?.focus();
    else this.focusAt(index);
  }

  // ---- bindings --------------------------------------------------------

  bindAdd(handler) {
    this.newTodo.addEventListener("keydown", (event) => {
      if (event.key !== ENTER || event.isComposing) return;
      const title = this.newTodo.value.trim();
      this.newTodo.value = "";
      if (title) handler(title);
    });
  }

  bindToggle(handler) {
    this.list.addEventListener("change", (event) => {
      if (!event.target.matches("input.toggle")) return;
      handler(event.target.closest("li").dataset.id, event.target.checked);
    });
  }

  bindRemove(handler) {
    this.list.addEventListener("click", (event) => {
      if (!event.target.matches("button.destroy")) return;
      const li = event.target.closest("li");
      const index = this.indexOf(li);
      handler(li.dataset.id);
      if (!li.isConnected) this.focusAt(index);
    });
  }

  /** handler(id): open the details of a todo (its button, or Alt+Enter on the label). */
  bindDetails(handler) {
    this.list.addEventListener("click", (event) => {
      if (event.target.matches("button.details")) handler(event.target.closest("li").dataset.id);
    });
    this.list.addEventListener("keydown", (event) => {
      if (event.target.matches("label") && event.key === ENTER && event.altKey) {
        event.preventDefault();
        event.stopImmediatePropagation();
        handler(event.target.closest("li").dataset.id);
      }
    });
  }

  /** handler(id, title): title is trimmed; an empty one means delete. */
  bindEdit(handler) {
    this.list.addEventListener("dblclick", (event) => {
      if (event.target.matches("label")) this.startEdit(event.target.closest("li"));
    });
    this.list.addEventListener("keydown", (event) => {
      const target = event.target;
      if (target.matches("label") && (event.key === ENTER || event.key === "F2") && !event.altKey) {
        event.preventDefault();
        this.startEdit(target.closest("li"));
      } else if (target.matches("input.edit")) {
        if (event.key === ENTER && !event.isComposing) this.finishEdit(target.closest("li"), true, handler);
        else if (event.key === ESCAPE) this.finishEdit(target.closest("li"), false, handler);
      }
    });
    // Capture: blur does not bubble, and test tools fire a bare "blur" event.
    this.list.addEventListener(
      "blur",
      (event) => {
        if (event.target.matches("input.edit")) this.finishEdit(event.target.closest("li"), true, handler, false);
      },
      true,
    );
  }

  bindToggleAll(handler) {
    this.toggleAll.addEventListener("change", () => handler(this.toggleAll.checked));
  }

  bindClearCompleted(handler) {
    this.clearCompleted.addEventListener("click", () => handler());
  }
}
