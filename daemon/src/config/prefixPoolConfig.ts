// The prefix pool's own keys: the length of the prefixes it hands out and the subnets it keeps back.
import { cidrBounds, familyBits, formatCidr } from '../ip/address.ts';
import { mergeIntervals } from './addressIntervals.ts';
import { describeType, parseChoice, parseCidrField, parseInteger, sharedSettings, type CommonFields, type Mapping, type Problems } from './configFields.ts';
import type { AddressInterval, PrefixPoolConfig, PrefixStrategy } from './types.ts';

const PREFIX_STRATEGIES: readonly PrefixStrategy[] = ['efficient', 'sequential'];

export function parsePrefixPool(entry: Mapping, path: string, common: CommonFields, problems: Problems): PrefixPoolConfig | undefined {
  const { subnet } = common;
  const strategy = parseChoice(entry.strategy, `${path}.strategy`, PREFIX_STRATEGIES, 'efficient', problems);
  const bits = subnet ? familyBits(subnet.family) : 128;
  const prefixLength = entry.prefixLength === undefined
    ? problems.add(`${path}.prefixLength`, 'is required for a prefix pool: the length of the prefixes it hands out, e.g. 24 or 64')
    : parseInteger(entry.prefixLength, `${path}.prefixLength`, subnet?.prefixLength ?? 0, bits, problems);
  const reserved: AddressInterval[] = [];
  if (entry.reservedSubnets !== undefined) {
    if (!Array.isArray(entry.reservedSubnets)) {
      problems.add(`${path}.reservedSubnets`, `must be a list of CIDRs, not ${describeType(entry.reservedSubnets)}`);
    } else {
      entry.reservedSubnets.forEach((item: unknown, index) => {
        const itemPath = `${path}.reservedSubnets[${index}]`;
        const cidr = parseCidrField(item, itemPath, subnet?.family, problems);
        if (cidr === undefined) return;
        const { first, last } = cidrBounds(cidr);
        if (subnet !== undefined) {
          const outer = cidrBounds(subnet);
          if (first < outer.first || last > outer.last) {
            problems.add(itemPath, `${formatCidr(cidr.network, cidr.prefixLength, cidr.family)} is not inside subnet ${formatCidr(subnet.network, subnet.prefixLength, subnet.family)}`);
            return;
          }
        }
        reserved.push({ start: first, end: last });
      });
    }
  }
  if (common.name === undefined || subnet === undefined || strategy === undefined || prefixLength === undefined) return undefined;
  return {
    kind: 'prefix',
    ...sharedSettings(common.name, common, subnet),
    strategy,
    prefixLength,
    reservedSubnets: mergeIntervals(reserved),
  };
}
