// Offline push with OpenIM's pure-JS SDK (@openim/client-sdk) in Node, the server started with the push webhook
// provider (push.enable: webhook) pointed at a small app server in this process. A text the SDK sends, with its
// offlinePushInfo, to a user who is logged out reaches the app server with OpenIM's fields; while that user is
// logged in on Android, the same kind of message produces no push; after it logs out, pushes resume.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before } from 'node:test';

import { CbEvents, JsClient, closeAllSockets, currentLog, resetLog } from './lib/client-sdk.mjs';
import { Rest } from './lib/rest.mjs';
import { scenario } from './lib/scenario.mjs';
import { startServer } from './lib/server.mjs';
import { installWatchdog, sleep, singleConversationID, uniqueID, waitUntil } from './lib/util.mjs';

installWatchdog(3 * 60 * 1000, 'push.test.mjs');

const ANDROID = 2;

let server;
let rest;
let receiver;
const pushes = []; // bodies the app server received

before(async () => {
  receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      pushes.push(JSON.parse(body));
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{"errCode":0}');
    });
  });
  await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${receiver.address().port}/offline-push`;
  server = await startServer({ env: { OPENIM_PUSH_ENABLE: 'webhook', OPENIM_PUSH_WEBHOOK_URL: url } });
  rest = new Rest(server);
});

after(async () => {
  closeAllSockets();
  await server?.stop();
  receiver?.close();
});

function test(name, fn, timeout = 60000) {
  return scenario(
    name,
    async (ctx) => {
      resetLog();
      await fn(ctx);
    },
    { timeout, server: () => server, diagnostics: () => `${currentLog().format('what the SDK sent and received')}\npushes: ${JSON.stringify(pushes)}` },
  );
}

const pushOf = (clientMsgID) => pushes.find((p) => p.clientMsgID === clientMsgID);

async function sendText(client, recvID, text, offlinePushInfo) {
  const message = await client.call('createTextMessage', text);
  return client.call('sendMessage', { recvID, groupID: '', message, offlinePushInfo });
}

test('a message to a logged-out user is pushed to the app server with OpenIM fields, none while logged in', async ({ defer }) => {
  const [a, b, marker] = [uniqueID('pa'), uniqueID('pb'), uniqueID('pm')];
  const tokens = await rest.usersWithTokens([a, marker]);
  await rest.userRegister([{ userID: b, nickname: `nick ${b}` }]);
  const bToken = await rest.getUserToken(b, ANDROID);
  const alice = new JsClient(server, a, tokens[a]);
  defer(() => alice.logout());
  await alice.login();

  // b has never logged in: one push, OpenIM's fields, the SDK's offlinePushInfo.
  const info = { title: 'Alice', desc: 'sent you a text', ex: '{"k":1}', iOSPushSound: 'chime.caf', iOSBadgeCount: true };
  const first = await sendText(alice, b, 'are you there?', info);
  const push = await waitUntil(() => pushOf(first.clientMsgID), { what: 'the push of the first message' });
  assert.equal(push.callbackCommand, 'callbackOfflinePushCommand');
  assert.deepEqual(push.userIDList, [b]);
  assert.equal(push.sendID, a);
  assert.equal(push.contentType, 101);
  assert.equal(push.sessionType, 1);
  assert.equal(push.conversationID, singleConversationID(a, b));
  assert.equal(push.serverMsgID, first.serverMsgID);
  assert.ok(push.seq >= 1);
  assert.equal(JSON.parse(push.content).content, 'are you there?');
  assert.deepEqual(
    [push.title, push.desc, push.ex, push.iOSPushSound, push.iOSBadgeCount, push.pushTitle, push.pushContent],
    ['Alice', 'sent you a text', '{"k":1}', 'chime.caf', true, 'Alice', 'sent you a text'],
  );
  assert.deepEqual(push.badges, { [b]: 1 });
  assert.equal(push.platformID, 5);

  // b logs in on Android: the message reaches the phone online, and no push is made for it.
  const bob = new JsClient(server, b, bToken, { platformID: ANDROID });
  defer(() => bob.logout());
  await bob.login();
  const from = bob.events.length;
  const online = await sendText(alice, b, 'now online');
  await bob.waitForEvent(CbEvents.OnRecvNewMessages, {
    from,
    predicate: (e) => (e.data ?? []).some((m) => m.clientMsgID === online.clientMsgID),
  });
  const mark = await sendText(alice, marker, 'marker'); // an offline user's push: jobs before it were handled
  await waitUntil(() => pushOf(mark.clientMsgID), { what: 'the marker push' });
  await sleep(500);
  assert.equal(pushOf(online.clientMsgID), undefined, 'a user logged in on Android got an offline push');

  // b logs out: pushes resume.
  await bob.logout();
  await sleep(300);
  const later = await sendText(alice, b, 'gone again');
  const again = await waitUntil(() => pushOf(later.clientMsgID), { what: 'the push after logout' });
  assert.deepEqual(again.userIDList, [b]);
  // The SDK fills a default offlinePushInfo ("you hava a new message.", badge counted) when given none.
  assert.equal(again.pushTitle, again.title);
  assert.deepEqual(again.badges, { [b]: 2 }); // iOSBadgeCount: the first push counted 1, this one 2
});
