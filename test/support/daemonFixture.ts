// A berthd and a client to it for the tests of one describe block: started before them, gone after.
import { afterAll, beforeAll } from 'vitest';
import { startDaemon, type DaemonHandle } from './daemonProcess.ts';
import { ipamClient, type IpamTestClient } from './ipamTestClient.ts';

export interface DaemonFixture {
  readonly daemon: DaemonHandle;
  readonly client: IpamTestClient;
}

export function useDaemon(config: string, extraArgs: readonly string[] = []): DaemonFixture {
  const fixture = {} as { daemon: DaemonHandle; client: IpamTestClient };
  beforeAll(async () => {
    fixture.daemon = await startDaemon(config, extraArgs);
    fixture.client = ipamClient(fixture.daemon.socketPath);
  });
  afterAll(async () => {
    fixture.client?.close();
    await fixture.daemon?.dispose();
  });
  return fixture;
}
