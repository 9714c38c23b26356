import { BlockList, isIP } from 'node:net';
import type { ContextInput } from '../context';

const USER_AGENT_MAX_LENGTH = 512;

/** Node reports IPv4 peers on a dual-stack socket as IPv4-mapped IPv6; one client, one spelling. */
const normalized = (address: string) => address.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1');

const familyOf = (address: string) => (isIP(address) === 6 ? 'ipv6' : 'ipv4');

/** Whether an entry of TRUSTED_PROXIES is an address or a CIDR range. */
export function isAddressOrRange(entry: string): boolean {
  const [address, bits, extra] = entry.split('/');
  if (extra !== undefined || isIP(address) === 0) return false;
  if (bits === undefined) return true;
  const max = isIP(address) === 6 ? 128 : 32;
  return /^\d+$/.test(bits) && Number(bits) <= max;
}

/** The proxies of our own in front of the gateway: addresses and CIDR ranges (TRUSTED_PROXIES). */
export class TrustedProxies {
  private readonly list = new BlockList();

  constructor(entries: readonly string[]) {
    for (const entry of entries) {
      const [address, bits] = entry.split('/');
      if (bits === undefined) this.list.addAddress(address, familyOf(address));
      else this.list.addSubnet(address, Number(bits), familyOf(address));
    }
  }

  has(address: string): boolean {
    return isIP(address) !== 0 && this.list.check(address, familyOf(address));
  }
}

/**
 * The client's address. Walking from the direct peer leftwards through X-Forwarded-For, each hop
 * that is one of our trusted proxies vouches for the entry to its left; the first address that is
 * not a trusted proxy is the client. A peer that is not a trusted proxy is the client whatever the
 * header says, and entries a client wrote itself are never reached, so the address cannot be spoofed.
 */
export function clientAddressOf(
  input: Pick<ContextInput, 'ip' | 'forwardedFor'>,
  trusted: TrustedProxies,
): string | undefined {
  if (input.ip === undefined) return undefined;
  const forwarded = [input.forwardedFor ?? []]
    .flat()
    .flatMap((header) => header.split(','))
    .map((entry) => normalized(entry.trim()))
    .filter(Boolean);
  const chain = [...forwarded, normalized(input.ip)];
  let hop = chain.length - 1;
  while (hop > 0 && trusted.has(chain[hop])) hop -= 1;
  return chain[hop];
}

/** The parts of an identity that describe the client rather than the user. */
export function clientDetails(input: ContextInput, trusted: TrustedProxies) {
  const clientAddress = clientAddressOf(input, trusted);
  const userAgent = input.userAgent?.slice(0, USER_AGENT_MAX_LENGTH);
  return {
    ...(clientAddress ? { clientAddress } : {}),
    ...(userAgent ? { userAgent } : {}),
  };
}
