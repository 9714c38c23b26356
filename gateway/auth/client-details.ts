import type { ContextInput } from '../context';

const USER_AGENT_MAX_LENGTH = 512;

/**
 * The client's address: the direct peer's, or, behind `trustedProxyHops` proxies of our own,
 * the address the outermost of them saw. Entries a client put in X-Forwarded-For itself sit
 * further left and are never read, so the address cannot be spoofed.
 */
export function clientAddressOf(input: Pick<ContextInput, 'ip' | 'forwardedFor'>, trustedProxyHops: number) {
  const forwarded = [input.forwardedFor ?? []]
    .flat()
    .flatMap((header) => header.split(','))
    .map((entry) => entry.trim())
    .filter(Boolean);
  const address =
    trustedProxyHops > 0 && forwarded.length > 0
      ? forwarded[Math.max(0, forwarded.length - trustedProxyHops)]
      : input.ip;
  // Node reports IPv4 peers on a dual-stack socket as IPv4-mapped IPv6; one client, one spelling.
  return address?.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1');
}

/** The parts of an identity that describe the client rather than the user. */
export function clientDetails(input: ContextInput, trustedProxyHops: number) {
  const clientAddress = clientAddressOf(input, trustedProxyHops);
  const userAgent = input.userAgent?.slice(0, USER_AGENT_MAX_LENGTH);
  return {
    ...(clientAddress ? { clientAddress } : {}),
    ...(userAgent ? { userAgent } : {}),
  };
}
