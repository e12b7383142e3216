import { describe, expect, it } from 'vitest';
import { parseEtcdEndpoints } from './etcdClaimStore.ts';

describe('parseEtcdEndpoints', () => {
  it('accepts host:port with or without a scheme, several comma-separated', () => {
    expect(parseEtcdEndpoints('https://10.0.0.1:2379, 10.0.0.2:2379,[fd00::1]:2379,etcd-0.etcd:2379')).toEqual(['https://10.0.0.1:2379', '10.0.0.2:2379', '[fd00::1]:2379', 'etcd-0.etcd:2379']);
    expect(() => parseEtcdEndpoints('')).toThrow('--etcd-endpoints: at least one endpoint is needed');
    expect(() => parseEtcdEndpoints('10.0.0.1')).toThrow('--etcd-endpoints: "10.0.0.1" is not [http[s]://]host:port');
    expect(() => parseEtcdEndpoints('ftp://x:1')).toThrow('is not');
    expect(() => parseEtcdEndpoints('x:70000')).toThrow('is not');
  });
});
