// Per-request identity and logger: every log line of a request carries its request id.
import type { Metadata } from '@grpc/grpc-js';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';

export interface RequestContext {
  readonly requestId: string;
  readonly log: Logger;
  /** Set by a handler whose call wrote audit events: its end is then logged at debug. */
  audited: boolean;
  /** When the caller gives up (epoch ms; Infinity without a deadline). */
  readonly deadlineMs: number;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/** The caller's x-request-id when it is sane, otherwise a new one. */
export function requestIdOf(metadata: Metadata): string {
  const given = metadata.get('x-request-id')[0];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID().slice(0, 18);
}
