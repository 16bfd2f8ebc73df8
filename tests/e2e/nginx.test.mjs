// @openim/client-sdk through nginx (deploy/nginx/openim.conf) in front of two gateways and two api processes
// (issue 14). Started by test_nginx.py, which runs the deployment and hands over:
//   OPENIM_E2E_API_ADDR=http://nginx/api  OPENIM_E2E_WS_ADDR=ws://nginx/msg_gateway  OPENIM_E2E_CONTROL=http://…
// The control channel tells which gateway holds how many users (each gateway's own /metrics) and kills one with
// SIGKILL. The tests run in order and share their users: A and B land on different gateways (least_conn), C on
// either; they chat 1:1 and in a group and their histories agree; then B's gateway is killed while A goes on
// sending: B (and C if it was there) reconnects through nginx to the survivor, resyncs to the same history —
// every message once, seqs gapless — and keeps chatting.
import assert from 'node:assert/strict';
import { after, before } from 'node:test';

import { CbEvents, JsClient, closeAllSockets, currentLog, resetLog } from './lib/client-sdk.mjs';
import { Rest } from './lib/rest.mjs';
import { scenario } from './lib/scenario.mjs';
import { startServer } from './lib/server.mjs';
import { installWatchdog, safeJSON, singleConversationID, textOf, uniqueID, waitUntil } from './lib/util.mjs';

installWatchdog(150 * 1000, 'nginx.test.mjs');

const CONTROL = process.env.OPENIM_E2E_CONTROL;
const controlFetch = globalThis.fetch; // Node's own: the control channel is not the SDK's traffic
const AWAY = 5; // messages A sends to B, 1:1 and in the group, while B's gateway is down

let server;
let rest;
const clients = {}; // 'a' | 'b' | 'c' → JsClient
const home = {}; // userID → the gateway its first login landed on
let groupID;

before(async () => {
  if (!CONTROL) {
    throw new Error('nginx.test.mjs needs the deployment of test_nginx.py: .venv/bin/python -m pytest -m e2e tests/e2e/test_nginx.py');
  }
  server = await startServer(); // the addresses of nginx, from the environment
  rest = new Rest(server);
});

after(async () => {
  for (const client of Object.values(clients)) await client.logout();
  closeAllSockets();
});

function test(name, fn, timeout = 40000) {
  return scenario(
    name,
    async (ctx) => {
      resetLog();
      await fn(ctx);
    },
    { timeout, diagnostics: () => currentLog().format('what the SDK sent and received') },
  );
}

async function control(method, route) {
  const res = await controlFetch(`${CONTROL}${route}`, { method, signal: AbortSignal.timeout(20000) });
  const body = await res.json();
  if (res.status !== 200) throw new Error(`control ${method} ${route}: HTTP ${res.status} ${safeJSON(body)}`);
  return body;
}

/** name → {alive, onlineUsers, connections} of each gateway, from its own /metrics. */
async function gateways() {
  const { gateways: list } = await control('GET', '/gateways');
  return Object.fromEntries(list.map((g) => [g.name, g]));
}

/** The message with `clientMsgID` once `client` reports it in OnRecvNewMessages (events from `from` on). */
async function received(client, clientMsgID, from, timeout = 20000) {
  const ev = await client.waitForEvent(CbEvents.OnRecvNewMessages, {
    from,
    timeout,
    predicate: (e) => (e.data ?? []).some((m) => m.clientMsgID === clientMsgID),
  });
  return ev.data.find((m) => m.clientMsgID === clientMsgID);
}

/** [{clientMsgID, seq, text}] of `client`'s history of `conversationID`, oldest first. */
async function history(client, conversationID) {
  const data = await client.call('getAdvancedHistoryMessageList', { conversationID, count: 200, startClientMsgID: '', viewType: 0 });
  const list = (data?.messageList ?? []).map((m) => ({ clientMsgID: m.clientMsgID, seq: m.seq, text: textOf(m) }));
  return list.sort((x, y) => x.seq - y.seq);
}

/** Every message once, seqs 1, 2, … without a gap. */
function assertWhole(list, who) {
  const ids = list.map((m) => m.clientMsgID);
  assert.equal(new Set(ids).size, ids.length, `${who}: a message twice: ${safeJSON(list)}`);
  const seqs = list.map((m) => m.seq);
  assert.deepEqual(seqs, seqs.map((_, i) => i + 1), `${who}: seqs not 1..${seqs.length} without a gap: ${seqs.join(',')}`);
}

/** Polls until `client`'s history of `conversationID` holds every clientMsgID of `expected`; returns it. */
async function historyWith(client, conversationID, expected) {
  let last = [];
  return waitUntil(
    async () => {
      last = await history(client, conversationID);
      const have = new Set(last.map((m) => m.clientMsgID));
      return expected.every((id) => have.has(id)) ? last : null;
    },
    { timeout: 20000, interval: 300, what: `${client.userID}'s history of ${conversationID} to hold ${expected.length} messages`, describe: () => safeJSON(last, 1500) },
  );
}

test('logins through nginx spread over both gateways: A and B on different ones (each gateway counts its users)', async () => {
  const [a, b, c] = ['alice', 'bob', 'carol'].map(uniqueID);
  const tokens = await rest.usersWithTokens([a, b, c]);
  for (const [key, userID] of [['a', a], ['b', b], ['c', c]]) {
    const before = await gateways();
    const total = (gws) => Object.values(gws).reduce((n, g) => n + g.onlineUsers, 0);
    const client = new JsClient(server, userID, tokens[userID]);
    clients[key] = client;
    await client.login({ timeout: 20000 });
    const now = await waitUntil(async () => {
      const gws = await gateways();
      return total(gws) === total(before) + 1 ? gws : null;
    }, { timeout: 10000, what: `${userID} counted online by a gateway`, describe: () => safeJSON(before) });
    const [gw] = Object.keys(now).filter((name) => now[name].onlineUsers === before[name].onlineUsers + 1);
    assert.ok(gw, `no gateway's count rose: before ${safeJSON(before)}, after ${safeJSON(now)}`);
    home[userID] = gw;
  }
  // least_conn: B's login comes while A's gateway holds one connection and the other none.
  assert.notEqual(home[a], home[b], `A and B on the same gateway: ${safeJSON(home)}`);
  const gws = await gateways();
  assert.deepEqual(Object.values(gws).map((g) => g.connections).sort(), [1, 2], `connections per gateway: ${safeJSON(gws)}`);
});

test('1:1 across the gateways: A→B and B→A arrive with the server IDs the senders got', async () => {
  const { a: alice, b: bob } = clients;
  for (const [from, to] of [[alice, bob], [bob, alice]]) {
    const mark = to.events.length;
    const sent = await from.sendText(to.userID, `hi ${to.userID} from ${from.userID}`);
    assert.ok(sent.serverMsgID, safeJSON(sent));
    const got = await received(to, sent.clientMsgID, mark);
    assert.equal(got.serverMsgID, sent.serverMsgID, safeJSON(got));
    assert.equal(got.sendID, from.userID);
    assert.equal(textOf(got), `hi ${to.userID} from ${from.userID}`);
  }
});

test('a group of A, B, C: both others join, texts of A and of B reach the other two', async () => {
  const { a: alice, b: bob, c: carol } = clients;
  const [fromB, fromC] = [bob.events.length, carol.events.length];
  const group = await alice.call('createGroup', { memberUserIDs: [bob.userID, carol.userID], groupInfo: { groupName: uniqueID('g'), groupType: 2 }, adminUserIDs: [] });
  groupID = group?.groupID;
  assert.ok(groupID, safeJSON(group));
  for (const [client, from] of [[bob, fromB], [carol, fromC]]) {
    await client.waitForEvent(CbEvents.OnJoinedGroupAdded, { from, predicate: (e) => e.data?.groupID === groupID });
  }
  for (const [sender, others] of [[alice, [bob, carol]], [bob, [alice, carol]]]) {
    const marks = others.map((o) => o.events.length);
    const sent = await sender.sendGroupText(groupID, `group hello from ${sender.userID}`);
    for (const [i, other] of others.entries()) {
      const got = await received(other, sent.clientMsgID, marks[i]);
      assert.equal(got.serverMsgID, sent.serverMsgID, safeJSON(got));
      assert.equal(got.groupID, groupID);
    }
  }
});

test('sync: every member has the same history, every message once, seqs gapless', async () => {
  const { a: alice, b: bob, c: carol } = clients;
  const single = singleConversationID(alice.userID, bob.userID);
  const ofA = await history(alice, single);
  assert.equal(ofA.length, 2, safeJSON(ofA));
  assertWhole(ofA, `A's ${single}`);
  assert.deepEqual(await historyWith(bob, single, ofA.map((m) => m.clientMsgID)), ofA, `B's ${single}`);
  const ofGroupA = await history(alice, `sg_${groupID}`);
  assertWhole(ofGroupA, "A's group");
  for (const client of [bob, carol]) {
    assert.deepEqual(await historyWith(client, `sg_${groupID}`, ofGroupA.map((m) => m.clientMsgID)), ofGroupA, `${client.userID}'s group`);
  }
});

test("SIGKILL of B's gateway: B reconnects through nginx to the other, resyncs to the same history, keeps chatting", async () => {
  const { a: alice, b: bob, c: carol } = clients;
  const victim = home[bob.userID];
  const marks = Object.fromEntries(Object.entries(clients).map(([k, cl]) => [k, cl.events.length]));
  await control('POST', `/kill/${victim}`);

  // A (on the survivor) goes on sending while B is cut off: 1:1 and in the group.
  const single = singleConversationID(alice.userID, bob.userID);
  const away = [];
  for (let i = 0; i < AWAY; i++) {
    away.push((await alice.sendText(bob.userID, `while away ${i}`)).clientMsgID);
    away.push((await alice.sendGroupText(groupID, `group while away ${i}`)).clientMsgID);
  }

  // B's SDK saw the socket close and reconnected (after its 5 s interval): nginx sent it to the survivor.
  await bob.waitForEvent(CbEvents.OnConnectSuccess, { from: marks.b, timeout: 20000 });
  const survivor = Object.keys(await gateways()).find((name) => name !== victim);
  const gws = await waitUntil(async () => {
    const now = await gateways();
    return now[survivor].onlineUsers === 3 ? now : null;
  }, { timeout: 20000, what: `all three users on ${survivor}` });
  assert.equal(gws[victim].alive, false, safeJSON(gws));

  // The same history as A's: what was sent while B was away is there, every message once, seqs gapless.
  const ofA = await history(alice, single);
  assert.equal(ofA.length, 2 + AWAY, safeJSON(ofA));
  assertWhole(ofA, `A's ${single}`);
  assert.deepEqual(await historyWith(bob, single, ofA.map((m) => m.clientMsgID)), ofA, `B's ${single} after the reconnect`);
  const ofGroupA = await history(alice, `sg_${groupID}`);
  assertWhole(ofGroupA, "A's group");
  for (const id of away) assert.ok([...ofA, ...ofGroupA].some((m) => m.clientMsgID === id), `A's history lacks ${id}`);
  for (const client of [bob, carol]) {
    assert.deepEqual(await historyWith(client, `sg_${groupID}`, ofGroupA.map((m) => m.clientMsgID)), ofGroupA, `${client.userID}'s group after the kill`);
  }

  // And the chat goes on: B → A 1:1, B → the group, A → B.
  let mark = alice.events.length;
  let sent = await bob.sendText(alice.userID, 'back again');
  assert.equal((await received(alice, sent.clientMsgID, mark)).serverMsgID, sent.serverMsgID);
  const [markA, markC] = [alice.events.length, carol.events.length];
  sent = await bob.sendGroupText(groupID, 'back in the group');
  await received(alice, sent.clientMsgID, markA);
  await received(carol, sent.clientMsgID, markC);
  mark = bob.events.length;
  sent = await alice.sendText(bob.userID, 'welcome back');
  assert.equal((await received(bob, sent.clientMsgID, mark)).serverMsgID, sent.serverMsgID);
  // The sender's SDK stores its own message's seq when the server's push of it comes back: wait for that.
  const final = await historyWith(alice, single, [sent.clientMsgID]);
  assert.equal(final.length, 2 + AWAY + 2, safeJSON(final));
  assertWhole(final, `A's ${single} at the end`);
  assert.deepEqual(await historyWith(bob, single, final.map((m) => m.clientMsgID)), final, `B's ${single} at the end`);
}, 60000);
