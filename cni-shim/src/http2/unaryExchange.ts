// One HTTP/2 request and its response as a client on a fresh connection: the whole of HTTP/2 a
// gRPC unary call needs, as a state machine over bytes (no I/O here, so that it can be driven by a
// socket, by tests, and by the build's code-cache training). Stream 1 is the only stream.
import {
  CONNECTION_PREFACE, DEFAULT_MAX_FRAME_SIZE, DEFAULT_WINDOW_SIZE, encodeFrame, errorCodeName, Flag, framePayloadContent, FrameReader,
  FrameType, Http2ProtocolError, MAX_WINDOW_SIZE, Setting, settingsPayload, windowUpdatePayload, type Frame,
} from './frames.ts';
import { encodeHeaderBlock, HpackDecoder, HpackError, type HeaderList } from './hpack.ts';
import { HuffmanError } from './huffman.ts';

export interface ExchangeRequest {
  /** Request headers, pseudo-headers first, names in lower case. */
  readonly headers: readonly (readonly [string, string])[];
  readonly body: Uint8Array;
  /** A response body beyond this is refused (the peer may send it all: the window is opened wide). */
  readonly maxResponseBytes?: number;
}

/** Header values by name; a repeated name's values joined with ",". Pseudo-headers included. */
export type HeaderRecord = Record<string, string>;

export type Http2Result =
  | { readonly kind: 'response'; readonly headers: HeaderRecord; readonly trailers: HeaderRecord | undefined; readonly body: Buffer }
  /** Nothing (complete) came back: no connection, connection lost, stream reset, server going away. */
  | { readonly kind: 'unavailable'; readonly detail: string }
  | { readonly kind: 'timeout'; readonly detail: string }
  /** The peer broke HTTP/2 (or sent more than allowed): not worth retrying. */
  | { readonly kind: 'protocol'; readonly detail: string };

const STREAM_ID = 1;
const DEFAULT_MAX_RESPONSE_BYTES = 16 * 1024 * 1024;
const MAX_HEADER_BLOCK_BYTES = 1024 * 1024;

interface PartialHeaderBlock { readonly flags: number; readonly parts: Buffer[]; size: number }

/** Where the exchange's bytes go and where its one result goes; `done` is called at most once. */
export interface ExchangeIo {
  send(bytes: Buffer): void;
  done(result: Http2Result): void;
}

/**
 * The client side of one request on stream 1, without I/O: start() gives the bytes to write
 * first, receive() takes what the server sent. The socket lives in unaryRequest.ts.
 */
export class UnaryExchange {
  private readonly frames = new FrameReader(DEFAULT_MAX_FRAME_SIZE);
  private readonly hpack = new HpackDecoder();
  private readonly maxResponseBytes: number;
  private settled = false;

  // Sending: flow-control windows and frame size as the server allows them.
  private connectionWindow = DEFAULT_WINDOW_SIZE;
  private streamWindow = DEFAULT_WINDOW_SIZE;
  private peerInitialWindow = DEFAULT_WINDOW_SIZE;
  private peerMaxFrameSize = DEFAULT_MAX_FRAME_SIZE;
  private unsent: Uint8Array;
  private endStreamSent = false;

  // Receiving.
  private partialHeaders: PartialHeaderBlock | undefined;
  private responseHeaders: HeaderRecord | undefined;
  private readonly bodyParts: Buffer[] = [];
  private bodyBytes = 0;
  private goAway: string | undefined;

  constructor(private readonly request: ExchangeRequest, private readonly io: ExchangeIo) {
    this.unsent = request.body;
    this.maxResponseBytes = request.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  }

  /** Everything up to the first window, for one write before the server's SETTINGS arrive (§3.4 allows it). */
  start(): Buffer {
    return Buffer.concat([
      CONNECTION_PREFACE,
      encodeFrame(FrameType.SETTINGS, 0, 0, settingsPayload([[Setting.ENABLE_PUSH, 0], [Setting.INITIAL_WINDOW_SIZE, MAX_WINDOW_SIZE]])),
      // The connection window can only be opened by WINDOW_UPDATE; opened fully, the response never waits on us.
      encodeFrame(FrameType.WINDOW_UPDATE, 0, 0, windowUpdatePayload(MAX_WINDOW_SIZE - DEFAULT_WINDOW_SIZE)),
      ...this.headerFrames(encodeHeaderBlock(this.request.headers)),
      ...this.dataFrames(),
    ]);
  }

  /** The connection closed (or failed) before the response was complete. */
  closed(error?: Error): void {
    this.finish({ kind: 'unavailable', detail: error?.message ?? this.closedDetail() });
  }

  /** The deadline passed. */
  timedOut(detail: string): void {
    this.finish({ kind: 'timeout', detail });
  }

  private closedDetail(): string {
    const why = this.goAway === undefined ? '' : ` after ${this.goAway}`;
    return this.responseHeaders === undefined ? `connection closed before berthd answered${why}` : `connection closed in the middle of the response${why}`;
  }

  /** HEADERS, then CONTINUATION frames if the block exceeds the server's frame size. */
  private headerFrames(block: Buffer): Buffer[] {
    const frames: Buffer[] = [];
    for (let offset = 0; offset === 0 || offset < block.length; offset += this.peerMaxFrameSize) {
      const piece = block.subarray(offset, offset + this.peerMaxFrameSize);
      const last = offset + this.peerMaxFrameSize >= block.length;
      frames.push(encodeFrame(offset === 0 ? FrameType.HEADERS : FrameType.CONTINUATION, last ? Flag.END_HEADERS : 0, STREAM_ID, piece));
    }
    return frames;
  }

  /** As much of the body as the windows allow now; END_STREAM on the last piece. */
  private dataFrames(): Buffer[] {
    const frames: Buffer[] = [];
    while (!this.endStreamSent) {
      const size = Math.min(this.unsent.length, this.connectionWindow, this.streamWindow, this.peerMaxFrameSize);
      if (size <= 0 && this.unsent.length > 0) break;
      const piece = this.unsent.subarray(0, size);
      this.unsent = this.unsent.subarray(size);
      this.connectionWindow -= size;
      this.streamWindow -= size;
      this.endStreamSent = this.unsent.length === 0;
      frames.push(encodeFrame(FrameType.DATA, this.endStreamSent ? Flag.END_STREAM : 0, STREAM_ID, piece));
    }
    return frames;
  }

  private sendMoreData(): void {
    const frames = this.dataFrames();
    if (frames.length > 0) this.io.send(Buffer.concat(frames));
  }

  receive(chunk: Buffer): void {
    try {
      for (const frame of this.frames.push(chunk)) {
        if (this.settled) return;
        this.onFrame(frame);
      }
    } catch (error) {
      if (error instanceof Http2ProtocolError || error instanceof HpackError || error instanceof HuffmanError) {
        this.finish({ kind: 'protocol', detail: `HTTP/2 protocol error from berthd: ${error.message}` });
      } else {
        throw error;
      }
    }
  }

  private onFrame(frame: Frame): void {
    if (this.partialHeaders !== undefined && frame.type !== FrameType.CONTINUATION) {
      throw new Http2ProtocolError(`frame type ${frame.type} inside a header block`);
    }
    switch (frame.type) {
      case FrameType.DATA: return this.onData(frame);
      case FrameType.HEADERS: return this.onHeaders(frame);
      case FrameType.CONTINUATION: return this.onContinuation(frame);
      case FrameType.RST_STREAM: return this.onResetStream(frame);
      case FrameType.SETTINGS: return this.onSettings(frame);
      case FrameType.PING: return this.onPing(frame);
      case FrameType.GOAWAY: return this.onGoAway(frame);
      case FrameType.WINDOW_UPDATE: return this.onWindowUpdate(frame);
      case FrameType.PUSH_PROMISE: throw new Http2ProtocolError('PUSH_PROMISE although push is disabled');
      // PRIORITY and unknown types (§4.1: ignore them).
      default: return undefined;
    }
  }

  private onData(frame: Frame): void {
    this.requireOurStream(frame, 'DATA');
    if (this.responseHeaders === undefined) throw new Http2ProtocolError('DATA before the response headers');
    const content = framePayloadContent(frame);
    this.bodyBytes += content.length;
    if (this.bodyBytes > this.maxResponseBytes) throw new Http2ProtocolError(`response body larger than ${this.maxResponseBytes} bytes`);
    this.bodyParts.push(content);
    if ((frame.flags & Flag.END_STREAM) !== 0) this.complete(undefined);
  }

  private onHeaders(frame: Frame): void {
    this.requireOurStream(frame, 'HEADERS');
    const content = framePayloadContent(frame);
    if ((frame.flags & Flag.END_HEADERS) !== 0) {
      this.onHeaderBlock(frame.flags, content);
    } else {
      this.partialHeaders = { flags: frame.flags, parts: [content], size: content.length };
    }
  }

  private onContinuation(frame: Frame): void {
    const partial = this.partialHeaders;
    if (partial === undefined) throw new Http2ProtocolError('CONTINUATION without HEADERS');
    if (frame.streamId !== STREAM_ID) throw new Http2ProtocolError(`CONTINUATION on stream ${frame.streamId}`);
    partial.parts.push(frame.payload);
    partial.size += frame.payload.length;
    if (partial.size > MAX_HEADER_BLOCK_BYTES) throw new Http2ProtocolError(`header block larger than ${MAX_HEADER_BLOCK_BYTES} bytes`);
    if ((frame.flags & Flag.END_HEADERS) === 0) return;
    this.partialHeaders = undefined;
    this.onHeaderBlock(partial.flags, Buffer.concat(partial.parts));
  }

  /** Response headers first (a 1xx is skipped), then trailers; either may end the stream. */
  private onHeaderBlock(flags: number, block: Buffer): void {
    const headers = headerRecord(this.hpack.decode(block));
    const endStream = (flags & Flag.END_STREAM) !== 0;
    if (this.responseHeaders === undefined) {
      if (headers[':status']?.startsWith('1') === true) {
        if (endStream) throw new Http2ProtocolError('informational response ends the stream');
        return;
      }
      this.responseHeaders = headers;
      if (endStream) this.complete(undefined);
      return;
    }
    if (!endStream) throw new Http2ProtocolError('trailers without END_STREAM');
    this.complete(headers);
  }

  private onResetStream(frame: Frame): void {
    if (frame.streamId === 0 || frame.payload.length !== 4) throw new Http2ProtocolError('malformed RST_STREAM');
    if (frame.streamId !== STREAM_ID) return;
    this.finish({ kind: 'unavailable', detail: `berthd reset the stream (${errorCodeName(frame.payload.readUInt32BE(0))})` });
  }

  private onSettings(frame: Frame): void {
    if (frame.streamId !== 0) throw new Http2ProtocolError('SETTINGS on a stream');
    if ((frame.flags & Flag.ACK) !== 0) {
      if (frame.payload.length !== 0) throw new Http2ProtocolError('SETTINGS ACK with a payload');
      return;
    }
    if (frame.payload.length % 6 !== 0) throw new Http2ProtocolError(`SETTINGS payload of ${frame.payload.length} bytes`);
    for (let offset = 0; offset < frame.payload.length; offset += 6) {
      const id = frame.payload.readUInt16BE(offset);
      const value = frame.payload.readUInt32BE(offset + 2);
      if (id === Setting.INITIAL_WINDOW_SIZE) {
        if (value > MAX_WINDOW_SIZE) throw new Http2ProtocolError(`SETTINGS_INITIAL_WINDOW_SIZE ${value}`);
        // §6.9.2: the change applies to the window of the open stream too (it may go negative).
        this.streamWindow += value - this.peerInitialWindow;
        this.peerInitialWindow = value;
      } else if (id === Setting.MAX_FRAME_SIZE) {
        if (value < DEFAULT_MAX_FRAME_SIZE || value > 2 ** 24 - 1) throw new Http2ProtocolError(`SETTINGS_MAX_FRAME_SIZE ${value}`);
        this.peerMaxFrameSize = value;
      }
    }
    this.io.send(encodeFrame(FrameType.SETTINGS, Flag.ACK, 0));
    this.sendMoreData();
  }

  private onPing(frame: Frame): void {
    if (frame.streamId !== 0 || frame.payload.length !== 8) throw new Http2ProtocolError('malformed PING');
    if ((frame.flags & Flag.ACK) === 0) this.io.send(encodeFrame(FrameType.PING, Flag.ACK, 0, frame.payload));
  }

  private onGoAway(frame: Frame): void {
    if (frame.streamId !== 0 || frame.payload.length < 8) throw new Http2ProtocolError('malformed GOAWAY');
    const lastStreamId = frame.payload.readUInt32BE(0) & 0x7fffffff;
    const code = errorCodeName(frame.payload.readUInt32BE(4));
    this.goAway = `GOAWAY (${code})`;
    // Our stream above the last one the server will process: it was not acted on, safe to retry.
    if (lastStreamId < STREAM_ID) this.finish({ kind: 'unavailable', detail: `berthd is closing the connection (${code}) and did not take the request` });
  }

  private onWindowUpdate(frame: Frame): void {
    if (frame.payload.length !== 4) throw new Http2ProtocolError('malformed WINDOW_UPDATE');
    const increment = frame.payload.readUInt32BE(0) & 0x7fffffff;
    if (increment === 0) throw new Http2ProtocolError('WINDOW_UPDATE of 0');
    if (frame.streamId === 0) this.connectionWindow += increment;
    else if (frame.streamId === STREAM_ID) this.streamWindow += increment;
    if (this.connectionWindow > MAX_WINDOW_SIZE || this.streamWindow > MAX_WINDOW_SIZE) throw new Http2ProtocolError('flow-control window above 2^31-1');
    this.sendMoreData();
  }

  private requireOurStream(frame: Frame, what: string): void {
    if (frame.streamId !== STREAM_ID) throw new Http2ProtocolError(`${what} on stream ${frame.streamId}, the client opened only stream ${STREAM_ID}`);
  }

  private complete(trailers: HeaderRecord | undefined): void {
    this.finish({ kind: 'response', headers: this.responseHeaders ?? {}, trailers, body: Buffer.concat(this.bodyParts) });
  }

  private finish(result: Http2Result): void {
    if (this.settled) return;
    this.settled = true;
    this.io.done(result);
  }
}

function headerRecord(headers: HeaderList): HeaderRecord {
  const record: HeaderRecord = {};
  for (const [name, value] of headers) record[name] = record[name] === undefined ? value : `${record[name]},${value}`;
  return record;
}
