// The link to the chat server: a WebSocket carrying the protocol's frames in binary messages.
// The frames are the same bytes as over TCP (docs/PROTOCOL.md, "WebSocket transport").

import { FrameDecoder, ProtocolError, encode } from "./protocol.js";

export const WEBSOCKET_PATH = "/chat";
// The server takes messages of 64 KiB at most: a larger frame (an image) goes in several pieces.
export const MAX_MESSAGE_BYTES = 64 * 1024;

/** The WebSocket address of the server that served this page (ws: or wss: as the page is http: or https:). */
export function serverUrl(location) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}${WEBSOCKET_PATH}`;
}

/** One connection to the server: frames out, frames in, and a call when it ends. */
export class ServerLink {
  /**
   * @param {string} url
   * @param {{onOpen: () => void, onFrame: (frame: object) => void, onClose: (problem: string|null) => void}} handlers
   */
  constructor(url, handlers) {
    this.handlers = handlers;
    this.decoder = new FrameDecoder("server");
    this.closed = false;
    this.socket = new WebSocket(url);
    this.socket.binaryType = "arraybuffer";
    this.socket.addEventListener("open", () => handlers.onOpen());
    this.socket.addEventListener("message", (event) => this.received(event.data));
    this.socket.addEventListener("close", () => this.ended(null));
  }

  get isOpen() {
    return !this.closed && this.socket.readyState === WebSocket.OPEN;
  }

  /** Send one frame; false if the connection is not open. */
  send(frame) {
    if (!this.isOpen) {
      return false;
    }
    const bytes = encode(frame);
    for (let start = 0; start < bytes.length; start += MAX_MESSAGE_BYTES) {
      this.socket.send(bytes.subarray(start, start + MAX_MESSAGE_BYTES));
    }
    return true;
  }

  /** Close the connection (after what was sent). */
  close() {
    this.socket.close(1000);
  }

  received(data) {
    if (this.closed || !(data instanceof ArrayBuffer)) {
      return;
    }
    let frames;
    try {
      frames = this.decoder.feed(new Uint8Array(data));
    } catch (error) {
      if (!(error instanceof ProtocolError)) {
        throw error;
      }
      error.framesBefore.forEach((frame) => this.handlers.onFrame(frame));
      this.ended(`the server sent something unreadable (${error.message})`);
      this.socket.close(1002);
      return;
    }
    frames.forEach((frame) => this.handlers.onFrame(frame));
  }

  ended(problem) {
    if (!this.closed) {
      this.closed = true;
      this.handlers.onClose(problem);
    }
  }
}

/** Waits that grow between reconnection attempts: 0.5 s, 1 s, 2 s... up to 10 s, each a little random. */
export class Backoff {
  constructor(firstMs = 500, mostMs = 10_000) {
    this.firstMs = firstMs;
    this.mostMs = mostMs;
    this.attempts = 0;
  }

  /** How long to wait before the next attempt, in milliseconds. */
  next() {
    const base = Math.min(this.mostMs, this.firstMs * 2 ** this.attempts);
    this.attempts += 1;
    return Math.round(base * (0.8 + 0.4 * Math.random())); // many pages do not all come back at once
  }

  reset() {
    this.attempts = 0;
  }
}
