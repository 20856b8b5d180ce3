// The details panel of one todo: title, description, status, priority, due
// date and time (shown and typed in the browser's time zone, sent in UTC),
// assignee (a member of the list), its list (a move) and tags. Saving sends
// one patch of the fields that changed; the focus goes back to the item.

import { el, fromLocalInput, toLocalInput } from "./template.js";

const $ = (selector, root = document) => root.querySelector(selector);

export class DetailsPanel {
  constructor() {
    this.dialog = $("dialog.details-panel");
    this.form = $("form.details-form", this.dialog);
    this.chips = $(".tag-chips", this.dialog);
    this.zone = $(".details-zone", this.dialog);
    this.error = $(".form-error", this.dialog);
    this.todo = null;
    this.tags = [];
    this.onClosed = () => {};
    $(".details-cancel", this.dialog).addEventListener("click", () => this.close());
    $(".add-tag", this.dialog).addEventListener("click", () => this.addTag());
    this.form.elements.tag.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.isComposing) {
        event.preventDefault();
        this.addTag();
      }
    });
    this.chips.addEventListener("click", (event) => {
      const button = event.target.closest("button.remove-tag");
      if (!button) return;
      this.tags = this.tags.filter((t) => t !== button.dataset.tag);
      this.renderTags();
      this.form.elements.tag.focus();
    });
    this.dialog.addEventListener("close", () => {
      const id = this.todo?.id;
      this.todo = null;
      if (id) this.onClosed(id);
    });
  }

  get openId() {
    return this.dialog.open ? this.todo?.id ?? null : null;
  }

  /**
   * Show a todo. members: [{user: {id, username}, role}] of its list;
   * lists: where it may move ([{id, name}]); readOnly: no saving.
   */
  open(todo, { members, lists, readOnly }) {
    this.todo = todo;
    this.readOnly = readOnly;
    const f = this.form.elements;
    f.title.value = todo.title;
    f.description.value = todo.description ?? "";
    f.status.value = todo.status ?? (todo.completed ? "completed" : "pending");
    f.priority.value = todo.priority ?? "medium";
    f.due.value = toLocalInput(todo.due_at);
    f.assignee.replaceChildren(
      el("option", { value: "" }, "Nobody"),
      ...members.map((m) => el("option", { value: m.user.id }, m.user.username)),
    );
    f.assignee.value = todo.assignee ?? "";
    f.list.replaceChildren(...lists.map((l) => el("option", { value: l.id }, l.name)));
    f.list.value = todo.list_id ?? lists[0]?.id ?? "";
    f.tag.value = "";
    this.tags = [...(todo.tags ?? [])];
    this.renderTags();
    const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    this.zone.textContent = `Times are in your time zone (${zone}).`;
    this.error.textContent = "";
    for (const field of this.form.elements) {
      if (field.matches(".details-cancel")) continue;
      field.disabled = readOnly;
    }
    $(".details-save", this.dialog).hidden = readOnly;
    $(".details-cancel", this.dialog).textContent = readOnly ? "Close" : "Cancel";
    if (!this.dialog.open) this.dialog.showModal();
    (readOnly ? $(".details-cancel", this.dialog) : f.title).focus();
  }

  close() {
    if (this.dialog.open) this.dialog.close();
  }

  addTag() {
    const input = this.form.elements.tag;
    const tag = input.value.trim().toLowerCase();
    input.value = "";
    if (!tag) return;
    if (this.tags.length >= 10) {
      this.error.textContent = "A todo has at most 10 tags.";
      return;
    }
    if (!this.tags.includes(tag)) this.tags.push(tag);
    this.renderTags();
    input.focus();
  }

  renderTags() {
    this.chips.replaceChildren(
      ...this.tags.map((tag) =>
        el("li", { class: "tag-chip", "data-tag": tag }, `#${tag}`,
          el("button", { type: "button", class: "remove-tag", "data-tag": tag,
                         "aria-label": `Remove tag ${tag}` }, "×")),
      ),
    );
  }

  /** The fields that differ from the todo as it was opened. */
  patch() {
    const f = this.form.elements;
    const todo = this.todo;
    const patch = {};
    const title = f.title.value.trim();
    if (title && title !== todo.title) patch.title = title;
    const description = f.description.value.trim() ? f.description.value : null;
    if (description !== (todo.description ?? null)) patch.description = description;
    if (f.status.value !== todo.status) patch.status = f.status.value;
    if (f.priority.value !== (todo.priority ?? "medium")) patch.priority = f.priority.value;
    const due = fromLocalInput(f.due.value);
    const before = todo.due_at ? new Date(todo.due_at).toISOString() : null;
    if (due !== before) patch.due_at = due;
    const assignee = f.assignee.value || null;
    if (assignee !== (todo.assignee ?? null)) patch.assignee = assignee;
    const tags = this.tags;
    const old = todo.tags ?? [];
    if (tags.length !== old.length || tags.some((t, i) => t !== old[i])) patch.tags = [...tags];
    if (f.list.value && f.list.value !== todo.list_id) patch.list_id = f.list.value;
    return patch;
  }

  /** handler(todoId, patch): called on Save with the changed fields (maybe none). */
  bindSave(handler) {
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (this.readOnly || !this.todo) return;
      if (!this.form.elements.title.value.trim()) {
        this.error.textContent = "A todo needs a title.";
        return;
      }
      handler(this.todo.id, this.patch());
      this.close();
    });
  }

  /** handler(todoId): the panel closed (saved or not); focus goes back there. */
  bindClosed(handler) {
    this.onClosed = handler;
  }
}
