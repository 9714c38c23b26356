import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import { tickCorker } from '../util/tick-writes';

/**
 * Frames buffered for a connection below which a send is acknowledged at once rather than when the
 * frame reaches the kernel. Past it, senders wait for the writes as before: a peer that stops reading
 * still holds its senders back (and the gateway's per-subscription queues still overflow for it).
 */
export const EARLY_ACK_HIGH_WATER_BYTES = 64 * 1024;

type SendCallback = (error?: Error) => void;

/**
 * Frames a WebSocket sends in one tick leave in one write. A reply's tokens arrive in bursts (a
 * Redis read returns several events), and each event is a frame: written one by one, every frame
 * is a system call of its own, which profiling showed as the largest single cost per token in
 * the chat subgraph and the gateway. Corking the connection's socket until the tick ends turns a
 * burst into one `writev`, without delaying any frame past the tick it was sent in.
 *
 * graphql-ws sends a subscription's next event only once the previous one's send has called back,
 * which ws does after the write: one subscription's burst would still leave one frame per write.
 * So while little is buffered (under EARLY_ACK_HIGH_WATER_BYTES) a send calls back as soon as ws has
 * the frame, in order; a write that fails later closes the socket, which ends its subscriptions.
 */
export function coalesceWrites(socket: WebSocket, connection: Socket): void {
  const send = socket.send.bind(socket) as (...args: unknown[]) => void;
  const corkForTick = tickCorker(connection);
  socket.send = ((...args: unknown[]) => {
    corkForTick();
    const callback = args.at(-1);
    if (typeof callback !== 'function' || socket.bufferedAmount >= EARLY_ACK_HIGH_WATER_BYTES) {
      send(...args);
      return;
    }
    let acknowledged = false;
    send(...args.slice(0, -1), (error?: Error) => {
      if (error && !acknowledged) (callback as SendCallback)(error);
    });
    queueMicrotask(() => {
      acknowledged = true;
      (callback as SendCallback)();
    });
  }) as WebSocket['send'];
}
