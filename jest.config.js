/** Tests run against the real PostgreSQL, Redis and Chroma; see test/global-setup.ts. */
const swc = require('./swc.config.js');

/** What every project shares. */
const project = {
  testEnvironment: 'node',
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.(t|j)s$': ['@swc/jest', swc] },
  transformIgnorePatterns: ['/node_modules/(?!(jose)/)'],
  setupFiles: ['reflect-metadata'],
};

/** @type {import('jest').Config} */
module.exports = {
  projects: [
    {
      ...project,
      displayName: 'platform',
      roots: [
        '<rootDir>/common',
        '<rootDir>/subgraphs',
        '<rootDir>/gateway',
        '<rootDir>/scripts',
        '<rootDir>/test',
        '<rootDir>/clients',
        '<rootDir>/bench',
      ],
      testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/faults/'],
    },
    {
      // Stores and processes killed or stopped by pid, each test's own (see docs/chat.md, "Outages").
      ...project,
      displayName: 'faults',
      roots: ['<rootDir>/test/faults'],
    },
  ],
  testSequencer: '<rootDir>/test/sequencer.js',
  globalSetup: '<rootDir>/test/global-setup.ts',
  globalTeardown: '<rootDir>/test/global-teardown.ts',
  testTimeout: 30000,
  maxWorkers: 2,
  // A worker's heap grows with every test file it runs (several GB by the end of the suite); one
  // past this is replaced once its file ends, so the last files (the chaos test's 200 clients
  // among them) do not run in a process slowed by its collector.
  workerIdleMemoryLimit: '1GB',
  reporters: ['default', '<rootDir>/test/summary-reporter.js'],
};
