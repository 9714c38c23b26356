import { createClient as createSseClient } from 'graphql-sse';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { projectRoot } from '../common/config/paths';
import { registerUser, type TestUser } from '../common/testing/auth';
import { deleteRedisKeys, dropSchemas } from '../common/testing/cleanup';
import { postGraphQL } from '../common/testing/graphql-client';
import { testNamespace } from '../common/testing/namespace';
import { type ServiceProcess, startServiceProcess } from '../common/testing/service-process';
import { eventually } from '../common/testing/wait';
import { openai, startLoopbackServer, type LoopbackServer } from '../subgraphs/chat/testing/loopback-llm';
import { testPlatformEnv, testRedisPrefix } from './support/platform';

/*
 * Issue 16, item 6: one chat message traced end to end. Every service runs as production runs it,
 * in a process of its own with OTEL_EXPORTER_OTLP_ENDPOINT set to a loopback OTLP/HTTP collector
 * started here; the model is a loopback OpenAI-compatible server. A client's `sendMessage` with a
 * `traceparent`, and the reply streamed, must give one trace: the gateway's spans, the chat
 * subgraph's operation, its call to the conversation subgraph, the database and Redis calls, and
 * the model call as a GenAI span, each under the one that caused it.
 */

interface AnyValue {
  stringValue?: string;
  intValue?: number | string;
  doubleValue?: number;
  arrayValue?: { values: AnyValue[] };
}

interface ExportedSpan {
  service: string;
  name: string;
  kind: number;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  attributes: Record<string, unknown>;
  status?: { code?: number };
}

interface TraceExport {
  resourceSpans: {
    resource: { attributes: { key: string; value: AnyValue }[] };
    scopeSpans: {
      spans: (Omit<ExportedSpan, 'service' | 'attributes'> & {
        attributes?: { key: string; value: AnyValue }[];
      })[];
    }[];
  }[];
}

const valueOf = (value: AnyValue): unknown =>
  value.stringValue ??
  (value.intValue !== undefined ? Number(value.intValue) : undefined) ??
  value.doubleValue ??
  value.arrayValue?.values.map(valueOf);

const attributesOf = (list: { key: string; value: AnyValue }[] = []) =>
  Object.fromEntries(list.map(({ key, value }) => [key, valueOf(value)]));

/** A loopback OTLP/HTTP collector: every span it is sent, with its service's name. */
async function startCollector(): Promise<{ url: string; spans: ExportedSpan[]; server: Server }> {
  const spans: ExportedSpan[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.url === '/v1/traces') {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as TraceExport;
        for (const { resource, scopeSpans } of body.resourceSpans) {
          const service = String(attributesOf(resource.attributes)['service.name']);
          for (const span of scopeSpans.flatMap((scope) => scope.spans))
            spans.push({ ...span, service, attributes: attributesOf(span.attributes) });
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, spans, server };
}

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN_ID = '00f067aa0ba902b7';
const SPAN_KIND = { SERVER: 2, CLIENT: 3 };

const SEND = `mutation SendMessage($content: String!) {
  sendMessage(input: { content: $content }) { generation { id } }
}`;
const FOLLOW = `subscription Follow($id: ID!) { generation(id: $id) { type delta } }`;

describe('a trace of one chat message', () => {
  const namespace = testNamespace('tracing');
  const env = testPlatformEnv(namespace);
  const services: ServiceProcess[] = [];
  let collector: Awaited<ReturnType<typeof startCollector>>;
  let llm: LoopbackServer;
  let gatewayUrl: string;
  let ada: TestUser;

  beforeAll(async () => {
    [collector, llm] = await Promise.all([startCollector(), startLoopbackServer()]);
    llm.serveModels('m');
    const common = {
      ...env,
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
      // Batches leave every 100 ms rather than every 5 s.
      OTEL_BSP_SCHEDULE_DELAY: '100',
      LLM_PROVIDER: 'openai-compatible',
      LLM_BASE_URL: `${llm.url}/v1`,
      LLM_MODEL: 'm',
    };
    const start = async (entry: string, service: string, wired: Record<string, string> = {}) => {
      const running = await startServiceProcess(
        join(projectRoot(), entry),
        { ...common, REDIS_KEY_PREFIX: testRedisPrefix(namespace, service), ...wired },
        60_000,
      );
      services.push(running);
      return running.url;
    };
    const [auth, conversation] = await Promise.all([
      start('subgraphs/auth/main.ts', 'auth'),
      start('subgraphs/conversation/main.ts', 'conversation'),
    ]);
    const chat = await start('subgraphs/chat/main.ts', 'chat', { CONVERSATION_URL: conversation });
    gatewayUrl = await start('gateway/main.ts', 'gateway', {
      AUTH_URL: auth,
      CONVERSATION_URL: conversation,
      CHAT_URL: chat,
    });
    ada = await registerUser({ gatewayUrl });
  }, 120_000);
  afterAll(async () => {
    await Promise.all(services.map((service) => service.stop()));
    await Promise.all([
      llm?.close(),
      new Promise((resolve) => collector?.server.close(resolve)),
      dropSchemas(env.DATABASE_URL, [env.AUTH_DB_SCHEMA, env.CONVERSATION_DB_SCHEMA]),
      deleteRedisKeys(env.REDIS_URL, `${namespace}:`),
    ]);
  });

  it('continues the client’s trace through the gateway, both subgraphs, their stores and the model', async () => {
    llm.enqueue(
      {
        kind: 'sse',
        events: [
          openai.text('Traces'),
          openai.text(' all the way.'),
          openai.finish(),
          openai.usage(),
          openai.done,
        ],
      },
      // The conversation's title, asked for in one piece.
      {
        kind: 'json',
        status: 200,
        body: {
          id: 'c2',
          object: 'chat.completion',
          created: 1,
          model: 'm',
          choices: [{ index: 0, message: { role: 'assistant', content: 'Tracing' }, finish_reason: 'stop' }],
        },
      },
    );
    const sent = await postGraphQL<{ sendMessage: { generation: { id: string } } }>(
      gatewayUrl,
      SEND,
      { content: 'Where does this message go?' },
      { ...ada.headers, traceparent: `00-${TRACE_ID}-${CALLER_SPAN_ID}-01` },
    );
    expect(sent.errors).toBeUndefined();
    const sse = createSseClient({ url: gatewayUrl, headers: ada.headers, retryAttempts: 0 });
    const types: string[] = [];
    for await (const result of sse.iterate<{ generation: { type: string } }>({
      query: FOLLOW,
      variables: { id: sent.data?.sendMessage.generation.id },
    }))
      types.push(result.data?.generation.type ?? 'ERROR');
    sse.dispose();
    expect(types.at(-1)).toBe('DONE');

    const byId = (spans: ExportedSpan[]) => new Map(spans.map((span) => [span.spanId, span]));
    /** The span, its parent, and so on up to the first whose parent is not in the trace. */
    const lineageIn = (spans: Map<string, ExportedSpan>, span: ExportedSpan): ExportedSpan[] => {
      const parent = spans.get(span.parentSpanId ?? '');
      return [span, ...(parent ? lineageIn(spans, parent) : [])];
    };
    const isStoreCall = (system: string) => (span: ExportedSpan) =>
      span.attributes['db.system.name'] === system || span.attributes['db.system'] === system;
    /** The spans this test looks at, by what they are. */
    const expected = {
      gatewayRequest: (span: ExportedSpan) => span.service === 'gateway' && span.name === 'gateway.request',
      sendMessage: (span: ExportedSpan) =>
        span.service === 'chat' && span.name.startsWith('mutation SendMessage'),
      conversationOperation: (span: ExportedSpan) =>
        span.service === 'conversation' && span.kind === SPAN_KIND.SERVER,
      statement: (span: ExportedSpan) => span.service === 'conversation' && isStoreCall('postgresql')(span),
      redisCommand: (span: ExportedSpan) => span.service === 'chat' && isStoreCall('redis')(span),
      // A first message's write carries its recall (the context read and the search beside it).
      turnWrite: (span: ExportedSpan) =>
        span.service === 'conversation' && span.name === 'mutation AppendFirstTurn',
      chromaCall: (span: ExportedSpan) =>
        span.service === 'conversation' && String(span.attributes['url.full']).startsWith(env.CHROMA_URL),
      modelCall: (span: ExportedSpan) =>
        span.service === 'chat' &&
        span.name === 'chat m' &&
        span.attributes['gen_ai.usage.output_tokens'] !== undefined,
    };
    // Spans leave in batches every 100 ms, each when it ends: the trace is whole once each kind is
    // in and every span hangs, through its parents, from a gateway span whose parent is the client's.
    const trace = await eventually(
      () => {
        const spans = collector.spans.filter((span) => span.traceId === TRACE_ID);
        for (const [kind, matches] of Object.entries(expected))
          expect({ kind, found: spans.some(matches) }).toEqual({ kind, found: true });
        const index = byId(spans);
        for (const span of spans)
          expect(lineageIn(index, span).at(-1)).toMatchObject({
            service: 'gateway',
            parentSpanId: CALLER_SPAN_ID,
          });
        return spans;
      },
      { timeoutMs: 20_000 },
    );
    const index = byId(trace);
    const parentOf = (span: ExportedSpan) => index.get(span.parentSpanId ?? '');
    const lineage = (span: ExportedSpan) => lineageIn(index, span);
    const all = (kind: keyof typeof expected) => trace.filter(expected[kind]);

    // One trace, continuing the client's span, with spans from every service on the path.
    expect(new Set(trace.map((span) => span.service))).toEqual(new Set(['gateway', 'chat', 'conversation']));
    const [root] = all('gatewayRequest');
    expect(root.parentSpanId).toBe(CALLER_SPAN_ID);
    // gateway.fetch → chat's operation → chat's call to conversation → conversation's operation.
    const [sendMessage] = all('sendMessage');
    expect(sendMessage).toMatchObject({
      kind: SPAN_KIND.SERVER,
      attributes: expect.objectContaining({ 'graphql.operation.type': 'mutation' }),
    });
    expect(parentOf(sendMessage)).toMatchObject({ service: 'gateway', name: 'gateway.fetch' });
    const conversationOperations = all('conversationOperation');
    for (const operation of conversationOperations) {
      expect(operation.name).toMatch(/^(query|mutation) /);
      const call = parentOf(operation) as ExportedSpan;
      expect(call).toMatchObject({ service: 'chat', kind: SPAN_KIND.CLIENT });
      expect(lineage(call)).toContain(sendMessage);
    }

    // The stores' calls, each under the operation that made it.
    for (const statement of all('statement'))
      expect(lineage(statement).some((span) => conversationOperations.includes(span))).toBe(true);
    for (const command of all('redisCommand')) expect(lineage(command)).toContain(sendMessage);

    // Recall's search in Chroma, over its HTTP API, under the conversation's operation that carries it.
    const [turnWrite] = all('turnWrite');
    for (const call of all('chromaCall')) expect(lineage(call)).toContain(turnWrite);
    // …named after OpenTelemetry's DB conventions: the system, and the operation (recall's is a query).
    expect(all('chromaCall').find((call) => call.name === 'query')?.attributes).toMatchObject({
      'db.system.name': 'chromadb',
      'db.operation.name': 'query',
    });

    // The model call, after the GenAI conventions, in the sendMessage's trace though it runs after it returned.
    const [reply] = all('modelCall');
    expect(reply).toMatchObject({
      kind: SPAN_KIND.CLIENT,
      attributes: expect.objectContaining({
        'gen_ai.operation.name': 'chat',
        'gen_ai.provider.name': 'openai-compatible',
        'gen_ai.request.model': 'm',
        'gen_ai.request.temperature': expect.any(Number),
        'gen_ai.request.max_tokens': expect.any(Number),
        'gen_ai.response.model': 'm',
        'gen_ai.response.finish_reasons': ['stop'],
        'gen_ai.usage.input_tokens': expect.any(Number),
        'gen_ai.usage.output_tokens': expect.any(Number),
        'gen_ai.response.time_to_first_chunk': expect.any(Number),
      }),
    });
    expect(lineage(reply)).toContain(sendMessage);
    // The provider's HTTP request is the model span's child.
    expect(trace.some((span) => parentOf(span) === reply && span.kind === SPAN_KIND.CLIENT)).toBe(true);
  }, 60_000);

  it('gives a subgraph operation the code of a caller’s error, without marking the span failed', async () => {
    const traceId = '5bf92f3577b34da6a3ce929d0e0e4737';
    const response = await postGraphQL(
      gatewayUrl,
      'query Missing { conversation(id: "no-such-conversation") { id } }',
      {},
      { ...ada.headers, traceparent: `00-${traceId}-${CALLER_SPAN_ID}-01` },
    );
    expect(response.errors?.[0].extensions?.code).toBe('NOT_FOUND');
    const operation = await eventually(() => {
      const found = collector.spans.find(
        (span) =>
          span.traceId === traceId && span.service === 'conversation' && span.kind === SPAN_KIND.SERVER,
      );
      expect(found).toBeDefined();
      return found as ExportedSpan;
    });
    expect(operation).toMatchObject({
      name: 'query Missing__conversation__0',
      attributes: expect.objectContaining({ 'error.type': 'NOT_FOUND' }),
      status: { code: 0 },
    });
  });
});
