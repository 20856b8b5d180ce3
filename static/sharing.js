// REST calls for sharing: invitations (make, list, revoke, preview, accept)
// and members (change a role, hand ownership over, remove, leave). These
// writes need an answer (a link, a preview) and so go over REST, not into
// the offline queue; every one of them reaches every member's devices as a
// `list` or `list_removed` change on the socket.

import { ApiError, request } from "./api.js";

export class Sharing {
  /** session: the api.js Session (its token, refreshed once on a 401). */
  constructor(session) {
    this.session = session;
  }

  async call(method, path, body) {
    try {
      return await request(method, path, { body, token: this.session.token });
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 401) throw error;
      await this.session.refresh();
      return request(method, path, { body, token: this.session.token });
    }
  }

  /** A new invitation link: {id, token, url, role, expires_at, uses_left}. */
  invite(listId, role) {
    return this.call("POST", `/api/lists/${listId}/invites`, { role });
  }

  async openInvites(listId) {
    return (await this.call("GET", `/api/lists/${listId}/invites`)).invites;
  }

  revoke(listId, inviteId) {
    return this.call("DELETE", `/api/lists/${listId}/invites/${inviteId}`);
  }

  /** {list: {id, name}, role, invited_by: {id, username}, expires_at}; 404 when spent. */
  preview(token) {
    return this.call("POST", "/api/invites/preview", { token });
  }

  /** Join: answers the list as the new member sees it. */
  accept(token) {
    return this.call("POST", "/api/invites/accept", { token });
  }

  setRole(listId, userId, role) {
    return this.call("PATCH", `/api/lists/${listId}/members/${userId}`, { role });
  }

  /** Remove a member (owner), or leave (userId: oneself). */
  removeMember(listId, userId) {
    return this.call("DELETE", `/api/lists/${listId}/members/${userId}`);
  }
}

/** The token of an invitation link's fragment ("#/invite/<token>"), or null. */
export function inviteToken(hash) {
  const found = /^#\/invite\/([^/?#]+)$/.exec(hash);
  return found ? decodeURIComponent(found[1]) : null;
}
