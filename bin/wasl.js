#!/usr/bin/env node
// The compiled CLI; `npm install` builds it (the `prepare` script). Every command but `start` runs
// from the bundle (dist/cli/, see bin/bundle-cli.mjs), which loads in a fraction of the time;
// `start` runs from dist/src/, where its worker threads' files are. The command is the first
// argument that is neither an option nor the value of --config (as bin/wasl finds it).
const args = process.argv.slice(2);
const command = args.find((argument, index) => !argument.startsWith('-') && !['-c', '--config'].includes(args[index - 1] ?? ''));
await import(command === 'start' ? '../dist/src/cli/main.js' : '../dist/cli/main.js');
