// host-local's disk store, pre-filled the way host-local itself writes it: one file per leased
// address under <dataDir>/<network>/ holding "<container id>\r\n<ifname>", plus the last
// reserved address, so a new ADD finds the next free address at once and pays only for
// reading the existing leases (which it does on every call).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function fillHostLocalStore(dataDir, network, { firstOctets, count }) {
  const dir = join(dataDir, network);
  mkdirSync(dir, { recursive: true });
  let last = '';
  for (let i = 0; i < count; i++) {
    const host = i + 2; // .0 is the network, .1 the gateway
    last = `${firstOctets}.${host >> 8}.${host & 0xff}`;
    writeFileSync(join(dir, last), `prefill-${i}\r\neth0`);
  }
  if (last) writeFileSync(join(dir, 'last_reserved_ip.0'), last);
}

export function hostLocalConfig(network, subnet, dataDir) {
  return { cniVersion: '1.0.0', name: network, type: 'bridge', ipam: { type: 'host-local', ranges: [[{ subnet }]], dataDir } };
}
