// The app backend's side of OpenIM's REST API (what a real app server does before a client logs in):
// an admin token, user registration, user tokens. Every call checks the `{errCode, errMsg, errDlt, data}` envelope.
import { randomUUID } from 'node:crypto';

export const PLATFORM_WEB = 5;

// Node's own fetch, taken before the client-sdk driver wraps the global one: the app backend's calls are not the
// SDK's traffic and stay out of its wire log.
const backendFetch = globalThis.fetch;

export class RestError extends Error {
  constructor(route, body) {
    super(`${route} → errCode ${body?.errCode} ${body?.errMsg ?? ''} ${body?.errDlt ?? ''}`.trim());
    this.route = route;
    this.body = body;
    this.errCode = body?.errCode;
  }
}

export class Rest {
  constructor(server) {
    this.server = server;
    this.adminToken = null;
  }

  /** POST `route` with the headers OpenIM requires; returns the whole envelope (errCode not checked). */
  async call(route, body, token = '') {
    const headers = { 'Content-Type': 'application/json', operationID: `e2e-${randomUUID()}` };
    if (token) headers.token = token;
    const res = await backendFetch(`${this.server.apiAddr}${route}`, {
      method: 'POST',
      headers,
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(15000),
    });
    const text = await res.text();
    let parsed;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new Error(`${route}: HTTP ${res.status}, not JSON: ${text.slice(0, 500)}`);
    }
    if (res.status !== 200) throw new Error(`${route}: HTTP ${res.status}: ${text.slice(0, 500)}`);
    return parsed;
  }

  /** POST `route` and return `data`, throwing RestError unless errCode is 0. Uses the admin token by default. */
  async post(route, body, token) {
    const envelope = await this.call(route, body, token === undefined ? await this.getAdminToken() : token);
    if (envelope.errCode !== 0) throw new RestError(route, envelope);
    return envelope.data;
  }

  async getAdminToken(userID = 'imAdmin') {
    if (!this.adminToken) {
      const data = await this.post('/auth/get_admin_token', { secret: this.server.secret, userID }, '');
      if (!data?.token) throw new Error(`/auth/get_admin_token returned no token: ${JSON.stringify(data)}`);
      this.adminToken = data.token;
    }
    return this.adminToken;
  }

  /** Registers users given as IDs or {userID, nickname, faceURL}. */
  async userRegister(users) {
    const list = users.map((u) => (typeof u === 'string' ? { userID: u, nickname: u, faceURL: '' } : { faceURL: '', ...u }));
    return this.post('/user/user_register', { users: list });
  }

  /** A user token for `platformID` (Web by default, as both SDKs use in the tests). */
  async getUserToken(userID, platformID = PLATFORM_WEB) {
    const data = await this.post('/auth/get_user_token', { userID, platformID });
    if (!data?.token) throw new Error(`/auth/get_user_token returned no token: ${JSON.stringify(data)}`);
    return data.token;
  }

  async parseToken(token) {
    return this.post('/auth/parse_token', { token }, '');
  }

  /** Registers `ids` and returns {userID: token}. */
  async usersWithTokens(ids, platformID = PLATFORM_WEB) {
    await this.userRegister(ids.map((id) => ({ userID: id, nickname: `nick ${id}` })));
    const tokens = {};
    for (const id of ids) tokens[id] = await this.getUserToken(id, platformID);
    return tokens;
  }
}
