// REST calls for accounts, and the session (tokens) this browser keeps.
//
// The session lives in localStorage so that a reload, or a later visit,
// goes on with the same account: a guest's todos are reachable only through
// its refresh token. The access token is refreshed shortly before it
// expires; refresh tokens rotate, and spending one twice revokes the whole
// family, so a refresh runs under a Web Lock shared by the tabs of this
// profile and first checks whether another tab already did it.

const SESSION_KEY = "todohub.session";

export class ApiError extends Error {
  constructor(status, code, message, details = []) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

/** The network failed (offline, hub down): nothing was decided. */
export class NetworkError extends Error {
  constructor(cause) {
    super("network error");
    this.name = "NetworkError";
    this.cause = cause;
  }
}

export async function request(method, path, { body, token } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
    });
  } catch (error) {
    throw new NetworkError(error);
  }
  if (response.status === 204) return null;
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) {
    const error = data?.error ?? {};
    throw new ApiError(
      response.status,
      error.code ?? `http_${response.status}`,
      error.message ?? response.statusText,
      error.details ?? [],
    );
  }
  return data;
}

function withLock(name, fn) {
  if (globalThis.navigator?.locks) return navigator.locks.request(name, fn);
  return fn();
}

export class Session {
  constructor(storage = globalThis.localStorage) {
    this.storage = storage;
    this.data = this.read();
    this.refreshing = null;
  }

  read() {
    try {
      return JSON.parse(this.storage.getItem(SESSION_KEY) ?? "null");
    } catch {
      return null;
    }
  }

  /** Keep a token answer: {access_token, refresh_token, expires_in, user}. */
  keep(answer) {
    this.data = {
      access_token: answer.access_token,
      refresh_token: answer.refresh_token,
      obtained_at: Date.now(),
      expires_at: Date.now() + (answer.expires_in ?? 900) * 1000,
      user: answer.user,
    };
    this.storage.setItem(SESSION_KEY, JSON.stringify(this.data));
    return this.data;
  }

  forget() {
    this.data = null;
    this.storage.removeItem(SESSION_KEY);
  }

  /** Pick up a session another tab of this profile wrote. */
  reload() {
    this.data = this.read();
    return this.data;
  }

  get user() {
    return this.data?.user ?? null;
  }

  get token() {
    return this.data?.access_token ?? null;
  }

  get expiresAt() {
    return this.data?.expires_at ?? 0;
  }

  async guest() {
    return this.keep(await request("POST", "/api/auth/guest"));
  }

  async login(username, password) {
    return this.keep(await request("POST", "/api/auth/login", { body: { username, password } }));
  }

  async register(username, password) {
    await request("POST", "/api/auth/register", { body: { username, password } });
    return this.login(username, password);
  }

  /** Turn the guest into a full account; the todos stay. */
  async upgrade(username, password) {
    const answer = await request("POST", "/api/auth/upgrade", {
      body: { username, password },
      token: this.token,
    });
    return this.keep(answer);
  }

  /**
   * Rotate the tokens. Only one refresh runs at a time across tabs; a tab
   * that finds a newer session than the one it started with uses that.
   */
  refresh() {
    if (this.refreshing) return this.refreshing;
    const stale = this.data?.refresh_token;
    this.refreshing = withLock("todohub-refresh", async () => {
      const current = this.reload();
      if (!current) throw new ApiError(401, "unauthorized", "signed out");
      if (current.refresh_token !== stale && current.expires_at - Date.now() > 60_000) {
        return current;
      }
      const answer = await request("POST", "/api/auth/refresh", {
        body: { refresh_token: current.refresh_token },
      });
      return this.keep({ ...answer, user: answer.user ?? current.user });
    }).finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  /** Revoke this session, or every session of the user (all = true). */
  async logout(all = false) {
    if (this.data && this.expiresAt - Date.now() < 30_000) {
      await this.refresh().catch(() => null);
    }
    const data = this.data;
    this.forget();
    if (!data) return;
    await request("POST", `/api/auth/logout${all ? "?all=true" : ""}`, {
      body: { refresh_token: data.refresh_token },
      token: data.access_token,
    });
  }
}
