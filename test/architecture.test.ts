import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

/**
 * The shape docs/architecture.md describes ("What the tests check about the shape"), read from the
 * import graph of every TypeScript source: each `import`, `import type`, `export … from`, `require`
 * and `import()`, relative ones resolved to the file they name.
 */

const ROOT = resolve(__dirname, '..');
const SOURCE_FOLDERS = ['common', 'subgraphs', 'gateway', 'clients', 'scripts', 'bench', 'test'];

interface Module {
  /** Repository-relative, with forward slashes: `gateway/app.ts`. */
  path: string;
  /** Files of the repository it imports (repository-relative). */
  files: string[];
  /** Packages it imports, as written: `ioredis`, `@mikro-orm/core`. */
  packages: string[];
}

function sourcesUnder(folder: string): string[] {
  return readdirSync(folder).flatMap((name) => {
    const path = join(folder, name);
    if (name === 'node_modules' || name === 'dist') return [];
    if (statSync(path).isDirectory()) return sourcesUnder(path);
    return /\.tsx?$/.test(name) && !name.endsWith('.d.ts') ? [path] : [];
  });
}

/** The file a relative specifier names, as Node16 resolution finds it from TypeScript sources. */
function resolveRelative(from: string, specifier: string): string | undefined {
  const base = resolve(dirname(from), specifier.replace(/\.js$/, ''));
  const candidates = [base, `${base}.ts`, `${base}.tsx`, `${base}.js`, join(base, 'index.ts')];
  return candidates.find((candidate) => existsSync(candidate) && statSync(candidate).isFile());
}

const repositoryPath = (path: string) => relative(ROOT, path).split('\\').join('/');

function readModules(): Module[] {
  return SOURCE_FOLDERS.flatMap((folder) => sourcesUnder(join(ROOT, folder))).map((path) => {
    const { importedFiles } = ts.preProcessFile(readFileSync(path, 'utf8'), true, true);
    const specifiers = importedFiles.map((imported) => imported.fileName);
    const relativeOnes = specifiers.filter((specifier) => specifier.startsWith('.'));
    return {
      path: repositoryPath(path),
      files: relativeOnes.flatMap((specifier) => {
        const target = resolveRelative(path, specifier);
        return target ? [repositoryPath(target)] : [];
      }),
      packages: specifiers.filter((specifier) => !specifier.startsWith('.')),
    };
  });
}

const modules = readModules();

const isTest = (path: string) => /\.test\.tsx?$/.test(path);

/** Every `module → import` that breaks a rule, as `from → to` lines (empty when the rule holds). */
function importsBreaking(
  appliesTo: (module: Module) => boolean,
  forbidden: { file?: (path: string) => boolean; packageName?: (name: string) => boolean },
): string[] {
  return modules
    .filter(appliesTo)
    .flatMap((module) => [
      ...module.files.filter((file) => forbidden.file?.(file)).map((file) => `${module.path} → ${file}`),
      ...module.packages
        .filter((name) => forbidden.packageName?.(name))
        .map((name) => `${module.path} → ${name}`),
    ]);
}

/** The strongly connected components with more than one module (or a module importing itself). */
function importCycles(): string[][] {
  const edges = new Map(modules.map((module) => [module.path, module.files]));
  const index = new Map<string, number>();
  const lowLink = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  let next = 0;
  const visit = (node: string) => {
    index.set(node, next);
    lowLink.set(node, next);
    next += 1;
    stack.push(node);
    onStack.add(node);
    for (const target of edges.get(node) ?? []) {
      if (!index.has(target)) {
        visit(target);
        lowLink.set(node, Math.min(lowLink.get(node)!, lowLink.get(target)!));
      } else if (onStack.has(target)) {
        lowLink.set(node, Math.min(lowLink.get(node)!, index.get(target)!));
      }
    }
    if (lowLink.get(node) !== index.get(node)) return;
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      component.push(member);
    } while (member !== node);
    if (component.length > 1 || edges.get(node)?.includes(node)) cycles.push(component.sort());
  };
  for (const node of edges.keys()) if (!index.has(node)) visit(node);
  return cycles;
}

const under =
  (...folders: string[]) =>
  (path: string) =>
    folders.some((folder) => path.startsWith(`${folder}/`));

/** A subgraph's folder of a role: `subgraphs/<name>/<role>/…`. */
const inSubgraphFolder =
  (...roles: string[]) =>
  (path: string) =>
    new RegExp(`^subgraphs/[^/]+/(${roles.join('|')})/`).test(path);

const STORE_CLIENTS = (name: string) =>
  name === 'ioredis' || name === 'chromadb' || name.startsWith('@mikro-orm/');
const GRAPHQL = (name: string) => name === 'graphql' || name === 'type-graphql';

/**
 * The gateway's core: everything but the plugins (gateway/plugins/, and the playground, a plugin with
 * a folder of its own), the composition root (app.ts, main.ts), its config (which names the plugins'
 * defaults as the defaults of their variables) and test helpers.
 */
const isGatewayCore = (path: string) =>
  path.startsWith('gateway/') &&
  !under('gateway/plugins', 'gateway/playground', 'gateway/testing')(path) &&
  !['gateway/app.ts', 'gateway/main.ts', 'gateway/config.ts'].includes(path) &&
  !isTest(path);

/**
 * Where a store's client may be imported, as docs/architecture.md draws the layers: in a subgraph its
 * repositories, its store (entities, migrations, key layout), its jobs' wiring and its composition roots
 * (app.ts, and each command-line entry point in cli/, which builds what it needs as app.ts does);
 * in common/ the stores and the identity stores that own their Redis keys (nonces, revocations);
 * helpers and tests of tests anywhere.
 */
const mayUseStoreClients = (path: string) =>
  isTest(path) ||
  inSubgraphFolder('repositories', 'store', 'jobs', 'cli', 'testing', 'test')(path) ||
  /^subgraphs\/[^/]+\/app\.ts$/.test(path) ||
  under('common/stores', 'common/testing')(path) ||
  ['common/identity/identity-verifier.ts', 'common/identity/session-revocation.ts'].includes(path);

describe('the shape of the code (docs/architecture.md)', () => {
  it('reads the import graph', () => {
    expect(modules.length).toBeGreaterThan(300);
    const app = modules.find((module) => module.path === 'gateway/app.ts');
    expect(app?.files).toContain('gateway/context.ts');
  });

  it('common/ depends on no service, client, script, benchmark or test', () => {
    expect(
      importsBreaking((module) => module.path.startsWith('common/'), {
        file: under('subgraphs', 'gateway', 'clients', 'scripts', 'bench', 'test'),
      }),
    ).toEqual([]);
  });

  it('the gateway core imports no plugin', () => {
    expect(
      importsBreaking((module) => isGatewayCore(module.path), {
        file: under('gateway/plugins', 'gateway/playground'),
      }),
    ).toEqual([]);
  });

  it('has no import cycle, type-only imports included', () => {
    expect(importCycles()).toEqual([]);
  });

  it('resolvers and services import no store client', () => {
    expect(
      importsBreaking(
        (module) => inSubgraphFolder('resolvers', 'services')(module.path) && !isTest(module.path),
        { packageName: STORE_CLIENTS },
      ),
    ).toEqual([]);
  });

  it('services import no GraphQL', () => {
    expect(
      importsBreaking((module) => inSubgraphFolder('services')(module.path) && !isTest(module.path), {
        packageName: GRAPHQL,
      }),
    ).toEqual([]);
  });

  it('only repositories, stores and composition roots import a store client', () => {
    expect(
      importsBreaking(
        (module) => under('subgraphs', 'common')(module.path) && !mayUseStoreClients(module.path),
        { packageName: STORE_CLIENTS },
      ),
    ).toEqual([]);
  });
});
