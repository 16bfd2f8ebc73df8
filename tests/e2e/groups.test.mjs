// Groups, friends and incremental sync with OpenIM's pure-JS SDK, @openim/client-sdk, in Node.js (issue 4, "Tests").
// A creates a group with B and C: B and C get OnJoinedGroupAdded, the member list shows all three, A's group text
// reaches B and C, B's conversation list shows sg_<groupID>; a friend request A→B that B accepts puts each in the
// other's friend list; a kicked member stops receiving; what changed while a client was offline (a new group, a
// new member, a new friend, a group message) reaches it through incremental sync when it is back.
// The SDK reacts to the notifications of docs/protocol/messages.md §6 (1501 GroupCreated, 1508 MemberKicked,
// 1509 MemberInvited, 1201/1203 friend application) by calling the incremental routes of docs/protocol/rest.md §6.
import assert from 'node:assert/strict';
import { after, before } from 'node:test';

import { CbEvents, JsClient, closeAllSockets, currentLog, resetLog, setOffline } from './lib/client-sdk.mjs';
import { Rest } from './lib/rest.mjs';
import { scenario } from './lib/scenario.mjs';
import { startServer } from './lib/server.mjs';
import { TimeoutError, installWatchdog, safeJSON, sleep, textOf, uniqueID, waitUntil } from './lib/util.mjs';

installWatchdog(4 * 60 * 1000, 'groups.test.mjs');

const SESSION_GROUP = 3; // sessionType of group chat (ReadGroupChat)
const CONTENT_TEXT = 101;
const ROLE_OWNER = 100;
const ROLE_MEMBER = 20;

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

function test(name, fn, timeout = 60000) {
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

let loginTimedOut = false; // after one login timed out, later ones get a short bound (see client-sdk.test.mjs)

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

/** A creates a group with `members` through the SDK (create_group); returns the GroupItem it answers. */
async function createGroup(owner, members, groupName) {
  const group = await owner.call('createGroup', { memberUserIDs: members, groupInfo: { groupName, groupType: 2 }, adminUserIDs: [] });
  assert.ok(group?.groupID, `createGroup answered no groupID: ${safeJSON(group)}`);
  return group;
}

/** Waits for OnJoinedGroupAdded of `groupID` at `client` (events from index `from` on). */
function joined(client, groupID, from) {
  return client.waitForEvent(CbEvents.OnJoinedGroupAdded, { from, predicate: (e) => e.data?.groupID === groupID });
}

/** The message with `clientMsgID` once `client` reports it in OnRecvNewMessages (events from `from` on). */
async function received(client, clientMsgID, from) {
  const ev = await client.waitForEvent(CbEvents.OnRecvNewMessages, {
    from,
    predicate: (e) => (e.data ?? []).some((m) => m.clientMsgID === clientMsgID),
  });
  return ev.data.find((m) => m.clientMsgID === clientMsgID);
}

/** userID → roleLevel of the group's members as `client`'s getGroupMemberList (the server's list) shows them. */
async function memberRoles(client, groupID) {
  const members = await client.call('getGroupMemberList', { groupID, filter: 0, offset: 0, count: 100 });
  return Object.fromEntries((members ?? []).map((m) => [m.userID, m.roleLevel]));
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

/** The clientMsgIDs `userID` pulls from sg_<groupID> over REST (/msg/pull_msg_by_seq, seqs 1..100). */
async function pullGroup(userID, token, groupID) {
  const conversationID = `sg_${groupID}`;
  const body = { userID, seqRanges: [{ conversationID, begin: 1, end: 100, num: 100 }], order: 0 };
  const data = await rest.post('/msg/pull_msg_by_seq', body, token);
  return (data?.msgs?.[conversationID]?.Msgs ?? []).map((m) => m.clientMsgID);
}

/** The friend IDs `client`'s getFriendListPage (the server's list) shows. */
async function friendIDs(client) {
  const friends = await client.call('getFriendListPage', { offset: 0, count: 100 });
  return (friends ?? []).map((f) => f.userID);
}

test("A creates a group with B and C: both get OnJoinedGroupAdded, three members, A's text reaches both, B lists sg_<groupID>", async ({ defer }) => {
  const [[a, b, c], tokens] = await freshUsers('owner', 'bob', 'carol');
  const alice = await loggedIn(defer, a, tokens[a]);
  const bob = await loggedIn(defer, b, tokens[b]);
  const carol = await loggedIn(defer, c, tokens[c]);
  const [fromB, fromC] = [bob.events.length, carol.events.length];
  const name = `group ${uniqueID('n')}`;

  const group = await createGroup(alice, [b, c], name);
  const gid = group.groupID;
  assert.equal(group.groupName, name, safeJSON(group));
  assert.equal(group.ownerUserID, a, safeJSON(group));
  assert.equal(group.groupType, 2, safeJSON(group));
  assert.equal(group.memberCount, 3, safeJSON(group));

  // 1501 GroupCreated → the SDK asks get_incremental_join_groups from its synced version → insert → the event.
  for (const [client, from] of [
    [bob, fromB],
    [carol, fromC],
  ]) {
    const ev = await joined(client, gid, from);
    assert.equal(ev.data.groupName, name, safeJSON(ev.data));
    assert.equal(ev.data.ownerUserID, a, safeJSON(ev.data));
  }

  const expected = { [a]: ROLE_OWNER, [b]: ROLE_MEMBER, [c]: ROLE_MEMBER };
  assert.deepEqual(await memberRoles(alice, gid), expected, "A's member list");
  assert.deepEqual(await memberRoles(bob, gid), expected, "B's member list");

  const [fromB2, fromC2] = [bob.events.length, carol.events.length];
  const text = `hello group ${uniqueID('m')}`;
  const sent = await alice.sendGroupText(gid, text);
  assert.ok(sent.serverMsgID, `sendMessage resolved without serverMsgID: ${safeJSON(sent)}`);
  for (const [client, from] of [
    [bob, fromB2],
    [carol, fromC2],
  ]) {
    const got = await received(client, sent.clientMsgID, from);
    assert.equal(got.serverMsgID, sent.serverMsgID, safeJSON(got));
    assert.equal(got.sendID, a);
    assert.equal(got.groupID, gid);
    assert.equal(got.sessionType, SESSION_GROUP);
    assert.equal(got.contentType, CONTENT_TEXT);
    assert.equal(textOf(got), text);
    assert.ok(got.seq >= 1, `seq ${got.seq}`);
  }

  const conv = await listedConversation(bob, `sg_${gid}`, (x) => String(x.latestMsg).includes(sent.clientMsgID), "A's text as latestMsg");
  assert.equal(conv.conversationType, SESSION_GROUP, safeJSON(conv));
  assert.equal(conv.groupID, gid, safeJSON(conv));
  assert.equal(textOf(JSON.parse(conv.latestMsg)), text);
  assert.ok(conv.unreadCount >= 1, `unreadCount ${conv.unreadCount}`);
});

test("friend request A→B, B accepts: B gets the application, A the acceptance, each is in the other's friend list", async ({ defer }) => {
  const [[a, b], tokens] = await freshUsers('alice', 'bob');
  const alice = await loggedIn(defer, a, tokens[a]);
  const bob = await loggedIn(defer, b, tokens[b]);
  const [fromA, fromB] = [alice.events.length, bob.events.length];

  await alice.call('addFriend', { toUserID: b, reqMsg: 'hi, B' });
  // 1203 FriendApplication → the SDK reads get_designated_friend_apply → OnFriendApplicationAdded.
  const application = await bob.waitForEvent(CbEvents.OnFriendApplicationAdded, { from: fromB, predicate: (e) => e.data?.fromUserID === a });
  assert.equal(application.data.toUserID, b, safeJSON(application.data));
  assert.equal(application.data.reqMsg, 'hi, B', safeJSON(application.data));
  assert.equal(application.data.handleResult, 0, safeJSON(application.data));
  const inbox = await bob.call('getFriendApplicationListAsRecipient', { offset: 0, count: 20 });
  assert.deepEqual((inbox ?? []).map((r) => [r.fromUserID, r.handleResult]), [[a, 0]], safeJSON(inbox));

  await bob.call('acceptFriendApplication', { toUserID: a, handleMsg: 'welcome' });
  // 1201 FriendApplicationApproved → the SDK reads the request (accepted) and syncs friends incrementally.
  const accepted = await alice.waitForEvent(CbEvents.OnFriendApplicationAccepted, { from: fromA, predicate: (e) => e.data?.toUserID === b });
  assert.equal(accepted.data.handleResult, 1, safeJSON(accepted.data));
  // B's SDK syncs its friends after accepting: the new friend comes as an insert of get_incremental_friends. (A's
  // SDK would do the same on 1201, but 0.0.14 hands Promise.all an async function it never calls, so A learns of
  // its new friend only from the lists below.)
  const added = await bob.waitForEvent(CbEvents.OnFriendAdded, { from: fromB, predicate: (e) => e.data?.userID === a });
  assert.equal(added.data.ownerUserID, b, safeJSON(added.data));

  assert.deepEqual(await friendIDs(alice), [b], "A's friend list");
  assert.deepEqual(await friendIDs(bob), [a], "B's friend list");
  const checked = await alice.call('checkFriend', [b]);
  assert.deepEqual(checked, [{ result: 1, userID: b }], safeJSON(checked));
});

test('a kicked member stops receiving: C kicked from the group gets OnJoinedGroupDeleted, then no group message', async ({ defer }) => {
  const [[a, b, c], tokens] = await freshUsers('owner', 'bob', 'carol');
  const alice = await loggedIn(defer, a, tokens[a]);
  const bob = await loggedIn(defer, b, tokens[b]);
  const carol = await loggedIn(defer, c, tokens[c]);
  const [fromB, fromC] = [bob.events.length, carol.events.length];
  const group = await createGroup(alice, [b, c], `kick ${uniqueID('n')}`);
  const gid = group.groupID;
  await joined(bob, gid, fromB);
  await joined(carol, gid, fromC);

  // C receives while a member (the control for what follows).
  const before = await alice.sendGroupText(gid, 'before the kick');
  await received(carol, before.clientMsgID, fromC);

  const [fromB2, fromC2] = [bob.events.length, carol.events.length];
  await alice.call('kickGroupMember', { groupID: gid, userIDList: [c], reason: 'bye' });
  // 1508 MemberKicked: the kicked user re-syncs its joined groups (delete → OnJoinedGroupDeleted), the others
  // drop the member (OnGroupMemberDeleted).
  await carol.waitForEvent(CbEvents.OnJoinedGroupDeleted, { from: fromC2, predicate: (e) => e.data?.groupID === gid });
  await bob.waitForEvent(CbEvents.OnGroupMemberDeleted, { from: fromB2, predicate: (e) => e.data?.userID === c && e.data?.groupID === gid });
  assert.deepEqual(await memberRoles(alice, gid), { [a]: ROLE_OWNER, [b]: ROLE_MEMBER }, 'member list after the kick');

  const fromC3 = carol.events.length;
  const afterKick = await alice.sendGroupText(gid, 'after the kick');
  await received(bob, afterKick.clientMsgID, fromB2);
  await sleep(1500); // B has it; a push to C would have arrived by now as well
  const leaked = carol.events.slice(fromC3).filter((e) => e.event === CbEvents.OnRecvNewMessages && safeJSON(e.data, 1e6).includes(afterKick.clientMsgID));
  assert.deepEqual(leaked, [], 'the kicked member received a group message sent after the kick');

  // Nor can C pull it: its view of the group ends where it was kicked. (Asked over REST with C's token: the JS
  // SDK's history of a group reads the sender's member info, which a former member may not — 1002, as OpenIM.)
  const pulled = await pullGroup(c, tokens[c], gid);
  assert.ok(pulled.includes(before.clientMsgID), `C's pull lost the message from before the kick: ${safeJSON(pulled)}`);
  assert.ok(!pulled.includes(afterKick.clientMsgID), `C's pull shows the message sent after the kick: ${safeJSON(pulled)}`);
});

test('changes made while B was offline reach B through incremental sync when it is back: new group, new member, new friend, group message', async ({ defer }) => {
  const [[a, b, c], tokens] = await freshUsers('alice', 'bob', 'carol');
  const alice = await loggedIn(defer, a, tokens[a]);
  const bob = await loggedIn(defer, b, tokens[b]);
  defer(() => setOffline(b, false));
  const fromB = bob.events.length;
  const g1 = (await createGroup(alice, [b], `first ${uniqueID('n')}`)).groupID;
  await joined(bob, g1, fromB); // B's SDK now holds versions of its joined groups and of g1's members

  const offlineFrom = bob.events.length;
  setOffline(b);

  // While B is away: a group with B, a new member in g1, A and B made friends by the app server, a message.
  const g2Name = `second ${uniqueID('n')}`;
  const g2 = (await createGroup(alice, [b], g2Name)).groupID;
  await alice.call('inviteUserToGroup', { groupID: g1, reason: 'join us', userIDList: [c] });
  await rest.post('/friend/import_friend', { ownerUserID: a, friendUserIDs: [b] });
  const missed = await alice.sendGroupText(g1, `while you were away ${uniqueID('m')}`);

  setOffline(b, false);
  // The SDK reconnects (every 5 s) and syncs from the versions it holds: deltas, not full lists, so each change
  // surfaces as an event (a full answer would carry no insert lists and fire none).
  await bob.waitForEvent(CbEvents.OnSyncServerFinish, { from: offlineFrom, timeout: 20000 });
  const g2Added = await joined(bob, g2, offlineFrom);
  assert.equal(g2Added.data.groupName, g2Name, safeJSON(g2Added.data));
  const member = await bob.waitForEvent(CbEvents.OnGroupMemberAdded, { from: offlineFrom, predicate: (e) => e.data?.groupID === g1 && e.data?.userID === c });
  assert.equal(member.data.roleLevel, ROLE_MEMBER, safeJSON(member.data));
  await bob.waitForEvent(CbEvents.OnFriendAdded, { from: offlineFrom, predicate: (e) => e.data?.userID === a });
  await listedConversation(bob, `sg_${g1}`, (x) => String(x.latestMsg).includes(missed.clientMsgID), 'the message sent while B was offline');

  // And a fresh login (the JS SDK keeps nothing between logins) sees the same state through its full sync.
  await bob.logout();
  const again = await loggedIn(defer, b, await rest.getUserToken(b));
  const groups = await again.call('getJoinedGroupListPage', { offset: 0, count: 100 });
  assert.deepEqual((groups ?? []).map((g) => g.groupID).sort(), [g1, g2].sort(), safeJSON(groups));
  assert.deepEqual(await friendIDs(again), [a], "B's friend list after a fresh login");
}, 90000);
