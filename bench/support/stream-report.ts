import { fixed } from './markdown';
import type { ProcessMemory } from './process-usage';
import { percentile, type StreamSummary } from './streams';

/** One measured run, as a row of the subscription benchmark's table (docs/subscriptions.md quotes it). */
export interface StreamRow {
  target: string;
  selection: string;
  streams: number;
  tokensPerSecondEach: number;
  summary: StreamSummary;
  /**
   * While the tokens flowed: seconds, and CPU seconds of the chat subgraph, of the two others (auth
   * and conversation: the replies' saves and titles), of this process and of the gateway.
   */
  cpu: { seconds: number; chat: number; otherSubgraphs: number; bench: number; gateway?: number };
  gatewayMemory?: ProcessMemory;
  /** The machine's 1-minute load average at the end: anything else running skews the figures. */
  load: number;
}

const COLUMNS = [
  'target',
  'selection',
  'streams',
  'tokens/s each',
  'tokens delivered / expected',
  'lost',
  'out of order',
  'failed streams',
  'latency p50 / p99 ms',
  'added p50 / p99 ms',
  'delivered tokens/s',
  'gateway CPU',
  'per 1,000 subs',
  'gateway CPU µs per token',
  'gateway peak RSS MB',
  'RSS MB added per 1,000 subs',
  'chat CPU',
  'chat CPU µs per token',
  'auth + conversation CPU µs per token',
  'bench CPU',
  'load',
];

export const STREAM_TABLE_HEADER = [
  `| ${COLUMNS.join(' | ')} |`,
  `|${COLUMNS.map((_, i) => (i < 2 ? '---' : '---:')).join('|')}|`,
].join('\n');

const percentiles = (sorted: number[]) =>
  `${fixed(percentile(sorted, 50), 1)} / ${fixed(percentile(sorted, 99), 1)}`;

export function formatStreamRow(row: StreamRow): string {
  const { summary: s, cpu, gatewayMemory: memory } = row;
  const percent = (cpuSeconds: number | undefined) =>
    cpuSeconds === undefined ? '—' : `${fixed((cpuSeconds / cpu.seconds) * 100, 0)}%`;
  const perThousand = (value: number | undefined) =>
    value === undefined ? undefined : (value * 1000) / row.streams;
  const cells = [
    row.target,
    row.selection,
    row.streams,
    row.tokensPerSecondEach,
    `${s.deliveredTokens} / ${s.expectedTokens}`,
    s.expectedTokens - s.deliveredTokens,
    s.outOfOrder,
    s.failedStreams,
    percentiles(s.latencyMs),
    percentiles(s.addedMs),
    fixed(s.tokensPerSecond, 0),
    percent(cpu.gateway),
    percent(perThousand(cpu.gateway)),
    fixed(cpu.gateway === undefined ? undefined : (cpu.gateway / s.deliveredTokens) * 1e6, 0),
    fixed(memory?.peakRssMb, 0),
    fixed(perThousand(memory && memory.peakRssMb - memory.startRssMb), 0),
    percent(cpu.chat),
    fixed((cpu.chat / s.deliveredTokens) * 1e6, 0),
    fixed((cpu.otherSubgraphs / s.deliveredTokens) * 1e6, 0),
    percent(cpu.bench),
    fixed(row.load, 1),
  ];
  return `| ${cells.join(' | ')} |`;
}
