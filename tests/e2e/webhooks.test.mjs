// Webhooks as an app sees them through OpenIM's pure-JS SDK (issue 10): a receiver on loopback refuses messages
// containing "spam" in beforeSendSingleMsg (the SDK's sendMessage fails with the receiver's errCode and errMsg, and
// nothing reaches B) and rewrites "darn" in beforeMsgModify (B's SDK receives the rewritten text).
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before } from 'node:test';

import { CbEvents, JsClient, SdkCallError, closeAllSockets, currentLog, resetLog } from './lib/client-sdk.mjs';
import { Rest } from './lib/rest.mjs';
import { scenario } from './lib/scenario.mjs';
import { startServer } from './lib/server.mjs';
import { freePort, installWatchdog, singleConversationID, uniqueID } from './lib/util.mjs';

installWatchdog(3 * 60 * 1000, 'webhooks.test.mjs');

const ALLOW = { actionCode: 0, errCode: 0, errMsg: '', errDlt: '', nextCode: 0 };
const calls = []; // {command, body}

/** The app server's webhook receiver: refuses spam, rewrites "darn", records every call. */
function receiver() {
  return http.createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk) => (raw += chunk));
    req.on('end', () => {
      const body = JSON.parse(raw);
      const command = req.url.split('?')[0].split('/').pop();
      calls.push({ command, body });
      const answer = { ...ALLOW };
      if (command === 'callbackBeforeSendSingleMsgCommand' && body.content.includes('spam')) {
        Object.assign(answer, { nextCode: 1, errCode: 5001, errMsg: 'no spam here', errDlt: 'rule 7' });
      } else if (command === 'callbackBeforeMsgModifyCommand' && body.contentType === 101) {
        const text = JSON.parse(body.content).content;
        answer.content = JSON.stringify({ content: text.replaceAll('darn', 'd**n') });
      }
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(answer));
    });
  });
}

let server;
let rest;
let hooks;

before(async () => {
  const port = await freePort();
  hooks = receiver();
  await new Promise((resolve) => hooks.listen(port, '127.0.0.1', resolve));
  server = await startServer({
    env: {
      OPENIM_WEBHOOKS_URL: `http://127.0.0.1:${port}/callbackExample`,
      OPENIM_WEBHOOKS_BEFORESENDSINGLEMSG_ENABLE: 'true',
      OPENIM_WEBHOOKS_BEFOREMSGMODIFY_ENABLE: 'true',
    },
  });
  rest = new Rest(server);
});

after(async () => {
  closeAllSockets();
  await server?.stop();
  hooks?.close();
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

async function loggedIn(defer, userID, token) {
  const client = new JsClient(server, userID, token);
  defer(() => client.logout());
  await client.login({ timeout: 20000 });
  return client;
}

function textOf(message) {
  return message?.textElem?.content ?? JSON.parse(message?.content ?? '{}').content;
}

test("a refusing beforeSendSingleMsg fails the SDK's sendMessage with the receiver's errCode", async ({ defer }) => {
  const [a, b] = [uniqueID('alice'), uniqueID('bob')];
  const tokens = await rest.usersWithTokens([a, b]);
  const alice = await loggedIn(defer, a, tokens[a]);
  const bob = await loggedIn(defer, b, tokens[b]);
  const from = bob.events.length;
  await assert.rejects(alice.sendText(b, 'buy spam now'), (err) => {
    assert.ok(err instanceof SdkCallError, String(err));
    assert.equal(err.errCode, 5001);
    assert.equal(err.errMsg, 'no spam here');
    return true;
  });
  const refused = calls.filter((c) => c.command === 'callbackBeforeSendSingleMsgCommand' && c.body.sendID === a);
  assert.equal(refused.length, 1);
  assert.equal(refused[0].body.recvID, b);
  const fine = await alice.sendText(b, 'hello');
  const ev = await bob.waitForEvent(CbEvents.OnRecvNewMessages, {
    from,
    predicate: (e) => (e.data ?? []).some((m) => m.serverMsgID === fine.serverMsgID),
  });
  const received = bob.events.slice(from).flatMap((e) => (e.event === CbEvents.OnRecvNewMessages ? e.data ?? [] : []));
  assert.deepEqual(received.map(textOf), ['hello'], 'B got the allowed message only');
  assert.ok(ev);
}, 60000);

test('beforeMsgModify changes what the receiving SDK gets', async ({ defer }) => {
  const [a, b] = [uniqueID('alice'), uniqueID('bob')];
  const tokens = await rest.usersWithTokens([a, b]);
  const alice = await loggedIn(defer, a, tokens[a]);
  const bob = await loggedIn(defer, b, tokens[b]);
  const from = bob.events.length;
  const sent = await alice.sendText(b, 'darn it');
  assert.ok(sent.serverMsgID);
  const ev = await bob.waitForEvent(CbEvents.OnRecvNewMessages, {
    from,
    predicate: (e) => (e.data ?? []).some((m) => m.serverMsgID === sent.serverMsgID),
  });
  const got = ev.data.find((m) => m.serverMsgID === sent.serverMsgID);
  assert.equal(textOf(got), 'd**n it');
  const history = await bob.call('getAdvancedHistoryMessageList', {
    conversationID: singleConversationID(a, b),
    count: 10,
    startClientMsgID: '',
    viewType: 0,
  });
  assert.deepEqual(history.messageList.map(textOf), ['d**n it']);
});
