// Everything around the list: connection state, devices online, the
// account menu, the sign-in screen and short notices. Like view.js it only
// shows data and reports what the person did.

import { deviceName, el } from "./template.js";

const $ = (selector, root = document) => root.querySelector(selector);

const STATE_TEXT = {
  connecting: "Connecting…",
  syncing: "Syncing…",
  live: "Live",
  reconnecting: "Reconnecting…",
  offline: "Offline",
  stopped: "Signed out",
};

export class Panels {
  constructor() {
    this.app = $(".workspace");
    this.guestActions = $(".guest-actions");
    this.bar = $(".topbar");
    this.connection = $(".connection");
    this.unsent = $(".unsent");
    this.presence = $(".presence");
    this.presenceSummary = $(".presence summary");
    this.devices = $(".device-list");
    this.account = $(".account");
    this.accountName = $(".account-name");
    this.upgradeForm = $("form.upgrade-form");
    this.signin = $("section.signin");
    this.signinMessage = $(".signin-message");
    this.loginForm = $("form.login-form");
    this.registerForm = $("form.register-form");
    this.guestButton = $("button.continue-guest");
    this.cancelButton = $("button.cancel-signin");
    this.notice = $(".notice");
    this.noticeTimer = null;
  }

  setConnection(state) {
    this.connection.dataset.state = state;
    this.connection.textContent = STATE_TEXT[state] ?? state;
  }

  /** How many changes made here still wait for the hub. */
  setUnsent(count) {
    this.unsent.hidden = count === 0;
    this.unsent.textContent = count === 1 ? "1 change not sent yet" : `${count} changes not sent yet`;
  }

  /** devices: [{device, agent, since}] from a presence frame. */
  setPresence(devices, myDevice) {
    const count = devices.length;
    this.presence.hidden = count === 0;
    this.presenceSummary.textContent = count === 1 ? "1 device online" : `${count} devices online`;
    this.devices.replaceChildren(
      ...devices.map((device) =>
        el(
          "li",
          { "data-device": device.device, class: device.device === myDevice ? "this-device" : null },
          deviceName(device) + (device.device === myDevice ? " · this device" : ""),
        ),
      ),
    );
  }

  setAccount(user) {
    this.account.hidden = !user;
    this.guestActions.hidden = !user?.guest;
    if (!user) return;
    this.accountName.textContent = user.guest ? "Guest" : user.username;
    this.account.classList.toggle("is-guest", Boolean(user.guest));
    this.upgradeForm.hidden = !user.guest;
  }

  closeAccountMenu() {
    this.account.open = false;
  }

  /** A short notice; one that comes while another shows is added to it, not put over it. */
  notify(text) {
    if (!text) return;
    const shown = this.notice.hidden ? "" : this.notice.textContent;
    // The one before stays in view beside the new one (two at most).
    const last = this.lastNotice ?? "";
    this.notice.textContent = shown && last !== text && shown.endsWith(last) ? `${last} ${text}` : text;
    this.lastNotice = text;
    this.notice.hidden = false;
    clearTimeout(this.noticeTimer);
    this.noticeTimer = setTimeout(() => {
      this.notice.hidden = true;
    }, 6000);
  }

  /**
   * Show the sign-in screen instead of the list.
   * guest: offer "continue without an account"; cancel: offer going back.
   */
  showSignin({ guest = true, cancel = false, message = "" } = {}) {
    this.app.hidden = true;
    this.bar.hidden = true;
    this.signin.hidden = false;
    this.guestButton.hidden = !guest;
    this.cancelButton.hidden = !cancel;
    this.signinMessage.textContent = message;
    this.signinMessage.hidden = !message;
    for (const form of [this.loginForm, this.registerForm]) {
      form.reset();
      $(".form-error", form).textContent = "";
    }
    $("input[name=username]", this.loginForm).focus();
  }

  showApp() {
    this.signin.hidden = true;
    this.app.hidden = false;
    this.bar.hidden = false;
  }

  // ---- bindings --------------------------------------------------------

  /** handler(username, password) returns a promise; a rejection's message is shown. */
  bindForm(form, handler) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const error = $(".form-error", form);
      const button = $("button[type=submit]", form);
      error.textContent = "";
      button.disabled = true;
      try {
        await handler(form.elements.username.value.trim(), form.elements.password.value);
        form.reset();
      } catch (failure) {
        error.textContent = failure.message;
      } finally {
        button.disabled = false;
      }
    });
  }

  bindUpgrade(handler) {
    this.bindForm(this.upgradeForm, handler);
  }

  bindLogin(handler) {
    this.bindForm(this.loginForm, handler);
  }

  bindRegister(handler) {
    this.bindForm(this.registerForm, handler);
  }

  bindGuest(handler) {
    this.guestButton.addEventListener("click", () => handler());
  }

  bindCancelSignin(handler) {
    this.cancelButton.addEventListener("click", () => handler());
  }

  bindSwitchAccount(handler) {
    $("button.switch-account").addEventListener("click", () => handler());
    $("button.open-signin").addEventListener("click", () => handler());
  }

  /** The visible "Save account" entry opens the account menu at its form. */
  bindOpenSave() {
    $("button.open-save-account").addEventListener("click", () => {
      this.account.open = true;
      $("input[name=username]", this.upgradeForm).focus();
    });
  }

  /** handler(all): all = true signs out every device. */
  bindSignOut(handler) {
    $("button.sign-out").addEventListener("click", () => handler(false));
    $("button.sign-out-all").addEventListener("click", () => handler(true));
  }
}
