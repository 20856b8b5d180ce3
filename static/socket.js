// The live connection to the hub: hello with `since`, catch-up, then live
// frames; reconnects with exponential backoff and jitter; a watchdog that
// notices a dead connection the browser has not noticed yet.
//
// States, shown to the person: "connecting" (first attempt), "syncing"
// (welcome received, catching up), "live" (synced), "reconnecting" (waiting
// or trying again), "offline" (the browser says there is no network),
// "stopped" (signed out).

const BACKOFF_BASE_MS = 500;
const BACKOFF_CAP_MS = 30_000;
const OPEN_TIMEOUT_MS = 10_000;
const PONG_TIMEOUT_MS = 10_000;

/** Close codes of the protocol (see PROTOCOL.md, "Close codes"). */
export const Close = Object.freeze({
  NORMAL: 1000,
  TOO_LARGE: 1009,
  RESTARTING: 1012,
  OVERLOADED: 1013,
  BAD_HELLO: 4400,
  UNAUTHORIZED: 4401,
  HELLO_TIMEOUT: 4408,
  BAD_PROTOCOL: 4409,
  TOO_MANY: 4429,
});

/** Full-jitter-ish backoff: between half and all of min(cap, base * 2^attempt). */
export function backoffDelay(attempt, random = Math.random) {
  const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** attempt);
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

export class Connection {
  /**
   * url: the ws:// or wss:// address of /ws.
   * hello(): the fields of the hello frame ({token, device, since}).
   * handlers: an object with one method per server frame type this module
   *   does not keep for itself (welcome, snapshot, change, synced, ack, error,
   *   presence, auth_ok, token_expiring).
   * onState(state): the connection state changed.
   * onUnauthorized(): close code 4401; resolve true once the token is
   *   fresh (reconnect at once), false to stop (signed out), null when the
   *   refresh could not be done now (retry with backoff).
   */
  constructor({ url, hello, handlers, onState, onUnauthorized }) {
    this.url = url;
    this.hello = hello;
    this.handlers = handlers;
    this.onState = onState;
    this.onUnauthorized = onUnauthorized;
    this.ws = null;
    this.state = "stopped";
    this.attempt = 0;
    this.number = 0; // grows with every socket opened
    this.timers = {};
    this.heartbeatMs = 20_000;
    this.onOnline = () => this.reconnectNow();
    this.onOffline = () => this.goOffline();
  }

  start() {
    if (this.state !== "stopped") return;
    window.addEventListener("online", this.onOnline);
    window.addEventListener("offline", this.onOffline);
    this.setState("connecting");
    if (navigator.onLine === false) this.goOffline();
    else this.open();
  }

  stop() {
    window.removeEventListener("online", this.onOnline);
    window.removeEventListener("offline", this.onOffline);
    this.drop(Close.NORMAL);
    this.setState("stopped");
  }

  /** Send a frame on the live socket; false when there is none. */
  send(frame) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  get live() {
    return this.state === "live";
  }

  reconnectNow() {
    if (this.state === "stopped") return;
    this.attempt = 0;
    this.drop(Close.NORMAL);
    this.setState("reconnecting");
    this.open();
  }

  // ---- internals -------------------------------------------------------

  setState(state) {
    if (state === this.state) return;
    this.state = state;
    this.onState(state);
  }

  clearTimer(name) {
    clearTimeout(this.timers[name]);
    delete this.timers[name];
  }

  goOffline() {
    if (this.state === "stopped") return;
    this.drop(Close.NORMAL);
    this.clearTimer("retry");
    this.setState("offline");
  }

  open() {
    this.clearTimer("retry");
    let ws;
    try {
      ws = new WebSocket(this.url);
    } catch {
      this.scheduleRetry();
      return;
    }
    this.ws = ws;
    this.number += 1;
    this.timers.open = setTimeout(() => this.lost(ws), OPEN_TIMEOUT_MS);
    ws.onopen = () => {
      const { token, device, since } = this.hello();
      ws.send(JSON.stringify({ type: "hello", protocol: 1, token, device, since: since ?? null }));
    };
    ws.onmessage = (event) => this.receive(ws, event.data);
    ws.onerror = () => {}; // the close event that follows says what to do
    ws.onclose = (event) => this.closed(ws, event.code);
  }

  /** Close the current socket without reacting to its close event. */
  drop(code) {
    const ws = this.ws;
    this.ws = null;
    for (const name of ["open", "ping", "pong"]) this.clearTimer(name);
    if (!ws) return;
    ws.onopen = ws.onmessage = ws.onerror = ws.onclose = null;
    if (ws.readyState === WebSocket.CONNECTING || ws.readyState === WebSocket.OPEN) {
      try {
        ws.close(code === Close.NORMAL ? 1000 : 4000);
      } catch {
        // already closing
      }
    }
  }

  /** The socket looks dead (no welcome or pong in time): start over. */
  lost(ws) {
    if (ws !== this.ws) return;
    this.drop(4000);
    this.scheduleRetry();
  }

  receive(ws, text) {
    if (ws !== this.ws) return;
    this.armWatchdog();
    let frame;
    try {
      frame = JSON.parse(text);
    } catch {
      console.warn("todohub: a frame that is not JSON", text);
      return;
    }
    try {
      this.dispatch(frame);
    } catch (error) {
      console.error("todohub:", error);
    }
  }

  /** One branch per server frame type; anything else is a protocol error. */
  dispatch(frame) {
    switch (frame.type) {
      case "welcome":
        this.clearTimer("open");
        if (frame.heartbeat) this.heartbeatMs = frame.heartbeat * 1000;
        this.setState("syncing");
        this.handlers.welcome(frame);
        break;
      case "synced":
        this.attempt = 0;
        this.setState("live");
        this.handlers.synced(frame);
        break;
      case "pong":
        break;
      case "snapshot":
      case "change":
      case "ack":
      case "error":
      case "presence":
      case "auth_ok":
      case "token_expiring":
        this.handlers[frame.type](frame);
        break;
      default:
        throw new Error(`unexpected frame type ${JSON.stringify(frame.type)}`);
    }
  }

  /** Ping when the line has been quiet for a heartbeat; give up without a pong. */
  armWatchdog() {
    this.clearTimer("ping");
    this.clearTimer("pong");
    const ws = this.ws;
    this.timers.ping = setTimeout(() => {
      if (!this.send({ type: "ping" })) return;
      this.timers.pong = setTimeout(() => this.lost(ws), PONG_TIMEOUT_MS);
    }, this.heartbeatMs);
  }

  async closed(ws, code) {
    if (ws !== this.ws) return;
    this.drop(code);
    if (this.state === "stopped") return;
    if (code === Close.UNAUTHORIZED) {
      this.setState("reconnecting");
      const fresh = await this.onUnauthorized(); // true: fresh token; false: signed out
      if (this.state === "stopped" || fresh === false) return;
      if (fresh) this.open();
      else this.scheduleRetry(); // the refresh itself failed (network): try again later
      return;
    }
    if (code === Close.RESTARTING) {
      this.attempt = 0;
      this.setState("reconnecting");
      this.timers.retry = setTimeout(() => this.open(), Math.random() * 500);
      return;
    }
    if ([Close.TOO_LARGE, Close.BAD_HELLO, Close.BAD_PROTOCOL].includes(code)) {
      console.warn(`todohub: the hub closed the socket with ${code}`);
      this.attempt = Math.max(this.attempt, 10); // a client bug: retry slowly
    }
    this.scheduleRetry();
  }

  scheduleRetry() {
    if (this.state === "stopped") return;
    if (navigator.onLine === false) {
      this.goOffline();
      return;
    }
    this.setState("reconnecting");
    const delay = backoffDelay(this.attempt);
    this.attempt += 1;
    this.clearTimer("retry");
    this.timers.retry = setTimeout(() => this.open(), delay);
  }
}
