// ipFamily against node:net's isIP, which it replaces in the executable (a zone is refused here).
import { isIP } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ipFamily, isIpWithOptionalPrefix } from './requestedIps.ts';

describe('ipFamily', () => {
  it.each([
    '10.0.0.1', '255.255.255.255', '0.0.0.0', '256.0.0.1', '01.2.3.4', '1.2.3', '1.2.3.4.5', '1.2.3.4 ', '',
    '::', '::1', 'fd00::5', '2001:db8::1:2:3:4:5', '1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8:9', '::ffff:1.2.3.4', '::ffff:256.1.1.1',
    '1:2:3:4:5:6:1.2.3.4', '1:2:3:4:5:6:7:1.2.3.4', ':::', '1::2::3', 'g::1', '12345::1', '[::1]', '::1/64', 'FD00::A',
  ])('%j as node:net isIP', (text) => {
    expect(ipFamily(text)).toBe(isIP(text));
  });

  it('refuses an IPv6 zone, which node:net accepts', () => {
    expect(isIP('fe80::1%eth0')).toBe(6);
    expect(ipFamily('fe80::1%eth0')).toBe(0);
    expect(isIpWithOptionalPrefix('fe80::1%eth0/64')).toBe(false);
  });

  it.each([['10.0.0.5/24', true], ['10.0.0.5/33', false], ['fd00::5/128', true], ['fd00::5/129', false], ['10.0.0.5/', false], ['10.0.0.5/+1', false]])('%s with a prefix: %s', (text, valid) => {
    expect(isIpWithOptionalPrefix(text)).toBe(valid);
  });
});
