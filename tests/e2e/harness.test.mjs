// The harness itself, independent of how far the gateway is: `openim start` comes up through the library, the
// REST admin calls work, and both SDK drivers dial a gateway with the query OpenIM expects (checked against a
// stand-in gateway on 127.0.0.1 that answers the handshake and records what the SDKs send).
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { gunzipSync } from 'node:zlib';

import { WebSocketServer } from 'ws';

import { JsClient, closeAllSockets, currentLog, resetLog } from './lib/client-sdk.mjs';
import { Rest } from './lib/rest.mjs';
import { scenario } from './lib/scenario.mjs';
import { startServer } from './lib/server.mjs';
import { installWatchdog, uniqueID, waitUntil } from './lib/util.mjs';
import { WasmBrowser } from './lib/wasm-sdk.mjs';
import { decodeGob } from './lib/wire.mjs';

installWatchdog(4 * 60 * 1000, 'harness.test.mjs');

let server;
let rest;
let browser;

before(async () => {
  server = await startServer();
  rest = new Rest(server);
});

after(async () => {
  closeAllSockets();
  await browser?.close();
  await server?.stop();
});

/** A stand-in gateway: records each upgrade URL and every frame, answers the isMsgResp handshake with errCode 0. */
async function fakeGateway() {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((resolve) => wss.on('listening', resolve));
  const seen = { upgrades: [], frames: [] };
  wss.on('connection', (ws, req) => {
    seen.upgrades.push(req.url);
    ws.send(JSON.stringify({ errCode: 0, errMsg: '', errDlt: '' }));
    ws.on('message', (data, isBinary) => {
      seen.frames.push({ isBinary, data: Buffer.from(data) });
      if (!isBinary && JSON.parse(data.toString()).type === 'ping') ws.send(JSON.stringify({ type: 'pong', body: null }));
    });
  });
  return {
    seen,
    url: `ws://127.0.0.1:${wss.address().port}`,
    close: () => {
      for (const c of wss.clients) c.terminate();
      wss.close();
    },
  };
}

const diagnostics = () => currentLog().format();

scenario(
  'openim start comes up; admin token, user_register, get_user_token, parse_token work through the library',
  async () => {
    const token = await rest.getAdminToken();
    assert.ok(token.length > 20, 'admin token');
    const a = uniqueID('ha');
    const b = uniqueID('hb');
    const tokens = await rest.usersWithTokens([a, b]);
    const parsed = await rest.parseToken(tokens[a]);
    assert.equal(parsed.userID, a);
    assert.equal(parsed.platformID, 5);
    const info = await rest.post('/user/get_users_info', { userIDs: [a, b] }, tokens[a]);
    assert.deepEqual(info.usersInfo.map((u) => u.userID).sort(), [a, b].sort());
  },
  { diagnostics, server: () => server },
);

scenario(
  'client-sdk in Node dials the gateway with sendID, token, platformID=5, operationID, isBackground, isMsgResp, sdkType=js',
  async ({ defer }) => {
    resetLog();
    const gw = await fakeGateway();
    defer(gw.close);
    const a = uniqueID('hc');
    const tokens = await rest.usersWithTokens([a]);
    const client = new JsClient({ apiAddr: server.apiAddr, wsAddr: gw.url }, a, tokens[a]);
    defer(() => client.logout());
    await client.login({ until: 'OnConnectSuccess', timeout: 15000 });
    assert.equal(gw.seen.upgrades.length, 1);
    const q = new URL(gw.seen.upgrades[0], 'ws://x').searchParams;
    assert.deepEqual([...q.keys()], ['sendID', 'token', 'platformID', 'operationID', 'isBackground', 'isMsgResp', 'sdkType']);
    assert.equal(q.get('sendID'), a);
    assert.equal(q.get('token'), tokens[a]);
    assert.equal(q.get('platformID'), '5');
    assert.ok(q.get('operationID'));
    assert.equal(q.get('isBackground'), 'false');
    assert.equal(q.get('isMsgResp'), 'true');
    assert.equal(q.get('sdkType'), 'js');
    // After the handshake frame it syncs: a binary JSON envelope, 1006 GetConvMaxReadSeq first.
    const first = await waitUntil(() => gw.seen.frames.find((f) => f.isBinary), { timeout: 10000, what: 'a first request frame' });
    const env = JSON.parse(first.data.toString());
    assert.equal(env.reqIdentifier, 1006);
    assert.equal(env.sendID, a);
    assert.ok(env.msgIncr);
  },
  { diagnostics, server: () => server },
);

scenario(
  'wasm SDK loads in Chromium and dials the gateway as a Go client (gzip + gob, isMsgResp, no sdkType)',
  async ({ defer }) => {
    browser = await WasmBrowser.launch();
    const gw = await fakeGateway();
    defer(gw.close);
    const a = uniqueID('hw');
    const tokens = await rest.usersWithTokens([a]);
    const client = await browser.newClient({ apiAddr: server.apiAddr, wsAddr: gw.url }, a, tokens[a]);
    defer(() => client.close());
    const from = client.events.length;
    client.call('login', client.loginParams()).catch(() => {});
    await client.waitForEvent('OnConnectSuccess', { from, timeout: 60000 });
    const q = new URL(gw.seen.upgrades[0], 'ws://x').searchParams;
    assert.equal(q.get('sendID'), a);
    assert.equal(q.get('token'), tokens[a]);
    assert.equal(q.get('platformID'), '5');
    assert.equal(q.get('compression'), 'gzip');
    assert.equal(q.get('isMsgResp'), 'true');
    assert.equal(q.get('isBackground'), 'false');
    assert.ok(q.get('operationID'));
    assert.equal(q.get('sdkType'), null);
    // Its first request: a gzip'd gob GeneralWsReq, 1001 GetNewestSeq; the wire decoder reads it.
    const first = await waitUntil(() => gw.seen.frames.find((f) => f.isBinary), { timeout: 20000, what: 'a first request frame' });
    const env = decodeGob(gunzipSync(first.data));
    assert.equal(env.ReqIdentifier, 1001);
    assert.equal(env.SendID, a);
    assert.ok(env.MsgIncr.startsWith(`${a}_`));
    // Go's first user type id is 64 (our own Resp type definition uses 65): a server must accept 64 and up.
    assert.equal(env.__typeId, 64);
  },
  { timeout: 120000, server: () => server, diagnostics: () => `${browser?.log.format() ?? ''}\n${browser?.clients.map((c) => c.consoleTail()).join('\n') ?? ''}` },
);
