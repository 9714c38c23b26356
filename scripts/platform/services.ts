import { join } from 'node:path';

/** The platform's four processes in start order (the subgraphs, then the gateway), with their ports. */
export const PLATFORM_SERVICES = [
  { name: 'auth', portVariable: 'AUTH_PORT', defaultPort: 4001, directory: ['subgraphs', 'auth'] },
  {
    name: 'conversation',
    portVariable: 'CONVERSATION_PORT',
    defaultPort: 4002,
    directory: ['subgraphs', 'conversation'],
  },
  { name: 'chat', portVariable: 'CHAT_PORT', defaultPort: 4003, directory: ['subgraphs', 'chat'] },
  { name: 'gateway', portVariable: 'GATEWAY_PORT', defaultPort: 4000, directory: ['gateway'] },
] as const;

export type PlatformService = (typeof PLATFORM_SERVICES)[number];
export type PlatformServiceName = PlatformService['name'];

/**
 * `dist`: the compiled entry point (npm run build first). `source`: the TypeScript, compiled as it
 * loads by the swc hook the tests use (decorator metadata included, which tsx lacks), so a test needs
 * no build.
 */
export type CodeForm = 'dist' | 'source';

/** What Node runs for a service: its `main` and the options that go before it. */
export function entryPoint(
  root: string,
  service: PlatformService,
  code: CodeForm,
): { script: string; execArgv: string[] } {
  if (code === 'dist') return { script: join(root, 'dist', ...service.directory, 'main.js'), execArgv: [] };
  return {
    script: join(root, ...service.directory, 'main.ts'),
    execArgv: ['-r', join(root, 'common', 'testing', 'swc-register.js')],
  };
}
