// Small modal questions: confirm (yes or no), ask (a name), and the
// invitation offer (join or not). Each answers with a promise.

const $ = (selector, root = document) => root.querySelector(selector);

export class Dialogs {
  constructor() {
    this.confirmPanel = $("dialog.confirm-panel");
    this.confirmForm = $("form.confirm-form", this.confirmPanel);
    this.confirmText = $(".confirm-text", this.confirmPanel);
    this.inputLabel = $(".confirm-input-label", this.confirmPanel);
    this.input = $("input.confirm-input", this.confirmPanel);
    this.ok = $("button.confirm-ok", this.confirmPanel);
    this.invitePanel = $("dialog.invite-panel");
    this.inviteText = $(".invite-text", this.invitePanel);
    this.join = $("button.invite-join", this.invitePanel);
    this.resolve = null;
    this.confirmForm.addEventListener("submit", (event) => {
      event.preventDefault();
      this.finish(this.inputLabel.hidden ? true : this.input.value.trim() || null);
    });
    $("button.confirm-cancel", this.confirmPanel).addEventListener("click", () => this.finish(null));
    this.confirmPanel.addEventListener("close", () => {
      if (!this.confirmPanel.open) this.finish(null); // Escape; a stale close is ignored
    });
  }

  finish(value) {
    const resolve = this.resolve;
    this.resolve = null;
    if (this.confirmPanel.open) this.confirmPanel.close();
    resolve?.(value);
  }

  show({ text, okText, input }) {
    this.finish(null);
    this.confirmText.textContent = text;
    this.ok.textContent = okText;
    this.inputLabel.hidden = input === undefined;
    this.input.value = input ?? "";
    this.confirmPanel.showModal();
    (input === undefined ? this.ok : this.input).focus();
    return new Promise((resolve) => {
      this.resolve = resolve;
    });
  }

  /** true when the person agrees, null otherwise. */
  confirm(text, okText = "OK") {
    return this.show({ text, okText });
  }

  /** The trimmed text typed, or null. */
  ask(text, value, okText = "Save") {
    return this.show({ text, okText, input: value });
  }

  /**
   * Offer an invitation. text: what it offers (or why it cannot be used);
   * canJoin: show the Join button. Resolves true on Join, false otherwise.
   */
  offer(text, canJoin) {
    this.inviteText.textContent = text;
    this.join.hidden = !canJoin;
    const dismiss = $("button.invite-dismiss", this.invitePanel);
    dismiss.textContent = canJoin ? "Not now" : "OK";
    if (!this.invitePanel.open) this.invitePanel.showModal();
    (canJoin ? this.join : dismiss).focus();
    return new Promise((resolve) => {
      const done = (value) => {
        this.join.onclick = dismiss.onclick = this.invitePanel.onclose = null;
        if (this.invitePanel.open) this.invitePanel.close();
        resolve(value);
      };
      this.join.onclick = () => done(true);
      dismiss.onclick = () => done(false);
      this.invitePanel.onclose = () => done(false);
    });
  }
}
