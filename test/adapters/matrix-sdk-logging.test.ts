/**
 * What matrix-js-sdk logs reaches the gateway's logger, one level down and never above debug,
 * both from the client (its own logger) and from the SDK's process-wide logger (the sync loop);
 * nothing of it reaches the console.
 */
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startMatrixWorld, type MatrixWorld } from '../helpers/fake-matrix.js';
import { waitFor } from '../helpers/gateway.js';

let world: MatrixWorld | undefined;
afterEach(async () => {
  vi.restoreAllMocks();
  await world?.stop();
  world = undefined;
});

interface Line {
  level: number;
  msg: string;
  phase?: string;
  channel?: string;
  sdkLogger?: string;
  sdkLevel?: string;
}

const TRACE = 10;
const DEBUG = 20;

describe('matrix-js-sdk’s log lines', () => {
  it('reach the gateway’s logger as trace (its requests) and debug (its sync errors), and never the console', async () => {
    const console_ = (['log', 'debug', 'info', 'warn', 'error', 'trace'] as const).map((method) => vi.spyOn(console, method).mockImplementation(() => undefined));
    const lines: Line[] = [];
    const logger = pino({ level: 'trace' }, { write: (line: string) => void lines.push(JSON.parse(line) as Line) });
    world = await startMatrixWorld({ logger });
    const sdkLines = () => lines.filter((line) => line.phase === 'matrix-sdk');

    // The client's own logger: every request it makes, a debug line of the SDK.
    await waitFor(() => sdkLines().some((line) => line.msg.startsWith('FetchHttpApi: --> GET') && line.msg.includes('/sync')), { what: 'the client logging a sync request' });
    const request = sdkLines().find((line) => line.msg.startsWith('FetchHttpApi: --> GET'))!;
    expect(request).toMatchObject({ level: TRACE, channel: 'matrix', sdkLevel: 'debug' });

    // The sync loop logs through the SDK's process-wide logger: an error there is our debug.
    await world.fake.stop();
    await waitFor(() => sdkLines().some((line) => line.msg.startsWith('/sync error')), { what: 'the sync loop logging its error' });
    const syncError = sdkLines().find((line) => line.msg.startsWith('/sync error'))!;
    expect(syncError).toMatchObject({ level: DEBUG, channel: 'matrix', sdkLevel: 'error' });

    expect(Math.max(...sdkLines().map((line) => line.level))).toBe(DEBUG);
    for (const spy of console_) expect(spy).not.toHaveBeenCalled();
  });
});
