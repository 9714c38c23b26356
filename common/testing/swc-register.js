/**
 * `node -r common/testing/swc-register.js service/main.ts`: runs a TypeScript entry point compiled
 * as Jest compiles it (swc.config.js, with the decorator metadata type-graphql needs), for tests
 * that run a subgraph in a process of its own.
 */
const { transformSync } = require('@swc/core');
const { readFileSync } = require('node:fs');
const options = require('../../swc.config.js');

require.extensions['.ts'] = (module, filename) => {
  const { code } = transformSync(readFileSync(filename, 'utf8'), { ...options, filename });
  module._compile(code, filename);
};
