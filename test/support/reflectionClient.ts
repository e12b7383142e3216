// A generic gRPC client in the manner of grpcurl: it knows nothing of berth's proto and learns
// the API from the server's reflection service alone.
import { credentials, loadPackageDefinition, type Client, type ClientDuplexStream, type GrpcObject, type ServiceError } from '@grpc/grpc-js';
import { loadFileDescriptorSetFromBuffer, loadSync } from '@grpc/proto-loader';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
const reflectionProtoDir = join(dirname(require.resolve('@grpc/reflection/package.json')), 'build', 'proto');
const healthProto = join(dirname(require.resolve('grpc-health-check/package.json')), 'proto', 'health', 'v1', 'health.proto');

interface ReflectionResponse {
  listServicesResponse?: { service: { name: string }[] };
  fileDescriptorResponse?: { fileDescriptorProto: Buffer[] };
  errorResponse?: { errorCode: number; errorMessage: string };
}

type ClientCtor = new (address: string, creds: ReturnType<typeof credentials.createInsecure>) => Client;

function lookup(root: GrpcObject, name: string): ClientCtor {
  let node: unknown = root;
  for (const part of name.split('.')) node = (node as Record<string, unknown>)[part];
  return node as ClientCtor;
}

async function reflect(address: string, requests: object[]): Promise<ReflectionResponse[]> {
  const definition = loadSync('grpc/reflection/v1/reflection.proto', { includeDirs: [reflectionProtoDir], keepCase: false, longs: String, defaults: true });
  const Reflection = lookup(loadPackageDefinition(definition), 'grpc.reflection.v1.ServerReflection');
  const client = new Reflection(address, credentials.createInsecure());
  const stream = (client as unknown as { serverReflectionInfo(): ClientDuplexStream<object, ReflectionResponse> }).serverReflectionInfo();
  const responses: ReflectionResponse[] = [];
  return new Promise((resolve, reject) => {
    stream.on('data', (response: ReflectionResponse) => {
      responses.push(response);
      if (responses.length === requests.length) stream.end();
    });
    stream.on('error', reject);
    stream.on('end', () => { client.close(); resolve(responses); });
    for (const request of requests) stream.write(request);
  });
}

/** `grpcurl list` */
export async function listServices(socketPath: string): Promise<string[]> {
  const [response] = await reflect(`unix://${socketPath}`, [{ listServices: '' }]);
  return response?.listServicesResponse?.service.map((service) => service.name) ?? [];
}

/** `grpcurl -d '{...}' SERVICE/METHOD`, with the service's schema fetched by reflection. */
export async function callByReflection(socketPath: string, service: string, method: string, request: object): Promise<unknown> {
  const address = `unix://${socketPath}`;
  const [response] = await reflect(address, [{ fileContainingSymbol: service }]);
  const files = response?.fileDescriptorResponse?.fileDescriptorProto ?? [];
  if (files.length === 0) throw new Error(`reflection returned no descriptor for ${service}: ${JSON.stringify(response?.errorResponse)}`);
  // A FileDescriptorSet is `repeated FileDescriptorProto file = 1`: concatenate tagged entries.
  const set = Buffer.concat(files.flatMap((file) => [Buffer.from([0x0a]), varint(file.length), file]));
  const definition = loadFileDescriptorSetFromBuffer(set, { keepCase: false, longs: String, enums: String, defaults: true });
  const Service = lookup(loadPackageDefinition(definition), service);
  const client = new Service(address, credentials.createInsecure());
  try {
    return await new Promise((resolve, reject) => {
      const fn = (client as unknown as Record<string, (req: object, cb: (error: ServiceError | null, reply: unknown) => void) => void>)[method];
      if (!fn) throw new Error(`reflection: no method ${method} on ${service}`);
      fn.call(client, request, (error, reply) => (error ? reject(error) : resolve(reply)));
    });
  } finally {
    client.close();
  }
}

/** grpc.health.v1.Health/Check */
export async function healthStatus(socketPath: string, service = ''): Promise<string> {
  const definition = loadSync(healthProto, { keepCase: false, enums: String, defaults: true });
  const Health = lookup(loadPackageDefinition(definition), 'grpc.health.v1.Health');
  const client = new Health(`unix://${socketPath}`, credentials.createInsecure());
  try {
    return await new Promise((resolve, reject) => {
      (client as unknown as { check(req: object, cb: (error: ServiceError | null, reply: { status: string }) => void): void })
        .check({ service }, (error, reply) => (error ? reject(error) : resolve(reply.status)));
    });
  } finally {
    client.close();
  }
}

function varint(value: number): Buffer {
  const bytes: number[] = [];
  let rest = value;
  while (rest > 0x7f) {
    bytes.push((rest & 0x7f) | 0x80);
    rest >>>= 7;
  }
  bytes.push(rest);
  return Buffer.from(bytes);
}
