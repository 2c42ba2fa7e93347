/** Types of postgres-binaries.mjs, for the tests (TypeScript) that share it. */
export function findPostgresBinaries(): string | undefined;
