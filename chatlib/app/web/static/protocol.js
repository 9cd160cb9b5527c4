// The chat's wire protocol in JavaScript, sans-IO: frames to bytes and bytes to frames, no socket here.
// It mirrors the Python package chatlib/app/protocol; docs/PROTOCOL.md describes every byte.
// Every frame is: type (1 byte) | width W (1 byte: 1, 2 or 4) | length (W bytes, big-endian) | payload.
// A frame is a plain object whose `kind` names it as the Python dataclass does: {kind: "Say", text}.

export const FrameType = Object.freeze({
  HELLO: 0x01, ENTER_ROOM: 0x02, SAY: 0x03, IMAGE: 0x04, PONG: 0x05, BYE: 0x06,
  WELCOME: 0x81, ROOMS: 0x82, ENTERED: 0x83, MESSAGE: 0x84, ANNOUNCE: 0x85, ERROR: 0x86,
  CLOSING: 0x87, IMAGE_FROM: 0x88, HISTORY: 0x89, PING: 0x8a,
});

export const ErrorCode = Object.freeze({
  BAD_FRAME: 1, TOO_LARGE: 2, BAD_UTF8: 3, UNEXPECTED_FRAME: 4, PSEUDO_TAKEN: 5, BAD_PSEUDO: 6,
  BAD_ROOM: 7, RATE_LIMITED: 8, SERVER_FULL: 9, TIMEOUT: 10, BAD_IMAGE: 11, BAD_TOKEN: 12, TOO_SLOW: 13,
});

export const MAX_PSEUDO_LENGTH = 24; // characters
export const MAX_ROOM_LENGTH = 32; // characters
export const MAX_TEXT_BYTES = 4096;
export const MAX_IMAGE_BYTES = 2 * 1024 * 1024;
export const MAX_HISTORY_BYTES = 1024 * 1024;
export const MAX_STR8_BYTES = 255;
export const MAX_REASON_BYTES = 1024;
export const MAX_ROOMS_LISTED = 1000;

const STR8_FIELD = 1 + MAX_STR8_BYTES;
const TIME_FIELD = 8;
const ROOM_ENTRY = 1 + MAX_STR8_BYTES + 2;
const COLOR_PATTERN = /^#[0-9a-f]{6}$/;

// The largest payload of each frame type: a receiver checks the header against it before buffering.
export const MAX_PAYLOAD = Object.freeze({
  [FrameType.HELLO]: 2 * STR8_FIELD,
  [FrameType.ENTER_ROOM]: STR8_FIELD,
  [FrameType.SAY]: MAX_TEXT_BYTES,
  [FrameType.IMAGE]: MAX_IMAGE_BYTES,
  [FrameType.PONG]: 0,
  [FrameType.BYE]: 0,
  [FrameType.WELCOME]: 1 + 4 * STR8_FIELD,
  [FrameType.ROOMS]: 2 + MAX_ROOMS_LISTED * ROOM_ENTRY,
  [FrameType.ENTERED]: STR8_FIELD,
  [FrameType.MESSAGE]: TIME_FIELD + 2 * STR8_FIELD + MAX_TEXT_BYTES,
  [FrameType.ANNOUNCE]: TIME_FIELD + MAX_TEXT_BYTES,
  [FrameType.ERROR]: 1 + MAX_REASON_BYTES,
  [FrameType.CLOSING]: MAX_REASON_BYTES,
  [FrameType.IMAGE_FROM]: TIME_FIELD + 2 * STR8_FIELD + MAX_IMAGE_BYTES,
  [FrameType.HISTORY]: MAX_HISTORY_BYTES,
  [FrameType.PING]: 0,
});

/** The one error the codec throws; `code` is an ErrorCode, as in Python's ProtocolError. */
export class ProtocolError extends Error {
  constructor(code, message) {
    super(`${errorName(code)}: ${message}`);
    this.name = "ProtocolError";
    this.code = code;
    this.reason = message;
  }
}

/** The name of an error code ("PSEUDO_TAKEN"), or the number for a code this page does not know. */
export function errorName(code) {
  return Object.keys(ErrorCode).find((name) => ErrorCode[name] === code) ?? String(code);
}

function typeName(type) {
  return Object.keys(FrameType).find((name) => FrameType[name] === type) ?? `0x${type.toString(16)}`;
}

// --- Encoding ------------------------------------------------------------------------------------

const utf8Encoder = new TextEncoder();

/** Bytes of several pieces put end to end. */
export function concatBytes(pieces) {
  const total = pieces.reduce((sum, piece) => sum + piece.length, 0);
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const piece of pieces) {
    bytes.set(piece, offset);
    offset += piece.length;
  }
  return bytes;
}

/** The size of a text in UTF-8 bytes, as the limits count it. */
export function utf8Length(text) {
  return utf8Encoder.encode(text).length;
}

function str8(text) {
  const raw = utf8Encoder.encode(text);
  if (raw.length > MAX_STR8_BYTES) {
    throw new ProtocolError(ErrorCode.TOO_LARGE, `a short string is ${raw.length} bytes, over 255`);
  }
  return concatBytes([Uint8Array.of(raw.length), raw]);
}

function frameBytes(type, payload) {
  const length = payload.length;
  if (length > MAX_PAYLOAD[type]) {
    throw new ProtocolError(
      ErrorCode.TOO_LARGE, `${typeName(type)} payload is ${length} bytes, over ${MAX_PAYLOAD[type]}`);
  }
  const width = length < 0x100 ? 1 : length < 0x10000 ? 2 : 4;
  const header = new Uint8Array(2 + width);
  header[0] = type;
  header[1] = width;
  for (let i = 0; i < width; i++) {
    header[2 + i] = Math.floor(length / 256 ** (width - 1 - i)) % 256;
  }
  return concatBytes([header, payload]);
}

/** The bytes of one client frame on the wire, header included, with the smallest length width. */
export function encode(frame) {
  switch (frame.kind) {
    case "Hello":
      return frameBytes(FrameType.HELLO, concatBytes([str8(frame.pseudo), str8(frame.token ?? "")]));
    case "EnterRoom":
      return frameBytes(FrameType.ENTER_ROOM, str8(frame.room));
    case "Say":
      return frameBytes(FrameType.SAY, utf8Encoder.encode(frame.text));
    case "SendImage":
      return frameBytes(FrameType.IMAGE, new Uint8Array(frame.data));
    case "Pong":
      return frameBytes(FrameType.PONG, new Uint8Array(0));
    case "Bye":
      return frameBytes(FrameType.BYE, new Uint8Array(0));
    default:
      throw new TypeError(`not a client frame: ${frame.kind}`);
  }
}

// --- Decoding ------------------------------------------------------------------------------------

const utf8Decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Reads the fields of one payload in order, throwing ProtocolError on anything malformed. */
class PayloadReader {
  constructor(bytes, type) {
    this.bytes = bytes;
    this.offset = 0;
    this.type = type;
  }

  take(size, what) {
    const end = this.offset + size;
    if (end > this.bytes.length) {
      throw new ProtocolError(ErrorCode.BAD_FRAME, `${typeName(this.type)}: ${what} runs past the payload`);
    }
    const field = this.bytes.subarray(this.offset, end);
    this.offset = end;
    return field;
  }

  u8(what) {
    return this.take(1, what)[0];
  }

  u16(what) {
    const [high, low] = this.take(2, what);
    return high * 256 + low;
  }

  time() {
    const field = this.take(8, "time");
    return Number(new DataView(field.buffer, field.byteOffset, 8).getBigUint64(0));
  }

  str8(what) {
    return decodeUtf8(this.take(this.u8(what), what), what);
  }

  color() {
    const color = this.str8("color");
    if (!COLOR_PATTERN.test(color)) {
      throw new ProtocolError(ErrorCode.BAD_FRAME, `${typeName(this.type)}: color ${color} is not #rrggbb`);
    }
    return color;
  }

  restText(what) {
    return decodeUtf8(this.take(this.bytes.length - this.offset, what), what);
  }

  restBlob() {
    return this.take(this.bytes.length - this.offset, "data").slice();
  }

  end() {
    if (this.offset !== this.bytes.length) {
      const extra = this.bytes.length - this.offset;
      throw new ProtocolError(ErrorCode.BAD_FRAME, `${typeName(this.type)}: ${extra} bytes too many at the end`);
    }
  }
}

function decodeUtf8(bytes, what) {
  try {
    return utf8Decoder.decode(bytes);
  } catch {
    throw new ProtocolError(ErrorCode.BAD_UTF8, `${what} is not valid UTF-8`);
  }
}

function ended(frame, fields) {
  fields.end();
  return frame;
}

const PARSERS = {
  [FrameType.HELLO]: (f) => ended({ kind: "Hello", pseudo: f.str8("pseudo"), token: f.str8("token") }, f),
  [FrameType.ENTER_ROOM]: (f) => ended({ kind: "EnterRoom", room: f.str8("room") }, f),
  [FrameType.SAY]: (f) => ({ kind: "Say", text: f.restText("text") }),
  [FrameType.IMAGE]: (f) => ({ kind: "SendImage", data: f.restBlob() }),
  [FrameType.PONG]: (f) => ended({ kind: "Pong" }, f),
  [FrameType.BYE]: (f) => ended({ kind: "Bye" }, f),
  [FrameType.WELCOME]: (f) => {
    const flags = f.u8("flags");
    const frame = {
      kind: "Welcome", userId: f.str8("user_id"), pseudo: f.str8("pseudo"), color: f.color(),
      token: f.str8("token"), returning: Boolean(flags & 1),
    };
    return ended(frame, f);
  },
  [FrameType.ROOMS]: (f) => {
    const count = f.u16("room count");
    const rooms = [];
    for (let i = 0; i < count; i++) {
      rooms.push({ name: f.str8("room name"), members: f.u16("member count") });
    }
    return ended({ kind: "RoomList", rooms }, f);
  },
  [FrameType.ENTERED]: (f) => ended({ kind: "RoomEntered", room: f.str8("room") }, f),
  [FrameType.MESSAGE]: (f) => ({
    kind: "Message", timeMs: f.time(), pseudo: f.str8("pseudo"), color: f.color(), text: f.restText("text"),
  }),
  [FrameType.ANNOUNCE]: (f) => ({ kind: "Announcement", timeMs: f.time(), text: f.restText("text") }),
  [FrameType.ERROR]: (f) => {
    const code = f.u8("error code");
    if (!Object.values(ErrorCode).includes(code)) {
      throw new ProtocolError(ErrorCode.BAD_FRAME, `ERROR: unknown error code ${code}`);
    }
    return { kind: "Error", code, text: f.restText("text") };
  },
  [FrameType.CLOSING]: (f) => ({ kind: "Closing", reason: f.restText("reason") }),
  [FrameType.IMAGE_FROM]: (f) => ({
    kind: "ImageFrom", timeMs: f.time(), pseudo: f.str8("pseudo"), color: f.color(), data: f.restBlob(),
  }),
  [FrameType.HISTORY]: (f) => ({ kind: "History", entriesJson: f.restText("history") }),
  [FrameType.PING]: (f) => ended({ kind: "Ping" }, f),
};

/**
 * Turns bytes, cut any way at all, into frames: one decoder per connection and direction.
 * `fromSide` names who sends the bytes: the page decodes the server's with new FrameDecoder("server").
 * Each header is checked as soon as it arrives; after an error the decoder stays failed.
 */
export class FrameDecoder {
  constructor(fromSide = "server") {
    if (fromSide !== "client" && fromSide !== "server") {
      throw new TypeError(`fromSide must be "client" or "server", not ${fromSide}`);
    }
    this.fromSide = fromSide;
    this.chunks = []; // bytes received and not yet part of a whole frame
    this.pendingBytes = 0;
    this.bytesNeeded = 0; // how many pending bytes complete the frame in progress, once known
    this.failure = null;
  }

  /** Take the bytes that arrived (a Uint8Array) and return every frame they complete, in order. */
  feed(data) {
    if (this.failure) {
      throw this.failure;
    }
    let bytes = data;
    if (this.pendingBytes) {
      this.chunks.push(data);
      this.pendingBytes += data.length;
      if (this.pendingBytes < this.bytesNeeded) {
        return []; // a large payload still arriving: just collect it
      }
      bytes = concatBytes(this.chunks);
    }
    const frames = [];
    let offset = 0;
    this.bytesNeeded = 0;
    try {
      for (;;) {
        const header = this.checkHeader(bytes, offset);
        if (header === null) {
          break;
        }
        if (header.payloadEnd > bytes.length) {
          this.bytesNeeded = header.payloadEnd - offset;
          break;
        }
        const payload = bytes.subarray(header.payloadStart, header.payloadEnd);
        frames.push(PARSERS[header.type](new PayloadReader(payload, header.type)));
        offset = header.payloadEnd;
      }
    } catch (error) {
      if (error instanceof ProtocolError) {
        this.failure = error;
        this.chunks = [];
        this.pendingBytes = 0;
        error.framesBefore = frames;
      }
      throw error;
    }
    const rest = bytes.slice(offset);
    this.chunks = rest.length ? [rest] : [];
    this.pendingBytes = rest.length;
    return frames;
  }

  /** Check as much of the header at `offset` as has arrived; null if it is not complete yet. */
  checkHeader(bytes, offset) {
    const available = bytes.length - offset;
    if (available < 1) {
      return null;
    }
    const type = bytes[offset];
    const fromServer = type >= 0x80;
    if (!(type in PARSERS)) {
      throw new ProtocolError(ErrorCode.BAD_FRAME, `unknown frame type 0x${type.toString(16).padStart(2, "0")}`);
    }
    if (fromServer !== (this.fromSide === "server")) {
      throw new ProtocolError(
        ErrorCode.UNEXPECTED_FRAME, `${typeName(type)} is not a frame the ${this.fromSide} sends`);
    }
    if (available < 2) {
      return null;
    }
    const width = bytes[offset + 1];
    if (width !== 1 && width !== 2 && width !== 4) {
      throw new ProtocolError(ErrorCode.BAD_FRAME, `length width must be 1, 2 or 4, not ${width}`);
    }
    if (available < 2 + width) {
      return null;
    }
    let length = 0;
    for (let i = 0; i < width; i++) {
      length = length * 256 + bytes[offset + 2 + i];
    }
    if (length > MAX_PAYLOAD[type]) {
      throw new ProtocolError(
        ErrorCode.TOO_LARGE, `${typeName(type)} of ${length} bytes is over its limit of ${MAX_PAYLOAD[type]}`);
    }
    const payloadStart = offset + 2 + width;
    return { type, payloadStart, payloadEnd: payloadStart + length };
  }
}

// --- The HISTORY frame's JSON --------------------------------------------------------------------

const ENTRY_KINDS = ["message", "announce", "image"];

/** Decode and check a HISTORY payload: {room, entries: [{kind, timeMs, text, pseudo, color}]}. */
export function parseHistory(payload) {
  let documentValue;
  try {
    documentValue = JSON.parse(payload);
  } catch (error) {
    throw new Error(`the history is not valid JSON: ${error.message}`);
  }
  if (!isObject(documentValue) || typeof documentValue.room !== "string" || !Array.isArray(documentValue.entries)) {
    throw new Error("the history needs a 'room' string and an 'entries' list");
  }
  return { room: documentValue.room, entries: documentValue.entries.map(historyEntry) };
}

function historyEntry(record) {
  if (!isObject(record)) {
    throw new Error("an entry is not a JSON object");
  }
  if (!ENTRY_KINDS.includes(record.kind)) {
    throw new Error(`unknown entry kind ${JSON.stringify(record.kind)}`);
  }
  const timeMs = field(record, "time_ms", "number");
  const text = field(record, "text", "string");
  if (record.kind === "announce") {
    return { kind: "announce", timeMs, text, pseudo: "", color: "" };
  }
  const pseudo = field(record, "pseudo", "string");
  const color = field(record, "color", "string");
  if (!COLOR_PATTERN.test(color)) {
    throw new Error(`color ${JSON.stringify(color)} is not #rrggbb`);
  }
  return { kind: record.kind, timeMs, text, pseudo, color };
}

function field(record, name, type) {
  const value = record[name];
  if (typeof value !== type || (type === "number" && !(Number.isInteger(value) && value >= 0))) {
    throw new Error(`field '${name}' is missing or not a ${type === "number" ? "whole number" : type}`);
  }
  return value;
}

function isObject(value) {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
