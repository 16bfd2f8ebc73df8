// What went over the wire, for failure reports: decoders for the gateway's envelopes (JSON for sdkType=js, gzip +
// Go gob for the wasm core), a schema-less protobuf dump (`protoc --decode_raw` style), and a bounded log.
import { gunzipSync } from 'node:zlib';

import { safeJSON } from './util.mjs';

const REQ_NAMES = {
  1001: 'GetNewestSeq',
  1002: 'PullMsgByRange',
  1003: 'SendMsg',
  1004: 'SendSignalMsg',
  1005: 'PullMsgBySeqList',
  1006: 'GetConvMaxReadSeq',
  1007: 'PullConvLastMessage',
  2001: 'PushMsg',
  2002: 'KickOnlineMsg',
  2003: 'LogoutMsg',
  2004: 'SetBackgroundStatus',
  2005: 'SubUserOnlineStatus',
};

export const reqName = (id) => `${id} ${REQ_NAMES[id] ?? '?'}`;

// --- protobuf, without a schema ------------------------------------------------------------------------------

function readVarint(buf, pos) {
  let value = 0;
  let mul = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= buf.length) throw new Error('truncated varint');
    const b = buf[pos++];
    value += (b & 0x7f) * mul;
    if (b < 0x80) return [value, pos];
    mul *= 128;
  }
  throw new Error('varint too long');
}

function parseProto(buf) {
  const fields = [];
  let pos = 0;
  while (pos < buf.length) {
    let key;
    [key, pos] = readVarint(buf, pos);
    const field = Math.floor(key / 8);
    const wire = key % 8;
    if (field < 1) throw new Error('field 0');
    if (wire === 0) {
      let v;
      [v, pos] = readVarint(buf, pos);
      fields.push([field, v]);
    } else if (wire === 1 || wire === 5) {
      const n = wire === 1 ? 8 : 4;
      if (pos + n > buf.length) throw new Error('truncated fixed');
      fields.push([field, `0x${Buffer.from(buf.subarray(pos, pos + n)).toString('hex')}`]);
      pos += n;
    } else if (wire === 2) {
      let n;
      [n, pos] = readVarint(buf, pos);
      if (pos + n > buf.length) throw new Error('truncated bytes');
      fields.push([field, buf.subarray(pos, pos + n)]);
      pos += n;
    } else {
      throw new Error(`wire type ${wire}`);
    }
  }
  return fields;
}

function printable(bytes) {
  const text = Buffer.from(bytes).toString('utf8');
  // eslint-disable-next-line no-control-regex
  return !text.includes('\ufffd') && !/[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/.test(text) ? text : null;
}

/** A compact text form of protobuf bytes: `{1:"userA" 2:{2:"si_a_b" 3:[1,2]}}`; strings first, then nested. */
export function protoText(bytes, depth = 0) {
  if (!bytes || bytes.length === 0) return '{}';
  let fields;
  try {
    fields = parseProto(bytes);
  } catch {
    return `0x${Buffer.from(bytes).toString('hex').slice(0, 200)}`;
  }
  const parts = fields.map(([field, v]) => {
    if (typeof v !== 'object') return `${field}:${v}`;
    const text = v.length ? printable(v) : '';
    if (text !== null) return `${field}:${JSON.stringify(text.length > 300 ? `${text.slice(0, 300)}…` : text)}`;
    if (depth < 8) {
      try {
        parseProto(v);
        return `${field}:${protoText(v, depth + 1)}`;
      } catch {
        // not a message: packed varints, or opaque bytes
      }
    }
    try {
      const nums = [];
      for (let pos = 0; pos < v.length; ) {
        let n;
        [n, pos] = readVarint(v, pos);
        nums.push(n);
      }
      return `${field}:[${nums.join(',')}]`;
    } catch {
      return `${field}:0x${Buffer.from(v).toString('hex').slice(0, 200)}`;
    }
  });
  return `{${parts.join(' ')}}`;
}

// --- Go gob (one self-contained stream per frame) --------------------------------------------------------------

class GobReader {
  constructor(buf) {
    this.buf = buf;
    this.pos = 0;
  }
  byte() {
    if (this.pos >= this.buf.length) throw new Error('gob: truncated');
    return this.buf[this.pos++];
  }
  uint() {
    const c = this.byte();
    if (c < 128) return c;
    const n = 256 - c;
    if (n > 8) throw new Error('gob: bad uint');
    let v = 0;
    for (let i = 0; i < n; i++) v = v * 256 + this.byte();
    return v;
  }
  int() {
    const u = this.uint();
    return u % 2 ? -Math.floor(u / 2) - 1 : Math.floor(u / 2);
  }
  bytes() {
    const n = this.uint();
    if (this.pos + n > this.buf.length) throw new Error('gob: truncated bytes');
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  string() {
    return Buffer.from(this.bytes()).toString('utf8');
  }
  /** A struct: calls handlers[fieldIndex](reader) for each field present, until the 0 terminator. */
  struct(handlers) {
    let field = -1;
    for (;;) {
      const delta = this.uint();
      if (delta === 0) return;
      field += delta;
      const handler = handlers[field];
      if (!handler) throw new Error(`gob: unexpected field ${field}`);
      handler(this);
    }
  }
}

function readStructType(r) {
  const def = { name: '', id: 0, fields: [] };
  r.struct([
    (r1) =>
      r1.struct([
        (r2) => {
          def.name = r2.string();
        },
        (r2) => {
          def.id = r2.int();
        },
      ]),
    (r1) => {
      const count = r1.uint();
      for (let i = 0; i < count; i++) {
        const f = { name: '', id: 0 };
        r1.struct([
          (r2) => {
            f.name = r2.string();
          },
          (r2) => {
            f.id = r2.int();
          },
        ]);
        def.fields.push(f);
      }
    },
  ]);
  return def;
}

function readGobValue(r, typeId, types) {
  switch (typeId) {
    case 1:
      return r.uint() !== 0;
    case 2:
      return r.int();
    case 3:
      return r.uint();
    case 5:
      return Buffer.from(r.bytes());
    case 6:
      return r.string();
    default: {
      const def = types.get(typeId);
      if (!def) throw new Error(`gob: unsupported type id ${typeId}`);
      const out = { __type: def.name };
      let field = -1;
      for (;;) {
        const delta = r.uint();
        if (delta === 0) return out;
        field += delta;
        const f = def.fields[field];
        if (!f) throw new Error(`gob: field ${field} not in ${def.name}`);
        out[f.name] = readGobValue(r, f.id, types);
      }
    }
  }
}

/** Decodes one gob stream holding struct type definitions and one struct value; returns that value. */
export function decodeGob(buf) {
  const r = new GobReader(buf);
  const types = new Map();
  let value;
  while (r.pos < buf.length) {
    const len = r.uint();
    const end = r.pos + len;
    const id = r.int();
    if (id < 0) {
      const wire = {};
      r.struct([
        () => {
          throw new Error('gob: ArrayT unsupported');
        },
        () => {
          throw new Error('gob: SliceT unsupported');
        },
        (r1) => {
          wire.struct = readStructType(r1);
        },
      ]);
      types.set(-id, wire.struct);
    } else {
      value = readGobValue(r, id, types);
      if (value && typeof value === 'object') Object.defineProperty(value, '__typeId', { value: id });
    }
    r.pos = end;
  }
  return value;
}

// --- envelopes ------------------------------------------------------------------------------------------------

function summarizeEnvelope(env, dataBytes) {
  const id = env.reqIdentifier ?? env.ReqIdentifier;
  const parts = [reqName(id)];
  const msgIncr = env.msgIncr ?? env.MsgIncr;
  if (msgIncr) parts.push(`msgIncr=${msgIncr}`);
  const operationID = env.operationID ?? env.OperationID;
  if (operationID) parts.push(`op=${operationID}`);
  const errCode = env.errCode ?? env.ErrCode;
  if (errCode !== undefined) parts.push(`errCode=${errCode}`);
  const errMsg = env.errMsg ?? env.ErrMsg;
  if (errMsg) parts.push(`errMsg=${JSON.stringify(errMsg)}`);
  const sendID = env.sendID ?? env.SendID;
  if (sendID) parts.push(`sendID=${sendID}`);
  parts.push(`data(${dataBytes ? dataBytes.length : 0}B)=${protoText(dataBytes)}`);
  return parts.join(' ');
}

/** A one-line description of a frame of the JSON envelope (sdkType=js). */
export function describeJsonFrame(data) {
  if (typeof data === 'string') return `text ${data.length > 500 ? `${data.slice(0, 500)}…` : data}`;
  const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer ?? data, data.byteOffset ?? 0, data.byteLength ?? data.length);
  const text = Buffer.from(bytes).toString('utf8');
  try {
    const env = JSON.parse(text);
    const payload = env.data ? Buffer.from(env.data, 'base64') : null;
    return `binary json ${summarizeEnvelope(env, payload)}`;
  } catch {
    return `binary (${bytes.length}B, not JSON) ${printable(bytes) ?? `0x${Buffer.from(bytes).toString('hex').slice(0, 200)}`}`;
  }
}

/** A one-line description of a frame of the gob envelope (Go core / wasm), gunzipped first when it is gzip. */
export function describeGobFrame(data) {
  if (typeof data === 'string') return `text ${data.length > 500 ? `${data.slice(0, 500)}…` : data}`;
  let bytes = Buffer.from(data);
  let how = 'gob';
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = gunzipSync(bytes);
      how = 'gzip+gob';
    } catch (err) {
      return `binary (${bytes.length}B) bad gzip: ${err.message}`;
    }
  }
  try {
    const env = decodeGob(bytes);
    return `binary ${how} ${summarizeEnvelope(env, env.Data)}`;
  } catch (err) {
    return `binary ${how} (${bytes.length}B) undecodable: ${err.message}: 0x${bytes.toString('hex').slice(0, 200)}`;
  }
}

// --- the log --------------------------------------------------------------------------------------------------

/** A bounded, time-stamped log of what one test saw: frames, HTTP calls, SDK events, console lines. */
export class WireLog {
  constructor(limit = 400) {
    this.limit = limit;
    this.entries = [];
    this.t0 = Date.now();
    this.dropped = 0;
  }
  add(who, what, detail = '') {
    const line = `${String(Date.now() - this.t0).padStart(6)} ms ${who.padEnd(10)} ${what}${detail ? ` ${detail}` : ''}`;
    this.entries.push(line);
    if (this.entries.length > this.limit) {
      this.entries.shift();
      this.dropped++;
    }
  }
  event(who, name, payload) {
    this.add(who, `event ${name}`, payload === undefined ? '' : safeJSON(payload, 600));
  }
  format(title = 'wire log') {
    const head = this.dropped ? ` (first ${this.dropped} entries dropped)` : '';
    return `--- ${title}${head} ---\n${this.entries.join('\n')}\n--- end of ${title} ---`;
  }
}
