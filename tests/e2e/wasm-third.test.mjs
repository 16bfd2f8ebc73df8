// /third with @openim/wasm-client-sdk (OpenIM's Go core as WebAssembly in Debian's headless Chromium): the core's
// updateFcmToken posts /third/fcm_update_token with its own JSON (platformID, fcmToken, account, expireTime), the
// server keeps the token for that user and platform, and the core's logout (WebSocket 2003) removes it again.
// The token is read from the server's SQLite file (a started server only; an external one skips that check).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { after, before } from 'node:test';

import { Rest } from './lib/rest.mjs';
import { scenario } from './lib/scenario.mjs';
import { startServer } from './lib/server.mjs';
import { installWatchdog, safeJSON, uniqueID, waitUntil } from './lib/util.mjs';
import { WasmBrowser } from './lib/wasm-sdk.mjs';

installWatchdog(3 * 60 * 1000, 'wasm-third.test.mjs');

let server;
let rest;
let browser;
let alice;
let userID;

before(async () => {
  server = await startServer();
  rest = new Rest(server);
  browser = await WasmBrowser.launch();
  userID = uniqueID('wt');
  const tokens = await rest.usersWithTokens([userID]);
  alice = await browser.newClient(server, userID, tokens[userID]);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

function diagnostics() {
  return [browser?.log.format('what the wasm SDK sent and received'), alice?.consoleTail(40)].join('\n');
}

/** The FCM token the server holds for (user, platform), read from its database; undefined for an external one. */
function storedToken(platformID) {
  if (server.external) return undefined;
  const script = [
    'import sqlite3, sys',
    'row = sqlite3.connect(sys.argv[1]).execute(',
    '    "SELECT token FROM fcm_token WHERE user_id = ? AND platform_id = ?", (sys.argv[2], int(sys.argv[3]))',
    ').fetchone()',
    'print(row[0] if row else "")',
  ].join('\n');
  const db = path.join(server.cwd, 'data', 'openim.db');
  const out = spawnSync(process.env.OPENIM_E2E_PYTHON || 'python3', ['-c', script, db, userID, String(platformID)], {
    encoding: 'utf8',
  });
  if (out.status !== 0) throw new Error(`reading ${db}: ${out.stderr}`);
  return out.stdout.trim() || null;
}

scenario(
  'updateFcmToken is kept for the device; logout (2003) removes it',
  async () => {
    await alice.login({ timeout: 30000 });
    const fcmToken = `fcm-${uniqueID('t')}`;
    // The JS wrapper does not list updateFcmToken; the core registers it on window, called as the wrapper calls all.
    const res = await alice.page.evaluate(async ([token]) => {
      try {
        await window.sdk._invoker('updateFcmToken', window.updateFcmToken, ['op-fcm', token, 3600]);
        return { ok: true };
      } catch (err) {
        return { ok: false, error: JSON.parse(JSON.stringify(err)) };
      }
    }, [fcmToken]);
    assert.ok(res.ok, `updateFcmToken failed: ${safeJSON(res.error)}`);
    // The page's response listener records the call asynchronously, after the SDK has resolved.
    const call = await waitUntil(() => alice.httpCalls.find((c) => c.route === '/third/fcm_update_token'), {
      timeout: 10000,
      what: 'the core to post /third/fcm_update_token',
    });
    assert.deepEqual(JSON.parse(call.request), { platformID: alice.platformID, fcmToken, account: userID, expireTime: 3600 });
    assert.equal(JSON.parse(call.answer).errCode, 0, call.answer);
    if (!server.external) assert.equal(storedToken(alice.platformID), fcmToken);

    await alice.logout();
    if (!server.external) {
      await waitUntil(() => storedToken(alice.platformID) === null, { timeout: 10000, what: 'the token to be removed by 2003' });
    }
  },
  { timeout: 120000, server: () => server, diagnostics },
);
