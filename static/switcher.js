// The list switcher: every list with its count of active todos (the inbox
// first), the "Assigned to me" view, and a field to make a new list. A
// sidebar on a wide screen; a menu behind one button on a narrow one.

import { el } from "./template.js";

const $ = (selector, root = document) => root.querySelector(selector);

export class Switcher {
  constructor() {
    this.nav = $("nav.lists");
    this.toggle = $(".list-menu-toggle");
    this.current = $(".list-menu-current");
    this.entries = $("ul.list-entries");
    this.assigned = $("button.view-assigned");
    this.form = $("form.new-list-form");
    this.toggle.addEventListener("click", () => this.setOpen(!this.isOpen()));
    document.addEventListener("click", (event) => {
      if (this.isOpen() && !this.nav.contains(event.target)) this.setOpen(false);
    });
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && this.isOpen()) {
        this.setOpen(false);
        this.toggle.focus();
      }
    });
  }

  isOpen() {
    return this.nav.classList.contains("open");
  }

  setOpen(open) {
    this.nav.classList.toggle("open", open);
    this.toggle.setAttribute("aria-expanded", String(open));
  }

  /**
   * lists: as the store shows them; counts: list id -> active todos;
   * selected: {list: id} or {view: "assigned"}; assignedCount: active todos
   * assigned to this user.
   */
  render(lists, counts, selected, assignedCount) {
    this.entries.replaceChildren(
      ...lists.map((list) => {
        const current = selected.list === list.id;
        const button = el(
          "button",
          {
            type: "button",
            class: "list-entry",
            "data-list-id": list.id,
            "data-role": list.role,
            "data-shared": list.members && list.members.length > 1 ? "true" : null,
            "aria-current": current ? "page" : null,
          },
          el("span", { class: "entry-name" }, list.name),
          el("span", { class: "entry-count", "aria-label": `${counts.get(list.id) ?? 0} active` },
             String(counts.get(list.id) ?? 0)),
        );
        return el("li", {}, button);
      }),
    );
    const inView = selected.view === "assigned";
    if (inView) this.assigned.setAttribute("aria-current", "page");
    else this.assigned.removeAttribute("aria-current");
    $(".entry-count", this.assigned).textContent = String(assignedCount);
    const shown = inView ? "Assigned to me" : (lists.find((l) => l.id === selected.list)?.name ?? "Inbox");
    this.current.textContent = shown;
  }

  /** handler({list: id} or {view: "assigned"}). */
  bindSelect(handler) {
    this.nav.addEventListener("click", (event) => {
      const entry = event.target.closest("button.list-entry");
      if (!entry) return;
      this.setOpen(false);
      handler(entry.dataset.view ? { view: entry.dataset.view } : { list: entry.dataset.listId });
    });
  }

  /** handler(name): name is trimmed and not empty. */
  bindCreate(handler) {
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      const input = this.form.elements.name;
      const name = input.value.trim();
      input.value = "";
      this.setOpen(false);
      if (name) handler(name);
    });
  }
}
