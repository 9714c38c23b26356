import type { Redis } from 'ioredis';
import { redisKeys } from '../store/redis-keys';

/** XREAD's answer: per stream key (full, with the key prefix), its entries. */
export type StreamReadReply = [key: string, entries: [id: string, fields: string[]][]][] | null;

/**
 * The Redis commands of the stream hub's one blocking reader: a connection of its own that blocks
 * in XREAD over every followed stream, and the command connection that wakes it (CLIENT UNBLOCK)
 * when a stream is added. The reader carries a name, so that after a reconnect its new client id
 * can be found from the command connection.
 */
export class StreamReaderRepository {
  constructor(
    private readonly reader: Redis,
    private readonly control: Redis,
    private readonly readerName: string,
  ) {}

  /** Runs `ready` now if the reader is connected, and on every (re)connection. */
  onReady(ready: () => void): void {
    this.reader.on('ready', ready);
    if (this.reader.status === 'ready') ready();
  }

  /** Names the reader's connection; sent before any read ioredis resends on it. */
  nameReader(): void {
    this.reader.client('SETNAME', this.readerName).catch(() => undefined);
  }

  async readerId(): Promise<string> {
    return String(await this.reader.client('ID'));
  }

  /** Waits up to `blockMs` for entries after each cursor (an entry id) of the generations' streams. */
  read(generationIds: string[], cursors: string[], count: number, blockMs: number): Promise<StreamReadReply> {
    // xread (not `call`): ioredis adds the key prefix to the stream names only for known commands.
    return this.reader.xread(
      'COUNT',
      count,
      'BLOCK',
      blockMs,
      'STREAMS',
      ...generationIds.map(redisKeys.events),
      ...cursors,
    ) as Promise<StreamReadReply>;
  }

  /** Ends the reader's blocking read now (it answers null); false when it could not be sent. */
  unblock(readerId: string): Promise<boolean> {
    return this.control.client('UNBLOCK', readerId).then(
      () => true,
      () => false,
    );
  }

  /** The reader's client id, looked up by its name from the command connection. */
  async findReaderId(): Promise<string | null> {
    const clients = String(await this.control.client('LIST', 'TYPE', 'NORMAL'));
    const line = clients.split('\n').find((entry) => entry.includes(` name=${this.readerName} `));
    return /^id=(\d+)/.exec(line ?? '')?.[1] ?? null;
  }
}
