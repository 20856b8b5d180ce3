// The share panel of one list. Its owner makes invitation links (editor or
// viewer), copies them, sees and revokes the open ones, changes members'
// roles, hands ownership over and removes members. Any other member sees
// who is in the list and can leave it.

import { el } from "./template.js";

const $ = (selector, root = document) => root.querySelector(selector);

const ROLE_TEXT = { owner: "Owner", editor: "Editor", viewer: "Viewer" };

export class SharePanel {
  constructor() {
    this.dialog = $("dialog.share-panel");
    this.name = $(".share-list-name", this.dialog);
    this.inviteSection = $(".share-invite", this.dialog);
    this.role = $("select.invite-role", this.dialog);
    this.result = $(".invite-result", this.dialog);
    this.url = $("input.invite-url", this.dialog);
    this.invites = $("ul.invite-list", this.dialog);
    this.members = $("ul.member-list", this.dialog);
    this.error = $(".share-error", this.dialog);
    this.leave = $("button.leave-list", this.dialog);
    this.list = null;
    $(".share-close", this.dialog).addEventListener("click", () => this.close());
    $(".copy-invite", this.dialog).addEventListener("click", () => this.copy());
  }

  get openListId() {
    return this.dialog.open ? this.list?.id ?? null : null;
  }

  /** Show the panel for a list; me: this user's id. */
  open(list, me) {
    this.result.hidden = true;
    this.url.value = "";
    this.invites.replaceChildren();
    this.error.textContent = "";
    this.render(list, me);
    if (!this.dialog.open) this.dialog.showModal();
    (list.role === "owner" ? this.role : $(".share-close", this.dialog)).focus();
  }

  close() {
    if (this.dialog.open) this.dialog.close();
  }

  /** Bring the panel up to date with the list (its members changed live). */
  render(list, me) {
    this.list = list;
    this.me = me;
    const owner = list.role === "owner";
    this.name.textContent = list.name;
    this.inviteSection.hidden = !owner;
    this.leave.hidden = owner;
    this.members.replaceChildren(...(list.members ?? []).map((m) => this.member(m, owner)));
  }

  member(member, owner) {
    const self = member.user.id === this.me;
    const name = el("span", { class: "member-name" }, member.user.username + (self ? " (you)" : ""));
    const li = el("li", { class: "member", "data-user-id": member.user.id, "data-role": member.role }, name);
    if (!owner || member.role === "owner") {
      li.append(el("span", { class: "member-role" }, ROLE_TEXT[member.role] ?? member.role));
      return li;
    }
    const select = el("select", { class: "member-role-select", "aria-label": `Role of ${member.user.username}` },
      el("option", { value: "editor" }, "Editor"),
      el("option", { value: "viewer" }, "Viewer"));
    select.value = member.role;
    li.append(
      select,
      el("button", { type: "button", class: "make-owner", "aria-label": `Make ${member.user.username} the owner` }, "Make owner"),
      el("button", { type: "button", class: "remove-member", "aria-label": `Remove ${member.user.username}` }, "Remove"),
    );
    return li;
  }

  /** invites: [{id, role, expires_at, uses_left}] of the open invitations. */
  renderInvites(invites) {
    this.invites.replaceChildren(
      ...(invites.length ? invites.map((invite) =>
        el("li", { class: "invite", "data-invite-id": invite.id },
          el("span", {}, `${ROLE_TEXT[invite.role] ?? invite.role} · ${usesText(invite.uses_left)} · until ${new Date(invite.expires_at).toLocaleString()}`),
          el("button", { type: "button", class: "revoke-invite", "aria-label": `Revoke ${invite.role} invitation` }, "Revoke")),
      ) : [el("li", { class: "no-invites" }, "None open.")]),
    );
  }

  showLink(url) {
    this.url.value = url;
    this.result.hidden = false;
    this.url.select();
  }

  showError(text) {
    this.error.textContent = text;
  }

  async copy() {
    try {
      await navigator.clipboard.writeText(this.url.value);
      $(".copy-invite", this.dialog).textContent = "Copied";
    } catch {
      this.url.select(); // the person copies it themselves
      $(".copy-invite", this.dialog).textContent = "Press Ctrl+C";
    }
    setTimeout(() => {
      $(".copy-invite", this.dialog).textContent = "Copy";
    }, 2000);
  }

  // ---- bindings: each handler gets the list id first ----------------------

  bindInvite(handler) {
    $(".make-invite", this.dialog).addEventListener("click", () => handler(this.list.id, this.role.value));
  }

  bindRevoke(handler) {
    this.invites.addEventListener("click", (event) => {
      const button = event.target.closest("button.revoke-invite");
      if (button) handler(this.list.id, button.closest("li").dataset.inviteId);
    });
  }

  /** handler(listId, userId, role): role "owner" hands ownership over. */
  bindRole(handler) {
    this.members.addEventListener("change", (event) => {
      if (event.target.matches("select.member-role-select")) {
        handler(this.list.id, event.target.closest("li").dataset.userId, event.target.value);
      }
    });
    this.members.addEventListener("click", (event) => {
      if (event.target.matches("button.make-owner")) {
        handler(this.list.id, event.target.closest("li").dataset.userId, "owner");
      }
    });
  }

  bindRemove(handler) {
    this.members.addEventListener("click", (event) => {
      if (event.target.matches("button.remove-member")) {
        handler(this.list.id, event.target.closest("li").dataset.userId);
      }
    });
  }

  bindLeave(handler) {
    this.leave.addEventListener("click", () => handler(this.list.id));
  }
}

function usesText(left) {
  return left === 1 ? "1 use left" : `${left} uses left`;
}
