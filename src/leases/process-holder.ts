/**
 * A name for this gateway process that no other takes, for what it holds in a shared register
 * (leases, outbox claims): its host and process id name it in logs and rows; the random part keeps
 * a restarted process, or one given a reused pid, apart from its predecessor.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';

export function processHolder(): string {
  return `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
}
