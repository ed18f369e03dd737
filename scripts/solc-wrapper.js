#!/usr/bin/env node
// A native-solc-compatible front for solc-js, enough for ape-solidity and scripts/build_artifact:
//   solc-vX.Y.Z --version
//   solc-vX.Y.Z --standard-json [--base-path DIR] [--include-path DIR]... [--allow-paths ..] [--output-dir ..]
// Standard JSON comes on stdin; only the JSON result goes to stdout. Imports resolve against --base-path and
// each --include-path, then against the repository this wrapper belongs to and its node_modules/, so
// "@openzeppelin/contracts/..." (and ape-solidity's remapped "node_modules/@openzeppelin/contracts/...", which
// it asks for from a temporary copy of the project) resolve offline from the pinned npm packages.
'use strict';
const fs = require('fs');
const path = require('path');

// the repository: .tools/bin/solc-vX.Y.Z -> repo, scripts/solc-wrapper.js -> repo
const repo = [path.join(__dirname, '..', '..'), path.join(__dirname, '..')].find((d) =>
  fs.existsSync(path.join(d, 'node_modules', 'solc')));

function loadSolc() {
  return repo ? require(path.join(repo, 'node_modules', 'solc')) : require('solc');
}

const args = process.argv.slice(2);
const solc = loadSolc();

if (args.includes('--version')) {
  process.stdout.write('solc, the solidity compiler commandline interface\nVersion: ' + solc.version() + '\n');
  process.exit(0);
}
if (!args.includes('--standard-json')) {
  process.stderr.write('only --version and --standard-json are supported by this wrapper\n');
  process.exit(2);
}

const roots = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--base-path' || a === '--include-path') roots.push(args[++i]);
  else if (a.startsWith('--base-path=') || a.startsWith('--include-path=')) roots.push(a.split('=')[1]);
  else if (a === '--allow-paths' || a === '--output-dir') i++;
}
if (roots.length === 0) roots.push(process.cwd());
if (repo) roots.push(repo, path.join(repo, 'node_modules'));

function findImports(p) {
  for (const r of roots) {
    const full = path.isAbsolute(p) ? p : path.join(r, p);
    if (fs.existsSync(full)) return { contents: fs.readFileSync(full, 'utf8') };
  }
  return { error: 'File not found: ' + p };
}

const input = fs.readFileSync(0, 'utf8');
process.stdout.write(solc.compile(input, { import: findImports }));
