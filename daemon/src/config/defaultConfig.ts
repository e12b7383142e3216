// The pools berthd serves when started without --config (e.g. `npm start` on a fresh clone).
import { parsePoolConfig } from './parsePoolConfig.ts';
import type { BerthConfig } from './types.ts';

export const DEFAULT_CONFIG_TEXT = `# embedded example: one IPv4 and one IPv6 pool
pools:
  - name: default-v4
    subnet: 10.88.0.0/16
    gateway: 10.88.0.1
    routes:
      - dst: 0.0.0.0/0
  - name: default-v6
    subnet: fd00:88::/64
    gateway: fd00:88::1
    routes:
      - dst: "::/0"
`;

export function defaultConfig(): BerthConfig {
  return parsePoolConfig(DEFAULT_CONFIG_TEXT, 'embedded default config');
}
