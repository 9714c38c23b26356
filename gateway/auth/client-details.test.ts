import { clientAddressOf, clientDetails } from './client-details';

describe('clientAddressOf', () => {
  it('uses the direct peer when no proxy is trusted, whatever X-Forwarded-For claims', () => {
    expect(clientAddressOf({ ip: '203.0.113.9', forwardedFor: '10.0.0.1' }, 0)).toBe('203.0.113.9');
  });

  it('takes the entry our own proxy added, not those the client wrote before it', () => {
    const forwardedFor = 'spoofed-by-client, 198.51.100.7';
    expect(clientAddressOf({ ip: '10.0.0.2', forwardedFor }, 1)).toBe('198.51.100.7');
  });

  it('counts hops across repeated headers, right to left', () => {
    const forwardedFor = ['spoofed, 198.51.100.7', '10.0.0.3'];
    expect(clientAddressOf({ ip: '10.0.0.2', forwardedFor }, 2)).toBe('198.51.100.7');
  });

  it('falls back to the peer when a trusted proxy sent no header', () => {
    expect(clientAddressOf({ ip: '10.0.0.2' }, 1)).toBe('10.0.0.2');
  });

  it('spells an IPv4 client the same on an IPv6 socket', () => {
    expect(clientAddressOf({ ip: '::ffff:127.0.0.1' }, 0)).toBe('127.0.0.1');
  });
});

describe('clientDetails', () => {
  it('bounds the user agent and leaves out what is unknown', () => {
    expect(clientDetails({ userAgent: 'x'.repeat(2000) }, 0)).toEqual({ userAgent: 'x'.repeat(512) });
  });
});
