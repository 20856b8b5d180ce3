// The bar above the todos: the current list's name, its tag filter, the
// buttons its owner (or a member) may use, and, for a viewer, a line saying
// who can change the list.

import { el } from "./template.js";

const $ = (selector, root = document) => root.querySelector(selector);

export class ListBar {
  constructor() {
    this.title = $(".list-title");
    this.share = $("button.share-list");
    this.rename = $("button.rename-list");
    this.remove = $("button.delete-list");
    this.tag = $("select.tag-filter");
    this.readOnly = $(".read-only-line");
  }

  /**
   * list: the current list, or null in a view; title: what to show;
   * tags: the tags in use; tag: the chosen one ("" for all).
   */
  render({ list, title, tags, tag }) {
    this.title.textContent = title;
    const owner = list?.role === "owner";
    this.share.hidden = !list || list.inbox;
    this.share.textContent = owner ? "Share" : "Members";
    this.rename.hidden = !owner;
    this.remove.hidden = !owner || list.inbox;
    const options = [el("option", { value: "" }, "all"), ...tags.map((t) => el("option", { value: t }, `#${t}`))];
    this.tag.replaceChildren(...options);
    this.tag.value = tags.includes(tag) ? tag : "";
    $(".tag-filter-label").hidden = tags.length === 0 && !tag;
    const viewer = list?.role === "viewer";
    this.readOnly.hidden = !viewer;
    if (viewer) this.readOnly.textContent = readOnlyLine(list);
  }

  bindShare(handler) {
    this.share.addEventListener("click", () => handler());
  }

  bindRename(handler) {
    this.rename.addEventListener("click", () => handler());
  }

  bindDelete(handler) {
    this.remove.addEventListener("click", () => handler());
  }

  /** handler(tag): "" for every tag. */
  bindTag(handler) {
    this.tag.addEventListener("change", () => handler(this.tag.value));
  }
}

/** "You can view this list; ann (owner) and bob can change it." */
export function readOnlyLine(list) {
  const changers = (list.members ?? []).filter((m) => m.role === "owner" || m.role === "editor");
  const names = changers.map((m) => (m.role === "owner" ? `${m.user.username} (owner)` : m.user.username));
  const who = names.length <= 1 ? (names[0] ?? "its owner")
    : `${names.slice(0, -1).join(", ")} and ${names[names.length - 1]}`;
  return `Read-only: you can view this list; ${who} can change it.`;
}
