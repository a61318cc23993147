#!/usr/bin/env node
// Prefer the compiled CLI (built by `npm ci` through the prepare script); fall back to the
// TypeScript sources through tsx so a contributor's checkout works before any build.
const path = require('node:path');
const fs = require('node:fs');
const compiled = path.join(__dirname, '..', 'dist', 'src', 'cli', 'main.js');
if (fs.existsSync(compiled) && !process.env.MLCYCLE_FROM_SOURCE) {
  require(compiled).main(process.argv);
} else {
  require('tsx/cjs');
  require(path.join(__dirname, '..', 'src', 'cli', 'main.ts')).main(process.argv);
}
