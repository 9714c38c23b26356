import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';

/**
 * Frames a WebSocket sends in one tick leave in one write. A reply's tokens arrive in bursts (a
 * Redis read returns several events), and each event is a frame: written one by one, every frame
 * is a system call of its own, which profiling showed as the largest single cost per token in
 * the chat subgraph and the gateway. Corking the connection's socket until the tick ends turns a
 * burst into one `writev`, without delaying any frame past the tick it was sent in.
 */
export function coalesceWrites(socket: WebSocket, connection: Socket): void {
  const send = socket.send.bind(socket) as (...args: unknown[]) => void;
  let corked = false;
  const uncork = () => {
    corked = false;
    connection.uncork();
  };
  socket.send = ((...args: unknown[]) => {
    if (!corked && connection.writable) {
      corked = true;
      connection.cork();
      process.nextTick(uncork);
    }
    send(...args);
  }) as WebSocket['send'];
}
