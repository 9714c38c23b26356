/**
 * The container route: Dockerfile, .dockerignore, docker-compose.yml and Makefile.
 * The compose file is validated by `docker-compose config` / `docker compose config` where either is
 * installed; its structure is also checked from the text, so the suite means something without them.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ZodType } from 'zod';
import { gatewayEnv } from '../gateway/config';
import { authEnv } from '../subgraphs/auth/config';
import { chatEnv } from '../subgraphs/chat/config';
import { conversationEnv } from '../subgraphs/conversation/config';

const root = join(__dirname, '..');
const read = (file: string) => readFileSync(join(root, file), 'utf8');

const compose = read('docker-compose.yml');
const dockerfile = read('Dockerfile');
const dockerignore = read('.dockerignore');
const makefile = read('Makefile');

const APP_PORTS = { auth: 4001, conversation: 4002, chat: 4003, gateway: 4000 } as const;
const ENTRY_POINTS = {
  auth: 'dist/subgraphs/auth/main.js',
  conversation: 'dist/subgraphs/conversation/main.js',
  chat: 'dist/subgraphs/chat/main.js',
  gateway: 'dist/gateway/main.js',
} as const;
const SERVICES = ['postgres', 'redis', 'chroma', 'auth', 'conversation', 'chat', 'gateway'];

/** The text of each service under the compose file's top-level `services:` key. */
function serviceBlocks(text: string): Record<string, string> {
  const lines = text.split('\n');
  const blocks: Record<string, string[]> = {};
  let current: string[] | undefined;
  for (const line of lines.slice(lines.indexOf('services:') + 1)) {
    if (/^[^\s#]/.test(line)) break; // the next top-level key
    const header = /^ {2}([\w.-]+):\s*$/.exec(line);
    if (header) blocks[header[1]] = current = [];
    else current?.push(line);
  }
  return Object.fromEntries(Object.entries(blocks).map(([name, body]) => [name, body.join('\n')]));
}

/** A service's `depends_on` entries: dependency name → condition. */
function dependsOn(block: string): Record<string, string> {
  const section = /^ {4}depends_on:\n((?: {6,}.*\n?)+)/m.exec(block)?.[1] ?? '';
  return Object.fromEntries(
    [...section.matchAll(/^ {6}([\w.-]+):\n {8}condition: (\w+)/gm)].map(([, name, condition]) => [
      name,
      condition,
    ]),
  );
}

/** The variables a service's `environment` sets, those merged in from an anchor included. */
function environment(text: string, block: string): string[] {
  const section = /^ {4}environment:\n((?: {6,}.*\n?)+)/m.exec(block)?.[1] ?? '';
  return [...section.matchAll(/^ {6}([\w<]+):\s*(.*)$/gm)].flatMap(([, key, value]) => {
    if (key !== '<<') return [key];
    const anchor = value.replace(/^\*/, '');
    const merged = new RegExp(`^x-[\\w-]+: &${anchor}\\n((?: {2}.*\\n?)+)`, 'm').exec(text)?.[1] ?? '';
    return [...merged.matchAll(/^ {2}(\w+):/gm)].map((m) => m[1]);
  });
}

/** A healthcheck's `test` written as a block sequence, its items unquoted as YAML would. */
function healthcheckTest(block: string): string[] {
  const items = /^ {6}test:\n((?: {8}- .*\n?)+)/m.exec(block)?.[1] ?? '';
  return [...items.matchAll(/^ {8}- (.*)$/gm)].map(([, item]) =>
    item.startsWith('"') ? (JSON.parse(item) as string) : item.replace(/^'(.*)'$/, '$1').replace(/''/g, "'"),
  );
}

/** Runs a healthcheck's command here, aimed at `port` on the loopback; resolves to its exit code. */
function runHealthcheck(argv: string[], port: number): Promise<number | null> {
  const [command, ...args] = argv
    .slice(1) // CMD
    .map((arg) => (arg === 'node' ? process.execPath : arg.replace(/(127\.0\.0\.1[:/])\d+/, `$1${port}`)));
  return new Promise((resolve) => spawn(command, args, { stdio: 'ignore' }).on('close', resolve));
}

const services = serviceBlocks(compose);

describe('docker-compose.yml', () => {
  it('declares PostgreSQL, Redis, Chroma and the four platform services', () => {
    expect(Object.keys(services).sort()).toEqual([...SERVICES].sort());
  });

  it('publishes only the gateway port, 4000', () => {
    expect(compose.match(/^\s*ports:/gm)).toHaveLength(1);
    expect(services.gateway).toMatch(/ports:\n\s+- '4000:4000'/);
  });

  it.each(SERVICES)('gives %s a healthcheck', (name) => {
    expect(services[name]).toMatch(/^ {4}healthcheck:\n(?: {6}.*\n)*? {6}test:/m);
  });

  it.each(Object.entries(APP_PORTS))('probes %s on its /health (port %d) with node', (name, port) => {
    expect(services[name]).toMatch(/test:\n {8}- CMD\n {8}- node\n {8}- -e\n/);
    expect(services[name]).toContain(`fetch('http://127.0.0.1:${port}/health')`);
  });

  it('checks Chroma through /api/v2/heartbeat with bash, since its image has no curl or wget', () => {
    expect(services.chroma).toContain('image: chromadb/chroma:1.0.0');
    const [cmd, shell, flag, script] = healthcheckTest(services.chroma);
    expect([cmd, shell, flag]).toEqual(['CMD', 'bash', '-c']);
    expect(script).toContain('/dev/tcp/127.0.0.1/8000');
    expect(script).toContain('GET /api/v2/heartbeat');
    expect(script).not.toMatch(/curl|wget/);
  });

  it('starts each platform service only once its dependencies are healthy', () => {
    const healthy = (...names: string[]) => Object.fromEntries(names.map((n) => [n, 'service_healthy']));
    expect(dependsOn(services.auth)).toEqual(healthy('postgres', 'redis'));
    expect(dependsOn(services.conversation)).toEqual(healthy('postgres', 'redis', 'chroma'));
    expect(dependsOn(services.chat)).toEqual(healthy('redis', 'conversation'));
    expect(dependsOn(services.gateway)).toEqual(healthy('redis', 'auth', 'conversation', 'chat'));
  });

  it('runs every platform service from the one image, choosing the entry point by command', () => {
    expect(compose).toMatch(/^x-app: &app\n {2}build: \.\n {2}image: llm-chat-supergraph:latest$/m);
    for (const [name, entry] of Object.entries(ENTRY_POINTS)) {
      expect(services[name]).toContain('<<: *app\n');
      expect(services[name]).toContain(`command: ['node', '${entry}']`);
    }
  });

  it('takes IDENTITY_SECRET and POSTGRES_PASSWORD from the environment, never from the file', () => {
    const values = (name: string) =>
      [...compose.matchAll(new RegExp(`^\\s*${name}: (.*)$`, 'gm'))].map((m) => m[1]);
    expect(values('IDENTITY_SECRET')).toEqual([expect.stringMatching(/^\$\{IDENTITY_SECRET:\?[^}]+\}$/)]);
    expect(values('POSTGRES_PASSWORD')).toEqual([expect.stringMatching(/^\$\{POSTGRES_PASSWORD:\?[^}]+\}$/)]);
    expect(compose).toMatch(
      /postgres:\/\/\$\{POSTGRES_USER:-\w+\}:\$\{POSTGRES_PASSWORD:\?[^}]+\}@postgres:5432\//,
    );
  });

  it("keeps the data of PostgreSQL, Redis and Chroma, and conversation's caches, in named volumes", () => {
    expect(services.postgres).toContain('- postgres-data:/var/lib/postgresql/data');
    expect(services.redis).toContain('- redis-data:/data');
    // Its options are the ones npm start's Redis uses (append-only file, memory limit, no eviction).
    expect(services.redis).toContain("command: ['redis-server', '/usr/local/etc/redis/redis.conf']");
    expect(services.redis).toContain('- ./redis.conf:/usr/local/etc/redis/redis.conf:ro');
    expect(services.chroma).toContain('- chroma-data:/data');
    expect(services.conversation).toContain('- conversation-data:/app/.data');
    expect(compose).toMatch(
      /^volumes:\n {2}postgres-data:\n {2}redis-data:\n {2}chroma-data:\n {2}conversation-data:\n?$/m,
    );
  });

  describe.each([
    ['auth', authEnv],
    ['conversation', conversationEnv],
    ['chat', chatEnv],
    ['gateway', gatewayEnv],
  ] as [string, Record<string, ZodType>][])('the %s service', (name, shape) => {
    const set = environment(compose, services[name]);

    it('is given every variable its configuration requires', () => {
      const required = Object.keys(shape).filter((key) => !shape[key].safeParse(undefined).success);
      expect(required.filter((key) => !set.includes(key))).toEqual([]);
    });

    it('is given no variable its configuration does not read', () => {
      expect(set.filter((key) => !(key in shape))).toEqual([]);
    });
  });

  it('routes the gateway to the subgraphs by service name', () => {
    for (const name of ['auth', 'conversation', 'chat'] as const) {
      const variable = `${name.toUpperCase()}_URL`;
      expect(services.gateway).toContain(`${variable}: http://${name}:${APP_PORTS[name]}/graphql`);
    }
  });
});

describe('healthchecks, run here against a stand-in server', () => {
  let reply = { path: '/', status: 200 };
  const server = createServer((req, res) => {
    res.statusCode = req.url === reply.path ? reply.status : 404;
    res.end('{}');
  });
  let port: number;

  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  it("Chroma's passes on 200 from /api/v2/heartbeat and fails otherwise", async () => {
    const probe = healthcheckTest(services.chroma);
    reply = { path: '/api/v2/heartbeat', status: 200 };
    expect(await runHealthcheck(probe, port)).toBe(0);
    reply = { path: '/api/v2/heartbeat', status: 503 };
    expect(await runHealthcheck(probe, port)).not.toBe(0);
    reply = { path: '/elsewhere', status: 200 };
    expect(await runHealthcheck(probe, port)).not.toBe(0);
  });

  it("the platform services' pass on 200 from /health and fail on 503", async () => {
    const probe = healthcheckTest(services.auth);
    reply = { path: '/health', status: 200 };
    expect(await runHealthcheck(probe, port)).toBe(0);
    reply = { path: '/health', status: 503 };
    expect(await runHealthcheck(probe, port)).not.toBe(0);
  });
});

interface ComposeCli {
  label: string;
  command: string;
  args: string[];
}

const composeClis: ComposeCli[] = [
  { label: 'docker-compose', command: 'docker-compose', args: [] },
  { label: 'docker compose', command: 'docker', args: ['compose'] },
];
const installedClis = composeClis.filter(
  (cli) => spawnSync(cli.command, [...cli.args, 'version'], { stdio: 'ignore' }).status === 0,
);

if (installedClis.length === 0) {
  // .ci/run installs docker-compose; a machine without any compose CLI gets the text checks above only.
  // eslint-disable-next-line no-console
  console.warn(
    'Neither docker-compose nor `docker compose` is installed: docker-compose.yml was checked from its text only. ' +
      'Install one (e.g. `apt-get install docker-compose`) to validate it with `config -q`.',
  );
} else {
  describe.each(installedClis.map((cli) => [cli.label, cli] as const))(
    'docker-compose.yml, validated by `%s config`',
    (_label, cli) => {
      const secret = 'compose-test-identity-secret-0123456789';
      const password = 'compose-test-password';
      const operatorToken = 'compose-test-operator-token-0123';
      let dir: string;
      // An empty env file stands in for a developer's .env; only the variables given here are set.
      const run = (env: Record<string, string>, ...args: string[]) =>
        spawnSync(
          cli.command,
          [...cli.args, '--env-file', join(dir, 'empty.env'), '-f', 'docker-compose.yml', 'config', ...args],
          {
            cwd: root,
            encoding: 'utf8',
            env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? dir, ...env },
          },
        );

      beforeAll(() => {
        dir = mkdtempSync(join(tmpdir(), 'compose-test-'));
        writeFileSync(join(dir, 'empty.env'), '');
      });
      afterAll(() => rmSync(dir, { recursive: true, force: true }));

      it('passes `config -q` given IDENTITY_SECRET, POSTGRES_PASSWORD and OPERATOR_TOKEN', () => {
        const result = run(
          { IDENTITY_SECRET: secret, POSTGRES_PASSWORD: password, OPERATOR_TOKEN: operatorToken },
          '-q',
        );
        expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: '' });
      });

      it('lists exactly the seven services', () => {
        const result = run(
          { IDENTITY_SECRET: secret, POSTGRES_PASSWORD: password, OPERATOR_TOKEN: operatorToken },
          '--services',
        );
        expect(result.stdout.trim().split('\n').sort()).toEqual([...SERVICES].sort());
      });

      it('builds DATABASE_URL from the POSTGRES_* variables', () => {
        const result = run({
          IDENTITY_SECRET: secret,
          POSTGRES_PASSWORD: password,
          OPERATOR_TOKEN: operatorToken,
          POSTGRES_USER: 'alice',
        });
        expect(result.stdout).toContain(`postgres://alice:${password}@postgres:5432/chat`);
      });

      it('refuses to render without IDENTITY_SECRET', () => {
        const result = run({ POSTGRES_PASSWORD: password, OPERATOR_TOKEN: operatorToken }, '-q');
        expect(result.status).not.toBe(0);
        expect(result.stderr).toContain('set IDENTITY_SECRET in .env');
      });

      it('refuses to render without POSTGRES_PASSWORD', () => {
        const result = run({ IDENTITY_SECRET: secret, OPERATOR_TOKEN: operatorToken }, '-q');
        expect(result.status).not.toBe(0);
        expect(result.stderr).toContain('set POSTGRES_PASSWORD in .env');
      });

      it('refuses to render without OPERATOR_TOKEN: the gateway runs in production', () => {
        const result = run({ IDENTITY_SECRET: secret, POSTGRES_PASSWORD: password }, '-q');
        expect(result.status).not.toBe(0);
        expect(result.stderr).toContain('set OPERATOR_TOKEN in .env');
      });
    },
  );
}

describe('Dockerfile', () => {
  const stages = dockerfile.split(/^(?=FROM )/m).slice(1);
  const stage = (name: string) => stages.find((s) => new RegExp(`^FROM \\S+ AS ${name}\\b`).test(s)) ?? '';
  const runtime = stages[stages.length - 1];

  it('builds in several stages on Node 20 slim (bookworm)', () => {
    expect(stages.length).toBeGreaterThanOrEqual(3);
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:20-bookworm-slim$/m);
    for (const s of stages) expect(s).toMatch(/^FROM (\$\{NODE_IMAGE\}|\w+) AS [\w-]+\n/);
  });

  it('compiles with `npm ci` and `npm run build`', () => {
    expect(dockerfile).toMatch(/^RUN npm ci$/m);
    expect(dockerfile).toMatch(/^RUN npm run build$/m);
  });

  it('ships only production dependencies, the compiled dist/ and schema/', () => {
    const from = /^COPY --from=([\w-]+) \/app\/node_modules \.\/node_modules$/m.exec(runtime)?.[1] ?? '';
    expect(stage(from)).toMatch(/^RUN npm ci --omit=dev\b/m);
    expect(runtime).toMatch(/^COPY --from=build \/app\/dist \.\/dist$/m);
    expect(runtime).toMatch(/^COPY schema \.\/schema$/m);
    expect(runtime).not.toMatch(/^COPY \. /m);
  });

  it('runs as a non-root user, who may write only .data/', () => {
    const users = [...runtime.matchAll(/^USER (\S+)$/gm)].map((m) => m[1]);
    expect(users.length).toBeGreaterThan(0);
    expect(users[users.length - 1]).not.toMatch(/^(root|0)(:|$)/);
    expect(runtime).toMatch(new RegExp(`^RUN mkdir \\.data && chown ${users[users.length - 1]}:`, 'm'));
  });

  it('listens on all interfaces and starts the gateway unless told otherwise', () => {
    expect(runtime).toMatch(/HOST=0\.0\.0\.0/);
    expect(runtime).toMatch(/^CMD \["node", "dist\/gateway\/main\.js"\]$/m);
  });

  it('keeps host node_modules, dist/, .data/ and .env out of the build context', () => {
    const ignored = dockerignore.split('\n').map((line) => line.trim());
    expect(ignored).toEqual(expect.arrayContaining(['node_modules', 'dist', '.data', '.env', '.git']));
  });
});

describe('Makefile', () => {
  const TARGETS = [
    'help',
    'build',
    'start-all',
    'down',
    'restart-all',
    'logs',
    'shell',
    'restart-auth',
    'restart-conversation',
    'restart-chat',
    'restart-gateway',
  ];
  const unfolded = makefile.replace(/\\\n/g, ' ');
  const defined = [...unfolded.matchAll(/^([\w%. -]+?):(?![=:])/gm)].flatMap((m) => m[1].trim().split(/\s+/));
  const phony = /^\.PHONY:(.*)$/m.exec(unfolded)?.[1].trim().split(/\s+/) ?? [];
  const withMake = spawnSync('make', ['--version'], { stdio: 'ignore' }).status === 0 ? it : it.skip;
  const make = (...args: string[]) =>
    spawnSync('make', ['--no-print-directory', 'COMPOSE=docker compose', ...args], {
      cwd: root,
      encoding: 'utf8',
    });

  it('defines every promised target, each one phony', () => {
    expect(defined).toEqual(expect.arrayContaining(TARGETS));
    expect(phony.sort()).toEqual([...TARGETS].sort());
  });

  it('uses `docker compose` when available, else `docker-compose`', () => {
    expect(makefile).toContain(
      "docker compose version >/dev/null 2>&1 && echo 'docker compose' || echo docker-compose",
    );
  });

  withMake('lists the targets when run without one', () => {
    const { status, stdout } = make();
    expect(status).toBe(0);
    for (const target of TARGETS.filter((t) => t !== 'help')) expect(stdout).toContain(target);
  });

  withMake('start-all builds and starts the stack detached', () => {
    expect(make('-n', 'start-all').stdout.trim()).toBe('docker compose up --build -d');
  });

  withMake('restart-chat rebuilds and recreates that service alone', () => {
    expect(make('-n', 'restart-chat').stdout.trim()).toBe('docker compose up --build -d --no-deps chat');
  });

  withMake('shell needs service=NAME', () => {
    const missing = make('-n', 'shell');
    expect(missing.status).not.toBe(0);
    expect(missing.stderr).toContain('usage: make shell service=NAME');
    expect(make('-n', 'shell', 'service=auth').stdout.trim()).toBe('docker compose exec auth sh');
  });
});
