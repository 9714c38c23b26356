import { once } from 'node:events';
import { silentLogger } from '../../../common/testing/logger';
import { type ChatOverrides, type ChatRuntime, createChatRuntime } from '../app';
import type { FollowedEvent } from '../services/generation.service';
import { testChatConfig } from './chat-config';

/**
 * The chat engine as one test file starts it: offline and fast (testChatConfig), on the real Redis
 * under the file's key prefix. `start` builds one and waits until its Redis is ready; `stopAll`,
 * for afterEach, stops every one started.
 */
export function testChatRuntimes(redisPrefix: string) {
  const started: ChatRuntime[] = [];
  return {
    async start(env: Record<string, string> = {}, overrides: ChatOverrides = {}): Promise<ChatRuntime> {
      const runtime = await createChatRuntime(testChatConfig(redisPrefix, env), silentLogger(), overrides);
      started.push(runtime);
      if (runtime.redis.status !== 'ready') await once(runtime.redis, 'ready');
      return runtime;
    },
    async stopAll(): Promise<void> {
      for (const runtime of started.splice(0)) await runtime.stop();
    },
  };
}

/** Every event of a followed generation, read until the stream ends. */
export async function drain(events: AsyncIterable<FollowedEvent>): Promise<FollowedEvent[]> {
  const all: FollowedEvent[] = [];
  for await (const event of events) all.push(event);
  return all;
}
