/** The lease database cannot be used; the message says why and what the operator should do. */
export class StoreOpenError extends Error {
  constructor(readonly path: string, reason: string) {
    super(`lease database ${path}: ${reason}`);
    this.name = 'StoreOpenError';
  }
}
