// Pictures with @openim/wasm-client-sdk (OpenIM's Go core as WebAssembly, in headless Chromium): the core uploads
// the file with its own code (part_limit → md5 per part → initiate_multipart_upload → PUT to the signed URLs →
// auth_sign for parts past the first 20 → complete_multipart_upload) and sends the image message; the receiver's
// message carries URLs that download the same bytes, and its 640×640 snapshot URL a thumbnail (issue 9).
import assert from 'node:assert/strict';
import { after, before } from 'node:test';

import { Rest } from './lib/rest.mjs';
import { scenario } from './lib/scenario.mjs';
import { startServer } from './lib/server.mjs';
import { installWatchdog, safeJSON, uniqueID, waitUntil } from './lib/util.mjs';
import { WasmBrowser } from './lib/wasm-sdk.mjs';

installWatchdog(5 * 60 * 1000, 'wasm-media.test.mjs');

const PART = 64 * 1024; // object.minPartSize of this server: a picture of ~1.4 MB is ~22 parts

let server;
let rest;
let browser;
let ids;
let tokens;
const pages = {};

before(async () => {
  server = await startServer({ env: { OPENIM_OBJECT_MINPARTSIZE: String(PART) } });
  rest = new Rest(server);
  browser = await WasmBrowser.launch();
  ids = { a: uniqueID('ma'), b: uniqueID('mb') };
  tokens = await rest.usersWithTokens(Object.values(ids));
});

after(async () => {
  for (const client of Object.values(pages)) await client.logout();
  await browser?.close();
  await server?.stop();
});

function diagnostics() {
  const consoles = Object.values(pages).map((c) => c.consoleTail(40));
  return [browser?.log.format('what the wasm SDK sent and received'), ...consoles].join('\n');
}

function test(name, fn, timeout = 180000) {
  return scenario(name, async (ctx) => {
    browser.resetLog();
    await fn(ctx);
  }, { timeout, server: () => server, diagnostics });
}

async function loggedIn(userID) {
  if (!pages[userID]) {
    const client = await browser.newClient(server, userID, tokens[userID]);
    pages[userID] = client;
    await client.login({ timeout: 30000 });
  }
  return pages[userID];
}

/** In the sender's page: a noise PNG drawn on a canvas, sent as an image message by File; its bytes (base64). */
async function sendNoisePicture(client, recvID, width, height) {
  const res = await client.page.evaluate(
    async ([recvID, width, height]) => {
      try {
        const canvas = new OffscreenCanvas(width, height);
        const ctx = canvas.getContext('2d');
        const image = ctx.createImageData(width, height);
        for (let i = 0; i < image.data.length; i += 65536) crypto.getRandomValues(image.data.subarray(i, i + 65536));
        for (let i = 3; i < image.data.length; i += 4) image.data[i] = 255; // opaque: PNG keeps every byte
        ctx.putImageData(image, 0, 0);
        const blob = await canvas.convertToBlob({ type: 'image/png' });
        const bytes = new Uint8Array(await blob.arrayBuffer());
        let binary = '';
        for (let i = 0; i < bytes.length; i += 32768) binary += String.fromCharCode(...bytes.subarray(i, i + 32768));
        const file = new File([blob], 'noise.png', { type: 'image/png' });
        const pic = { uuid: crypto.randomUUID(), type: 'image/png', size: file.size, width, height, url: '' };
        const created = await window.sdk.createImageMessageByFile({
          sourcePicture: pic,
          bigPicture: { ...pic },
          snapshotPicture: { ...pic },
          sourcePath: '',
          file,
        });
        const sent = await window.sdk.sendMessage({ recvID, groupID: '', message: created.data });
        return { ok: true, base64: btoa(binary), sent: sent.data };
      } catch (err) {
        return { ok: false, error: err instanceof Error ? err.message : JSON.stringify(err) };
      }
    },
    [recvID, width, height],
  );
  assert.ok(res.ok, `sending the picture failed: ${safeJSON(res.error)}`);
  return { bytes: Buffer.from(res.base64, 'base64'), sent: res.sent };
}

async function download(url) {
  const res = await fetch(url, { redirect: 'follow', signal: AbortSignal.timeout(15000) });
  assert.equal(res.status, 200, `GET ${url}: HTTP ${res.status} ${await res.clone().text()}`);
  return { type: res.headers.get('content-type'), body: Buffer.from(await res.arrayBuffer()) };
}

/** Width and height from a PNG's IHDR chunk. */
function pngSize(buf) {
  assert.equal(buf.subarray(1, 4).toString('latin1'), 'PNG', 'a PNG');
  return [buf.readUInt32BE(16), buf.readUInt32BE(20)];
}

test('A sends a picture by File: the core uploads it in parts; B downloads the same bytes and a 640 thumbnail', async () => {
  const alice = await loggedIn(ids.a);
  const bob = await loggedIn(ids.b);
  const from = bob.events.length;
  const { bytes, sent } = await sendNoisePicture(alice, ids.b, 800, 600);
  assert.ok(bytes.length > 20 * PART, `the picture spans more parts than signed at initiation (${bytes.length} bytes)`);
  const source = sent.pictureElem.sourcePicture.url;
  assert.match(source, new RegExp(`^${server.apiAddr}/object/${ids.a}/`), source);

  // The core's own upload: part_limit, initiate, more signatures, completion — each answered errCode 0.
  // (The page's answers are recorded asynchronously: wait for the last one.)
  const routes = ['/object/part_limit', '/object/initiate_multipart_upload', '/object/auth_sign', '/object/complete_multipart_upload'];
  await waitUntil(() => routes.every((r) => alice.httpCalls.some((c) => c.route === r)), {
    timeout: 5000,
    what: 'the upload calls',
    describe: () => alice.httpCalls.map((c) => c.route).join(','),
  });
  for (const route of routes) {
    const call = alice.httpCalls.find((c) => c.route === route);
    assert.equal(JSON.parse(call.answer).errCode, 0, `${route}: ${call.answer}`);
  }
  const puts = alice.httpCalls.filter((c) => c.route.startsWith('/storage/')).length;
  assert.equal(puts, Math.ceil(bytes.length / PART), 'one PUT per part');

  let got;
  await waitUntil(
    () => {
      for (const e of bob.events.slice(from)) {
        if (e.event !== 'OnRecvNewMessages') continue;
        got = (e.data ?? []).find((m) => m.clientMsgID === sent.clientMsgID) ?? got;
      }
      return Boolean(got);
    },
    { timeout: 20000, what: `${ids.b} to receive the picture`, describe: () => bob.eventNames(from).join(',') },
  );
  assert.equal(got.contentType, 102);
  const elem = got.pictureElem;
  assert.equal(elem.sourcePicture.url, source);
  const original = await download(elem.sourcePicture.url);
  assert.equal(original.type, 'image/png');
  assert.ok(original.body.equals(bytes), `downloaded ${original.body.length} bytes, sent ${bytes.length}`);
  assert.ok((await download(elem.bigPicture.url)).body.equals(bytes));
  const snapshot = await download(elem.snapshotPicture.url);
  assert.match(elem.snapshotPicture.url, /type=image/);
  assert.deepEqual(pngSize(snapshot.body), [640, 480], 'the snapshot is scaled into 640×640');
});

test('uploadFile of the same bytes twice: the second is an instant upload (no part PUT)', async () => {
  const alice = await loggedIn(ids.a);
  alice.httpCalls.length = 0;
  // The core keeps no copy of the bytes: upload a file by the SDK's uploadFile twice and compare the calls.
  const res = await alice.page.evaluate(async () => {
    const data = new Uint8Array(3 * 64 * 1024 + 7);
    crypto.getRandomValues(data.subarray(0, 65536));
    crypto.getRandomValues(data.subarray(65536, 131072));
    const file = new File([data], 'twice.bin', { type: 'application/octet-stream' });
    const one = await window.sdk.uploadFile({ name: 'twice-1.bin', contentType: 'application/octet-stream', uuid: crypto.randomUUID(), file });
    const two = await window.sdk.uploadFile({ name: 'twice-2.bin', contentType: 'application/octet-stream', uuid: crypto.randomUUID(), file });
    let binary = '';
    for (let i = 0; i < data.length; i += 32768) binary += String.fromCharCode(...data.subarray(i, i + 32768));
    return { one: one.data.url, two: two.data.url, base64: btoa(binary) };
  });
  const bytes = Buffer.from(res.base64, 'base64');
  assert.ok(res.one.endsWith(`/object/${ids.a}/twice-1.bin`), res.one);
  assert.ok(res.two.endsWith(`/object/${ids.a}/twice-2.bin`), res.two);
  const initiations = () => alice.httpCalls.filter((c) => c.route === '/object/initiate_multipart_upload');
  await waitUntil(() => initiations().length >= 2, { timeout: 5000, what: 'both initiations recorded' });
  const inits = initiations().slice(-2);
  assert.ok(JSON.parse(inits[0].answer).data.upload, 'the first upload had parts to send');
  assert.equal(JSON.parse(inits[1].answer).data.upload, null, 'the second was answered at once');
  for (const url of [res.one, res.two]) assert.ok((await download(url)).body.equals(bytes), url);
});
