/**
 * Open connections per client address, in this process: a bound on what one address may hold
 * (each WebSocket costs memory, a session watch and keep-alive pings), counted when a connection
 * opens and released once when it closes, however it closes.
 */
export class ConnectionsPerAddress {
  private readonly open = new Map<string, number>();

  constructor(readonly max: number) {}

  /** Whether one more connection from this address fits now. */
  allows(address: string): boolean {
    return (this.open.get(address) ?? 0) < this.max;
  }

  /** Counts a connection; the returned function releases it (only the first call counts). */
  add(address: string): () => void {
    this.open.set(address, (this.open.get(address) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.open.get(address) ?? 1) - 1;
      if (left === 0) this.open.delete(address);
      else this.open.set(address, left);
    };
  }
}
