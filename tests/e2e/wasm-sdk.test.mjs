// openim-py driven by @openim/wasm-client-sdk: OpenIM's Go core compiled to WebAssembly, in Debian's headless
// Chromium. The only client here that speaks the gob envelope with per-frame gzip (no sdkType, compression=gzip).
// Issue 3 item 7: login, A→B text, history — online, and for a user who was offline while messages came.
import assert from 'node:assert/strict';
import { after, before } from 'node:test';

import { Rest } from './lib/rest.mjs';
import { scenario } from './lib/scenario.mjs';
import { startServer } from './lib/server.mjs';
import { TimeoutError, installWatchdog, safeJSON, singleConversationID, textOf, uniqueID, waitUntil } from './lib/util.mjs';
import { WasmBrowser } from './lib/wasm-sdk.mjs';

installWatchdog(4 * 60 * 1000, 'wasm-sdk.test.mjs');

let server;
let rest;
let browser;
let ids;
let tokens;
const pages = {}; // userID → WasmClient, created once, shared by the tests below
const loginErrors = {}; // userID → the first login failure, so later tests fail at once instead of timing out

before(async () => {
  server = await startServer();
  rest = new Rest(server);
  browser = await WasmBrowser.launch();
  ids = { a: uniqueID('wa'), b: uniqueID('wb'), c: uniqueID('wc') };
  tokens = await rest.usersWithTokens(Object.values(ids));
});

after(async () => {
  for (const [userID, client] of Object.entries(pages)) {
    if (!loginErrors[userID]) await client.logout();
  }
  await browser?.close();
  await server?.stop();
});

function diagnostics() {
  const consoles = Object.values(pages).map((c) => c.consoleTail(40));
  return [browser?.log.format('what the wasm SDK sent and received (frames gunzipped and gob-decoded)'), ...consoles].join('\n');
}

function test(name, fn, timeout = 90000) {
  return scenario(
    name,
    async (ctx) => {
      browser.resetLog();
      await fn(ctx);
    },
    { timeout, server: () => server, diagnostics },
  );
}

/** userID's page, logged in (OnSyncServerFinish); the first failure is remembered and rethrown. */
async function loggedIn(userID) {
  if (loginErrors[userID]) throw new Error(`${userID}'s login failed earlier: ${loginErrors[userID].message}`);
  if (!pages[userID]) {
    try {
      const client = await browser.newClient(server, userID, tokens[userID]);
      pages[userID] = client;
      // After one login timed out, the others get a short bound (the file must end within its time budget).
      await client.login({ timeout: Object.values(loginErrors).some((e) => e instanceof TimeoutError) ? 10000 : 30000 });
    } catch (err) {
      loginErrors[userID] = err;
      throw err;
    }
  }
  return pages[userID];
}

async function history(client, conversationID, count) {
  const res = await client.call('getAdvancedHistoryMessageList', {
    conversationID,
    count,
    startClientMsgID: '',
    lastMinSeq: 0,
    viewType: 0,
  });
  return res?.messageList ?? [];
}

function assertContiguous(list, what) {
  const seqs = list.map((m) => m.seq);
  assert.ok(seqs[0] >= 1, `${what}: first seq ${seqs[0]}`);
  assert.deepEqual(seqs, seqs.map((_, i) => seqs[0] + i), `${what}: seqs contiguous: ${seqs.join(',')}`);
}

test('login reaches OnSyncServerFinish (gob + gzip handshake, initial sync)', async () => {
  const alice = await loggedIn(ids.a);
  const names = alice.eventNames();
  assert.ok(names.includes('OnConnectSuccess'), names.join(','));
  assert.ok(!names.includes('OnSyncServerFailed'), names.join(','));
  const url = new URL(alice.websockets.at(-1));
  assert.equal(url.searchParams.get('compression'), 'gzip');
  assert.equal(url.searchParams.get('sdkType'), null);
  const self = await alice.call('getSelfUserInfo');
  assert.equal(self.userID, ids.a);
});

test('A→B text arrives at B with the same serverMsgID; B and A see it in history', async () => {
  const alice = await loggedIn(ids.a);
  const bob = await loggedIn(ids.b);
  const from = bob.events.length;
  const texts = [0, 1, 2].map((i) => `wasm hello ${i} ${uniqueID('m')}`);
  const sent = [];
  for (const text of texts) {
    const msg = await alice.sendText(ids.b, text);
    assert.ok(msg.serverMsgID, `sendMessage resolved without serverMsgID: ${safeJSON(msg)}`);
    sent.push(msg);
  }
  // B's core delivers them through OnRecvNewMessages (one call per push, or batched).
  const received = new Map();
  await waitUntil(
    () => {
      for (const e of bob.events.slice(from)) {
        if (e.event !== 'OnRecvNewMessages') continue;
        for (const m of e.data ?? []) received.set(m.clientMsgID, m);
      }
      return sent.every((m) => received.has(m.clientMsgID));
    },
    { timeout: 20000, what: `${ids.b} to receive ${sent.length} messages`, describe: () => `events ${bob.eventNames(from).join(',')}` },
  );
  for (const [i, m] of sent.entries()) {
    const got = received.get(m.clientMsgID);
    assert.equal(got.serverMsgID, m.serverMsgID);
    assert.equal(got.sendID, ids.a);
    assert.equal(textOf(got), texts[i]);
  }

  const cid = singleConversationID(ids.a, ids.b);
  for (const [who, client] of [
    ['B', bob],
    ['A', alice],
  ]) {
    let list = [];
    await waitUntil(
      async () => {
        list = await history(client, cid, 20);
        // The sender's own copies learn their seq from its 2001 push, which the Go core applies asynchronously.
        return list.length >= texts.length && list.every((m) => m.seq > 0);
      },
      { timeout: 10000, what: `${who}'s history of ${cid}`, describe: () => safeJSON(list.map((m) => [m.seq, textOf(m)])) },
    );
    assert.deepEqual(list.map(textOf), texts, `${who}'s history in order`);
    assert.deepEqual(list.map((m) => m.serverMsgID), sent.map((m) => m.serverMsgID));
    assertContiguous(list, `${who}'s history`);
  }
});

test('C offline while A sends 5; C logs in: history has all 5 in order, unread 5', async () => {
  const N = 5;
  const alice = await loggedIn(ids.a);
  const texts = Array.from({ length: N }, (_, i) => `wasm offline ${i}`);
  const sent = [];
  for (const text of texts) sent.push(await alice.sendText(ids.c, text));

  const carol = await loggedIn(ids.c);
  const cid = singleConversationID(ids.a, ids.c);
  let list = [];
  await waitUntil(
    async () => {
      list = await history(carol, cid, 20);
      return list.length >= N;
    },
    { timeout: 15000, what: `${ids.c}'s history of ${cid}`, describe: () => safeJSON(list.map((m) => [m.seq, textOf(m)])) },
  );
  assert.deepEqual(list.map(textOf), texts);
  assert.deepEqual(list.map((m) => m.clientMsgID), sent.map((m) => m.clientMsgID));
  assertContiguous(list, 'history');
  let conv;
  await waitUntil(
    async () => {
      conv = await carol.call('getOneConversation', { sourceID: ids.a, sessionType: 1 });
      return conv?.unreadCount === N;
    },
    { timeout: 10000, what: `unreadCount ${N}`, describe: () => safeJSON(conv) },
  );
});
