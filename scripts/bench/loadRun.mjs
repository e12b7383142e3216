// Spawns the load client (loadClient.mjs) as its own process and returns its per-round results.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitForLine } from './processLines.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));

export function runLoadClient(spec) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(HERE, 'loadClient.mjs'), JSON.stringify(spec)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => { stdout += chunk; });
    child.stderr.on('data', (chunk) => { stderr += chunk; });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`load client exited with ${code}: ${stderr}`));
      else resolve(JSON.parse(stdout).targets);
    });
  });
}

/** Starts the echo server on `socketPath`; resolves once it is listening. */
export async function startEchoServer(socketPath) {
  const child = spawn(process.execPath, [join(HERE, 'echoServer.mjs'), socketPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  await waitForLine(child, 'listening', 20_000);
  return child;
}
