// Spawns the load client (loadClient.mjs) as its own process and returns its per-round results.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitForLine } from './processLines.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));

export async function runLoadClient(spec) {
  return (await runLoad(spec)).targets;
}

/** The load client's whole answer: per-target rounds and the pairs each warm-up made. */
export function runLoad(spec) {
  return runJsonScript('loadClient.mjs', spec, 'load client');
}

/** Runs a bench script of this folder as its own process with a JSON spec; resolves to the JSON it prints. */
export function runJsonScript(script, spec, label) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(HERE, script), JSON.stringify(spec)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => { stdout += chunk; });
    child.stderr.on('data', (chunk) => { stderr += chunk; });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`${label} exited with ${code}: ${stderr}`));
      else resolve(JSON.parse(stdout));
    });
  });
}

/** Starts the echo server on `socketPath` (doing `busyUs` of CPU work per call); resolves once it is listening. */
export async function startEchoServer(socketPath, busyUs = 0) {
  const child = spawn(process.execPath, [join(HERE, 'echoServer.mjs'), socketPath, String(busyUs)], { stdio: ['ignore', 'pipe', 'pipe'] });
  await waitForLine(child, 'listening', 20_000);
  return child;
}
