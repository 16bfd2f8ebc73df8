// Driver for @openim/client-sdk (pure JS) in Node.js. Node 20 has no global WebSocket: the SDK gets the `ws`
// package's, as a subclass with binaryType "arraybuffer" that also records every frame and HTTP call it makes.
import { CbEvents, getSDK } from '@openim/client-sdk';
import WS from 'ws';

import { PLATFORM_WEB } from './rest.mjs';
import { TimeoutError, safeJSON, withTimeout } from './util.mjs';
import { WireLog, describeJsonFrame, protoText } from './wire.mjs';

export { CbEvents };

// The log the current test writes to (a test calls resetLog() first); tokens map HTTP calls back to users.
let log = new WireLog();
const tokenOwners = new Map();
const sockets = new Set();
const lastActivity = new Map(); // userID → ms of the last frame, API call or event (see JsClient.settle)
const offlineUsers = new Set(); // users whose SDK cannot reach the gateway (see setOffline)
// Where an offline user's SDK connects instead: a port nothing listens on (connection refused at once).
const UNREACHABLE = 'ws://127.0.0.1:1/';

function active(who) {
  lastActivity.set(who, Date.now());
}

export function resetLog() {
  log = new WireLog();
  return log;
}
export const currentLog = () => log;

function shortToken(token) {
  return token ? `${String(token).slice(0, 12)}…` : '(none)';
}

function displayURL(url) {
  const u = new URL(url);
  if (u.searchParams.has('token')) u.searchParams.set('token', shortToken(u.searchParams.get('token')));
  return decodeURIComponent(u.toString());
}

/** The WebSocket the SDK constructs: `ws` with browser defaults (arraybuffer), logging every frame. */
export class NodeWebSocket extends WS {
  constructor(url, protocols) {
    const who = new URL(String(url)).searchParams.get('sendID') || '?';
    const offline = offlineUsers.has(who);
    // One event-loop turn per message, as a browser dispatches one task per message: with ws's default
    // (synchronous events) a reply and a push read together would both be handled before the SDK's promise
    // continuations for the reply run.
    super(offline ? UNREACHABLE : url, protocols, { allowSynchronousEvents: false });
    this.binaryType = 'arraybuffer';
    this.e2eURL = String(url);
    this.e2eWho = who;
    sockets.add(this);
    log.add(this.e2eWho, 'ws connect', `${displayURL(this.e2eURL)}${offline ? ' (offline: sent to an unreachable port)' : ''}`);
    this.on('upgrade', (res) => log.add(this.e2eWho, 'ws upgraded', `HTTP ${res.statusCode}`));
    this.on('error', (err) => log.add(this.e2eWho, 'ws error', err.message));
    this.on('close', (code, reason) => {
      sockets.delete(this);
      log.add(this.e2eWho, 'ws closed', `code ${code} ${reason?.toString() ?? ''}`);
    });
    this.on('message', (data, isBinary) => {
      active(this.e2eWho);
      log.add(this.e2eWho, 'ws recv', describeJsonFrame(isBinary ? new Uint8Array(data) : data.toString()));
    });
  }

  send(data, ...rest) {
    active(this.e2eWho);
    log.add(this.e2eWho, 'ws send', describeJsonFrame(data));
    return super.send(data, ...rest);
  }
}

const nodeFetch = globalThis.fetch;

/** fetch as the SDK sees it, recording route, request and answer (errCode, data) of every API call. */
async function loggingFetch(input, init = {}) {
  const url = typeof input === 'string' ? input : input.url;
  const headers = new Headers(init.headers || {});
  const who = tokenOwners.get(headers.get('token')) || '?';
  let body = '';
  if (init.body instanceof Uint8Array || init.body instanceof ArrayBuffer) {
    body = `protobuf ${protoText(new Uint8Array(init.body))}`;
  } else if (typeof init.body === 'string') {
    body = init.body.length > 400 ? `${init.body.slice(0, 400)}…` : init.body;
  }
  const route = new URL(url).pathname;
  active(who);
  try {
    const res = await nodeFetch(input, init);
    active(who);
    const text = await res.clone().text();
    log.add(who, `http ${route}`, `${body} → HTTP ${res.status} ${text.length > 600 ? `${text.slice(0, 600)}…` : text}`);
    return res;
  } catch (err) {
    log.add(who, `http ${route}`, `${body} → failed: ${err.message}`);
    throw err;
  }
}

/** Installs the globals the SDK needs in Node (idempotent). */
export function setupNodeEnv() {
  globalThis.WebSocket = NodeWebSocket;
  globalThis.fetch = loggingFetch;
}

/**
 * Takes `userID`'s SDK off the network (its sockets are cut, its reconnects go to an unreachable port) or, with
 * `offline = false`, lets its next reconnect through. The SDK keeps its state, as an app whose network drops.
 */
export function setOffline(userID, offline = true) {
  if (offline) {
    offlineUsers.add(userID);
    for (const s of sockets) if (s.e2eWho === userID) s.terminate();
  } else {
    offlineUsers.delete(userID);
  }
  log.add(userID, offline ? 'offline' : 'online', offline ? 'sockets cut, reconnects refused' : 'reconnects allowed');
}

/** Closes every socket still open (the SDK's reconnect timers are ended by process exit). */
export function closeAllSockets() {
  for (const s of sockets) s.terminate();
}

function describeError(err) {
  if (err instanceof Error) return err.stack || err.message;
  return safeJSON(err, 800);
}

export class SdkCallError extends Error {
  constructor(method, err) {
    super(`${method} failed: ${describeError(err)}`);
    this.errCode = err?.errCode;
    this.errMsg = err?.errMsg;
  }
}

const LOGIN_FAILURE_EVENTS = [
  CbEvents.OnConnectFailed,
  CbEvents.OnSyncServerFailed,
  CbEvents.OnUserTokenInvalid,
  CbEvents.OnUserTokenExpired,
  CbEvents.OnKickedOffline,
];

/**
 * @openim/client-sdk 0.0.14's ES5 builds (lib/index.js and lib/index.es.js: what Node and bundlers load) compile
 * the message syncer's `[...seqMap.entries()]` to `[].concat(seqMap.entries())`, an array holding the iterator, so
 * every reconnect after missed messages throws a TypeError (unhandled) in pullMsgBySeqRange instead of pulling
 * them; its modern build is right. The method gets an object whose entries() is an array, which concat flattens,
 * so the SDK does what its source says (a bug of the SDK, met with OpenIM's own server as well).
 */
function workAroundPullBug(sdk) {
  const syncer = sdk?.messageTrigger?.syncer;
  if (typeof syncer?.pullMsgBySeqRange !== 'function') return;
  const pull = syncer.pullMsgBySeqRange;
  syncer.pullMsgBySeqRange = (seqMap, operationID) => pull({ entries: () => [...seqMap.entries()] }, operationID);
}

/** One user on one @openim/client-sdk instance. */
export class JsClient {
  constructor(server, userID, token, { platformID = PLATFORM_WEB } = {}) {
    setupNodeEnv();
    this.server = server;
    this.userID = userID;
    this.token = token;
    this.platformID = platformID;
    this.events = []; // {event, data, errCode, errMsg, at}
    this.waiters = new Set();
    tokenOwners.set(token, userID);
    this.sdk = getSDK();
    workAroundPullBug(this.sdk);
    for (const name of new Set(Object.values(CbEvents))) {
      this.sdk.on(name, (payload) => this.#onEvent(name, payload));
    }
  }

  #onEvent(name, payload) {
    const entry = { event: name, data: payload?.data, errCode: payload?.errCode, errMsg: payload?.errMsg, at: Date.now() };
    this.events.push(entry);
    active(this.userID);
    const detail = { errCode: entry.errCode || undefined, errMsg: entry.errMsg || undefined, data: entry.data };
    log.event(this.userID, name, detail);
    for (const waiter of this.waiters) waiter();
  }

  /**
   * Resolves with the first event at index ≥ `from` named `name` (and accepted by `predicate`); rejects as soon as
   * one of `failOn` arrives instead, or after `timeout` ms, naming the events seen.
   */
  waitForEvent(name, { predicate = () => true, from = 0, timeout = 20000, failOn = [] } = {}) {
    return new Promise((resolve, reject) => {
      let timer;
      const check = () => {
        for (let i = from; i < this.events.length; i++) {
          const e = this.events[i];
          if (e.event === name && predicate(e)) return done(null, e);
          if (failOn.includes(e.event)) {
            return done(new Error(`${this.userID}: got ${e.event} ${safeJSON({ errCode: e.errCode, errMsg: e.errMsg, data: e.data })} while waiting for ${name}`));
          }
        }
        return undefined;
      };
      const done = (err, value) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        if (err) reject(err);
        else resolve(value);
      };
      timer = setTimeout(() => {
        done(new TimeoutError(`${this.userID}: no ${name} within ${timeout} ms; events: ${this.eventNames(from).join(', ') || '(none)'}`));
      }, timeout);
      this.waiters.add(check);
      check();
    });
  }

  eventNames(from = 0) {
    return this.events.slice(from).map((e) => (e.errCode ? `${e.event}(${e.errCode})` : e.event));
  }

  /** sdk.login, then waits for OnSyncServerFinish; fails fast on a connect/sync/token failure event. */
  async login({ timeout = 30000, until = CbEvents.OnSyncServerFinish } = {}) {
    const from = this.events.length;
    const finished = this.waitForEvent(until, { from, timeout, failOn: LOGIN_FAILURE_EVENTS });
    finished.catch(() => {}); // observed below; avoid an unhandled rejection if login() throws first
    try {
      await withTimeout(this.sdk.login(this.loginParams()), timeout, `${this.userID}: sdk.login`);
    } catch (err) {
      throw new SdkCallError(`${this.userID}: login`, err);
    }
    return finished;
  }

  loginParams() {
    return {
      userID: this.userID,
      token: this.token,
      platformID: this.platformID,
      wsAddr: this.server.wsAddr,
      apiAddr: this.server.apiAddr,
      logLevel: Number(process.env.OPENIM_E2E_SDK_LOGLEVEL ?? 5), // 5 silent … 0 trace (loglevel is global)
    };
  }

  /**
   * A login that must be refused: resolves with the OnConnectFailed event (errCode, errMsg) and the token event
   * that came with it (OnUserTokenInvalid / OnUserTokenExpired / OnKickedOffline) if any.
   */
  async loginRefused({ timeout = 10000 } = {}) {
    const from = this.events.length;
    const failed = this.waitForEvent(CbEvents.OnConnectFailed, { from, timeout, failOn: [CbEvents.OnConnectSuccess] });
    failed.catch(() => {});
    await withTimeout(this.sdk.login(this.loginParams()), timeout, `${this.userID}: sdk.login`).catch(() => {});
    const event = await failed;
    await new Promise((resolve) => setTimeout(resolve, 200)); // the mapped token event follows synchronously
    const tokenEvent = this.events
      .slice(from)
      .find((e) => [CbEvents.OnUserTokenInvalid, CbEvents.OnUserTokenExpired, CbEvents.OnKickedOffline].includes(e.event));
    return { errCode: event.errCode, errMsg: event.errMsg, tokenEvent: tokenEvent?.event ?? null, events: this.eventNames(from) };
  }

  /** Calls an SDK method and returns its `data`; a rejection becomes an SdkCallError with errCode. */
  async call(method, ...args) {
    if (typeof this.sdk[method] !== 'function') throw new Error(`@openim/client-sdk has no method ${method}`);
    try {
      const res = await withTimeout(this.sdk[method](...args), 20000, `${this.userID}: ${method}`);
      return res?.data;
    } catch (err) {
      throw new SdkCallError(`${this.userID}: ${method}(${safeJSON(args, 300)})`, err);
    }
  }

  /** createTextMessage + sendMessage to `recvID`; returns the sent message as the SDK reports it. */
  async sendText(recvID, text) {
    const message = await this.call('createTextMessage', text);
    return this.call('sendMessage', { recvID, groupID: '', message });
  }

  /** createTextMessage + sendMessage to group `groupID`; returns the sent message as the SDK reports it. */
  async sendGroupText(groupID, text) {
    const message = await this.call('createTextMessage', text);
    return this.call('sendMessage', { recvID: '', groupID, message });
  }

  /**
   * Waits (bounded) until this user's SDK has been quiet for `quietMs`: no frame, API call or event. The SDK
   * follows some pushes with requests of its own; logging out in the middle of those makes it reject promises
   * nobody awaits, which Node's test runner counts as a failure of the file.
   */
  async settle({ quietMs = 300, maxMs = 3000 } = {}) {
    const deadline = Date.now() + maxMs;
    while (Date.now() < deadline) {
      const idle = Date.now() - (lastActivity.get(this.userID) ?? 0);
      if (idle >= quietMs) return;
      await new Promise((resolve) => setTimeout(resolve, Math.min(quietMs - idle + 10, 100)));
    }
  }

  async logout() {
    await this.settle();
    try {
      await withTimeout(this.sdk.logout(), 5000, `${this.userID}: logout`);
    } catch {
      // logging out a client that never connected is fine
    }
  }
}
