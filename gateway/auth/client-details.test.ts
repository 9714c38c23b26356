import { clientAddressOf, clientDetails, isAddressOrRange, TrustedProxies } from './client-details';

const none = new TrustedProxies([]);
const ours = new TrustedProxies(['10.0.0.0/8', '192.0.2.10']);

describe('clientAddressOf', () => {
  it('uses the direct peer when no proxy is trusted, whatever X-Forwarded-For claims', () => {
    expect(clientAddressOf({ ip: '203.0.113.9', forwardedFor: '10.0.0.1' }, none)).toBe('203.0.113.9');
  });

  it('uses the direct peer when it is not one of our proxies, though proxies are configured', () => {
    expect(clientAddressOf({ ip: '203.0.113.9', forwardedFor: '198.51.100.7' }, ours)).toBe('203.0.113.9');
  });

  it('takes the entry our own proxy added, not those the client wrote before it', () => {
    const forwardedFor = 'spoofed-by-client, 198.51.100.7';
    expect(clientAddressOf({ ip: '10.0.0.2', forwardedFor }, ours)).toBe('198.51.100.7');
  });

  it('walks through every trusted hop, across repeated headers, right to left', () => {
    const forwardedFor = ['spoofed, 198.51.100.7', '192.0.2.10'];
    expect(clientAddressOf({ ip: '10.0.0.2', forwardedFor }, ours)).toBe('198.51.100.7');
  });

  it('falls back to the peer when a trusted proxy sent no header', () => {
    expect(clientAddressOf({ ip: '10.0.0.2' }, ours)).toBe('10.0.0.2');
  });

  it('spells an IPv4 client the same on an IPv6 socket, and trusts it as such', () => {
    expect(clientAddressOf({ ip: '::ffff:127.0.0.1' }, none)).toBe('127.0.0.1');
    const loopback = new TrustedProxies(['127.0.0.1']);
    expect(clientAddressOf({ ip: '::ffff:127.0.0.1', forwardedFor: '198.51.100.7' }, loopback)).toBe(
      '198.51.100.7',
    );
  });
});

describe('isAddressOrRange', () => {
  it('accepts addresses and CIDR ranges of either family, and nothing else', () => {
    expect(['10.0.0.1', '10.0.0.0/8', '::1', 'fd00::/8'].every(isAddressOrRange)).toBe(true);
    expect(
      ['proxy.local', '10.0.0.0/33', '10.0.0.0/x', '::1/129', '1.2.3.4/8/1'].some(isAddressOrRange),
    ).toBe(false);
  });
});
describe('clientDetails', () => {
  it('bounds the user agent and leaves out what is unknown', () => {
    expect(clientDetails({ userAgent: 'x'.repeat(2000) }, none)).toEqual({ userAgent: 'x'.repeat(512) });
  });
});
