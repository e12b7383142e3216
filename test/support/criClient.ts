// A minimal CRI client (runtime.v1 RuntimeService), from test/support/cri/runtime_v1.proto: the
// calls kubelet makes to start and end a pod sandbox, sent to containerd as kubelet sends them.
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { join } from 'node:path';

const PROTO = join(import.meta.dirname, 'cri', 'runtime_v1.proto');

export interface PodMetadata { name: string; uid: string; namespace: string; attempt?: number }
export interface SandboxStatus {
  id: string;
  metadata: PodMetadata;
  state: 'SANDBOX_READY' | 'SANDBOX_NOTREADY';
  network: { ip: string; additionalIps: { ip: string }[] } | null;
}

export interface CriClient {
  version(): Promise<{ runtimeName: string; runtimeVersion: string; runtimeApiVersion: string }>;
  runPodSandbox(pod: PodMetadata, logDirectory: string): Promise<string>;
  podSandboxStatus(id: string): Promise<{ status: SandboxStatus; info: Record<string, unknown> }>;
  stopPodSandbox(id: string): Promise<void>;
  removePodSandbox(id: string): Promise<void>;
  listPodSandbox(): Promise<{ id: string; metadata: PodMetadata; state: string }[]>;
  /** Resolves once containerd's CRI answers (it refuses calls while it recovers its state). */
  ready(timeoutMs?: number): Promise<CriClient>;
  close(): void;
}

type Unary = (request: object, options: { deadline: number }, callback: (error: grpc.ServiceError | null, response: never) => void) => void;

export function criClient(socketPath: string, timeoutMs = 60_000): CriClient {
  const definition = loadSync(PROTO, { keepCase: false, longs: String, enums: String, defaults: true, oneofs: true });
  const runtime = (grpc.loadPackageDefinition(definition) as unknown as { runtime: { v1: { RuntimeService: grpc.ServiceClientConstructor } } }).runtime.v1;
  const client = new runtime.RuntimeService(`unix://${socketPath}`, grpc.credentials.createInsecure());
  const call = <T>(method: string, request: object) => new Promise<T>((resolve, reject) => {
    (client[method] as Unary).call(client, request, { deadline: Date.now() + timeoutMs }, (error, response) => {
      if (error) reject(new Error(`CRI ${method}: ${error.details || error.message}`));
      else resolve(response as T);
    });
  });
  const cri: CriClient = {
    version: () => call('Version', { version: 'v1' }),
    runPodSandbox: async (pod, logDirectory) => (await call<{ podSandboxId: string }>('RunPodSandbox', {
      config: {
        metadata: pod,
        hostname: pod.name,
        logDirectory,
        labels: { 'io.kubernetes.pod.name': pod.name, 'io.kubernetes.pod.namespace': pod.namespace, 'io.kubernetes.pod.uid': pod.uid },
      },
    })).podSandboxId,
    podSandboxStatus: async (id) => {
      const response = await call<{ status: SandboxStatus; info: Record<string, string> }>('PodSandboxStatus', { podSandboxId: id, verbose: true });
      return { status: response.status, info: response.info.info ? JSON.parse(response.info.info) as Record<string, unknown> : {} };
    },
    stopPodSandbox: async (id) => { await call('StopPodSandbox', { podSandboxId: id }); },
    removePodSandbox: async (id) => { await call('RemovePodSandbox', { podSandboxId: id }); },
    listPodSandbox: async () => (await call<{ items: { id: string; metadata: PodMetadata; state: string }[] }>('ListPodSandbox', {})).items,
    ready: async (waitMs = 60_000) => {
      const deadline = Date.now() + waitMs;
      for (;;) {
        try {
          await call('ListPodSandbox', {});
          return cri;
        } catch (error) {
          if (Date.now() > deadline) throw error;
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      }
    },
    close: () => client.close(),
  };
  return cri;
}
