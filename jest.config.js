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
  reporters: ['default', '<rootDir>/test/summary-reporter.js'],
};
