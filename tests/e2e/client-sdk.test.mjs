// openim-py driven by OpenIM's pure-JS SDK, @openim/client-sdk, in Node.js (JSON envelope, sdkType=js).
// Issue 3 item 7: login to OnSyncServerFinish; A→B text with the same serverMsgID; A's conversation list;
// 50 messages to an offline user, then history, seqs and unread; mark read, also after a fresh login; revoke;
// refused tokens with OpenIM's codes. Each test uses fresh users, so a running server can be reused
// (OPENIM_E2E_API_ADDR / OPENIM_E2E_WS_ADDR); otherwise one `openim start` serves the whole file.
import assert from 'node:assert/strict';
import { after, before } from 'node:test';

import { CbEvents, JsClient, closeAllSockets, currentLog, resetLog } from './lib/client-sdk.mjs';
import { Rest } from './lib/rest.mjs';
import { scenario } from './lib/scenario.mjs';
import { startServer } from './lib/server.mjs';
import { TimeoutError, installWatchdog, safeJSON, singleConversationID, textOf, uniqueID, waitUntil } from './lib/util.mjs';

installWatchdog(4 * 60 * 1000, 'client-sdk.test.mjs');

const SESSION_SINGLE = 1;
const CONTENT_TEXT = 101;

let server;
let rest;

before(async () => {
  server = await startServer();
  rest = new Rest(server);
});

after(async () => {
  closeAllSockets();
  await server?.stop();
});

function test(name, fn, timeout = 45000) {
  return scenario(
    name,
    async (ctx) => {
      resetLog();
      await fn(ctx);
    },
    { timeout, server: () => server, diagnostics: () => currentLog().format('what the SDK sent and received') },
  );
}

/** Registers fresh users with these prefixes; returns [ids, tokens]. */
async function freshUsers(...prefixes) {
  const ids = prefixes.map((p) => uniqueID(p));
  return [ids, await rest.usersWithTokens(ids)];
}

// Once a login has timed out (the server accepted the socket but never finished the handshake or the sync), later
// logins get a shorter bound, so that a broken gateway costs seconds per test, not the whole file's time budget.
let loginTimedOut = false;

/** A logged-in client (OnSyncServerFinish reached), logged out when the test ends. */
async function loggedIn(defer, userID, token) {
  const client = new JsClient(server, userID, token);
  defer(() => client.logout());
  try {
    await client.login({ timeout: loginTimedOut ? 8000 : 20000 });
  } catch (err) {
    if (err instanceof TimeoutError) loginTimedOut = true;
    throw err;
  }
  return client;
}

/** The conversation with this ID from getConversationListSplit once the SDK lists it (polls, bounded). */
async function listedConversation(client, conversationID, accept = () => true, what = 'it') {
  let last;
  return waitUntil(
    async () => {
      last = await client.call('getConversationListSplit', { offset: 0, count: 100 });
      const conv = (last ?? []).find((c) => c.conversationID === conversationID);
      return conv && accept(conv) ? conv : null;
    },
    {
      timeout: 15000,
      interval: 250,
      what: `${client.userID}'s conversation list to show ${conversationID} with ${what}`,
      describe: () => safeJSON((last ?? []).map((c) => ({ conversationID: c.conversationID, unreadCount: c.unreadCount, latestMsg: c.latestMsg })), 1500),
    },
  );
}

test('login reaches OnSyncServerFinish (connect, handshake frame, initial sync)', async ({ defer }) => {
  const [[a], tokens] = await freshUsers('login');
  const client = await loggedIn(defer, a, tokens[a]);
  const names = client.eventNames();
  assert.ok(names.indexOf(CbEvents.OnConnectSuccess) < names.indexOf(CbEvents.OnSyncServerFinish), names.join(','));
  assert.ok(!names.includes(CbEvents.OnSyncServerFailed), names.join(','));
  assert.equal(await client.call('getLoginStatus'), 3); // LoginStatus.Logged
  const self = await client.call('getSelfUserInfo');
  assert.equal(self.userID, a);
});

test('A→B text arrives at B with the same serverMsgID', async ({ defer }) => {
  const [[a, b], tokens] = await freshUsers('alice', 'bob');
  const alice = await loggedIn(defer, a, tokens[a]);
  const bob = await loggedIn(defer, b, tokens[b]);
  const from = bob.events.length;
  const text = `hello ${b} from ${a}`;
  const sent = await alice.sendText(b, text);
  assert.ok(sent.serverMsgID, `sendMessage resolved without serverMsgID: ${safeJSON(sent)}`);
  const ev = await bob.waitForEvent(CbEvents.OnRecvNewMessages, {
    from,
    predicate: (e) => (e.data ?? []).some((m) => m.clientMsgID === sent.clientMsgID),
  });
  const got = ev.data.find((m) => m.clientMsgID === sent.clientMsgID);
  assert.equal(got.serverMsgID, sent.serverMsgID);
  assert.equal(got.sendID, a);
  assert.equal(got.recvID, b);
  assert.equal(got.sessionType, SESSION_SINGLE);
  assert.equal(got.contentType, CONTENT_TEXT);
  assert.equal(textOf(got), text);
  assert.ok(got.seq >= 1, `seq ${got.seq}`);
});

test("A's conversation list shows the conversation with the message", async ({ defer }) => {
  const [[a, b], tokens] = await freshUsers('alice', 'bob');
  const alice = await loggedIn(defer, a, tokens[a]);
  const text = `listed ${uniqueID('m')}`;
  const sent = await alice.sendText(b, text);
  const cid = singleConversationID(a, b);
  const conv = await listedConversation(alice, cid, (c) => String(c.latestMsg).includes(sent.clientMsgID), 'the sent message as latestMsg');
  assert.equal(conv.userID, b);
  assert.equal(conv.conversationType, SESSION_SINGLE);
  assert.equal(textOf(JSON.parse(conv.latestMsg)), text);
  assert.equal(conv.unreadCount, 0);
});

test('B offline while A sends 50; B logs in: history has all 50 in order, contiguous seqs, unread 50', async ({ defer }) => {
  const N = 50;
  const [[a, b], tokens] = await freshUsers('alice', 'bob');
  const alice = await loggedIn(defer, a, tokens[a]);
  const sent = [];
  for (let i = 0; i < N; i++) sent.push(await alice.sendText(b, `offline ${i}`));
  assert.equal(new Set(sent.map((m) => m.serverMsgID)).size, N, 'every send got its own serverMsgID');

  const bob = await loggedIn(defer, b, tokens[b]);
  const cid = singleConversationID(a, b);
  const conv = await listedConversation(bob, cid, (c) => c.unreadCount === N, `unreadCount ${N}`);
  assert.equal(conv.unreadCount, N);
  assert.equal(await bob.call('getTotalUnreadMsgCount'), N);

  const history = await bob.call('getAdvancedHistoryMessageList', { conversationID: cid, count: N, startClientMsgID: '', viewType: 0 });
  const list = history.messageList;
  assert.equal(list.length, N, `history: ${safeJSON(list.map((m) => [m.seq, textOf(m)]))}`);
  assert.deepEqual(list.map(textOf), sent.map((_, i) => `offline ${i}`), 'texts in send order');
  assert.deepEqual(list.map((m) => m.clientMsgID), sent.map((m) => m.clientMsgID));
  assert.deepEqual(list.map((m) => m.serverMsgID), sent.map((m) => m.serverMsgID));
  const seqs = list.map((m) => m.seq);
  assert.ok(seqs[0] >= 1, `first seq ${seqs[0]}`);
  assert.deepEqual(seqs, seqs.map((_, i) => seqs[0] + i), `seqs contiguous: ${seqs.join(',')}`);
}, 90000);

test('mark conversation read → unread 0, still 0 after a fresh login', async ({ defer }) => {
  const N = 3;
  const [[a, b], tokens] = await freshUsers('alice', 'bob');
  const alice = await loggedIn(defer, a, tokens[a]);
  for (let i = 0; i < N; i++) await alice.sendText(b, `to read ${i}`);
  const cid = singleConversationID(a, b);

  const bob = await loggedIn(defer, b, tokens[b]);
  await listedConversation(bob, cid, (c) => c.unreadCount === N, `unreadCount ${N}`);
  await bob.call('markConversationMessageAsRead', cid);
  await listedConversation(bob, cid, (c) => c.unreadCount === 0, 'unreadCount 0 after marking read');
  assert.equal(await bob.call('getTotalUnreadMsgCount'), 0);
  await bob.logout();

  // A fresh SDK (the JS SDK keeps nothing between logins) with a new token: the server remembers hasReadSeq.
  const again = await loggedIn(defer, b, await rest.getUserToken(b));
  const conv = await listedConversation(again, cid, () => true, 'the conversation');
  assert.equal(conv.unreadCount, 0, `after a fresh login: ${safeJSON(conv)}`);
  assert.equal(await again.call('getTotalUnreadMsgCount'), 0);
});

test('revoke by A reaches B (OnNewRecvMessageRevoked)', async ({ defer }) => {
  const [[a, b], tokens] = await freshUsers('alice', 'bob');
  const alice = await loggedIn(defer, a, tokens[a]);
  const bob = await loggedIn(defer, b, tokens[b]);
  const from = bob.events.length;
  const sent = await alice.sendText(b, 'to be revoked');
  await bob.waitForEvent(CbEvents.OnRecvNewMessages, { from, predicate: (e) => (e.data ?? []).some((m) => m.clientMsgID === sent.clientMsgID) });
  const cid = singleConversationID(a, b);
  // The SDK revokes by seq, which the sender learns from the server pushing its own message back to it.
  await waitUntil(() => alice.call('revokeMessage', { conversationID: cid, clientMsgID: sent.clientMsgID }).then(() => true), {
    timeout: 10000,
    interval: 250,
    what: `${a}'s revokeMessage to succeed`,
  });
  const ev = await bob.waitForEvent(CbEvents.OnNewRecvMessageRevoked, {
    from,
    predicate: (e) => safeJSON(e.data, 100000).includes(sent.clientMsgID),
  });
  // RevokedInfo, built by the SDK from the 2101 RevokeMsgTips the server pushes in notificationMsgs.
  assert.equal(ev.data.clientMsgID, sent.clientMsgID, safeJSON(ev.data));
  assert.equal(ev.data.revokerID, a, safeJSON(ev.data));
  assert.equal(ev.data.sessionType, SESSION_SINGLE, safeJSON(ev.data));
});

test('a garbage token is refused: handshake frame errCode 1503 (TokenMalformedError)', async ({ defer }) => {
  const [[a]] = await freshUsers('garbage');
  const client = new JsClient(server, a, 'garbage.token.here');
  defer(() => client.logout());
  const refused = await client.loginRefused();
  assert.equal(refused.errCode, 1503, safeJSON(refused));
  assert.equal(refused.tokenEvent, CbEvents.OnUserTokenInvalid, safeJSON(refused));
});

test("another user's token is refused: handshake frame errCode 1502 (TokenInvalidError, sendID ≠ token user)", async ({ defer }) => {
  const [[a, b], tokens] = await freshUsers('alice', 'bob');
  const client = new JsClient(server, a, tokens[b]);
  defer(() => client.logout());
  const refused = await client.loginRefused();
  assert.equal(refused.errCode, 1502, safeJSON(refused));
  assert.equal(refused.tokenEvent, CbEvents.OnUserTokenInvalid, safeJSON(refused));
});
