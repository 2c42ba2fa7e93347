/** Runs the real `wasl` command (its TypeScript source, through tsx) as a separate process. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PROJECT_ROOT } from '../../src/paths.js';

const ENTRY = join(PROJECT_ROOT, 'src', 'cli', 'main.ts');
// By its file, not its name: Node.js resolves `--import tsx` from the working directory, which a test may set elsewhere.
const TSX = pathToFileURL(createRequire(join(PROJECT_ROOT, 'package.json')).resolve('tsx')).href;

export function spawnWasl({ args, env = {}, cwd = PROJECT_ROOT }: { args: string[]; env?: Record<string, string>; cwd?: string }): ChildProcess {
  return spawn(process.execPath, ['--import', TSX, ENTRY, ...args], {
    cwd,
    env: { ...process.env, WASL_LOG_LEVEL: 'silent', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

export async function runWasl(options: { args: string[]; env?: Record<string, string>; cwd?: string }): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawnWasl(options);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return { code, stdout, stderr };
}
