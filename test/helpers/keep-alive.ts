/**
 * Node 24.19-24.21 abort a process when the garbage collector frees a better-sqlite3 object
 * (nodejs/node#65446, open). The gateway keeps its register and statements for its life; a test
 * worker opens and drops hundreds of registers, so it keeps each one until it exits.
 */
const kept: unknown[] = [];

export function keepUntilExit(...objects: unknown[]): void {
  kept.push(...objects);
}
