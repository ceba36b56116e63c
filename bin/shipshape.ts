#!/usr/bin/env node
// The operator CLI. Compiled to dist/bin/shipshape.js by `npm run build`; `npx shipshape` runs
// that JavaScript (no TypeScript compiler at run time). Commands load on first use (lib/cli/main).
import { main } from '../lib/cli/main';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exitCode = 1;
  },
);
