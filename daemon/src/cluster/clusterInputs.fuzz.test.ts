// Property-based: the inputs cluster mode added (a clusterPools config, the cluster flags, values
// read from etcd) are refused with a named error or accepted, never anything else.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../config/configError.ts';
import { ClusterFlagError, parseClusterFlags } from '../config/clusterFlags.ts';
import { parsePoolConfig } from '../config/parsePoolConfig.ts';
import { ClusterDataError } from './clusterErrors.ts';
import { decodeBlockRecord, decodeNodeRecord, decodePoolRecord, decodeUsageRecord } from './clusterRecords.ts';

const SEED = 15015;
const hostileText = fc.oneof(fc.string({ unit: 'binary' }), fc.constantFrom('', '10.244.0.0/16', 'fd00::/64', '26', '-1', 'a=b', 'é', '\u0000', 'x'.repeat(5000)));
const jsonish = fc.jsonValue({ maxDepth: 3 });

describe(`cluster inputs (fast-check, seed ${SEED})`, () => {
  it('a clusterPools list of any shape: parsed, or a ConfigError whose problems name a field path', () => {
    const pool = fc.record({
      name: fc.oneof(hostileText, fc.constant('pods')), subnet: fc.oneof(hostileText, jsonish), blockSize: fc.oneof(jsonish, fc.integer({ min: -5, max: 140 })),
      exclude: jsonish, gateway: fc.oneof(hostileText, fc.constantFrom('firstOfBlock', 'none')), routes: jsonish, dns: jsonish, nodeSelector: jsonish, addressSpace: hostileText,
    }, { requiredKeys: [] });
    fc.assert(fc.property(fc.oneof(fc.array(pool, { maxLength: 3 }), jsonish), (clusterPools) => {
      try {
        parsePoolConfig(JSON.stringify({ clusterPools }), 'fuzz.json');
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        for (const problem of (error as ConfigError).problems) expect(problem.path).toMatch(/^clusterPools/);
      }
    }), { seed: SEED, numRuns: 1500 });
  });

  it('cluster flags of any text: options, or a ClusterFlagError naming the flag', () => {
    fc.assert(fc.property(fc.record({ etcdEndpoints: hostileText, etcdPrefix: hostileText, etcdTimeoutMs: hostileText, nodeLabels: hostileText, blockIdleSeconds: hostileText, etcdUsername: hostileText }, { requiredKeys: ['etcdPrefix', 'etcdTimeoutMs', 'blockIdleSeconds'] }), (flags) => {
      try {
        parseClusterFlags(flags, {}, () => Buffer.from('secret'));
      } catch (error) {
        expect(error).toBeInstanceOf(ClusterFlagError);
        for (const problem of (error as ClusterFlagError).problems) expect(problem).toMatch(/--[a-z-]+|BERTH_/);
      }
    }), { seed: SEED, numRuns: 1500 });
  });

  it('any value under any berth key: a record, or a ClusterDataError naming the key', () => {
    const decoders = [decodeBlockRecord, decodeNodeRecord, decodeUsageRecord, decodePoolRecord];
    fc.assert(fc.property(fc.oneof(hostileText, jsonish.map((value) => JSON.stringify(value))), fc.nat(decoders.length - 1), (value, which) => {
      try {
        decoders[which]!('/berth/x', value);
      } catch (error) {
        expect(error).toBeInstanceOf(ClusterDataError);
        expect((error as Error).message).toContain('/berth/x');
      }
    }), { seed: SEED, numRuns: 3000 });
  });
});
