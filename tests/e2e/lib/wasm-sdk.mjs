// Driver for @openim/wasm-client-sdk (OpenIM's Go core compiled to WebAssembly) in Debian's headless Chromium,
// driven by playwright-core. A small static server on 127.0.0.1 serves the package's assets and lib/ with the
// COOP/COEP headers its sql.js worker needs; each user gets its own browser context (own wasm instance, own
// IndexedDB) with one page that exposes the SDK as `window.sdk`. Frames, API calls and SDK events go to a WireLog.
import { createReadStream, existsSync, statSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';

import { chromium } from 'playwright-core';

import { PLATFORM_WEB } from './rest.mjs';
import { E2E_DIR, TimeoutError, safeJSON, withTimeout } from './util.mjs';
import { WireLog, describeGobFrame } from './wire.mjs';

const PKG_DIR = path.join(E2E_DIR, 'node_modules', '@openim', 'wasm-client-sdk');
const ASSETS = path.join(PKG_DIR, 'assets');
const LIB = path.join(PKG_DIR, 'lib');

export const CHROMIUM = process.env.OPENIM_E2E_CHROMIUM || '/usr/bin/chromium';
// The flags that work here (tests/e2e/README.md); playwright adds --headless itself and runs every
// launch with a fresh temporary --user-data-dir.
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

// Every CbEvents value (read from the package at load time) is forwarded to Node through window.__e2eEvent.
const PAGE = `<!doctype html>
<html>
<head>
<meta charset="utf-8">
<title>openim-py e2e: wasm SDK</title>
<script src="/wasm_exec.js"></script>
<script type="module">
try {
  const { getSDK, CbEvents } = await import('/lib/index.es.js');
  const debug = new URLSearchParams(location.search).get('debug') === '1';
  const sdk = getSDK({ coreWasmPath: '/openIM.wasm', sqlWasmPath: '/sql-wasm.wasm', debug });
  for (const name of new Set(Object.values(CbEvents))) {
    sdk.on(name, (payload) => {
      let text;
      try { text = JSON.stringify({ event: name, payload }); } catch (e) { text = JSON.stringify({ event: name, payload: String(payload) }); }
      window.__e2eEvent(text);
    });
  }
  window.sdk = sdk;
  window.CbEvents = CbEvents;
  window.__e2eCall = async (method, args) => {
    try {
      const res = await window.sdk[method](...args);
      return { ok: true, data: res ? res.data : undefined };
    } catch (err) {
      let error;
      try { error = JSON.parse(JSON.stringify(err)); } catch (e) { error = String(err); }
      if (err instanceof Error) error = { message: err.message, stack: err.stack };
      return { ok: false, error };
    }
  };
  window.__e2eReady = true;
} catch (err) {
  window.__e2eLoadError = String((err && err.stack) || err);
}
</script>
</head>
<body>openim-py e2e</body>
</html>
`;

const TYPES = {
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
  '.html': 'text/html; charset=utf-8',
  '.json': 'application/json',
};

const ISOLATION = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Cache-Control': 'no-store',
};

/** Serves the page, the three assets and lib/ on 127.0.0.1:<free port>; nothing else. */
export function startStaticServer() {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    let file = null;
    if (url.pathname === '/favicon.ico') {
      res.writeHead(204, ISOLATION);
      res.end();
      return;
    }
    if (url.pathname === '/' || url.pathname === '/index.html') {
      res.writeHead(200, { ...ISOLATION, 'Content-Type': TYPES['.html'] });
      res.end(PAGE);
      return;
    }
    if (['/wasm_exec.js', '/openIM.wasm', '/sql-wasm.wasm'].includes(url.pathname)) {
      file = path.join(ASSETS, url.pathname.slice(1));
    } else if (url.pathname.startsWith('/lib/')) {
      const candidate = path.normalize(path.join(LIB, decodeURIComponent(url.pathname.slice(5))));
      if (candidate.startsWith(LIB + path.sep)) file = candidate;
    }
    if (!file || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404, { ...ISOLATION, 'Content-Type': 'text/plain' });
      res.end('not found');
      return;
    }
    res.writeHead(200, {
      ...ISOLATION,
      'Content-Type': TYPES[path.extname(file)] || 'application/octet-stream',
      'Content-Length': statSync(file).size,
    });
    createReadStream(file).pipe(res);
  });
  return new Promise((resolve, reject) => {
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.unref();
      resolve({ server, origin: `http://127.0.0.1:${server.address().port}`, close: () => server.close() });
    });
  });
}

function shortToken(url) {
  try {
    const u = new URL(url);
    if (u.searchParams.has('token')) u.searchParams.set('token', `${u.searchParams.get('token').slice(0, 12)}…`);
    return decodeURIComponent(u.toString());
  } catch {
    return url;
  }
}

/** One Chromium for the test file, with the static server. */
export class WasmBrowser {
  static async launch() {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run scripts/e2e-deps (installs Debian's chromium)`);
    const statics = await startStaticServer();
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      timeout: 60000,
    });
    return new WasmBrowser(browser, statics);
  }

  constructor(browser, statics) {
    this.browser = browser;
    this.statics = statics;
    this.log = new WireLog(600);
    this.clients = [];
  }

  resetLog() {
    this.log = new WireLog(600);
    for (const c of this.clients) c.log = this.log;
    return this.log;
  }

  /** A fresh browser context + page for `userID` with the SDK loaded (wasm fetched and instantiating). */
  async newClient(server, userID, token, { platformID = PLATFORM_WEB, timeout = 60000 } = {}) {
    const context = await this.browser.newContext();
    const page = await context.newPage();
    const client = new WasmClient({ browser: this, context, page, server, userID, token, platformID });
    this.clients.push(client);
    await client.attach();
    const debug = process.env.OPENIM_E2E_WASM_DEBUG === '1' ? '?debug=1' : '';
    await page.goto(`${this.statics.origin}/index.html${debug}`, { timeout });
    await page.waitForFunction(() => window.__e2eReady === true || typeof window.__e2eLoadError === 'string', null, { timeout });
    const loadError = await page.evaluate(() => window.__e2eLoadError);
    if (loadError) throw new Error(`${userID}: the SDK page did not load: ${loadError}\n${client.consoleTail()}`);
    const isolated = await page.evaluate(() => window.crossOriginIsolated);
    if (!isolated) throw new Error(`${userID}: the page is not cross-origin isolated (COOP/COEP headers missing?)`);
    return client;
  }

  async close() {
    for (const c of this.clients) await c.close();
    await withTimeout(this.browser.close(), 15000, 'closing chromium').catch(() => {});
    this.statics.close();
  }
}

const LOGIN_FAILURE_EVENTS = ['OnConnectFailed', 'OnSyncServerFailed', 'OnUserTokenInvalid', 'OnUserTokenExpired', 'OnKickedOffline'];

/** One user in one page. Events arrive in Node as they fire (exposeFunction). */
export class WasmClient {
  constructor({ browser, context, page, server, userID, token, platformID }) {
    Object.assign(this, { browser, context, page, server, userID, token, platformID });
    this.log = browser.log;
    this.events = [];
    this.waiters = new Set();
    this.console = [];
    this.websockets = []; // URLs of the WebSocket connections the page opened
    this.httpCalls = []; // {route, request, answer, at}: the last 200 API calls of the page, untruncated
  }

  async attach() {
    const { page } = this;
    await page.exposeFunction('__e2eEvent', (text) => {
      let parsed;
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = { event: 'unparsable', payload: text };
      }
      const p = parsed.payload || {};
      const entry = { event: parsed.event, data: p.data, errCode: p.errCode, errMsg: p.errMsg, at: Date.now() };
      this.events.push(entry);
      this.log.event(this.userID, entry.event, { errCode: entry.errCode || undefined, errMsg: entry.errMsg || undefined, data: entry.data });
      for (const waiter of this.waiters) waiter();
    });
    page.on('console', (msg) => {
      this.console.push(`[${msg.type()}] ${msg.text().slice(0, 600)}`);
      if (this.console.length > 150) this.console.shift();
    });
    page.on('pageerror', (err) => this.log.add(this.userID, 'page error', err.message));
    page.on('crash', () => this.log.add(this.userID, 'page crashed'));
    page.on('websocket', (ws) => {
      this.websockets.push(ws.url());
      this.log.add(this.userID, 'ws connect', shortToken(ws.url()));
      ws.on('framesent', ({ payload }) => this.log.add(this.userID, 'ws send', describeGobFrame(payload)));
      ws.on('framereceived', ({ payload }) => this.log.add(this.userID, 'ws recv', describeGobFrame(payload)));
      ws.on('socketerror', (err) => this.log.add(this.userID, 'ws error', String(err)));
      ws.on('close', () => this.log.add(this.userID, 'ws closed'));
    });
    page.on('requestfailed', (req) => {
      if (req.url().startsWith(this.server.apiAddr)) {
        this.log.add(this.userID, `http ${req.method()} ${new URL(req.url()).pathname}`, `failed: ${req.failure()?.errorText}`);
      }
    });
    page.on('response', async (res) => {
      const req = res.request();
      if (!req.url().startsWith(this.server.apiAddr)) return;
      const route = new URL(req.url()).pathname;
      let text = '';
      if (req.method() === 'POST') {
        try {
          text = await res.text();
        } catch (err) {
          text = `(body unavailable: ${err.message})`;
        }
      }
      const body = req.postData() || '';
      const shortBody = body.length > 400 ? `${body.slice(0, 400)}…` : body;
      const shortText = text.length > 600 ? `${text.slice(0, 600)}…` : text;
      this.log.add(this.userID, `http ${req.method()} ${route}`, `${shortBody} → HTTP ${res.status()} ${shortText}`);
      this.httpCalls.push({ route, request: body, answer: text, at: Date.now() });
      if (this.httpCalls.length > 200) this.httpCalls.shift();
    });
  }

  consoleTail(lines = 60) {
    return `--- console of ${this.userID}'s page (last ${Math.min(lines, this.console.length)} lines) ---\n${this.console.slice(-lines).join('\n')}`;
  }

  eventNames(from = 0) {
    return this.events.slice(from).map((e) => (e.errCode ? `${e.event}(${e.errCode})` : e.event));
  }

  waitForEvent(name, { predicate = () => true, from = 0, timeout = 30000, failOn = [] } = {}) {
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

  loginParams() {
    return {
      userID: this.userID,
      token: this.token,
      platformID: this.platformID,
      apiAddr: this.server.apiAddr,
      wsAddr: this.server.wsAddr,
      logLevel: Number(process.env.OPENIM_E2E_WASM_LOGLEVEL ?? 3),
      isLogStandardOutput: process.env.OPENIM_E2E_WASM_DEBUG === '1',
    };
  }

  /** Calls window.sdk[method](...args) in the page; returns `data` or throws with the SDK's error. */
  async call(method, ...args) {
    return this.callWithin(30000, method, ...args);
  }

  async callWithin(ms, method, ...args) {
    const res = await withTimeout(this.page.evaluate(([m, a]) => window.__e2eCall(m, a), [method, args]), ms, `${this.userID}: ${method}`);
    if (!res.ok) {
      const err = new Error(`${this.userID}: ${method}(${safeJSON(args, 300)}) failed: ${safeJSON(res.error, 800)}`);
      err.errCode = res.error?.errCode;
      throw err;
    }
    return res.data;
  }

  /** sdk.login, then waits for OnSyncServerFinish; fails fast on a connect/sync/token failure event. */
  async login({ timeout = 60000 } = {}) {
    const from = this.events.length;
    const finished = this.waitForEvent('OnSyncServerFinish', { from, timeout, failOn: LOGIN_FAILURE_EVENTS });
    finished.catch(() => {});
    // login() resolves once the core has been told to log in; it may reject on a refused handshake.
    const called = this.call('login', this.loginParams());
    called.catch(() => {});
    await Promise.race([finished, called.then(() => finished)]);
    return finished;
  }

  async sendText(recvID, text) {
    const message = await this.call('createTextMessage', text);
    return this.call('sendMessage', { recvID, groupID: '', message });
  }

  async sendGroupText(groupID, text) {
    const message = await this.call('createTextMessage', text);
    return this.call('sendMessage', { recvID: '', groupID, message });
  }

  /** sdk.logout (the core sends 2003 and closes), bounded: a core that never connected may not answer. */
  async logout() {
    await this.callWithin(5000, 'logout').catch(() => {});
  }

  async close() {
    if (this.closed) return;
    this.closed = true;
    await withTimeout(this.context.close(), 10000, `closing ${this.userID}'s context`).catch(() => {});
  }
}
