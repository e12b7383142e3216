// Addresses the runtime asks for (CONVENTIONS.md): capability `ips`, then args.cni.ips, else the
// deprecated CNI_ARGS IP= (a key also present in `args` wins). Checked for syntax only; the daemon
// decides whether an address fits a pool.
import { CniCode } from '../../../daemon/src/errors.ts';
import { CniError } from './cniError.ts';
import type { CniArgs } from './environment.ts';
import type { NetworkConfig } from './networkConfig.ts';

export function requestedIps(config: NetworkConfig, args: CniArgs): readonly string[] {
  const fromArgs = config.argsIps !== undefined
    ? config.argsIps.map((ip, i) => checkIp(ip, `args.cni.ips[${i}]`))
    : (args.ips ?? []).map((ip) => checkIp(ip, 'CNI_ARGS IP'));
  const fromRuntime = (config.runtimeIps ?? []).map((ip, i) => checkIp(ip, `runtimeConfig.ips[${i}]`));
  return [...new Set([...fromRuntime, ...fromArgs])];
}

/** "ip" or "ip/prefix", IPv4 or IPv6. */
export function isIpWithOptionalPrefix(text: string): boolean {
  const slash = text.indexOf('/');
  const address = slash < 0 ? text : text.slice(0, slash);
  const family = ipFamily(address);
  if (family === 0) return false;
  if (slash < 0) return true;
  const prefix = text.slice(slash + 1);
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

const IPV4_OCTET = '(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const IPV4 = new RegExp(`^${IPV4_OCTET}(\\.${IPV4_OCTET}){3}$`);

/**
 * 4, 6 or 0 (not an address), as node:net's isIP but without a zone ("fe80::1%eth0": a pod address
 * never has one). Not node:net itself: loading it cost the executable ~4 MB of memory. IPv6 is
 * checked by the URL host parser, which accepts exactly the RFC 4291 text forms.
 */
export function ipFamily(text: string): 4 | 6 | 0 {
  if (IPV4.test(text)) return 4;
  if (!/^[0-9A-Fa-f:.]+$/.test(text) || !text.includes(':')) return 0;
  try {
    new URL(`http://[${text}]/`);
    return 6;
  } catch {
    return 0;
  }
}

function checkIp(ip: string, field: string): string {
  if (!isIpWithOptionalPrefix(ip)) {
    throw new CniError(CniCode.INVALID_NETWORK_CONFIG, `${field}: "${ip}" is not an IP address (expected "10.0.0.5" or "10.0.0.5/24")`);
  }
  return ip;
}
