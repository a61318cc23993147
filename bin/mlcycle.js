#!/usr/bin/env node
// The AWS SDK warns on every start that future releases will need Node 22; mlcycle pins its SDK
// version, so the warning is noise for our users. Every other warning is still printed.
const defaultWarning = process.listeners('warning');
process.removeAllListeners('warning');
process.on('warning', (warning) => {
  // Emitted as a plain Warning whose message starts with its name.
  if (warning.name === 'NodeVersionSupportWarning' || String(warning.message).startsWith('NodeVersionSupportWarning')) return;
  for (const listener of defaultWarning) listener(warning);
});

// Prefer the compiled CLI (built by `npm install` through the prepare script); fall back to the
// TypeScript sources through tsx so a contributor's checkout works before any build.
const path = require('node:path');
const fs = require('node:fs');
const compiled = path.join(__dirname, '..', 'dist', 'src', 'cli', 'main.js');
// `mlcycle status X | head -1`: the reader went away, which is not an error of ours. Exit quietly.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err) => {
    if (err && err.code === 'EPIPE') process.exit(process.exitCode || 0);
    throw err;
  });
}

let entry;
if (fs.existsSync(compiled) && !process.env.MLCYCLE_FROM_SOURCE) {
  entry = require(compiled);
} else {
  require('tsx/cjs');
  entry = require(path.join(__dirname, '..', 'src', 'cli', 'main.ts'));
}
Promise.resolve(entry.main(process.argv)).then(() => {
  // A command that failed has said why; handles it left open (a Temporal connection, the SDK's
  // runtime) must not keep the process alive, or a supervisor would wait on it forever.
  if (process.exitCode) setTimeout(() => process.exit(), 1500).unref();
});
