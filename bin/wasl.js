#!/usr/bin/env node
// The compiled CLI; `npm install` builds it (the `prepare` script).
try {
  await import('../dist/src/cli/main.js');
} catch (error) {
  // A broken text file in templates/ (a translator's edit) is found as the CLI loads: it gets its
  // one-line reason, as a configuration error does, rather than a stack trace.
  if (error?.code === 'templates.invalid') {
    process.stderr.write(`wasl: ${error.message}\n`);
    process.exit(1);
  }
  throw error;
}
