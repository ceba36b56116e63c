#!/usr/bin/env node
// The operator CLI. A JavaScript shim so `npx shipshape` works straight from a fresh install:
// tsx compiles the TypeScript sources on the fly (esbuild, cached), no build step needed.
'use strict';
require('tsx/cjs/api').register();
const { main } = require('../lib/cli/main.ts');
main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exitCode = 1;
  },
);
