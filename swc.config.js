/**
 * How TypeScript is compiled outside `tsc`: by Jest, and by services a test runs in a child
 * process (common/testing/swc-register.js). Decorator metadata as tsc emits it, which type-graphql
 * needs (tsx's esbuild emits none).
 */
module.exports = {
  jsc: {
    target: 'es2022',
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
    keepClassNames: true,
  },
  module: { type: 'commonjs' },
  sourceMaps: 'inline',
};
