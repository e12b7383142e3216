// The warm-up must take the paths a real invocation takes, so the recordings must still be
// responses the shim understands.
import { describe, expect, it } from 'vitest';
import { warmUp } from './warmUp.ts';

describe('warmUp', () => {
  it('runs ADD, DEL, a failing ADD and VERSION to the outputs berthd\'s recorded answers give', async () => {
    const [add, del, failed, version] = await warmUp();
    expect(add?.exitCode).toBe(0);
    expect(JSON.parse(add?.output ?? '{}')).toMatchObject({ cniVersion: '1.0.0', ips: [{ address: expect.stringMatching(/^172\.20\.\d+\.\d+\/16$/) as unknown, gateway: '172.20.0.1' }],
      routes: [{ dst: '0.0.0.0/0' }] });
    expect(del).toEqual({ output: undefined, exitCode: 0 });
    expect(failed?.exitCode).toBe(1);
    expect(JSON.parse(failed?.output ?? '{}')).toMatchObject({ code: 101, details: 'reason=UNKNOWN_POOL; pool=no-such-pool' });
    expect(version?.exitCode).toBe(0);
  });
});
