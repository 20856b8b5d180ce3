// What this device shows: a list ({list: id}; null is the inbox) or a view
// ({view: "assigned"}), and a tag filter. Remembered per device and user in
// localStorage, so a reload or a later visit opens the same list.

const KEY = "todohub.selection";

export class Selection {
  constructor(storage = globalThis.localStorage) {
    this.storage = storage;
    this.userId = null;
    this.list = null;
    this.view = null;
    this.tag = "";
  }

  load(userId) {
    this.userId = userId;
    let saved = null;
    try {
      saved = JSON.parse(this.storage.getItem(KEY) ?? "null");
    } catch {
      saved = null;
    }
    if (saved && saved.userId === userId) {
      this.list = saved.list ?? null;
      this.view = saved.view ?? null;
    } else {
      this.list = null;
      this.view = null;
    }
    this.tag = "";
  }

  /** choice: {list: id or null} or {view: name}. */
  choose(choice, userId = this.userId) {
    this.userId = userId;
    this.view = choice.view ?? null;
    this.list = choice.view ? this.list : (choice.list ?? null);
    this.tag = "";
    try {
      this.storage.setItem(KEY, JSON.stringify({ userId, list: this.list, view: this.view }));
    } catch {
      // storage denied: remembered for this visit only
    }
  }

  setTag(tag) {
    this.tag = tag;
  }
}
