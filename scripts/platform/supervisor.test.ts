import { writeFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { exited } from './processes';
import { Supervisor } from './supervisor';

// A stand-in service: reports SIGTERM, and then exits or, if told to, ignores it; says hello on both
// streams once its handler is in place.
const SERVICE = `
process.on('SIGTERM', () => {
  console.log('got SIGTERM');
  if (process.env.IGNORE_SIGTERM !== 'yes') process.exit(0);
});
console.log('hello');
console.error('warning');
if (process.env.EXIT_CODE) process.exit(Number(process.env.EXIT_CODE));
setInterval(() => undefined, 1000);
`;

let dir: string;
let script: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'supervisor-test-'));
  script = join(dir, 'service.js');
  await writeFile(script, SERVICE);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

function collector() {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return { stream, lines: () => text.trimEnd().split('\n') };
}

async function untilOutput(output: ReturnType<typeof collector>, line: string) {
  while (!output.lines().includes(line)) await new Promise((resolve) => setTimeout(resolve, 20));
}

test('prefixes each output line with the service name, and stops the last started first, killing one that hangs', async () => {
  const stdout = collector();
  const stderr = collector();
  const supervisor = new Supervisor({
    stdout: stdout.stream,
    stderr: stderr.stream,
    colours: false,
    stopTimeoutMs: 1000,
  });
  supervisor.start({ name: 'first', script, env: process.env });
  supervisor.start({ name: 'stubborn', script, env: { ...process.env, IGNORE_SIGTERM: 'yes' } });
  await untilOutput(stdout, '[first] hello');
  await untilOutput(stdout, '[stubborn] hello');

  await supervisor.stopAll();

  expect(stdout.lines().filter((line) => line.endsWith('got SIGTERM'))).toEqual([
    '[stubborn] got SIGTERM',
    '[first] got SIGTERM',
  ]);
  expect(stderr.lines()).toEqual(
    expect.arrayContaining([
      '[first] warning',
      '[stubborn] warning',
      '[stubborn] was killed by SIGKILL',
      '[first] exited with code 0',
    ]),
  );
});

test('reports a service that exits by itself, and does not restart it', async () => {
  const stderr = collector();
  const supervisor = new Supervisor({ stdout: new PassThrough(), stderr: stderr.stream, colours: false });
  const child = supervisor.start({ name: 'short', script, env: { ...process.env, EXIT_CODE: '3' } });
  await exited(child);
  await untilOutput(stderr, '[short] exited with code 3 (not restarted)');
  await supervisor.stopAll();
});

test('a missing entry point fails before anything is spawned, saying to build', () => {
  const supervisor = new Supervisor();
  expect(() =>
    supervisor.start({ name: 'ghost', script: join(dir, 'missing.js'), env: process.env }),
  ).toThrow(`ghost: ${join(dir, 'missing.js')} does not exist; build first (npm run build)`);
});
