// Pictures and files with @openim/client-sdk (pure JS, in Node): an image message by URL (the picture uploaded
// through /object the way the SDKs do it) and a file message by File, which the SDK uploads itself. The receiver's
// message carries URLs that download the same bytes (issue 9).
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before } from 'node:test';

import { JsClient, closeAllSockets, currentLog, resetLog } from './lib/client-sdk.mjs';
import { Rest } from './lib/rest.mjs';
import { scenario } from './lib/scenario.mjs';
import { startServer } from './lib/server.mjs';
import { installWatchdog, safeJSON, uniqueID, waitUntil } from './lib/util.mjs';

installWatchdog(3 * 60 * 1000, 'client-sdk-media.test.mjs');

// The SDK reads files with the browser's FileReader (to md5 the parts), which Node lacks: a minimal one.
if (!globalThis.FileReader) {
  globalThis.FileReader = class FileReader {
    readAsArrayBuffer(blob) {
      blob.arrayBuffer().then(
        (result) => {
          this.result = result;
          this.onload?.({ target: this });
          this.onloadend?.({ target: this });
        },
        (error) => {
          this.error = error;
          this.onerror?.({ target: this });
        },
      );
    }
  };
}

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
  return scenario(name, async (ctx) => {
    resetLog();
    await fn(ctx);
  }, { timeout, server: () => server, diagnostics: () => currentLog().format('what the SDK sent and received') });
}

async function pair(defer) {
  const ids = [uniqueID('ja'), uniqueID('jb')];
  const tokens = await rest.usersWithTokens(ids);
  const clients = [];
  for (const id of ids) {
    const client = new JsClient(server, id, tokens[id]);
    defer(() => client.logout());
    await client.login({ timeout: 20000 });
    clients.push(client);
  }
  return { ids, tokens, clients };
}

const md5 = (data) => createHash('md5').update(data).digest('hex');

/** The SDKs' upload over REST: one part (smaller than minPartSize), its md5, the md5 of that md5, PUT, complete. */
async function upload(token, name, data, contentType) {
  const limit = await rest.post('/object/part_limit', {}, token);
  assert.ok(data.length <= limit.minPartSize);
  const parts = [md5(data)];
  const req = { hash: md5(parts.join(',')), size: data.length, partSize: limit.minPartSize, maxParts: 1, name, contentType, cause: 'msg-picture' };
  const init = await rest.post('/object/initiate_multipart_upload', req, token);
  const put = await fetch(init.upload.sign.parts[0].url, { method: 'PUT', body: data, signal: AbortSignal.timeout(15000) });
  assert.equal(put.status, 200, await put.text());
  const done = await rest.post('/object/complete_multipart_upload', { uploadID: init.upload.uploadID, parts, name, contentType }, token);
  return done.url;
}

async function download(url) {
  const res = await fetch(url, { redirect: 'follow', signal: AbortSignal.timeout(15000) });
  assert.equal(res.status, 200, `GET ${url}: HTTP ${res.status}`);
  return Buffer.from(await res.arrayBuffer());
}

async function received(client, clientMsgID, from) {
  let got;
  await waitUntil(
    () => {
      for (const e of client.events.slice(from)) {
        if (e.event !== 'OnRecvNewMessages') continue;
        got = (e.data ?? []).find((m) => m.clientMsgID === clientMsgID) ?? got;
      }
      return Boolean(got);
    },
    { timeout: 20000, what: `${client.userID} to receive ${clientMsgID}`, describe: () => safeJSON(client.events.slice(from).map((e) => e.event)) },
  );
  return got;
}

test('image message by URL: B gets the URLs and they download the uploaded bytes', async ({ defer }) => {
  const { ids, tokens, clients } = await pair(defer);
  const [alice, bob] = clients;
  // A tiny real PNG (1×1, red).
  const picture = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de0000000c4944415408d763f8cfc000000301010018dd8db00000000049454e44ae426082', 'hex');
  const url = await upload(tokens[ids[0]], `${ids[0]}/red.png`, picture, 'image/png');
  const pic = { uuid: uniqueID('pic'), type: 'image/png', size: picture.length, width: 1, height: 1, url };
  const message = await alice.call('createImageMessageByURL', { sourcePicture: pic, bigPicture: pic, snapshotPicture: pic, sourcePath: '' });
  const from = bob.events.length;
  // A message whose files are already uploaded goes by sendMessageNotOss (sendMessage looks for the File).
  const sent = await alice.call('sendMessageNotOss', { recvID: ids[1], groupID: '', message });
  const got = await received(bob, sent.clientMsgID, from);
  assert.equal(got.contentType, 102);
  assert.equal(got.pictureElem.sourcePicture.url, url);
  assert.ok((await download(got.pictureElem.sourcePicture.url)).equals(picture));
});

test('file message by File: the SDK uploads it; B downloads the same bytes', async ({ defer }) => {
  const { ids, clients } = await pair(defer);
  const [alice, bob] = clients;
  const data = randomBytes(300 * 1024);
  const file = new File([data], 'report.bin', { type: 'application/octet-stream' });
  const uuid = uniqueID('file');
  const message = await alice.call('createFileMessageByFile', {
    filePath: '', fileName: 'report.bin', uuid, sourceUrl: '', fileSize: data.length, fileType: 'bin', file,
  });
  const from = bob.events.length;
  const sent = await alice.call('sendMessage', { recvID: ids[1], groupID: '', message });
  const got = await received(bob, sent.clientMsgID, from);
  assert.equal(got.contentType, 105);
  assert.equal(got.fileElem.fileName, 'report.bin');
  assert.match(got.fileElem.sourceUrl, new RegExp(`/object/${ids[0]}/`), got.fileElem.sourceUrl);
  assert.ok((await download(got.fileElem.sourceUrl)).equals(data), 'same bytes');
});
