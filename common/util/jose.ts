import type * as Jose from 'jose' with { 'resolution-mode': 'import' };

/**
 * jose 6 is published as ECMAScript modules only. This project compiles to CommonJS, where
 * TypeScript's node16 mode reaches an ES module only through `import()` (and its types through
 * `resolution-mode: 'import'`), so every use of jose loads it here.
 */
export const loadJose = (): Promise<typeof Jose> => import('jose');
