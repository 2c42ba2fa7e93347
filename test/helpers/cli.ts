/**
 * Runs the real `wasl` command as a separate process: the built CLI (`dist/`, as the installed
 * command runs it) when it was built after the last change to the sources, else the TypeScript
 * sources through tsx. tsx compiles every module the command loads on each run, which takes about
 * three times as long and, on a loaded machine, tens of seconds over a test; a stale build is
 * never run, so a test always sees the code as it is.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PROJECT_ROOT } from '../../src/paths.js';

const SOURCE_ENTRY = join(PROJECT_ROOT, 'src', 'cli', 'main.ts');
const BUILT_ENTRY = join(PROJECT_ROOT, 'dist', 'src', 'cli', 'main.js');
// By its file, not its name: Node.js resolves `--import tsx` from the working directory, which a test may set elsewhere.
const TSX = pathToFileURL(createRequire(join(PROJECT_ROOT, 'package.json')).resolve('tsx')).href;

/** True when every source `npm run build` compiles (tsconfig.build.json) has a built file written after it. */
function buildIsCurrent(): boolean {
  return ['src', 'adapters'].every((folder) =>
    readdirSync(join(PROJECT_ROOT, folder), { recursive: true, encoding: 'utf8' })
      .filter((name) => name.endsWith('.ts') && !name.endsWith('.d.ts') && !name.endsWith('.test.ts'))
      .every((name) => {
        const built = join(PROJECT_ROOT, 'dist', folder, name.replace(/\.ts$/, '.js'));
        return existsSync(built) && statSync(built).mtimeMs >= statSync(join(PROJECT_ROOT, folder, name)).mtimeMs;
      }),
  );
}

/** Decided once per test file: the sources do not change while it runs. */
let commandLine: string[] | undefined;
const waslCommandLine = () => (commandLine ??= buildIsCurrent() ? [BUILT_ENTRY] : ['--import', TSX, SOURCE_ENTRY]);

export function spawnWasl({ args, env = {}, cwd = PROJECT_ROOT }: { args: string[]; env?: Record<string, string>; cwd?: string }): ChildProcess {
  return spawn(process.execPath, [...waslCommandLine(), ...args], {
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
