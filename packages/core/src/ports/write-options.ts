/** Passed through to stores that declare `transactionalEnqueue`: the application's open transaction (e.g. a pg client inside BEGIN). */
export interface WriteOptions {
  transaction?: unknown;
}
