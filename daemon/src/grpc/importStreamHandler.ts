// ImportLeasesStream: a backup of any size, as a client stream. Every message is checked and
// staged as it arrives; the first bad one ends the call with its error (nothing imported). When
// the client closes its side, the whole stream is restored in one transaction. Like the unary
// handlers, every path ends in exactly one answer and nothing thrown here escapes into grpc-js.
import type { handleClientStreamingCall, sendUnaryData, ServerReadableStream, ServiceError } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { ShuttingDownError } from '../errors.ts';
import type { ImportedLease, ImportedPrefix, ImportResult } from '../service/stateImport.ts';
import { answerFailure, internalStatus } from './errorStatus.ts';
import { importedBackupOf, type ImportLeasesRequest } from './messages.ts';
import { requestIdOf } from './requestContext.ts';
import { validateRequest } from './requestRules.ts';

/** What the handler needs of a streamed import (service/stateImport.ts StreamedImport). */
export interface BackupStream {
  add(chunk: { leases: readonly ImportedLease[]; prefixes: readonly ImportedPrefix[] }): void;
  commit(log: Logger): Promise<ImportResult>;
  discard(): void;
}

/** What the stream handler needs; ipamHandlers.ts's deps carry it. */
export interface ImportStreamDeps {
  /** A backup arriving as a stream (ImportLeasesStream): checked and staged message by message, restored at the end. */
  readonly streamedImport: () => BackupStream;
  readonly log: Logger;
  /** Told about every finished call (metrics). */
  readonly observe?: (method: string, code: string, seconds: number) => void;
  /** False once shutdown began: new calls get UNAVAILABLE. */
  readonly accepting: () => boolean;
}

const METHOD = 'ImportLeasesStream';

export function importStream(deps: ImportStreamDeps): handleClientStreamingCall<ImportLeasesRequest, unknown> {
  return (call: ServerReadableStream<ImportLeasesRequest, unknown>, callback: sendUnaryData<unknown>) => {
    const started = process.hrtime.bigint();
    let requestId = 'unknown';
    let log = deps.log;
    let answered = false;
    let backup: BackupStream | undefined;
    const finish = (code: string, error?: unknown) => {
      try {
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        deps.observe?.(METHOD, code, seconds);
        const fields = { code, latencyMs: Math.round(seconds * 1e6) / 1e3 };
        if (code === 'INTERNAL') log.error({ ...fields, event: 'request.internal_error', err: error }, 'internal error');
        else if (error) log.warn({ ...fields, event: 'request.rejected', err: error }, 'request failed');
        else log.debug(fields, 'request done');
      } catch { /* logging must not cost the answer */ }
    };
    const answer = (error: Partial<ServiceError> | null, reply?: unknown) => {
      if (answered) return;
      answered = true;
      try {
        callback(error, reply);
      } catch {
        try { callback(internalStatus(requestId)); } catch { /* the call is gone */ }
      }
    };
    const fail = (error: unknown) => {
      if (answered) return;
      try { backup?.discard(); } catch { /* the database is closing */ }
      answerFailure(error, requestId, finish, answer);
    };
    try {
      requestId = requestIdOf(call.metadata);
      log = deps.log.child({ requestId, method: METHOD });
      if (!deps.accepting()) throw new ShuttingDownError('berthd is shutting down; retry against the restarted daemon');
      backup = deps.streamedImport();
    } catch (error) {
      fail(error);
      return;
    }
    const stream = backup;
    call.on('data', (request: ImportLeasesRequest) => {
      if (answered) return;
      try {
        validateRequest('ImportLeases', request);
        stream.add(importedBackupOf(request));
      } catch (error) {
        fail(error);
      }
    });
    call.on('end', () => {
      if (answered) return;
      stream.commit(log).then((reply) => { finish('OK'); answer(null, reply); }, fail).catch(fail);
    });
    // The client went away mid-stream: nothing of it is kept.
    const abandon = () => { if (!answered) { answered = true; try { stream.discard(); } catch { /* closing */ } } };
    call.on('error', abandon);
    call.on('cancelled', abandon);
  };
}
