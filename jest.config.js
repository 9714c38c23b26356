/** Tests run against the real PostgreSQL, Redis and Chroma; see test/global-setup.ts. */
const swc = require('./swc.config.js');

/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: [
    '<rootDir>/common',
    '<rootDir>/subgraphs',
    '<rootDir>/gateway',
    '<rootDir>/scripts',
    '<rootDir>/test',
    '<rootDir>/clients',
    '<rootDir>/bench',
  ],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.(t|j)s$': ['@swc/jest', swc] },
  transformIgnorePatterns: ['/node_modules/(?!(jose)/)'],
  setupFiles: ['reflect-metadata'],
  globalSetup: '<rootDir>/test/global-setup.ts',
  globalTeardown: '<rootDir>/test/global-teardown.ts',
  testTimeout: 30000,
  maxWorkers: 2,
  reporters: ['default', '<rootDir>/test/summary-reporter.js'],
};
