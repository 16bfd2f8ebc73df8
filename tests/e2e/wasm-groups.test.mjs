// Groups with @openim/wasm-client-sdk: OpenIM's Go core as WebAssembly in Debian's headless Chromium (issue 4,
// "Tests"): A creates a group with B and C (C never logs in), B gets OnJoinedGroupAdded, the member list shows all
// three on both pages (the Go core fills its local database from the member sync), A's group text reaches B and
// is in B's history. Then, while B is logged out, A invites D into the group and creates a second group with B;
// B logs in again on the same page and its core, which keeps its sync versions in its local database, gets both
// through incremental sync after login: its requests carry the versionIDs it kept, the server answers deltas
// (full=false, the new group and the new member inserted), and the new member fires OnGroupMemberAdded.
import assert from 'node:assert/strict';
import { after, before } from 'node:test';

import { Rest } from './lib/rest.mjs';
import { scenario } from './lib/scenario.mjs';
import { startServer } from './lib/server.mjs';
import { TimeoutError, installWatchdog, safeJSON, textOf, uniqueID, waitUntil } from './lib/util.mjs';
import { WasmBrowser } from './lib/wasm-sdk.mjs';

installWatchdog(4 * 60 * 1000, 'wasm-groups.test.mjs');

const SESSION_GROUP = 3;
const ROLE_OWNER = 100;
const ROLE_MEMBER = 20;

let server;
let rest;
let browser;
let ids;
let tokens;
const pages = {}; // userID → WasmClient, created once, shared by the tests below
const loginErrors = {}; // userID → the first login failure, so later tests fail at once instead of timing out
let group = null; // the group the first test creates, used by the second

before(async () => {
  server = await startServer();
  rest = new Rest(server);
  browser = await WasmBrowser.launch();
  ids = { a: uniqueID('wga'), b: uniqueID('wgb'), c: uniqueID('wgc'), d: uniqueID('wgd') };
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
      await client.login({ timeout: Object.values(loginErrors).some((e) => e instanceof TimeoutError) ? 10000 : 30000 });
    } catch (err) {
      loginErrors[userID] = err;
      throw err;
    }
  }
  return pages[userID];
}

/** userID → roleLevel once `client`'s member list of the group (its local copy) has `count` members. */
async function memberRoles(client, groupID, count) {
  let members = [];
  await waitUntil(
    async () => {
      members = (await client.call('getGroupMemberList', { groupID, filter: 0, offset: 0, count: 100 })) ?? [];
      return members.length === count;
    },
    { timeout: 15000, what: `${client.userID}'s member list of ${groupID} to have ${count} members`, describe: () => safeJSON(members.map((m) => [m.userID, m.roleLevel])) },
  );
  return Object.fromEntries(members.map((m) => [m.userID, m.roleLevel]));
}

/** The calls `client`'s page made on `route` since `since` (ms): [{request, data}], both parsed. */
function syncCalls(client, route, since) {
  return client.httpCalls
    .filter((c) => c.route === route && c.at >= since)
    .map((c) => {
      try {
        return { request: JSON.parse(c.request), data: JSON.parse(c.answer).data };
      } catch {
        return { request: c.request, data: c.answer };
      }
    });
}

function joined(client, groupID, from) {
  return client.waitForEvent('OnJoinedGroupAdded', { from, predicate: (e) => e.data?.groupID === groupID });
}

test("wasm: A creates a group with B and C: B gets OnJoinedGroupAdded, both list three members, A's text reaches B", async () => {
  const alice = await loggedIn(ids.a);
  const bob = await loggedIn(ids.b);
  const fromB = bob.events.length;
  const name = `wasm group ${uniqueID('n')}`;
  group = await alice.call('createGroup', { memberUserIDs: [ids.b, ids.c], groupInfo: { groupName: name, groupType: 2 }, adminUserIDs: [] });
  assert.ok(group?.groupID, `createGroup answered no groupID: ${safeJSON(group)}`);
  assert.equal(group.groupName, name, safeJSON(group));
  assert.equal(group.ownerUserID, ids.a, safeJSON(group));
  assert.equal(group.memberCount, 3, safeJSON(group));
  const gid = group.groupID;

  const ev = await joined(bob, gid, fromB);
  assert.equal(ev.data.groupName, name, safeJSON(ev.data));

  const expected = { [ids.a]: ROLE_OWNER, [ids.b]: ROLE_MEMBER, [ids.c]: ROLE_MEMBER };
  assert.deepEqual(await memberRoles(alice, gid, 3), expected, "A's member list");
  assert.deepEqual(await memberRoles(bob, gid, 3), expected, "B's member list");

  const fromB2 = bob.events.length;
  const text = `wasm group hello ${uniqueID('m')}`;
  const sent = await alice.sendGroupText(gid, text);
  assert.ok(sent.serverMsgID, `sendMessage resolved without serverMsgID: ${safeJSON(sent)}`);
  const got = await bob.waitForEvent('OnRecvNewMessages', { from: fromB2, predicate: (e) => (e.data ?? []).some((m) => m.clientMsgID === sent.clientMsgID) });
  const msg = got.data.find((m) => m.clientMsgID === sent.clientMsgID);
  assert.equal(msg.serverMsgID, sent.serverMsgID);
  assert.equal(msg.groupID, gid);
  assert.equal(msg.sessionType, SESSION_GROUP);
  assert.equal(textOf(msg), text);

  let list = [];
  await waitUntil(
    async () => {
      const res = await bob.call('getAdvancedHistoryMessageList', { conversationID: `sg_${gid}`, count: 20, startClientMsgID: '', lastMinSeq: 0, viewType: 0 });
      list = res?.messageList ?? [];
      return list.some((m) => m.clientMsgID === sent.clientMsgID);
    },
    { timeout: 10000, what: `B's history of sg_${gid} to hold A's text`, describe: () => safeJSON(list.map((m) => [m.seq, m.contentType, textOf(m)])) },
  );
});

test('wasm: B logs out; A invites D and creates another group with B; B logs in again and syncs both incrementally', async () => {
  assert.ok(group, 'needs the group of the previous test');
  const alice = await loggedIn(ids.a);
  const bob = await loggedIn(ids.b);
  await bob.logout();

  await alice.call('inviteUserToGroup', { groupID: group.groupID, reason: 'welcome', userIDList: [ids.d] });
  const name = `wasm second ${uniqueID('n')}`;
  const second = await alice.call('createGroup', { memberUserIDs: [ids.b], groupInfo: { groupName: name, groupType: 2 }, adminUserIDs: [] });

  // The same page: the core reopens its local database, with the versions it synced before.
  const from = bob.events.length;
  const since = Date.now();
  await bob.login({ timeout: 30000 });
  // The new group is in B's local list. (No OnJoinedGroupAdded is promised: the core's message sync may store the
  // group first, from the conversation of its 1501 copy, and the join-group delta then finds it known.)
  let joinedGroups = [];
  await waitUntil(
    async () => {
      joinedGroups = (await bob.call('getJoinedGroupList')) ?? [];
      return joinedGroups.some((g) => g.groupID === second.groupID && g.groupName === name);
    },
    { timeout: 15000, what: `B's joined groups to hold ${second.groupID}`, describe: () => safeJSON(joinedGroups.map((g) => [g.groupID, g.groupName])) },
  );
  const member = await bob.waitForEvent('OnGroupMemberAdded', { from, predicate: (e) => e.data?.groupID === group.groupID && e.data?.userID === ids.d });
  assert.equal(member.data.roleLevel, ROLE_MEMBER, safeJSON(member.data));
  assert.equal((await memberRoles(bob, group.groupID, 4))[ids.d], ROLE_MEMBER);

  // Deltas, not full syncs: the core asked from the versionIDs it kept and the server could answer them.
  const kept = /^[0-9a-f]{24}$/;
  const joins = syncCalls(bob, '/group/get_incremental_join_groups', since);
  assert.ok(
    joins.some((c) => kept.test(c.request?.versionID) && c.data?.full === false && (c.data.insert ?? []).some((g) => g.groupID === second.groupID)),
    `B's joined-group sync after login was not incremental: ${safeJSON(joins)}`,
  );
  const members = syncCalls(bob, '/group/get_incremental_group_members_batch', since);
  const delta = (c) => c.data?.respList?.[group.groupID];
  assert.ok(
    members.some(
      (c) =>
        (c.request?.reqList ?? []).some((r) => r.groupID === group.groupID && kept.test(r.versionID)) &&
        delta(c)?.full === false &&
        (delta(c).insert ?? []).some((m) => m.userID === ids.d),
    ),
    `B's member sync after login was not incremental: ${safeJSON(members)}`,
  );
});
