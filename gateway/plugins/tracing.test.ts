import type { ChildProcess } from 'node:child_process';
import { eventually } from '../../common/testing/wait';
import { type SignedInCaller, signedInCaller } from '../testing/signed-in-caller';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { deleteRedisKeys } from '../../common/testing/cleanup';
import { testServers } from '../../common/testing/env';
import { postGraphQL } from '../../common/testing/graphql-client';
import { testNamespace } from '../../common/testing/namespace';
import { findFreePort } from '../../common/util/free-port';
import { teeToRunLog } from '../../common/testing/run-log';
import { spawnTypeScript } from '../../common/testing/typescript-process';
import { waitForHttp } from '../../scripts/platform/wait';
import { gatewayInFrontEnv, type Stub, type StubSubgraph, startStubSubgraph } from '../testing/stub-subgraph';

/*
 * With OTEL_EXPORTER_OTLP_ENDPOINT set, the gateway records its spans and exports them over
 * OTLP/HTTP; a loopback collector receives them here. The gateway runs as it does in production,
 * in a process of its own: OpenTelemetry's provider is process-wide, and its exporter loads
 * modules in a way Jest's sandbox does not support.
 */

interface ExportedSpan {
  name: string;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
}

interface TraceExport {
  resourceSpans: { scopeSpans: { spans: ExportedSpan[] }[] }[];
}

const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const CALLER_SPAN_ID = 'b7ad6b7169203331';

describe('tracing exported over OTLP', () => {
  const stub: Stub = { answer: { status: 200, body: { data: { me: { id: 'u-1' } } } }, received: [] };
  const namespace = testNamespace('tracing');
  const exported: { path: string; contentType?: string; body: TraceExport }[] = [];
  let collector: Server;
  let subgraph: StubSubgraph;
  let gateway: ChildProcess | undefined;
  let gatewayUrl: string;
  let caller: SignedInCaller;

  beforeAll(async () => {
    caller = await signedInCaller();
    collector = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        exported.push({
          path: req.url ?? '',
          contentType: req.headers['content-type'],
          body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as TraceExport,
        });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
    subgraph = await startStubSubgraph(stub);
    const port = await findFreePort();
    const env = await gatewayInFrontEnv(subgraph.url, namespace, {
      GATEWAY_PORT: String(port),
      LOG_LEVEL: 'warn',
      JWKS_URL: caller.jwksUrl,
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(collector.address() as AddressInfo).port}`,
    });
    gateway = spawnTypeScript(join(__dirname, '../main.ts'), [], { env: { ...process.env, ...env } });
    teeToRunLog(gateway.stdout, 'gateway');
    teeToRunLog(gateway.stderr, 'gateway');
    gatewayUrl = `http://127.0.0.1:${port}/graphql`;
    await waitForHttp('the gateway', `http://127.0.0.1:${port}/health`, { timeoutMs: 30_000 });
  });
  afterAll(async () => {
    gateway?.kill('SIGKILL');
    await subgraph?.close();
    await new Promise((resolve) => collector?.close(resolve));
    await caller?.close();
    await deleteRedisKeys(testServers().redisUrl, `${namespace}:`);
  });

  it('exports the operation’s spans in the caller’s trace, and the subgraph request is a child of its fetch span', async () => {
    // A signed-in request checks revocations in Redis: tried until the gateway's connection is up.
    await eventually(async () => {
      const response = await postGraphQL(
        gatewayUrl,
        'query Me { me { id } }',
        {},
        { ...caller.headers, traceparent: `00-${TRACE_ID}-${CALLER_SPAN_ID}-01` },
      );
      expect(response.data).toEqual({ me: { id: 'u-1' } });
    });
    // A graceful stop flushes the batch of spans to the collector.
    const running = gateway as ChildProcess;
    running.kill('SIGTERM');
    await once(running, 'exit');

    expect(exported.length).toBeGreaterThan(0);
    expect(exported[0]).toMatchObject({ path: '/v1/traces', contentType: 'application/json' });
    const spans = exported.flatMap(({ body }) =>
      body.resourceSpans.flatMap((resource) => resource.scopeSpans.flatMap((scope) => scope.spans)),
    );
    expect(spans.every((span) => span.traceId === TRACE_ID)).toBe(true);
    expect(spans.map((span) => span.name)).toEqual(
      expect.arrayContaining(['gateway.request', 'gateway.plan', 'gateway.fetch']),
    );
    expect(spans.find((span) => span.name === 'gateway.request')?.parentSpanId).toBe(CALLER_SPAN_ID);

    const [, traceId, parentId, flags] = String(stub.received[0].traceparent).split('-');
    expect({ traceId, flags }).toEqual({ traceId: TRACE_ID, flags: '01' });
    expect(spans.find((span) => span.spanId === parentId)?.name).toBe('gateway.fetch');
  });
});
