import 'reflect-metadata';
import { createLogger } from '../../../common/logging/logger';
import { startChatSubgraph } from '../app';
import { loadChatConfig } from '../config';

/**
 * A chat subgraph in a process of its own (see child-process.ts), configured by its environment.
 * It prints its URL as one JSON line on stdout once it listens.
 */
const config = loadChatConfig();
startChatSubgraph(
  config,
  createLogger({ service: 'chat-child', level: config.LOG_LEVEL, pretty: false }),
).then(
  (running) => process.stdout.write(`${JSON.stringify({ url: running.url })}\n`),
  (error: unknown) => {
    process.stderr.write(`chat child failed to start: ${String(error)}\n`);
    process.exit(1);
  },
);
