/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.tsx?$': ['@swc/jest', { jsc: { target: 'es2022' }, module: { type: 'commonjs' } }],
    // jose is ESM-only; Node 20's Jest cannot require ESM, so compile it to CommonJS for tests.
    '/node_modules/jose/.+\\.js$': ['@swc/jest', { jsc: { target: 'es2022' }, module: { type: 'commonjs' } }],
  },
  transformIgnorePatterns: ['/node_modules/(?!jose/)'],
  setupFiles: ['<rootDir>/test/setup.ts'],
  // Prebundles stale Lambda handlers (constructs use dist/handlers), then builds the migrated
  // template database that test/helpers/postgres.ts clones (once per run).
  globalSetup: '<rootDir>/test/helpers/global-setup.ts',
  // Synthesizing an app is CPU-bound; two workers match the 2-core CI machine.
  maxWorkers: 2,
  testTimeout: 60_000,
};
