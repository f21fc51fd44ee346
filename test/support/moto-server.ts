import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The AWS emulator's endpoint (`http://127.0.0.1:<port>`), for every SDK client of a test. */
    awsEndpoint: string;
  }
}

const HOST = '127.0.0.1';
const STARTUP_TIMEOUT_MS = 30_000;
const MISSING_MOTO = 'moto_server (the AWS emulator) is missing: pip install "moto[server]"';

/** Exits the test run with one line, not a stack trace: a missing tool is not a test failure. */
function exitWith(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

function checkMotoInstalled(): void {
  // `moto.server` imports flask, so this also catches a moto installed without the [server] extra.
  const probe = spawnSync('python3', ['-c', 'import moto.server'], { stdio: 'ignore' });
  if ((probe.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
    exitWith(`python3 is missing, and with it ${MISSING_MOTO}`);
  }
  if (probe.status !== 0) exitWith(MISSING_MOTO);
}

async function findFreePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, HOST, resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('could not find a free port for moto_server');
  return address.port;
}

async function waitUntilAnswering(endpoint: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(`moto_server exited with code ${child.exitCode} before answering:\n${output()}`);
    }
    try {
      // Any HTTP answer will do: moto answers its root path only once every backend is loaded.
      await fetch(endpoint, { signal: AbortSignal.timeout(1_000) });
      return;
    } catch {
      await sleep(100);
    }
  }
  throw new Error(`moto_server did not answer on ${endpoint} within ${STARTUP_TIMEOUT_MS / 1000} s:\n${output()}`);
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const killed = await Promise.race([exited.then(() => true), sleep(5_000).then(() => false)]);
  if (!killed) {
    child.kill('SIGKILL');
    await exited;
  }
}

/**
 * Vitest global setup: starts one moto_server on a free local port for the whole run, provides
 * its endpoint as `awsEndpoint` (read it with `inject('awsEndpoint')`, or build clients with
 * test/support/aws-clients.ts), and stops it when the run ends. Without moto the run stops with
 * one line saying how to install it.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  checkMotoInstalled();
  const port = await findFreePort();
  const endpoint = `http://${HOST}:${port}`;
  const child = spawn('python3', ['-m', 'moto.server', '-H', HOST, '-p', String(port)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Kept for the error message only; moto logs every request, so only the tail is kept.
  let log = '';
  const keep = (chunk: Buffer): void => {
    log = (log + chunk.toString()).slice(-4_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  try {
    await waitUntilAnswering(endpoint, child, () => log);
  } catch (error) {
    await stop(child);
    throw error;
  }
  project.provide('awsEndpoint', endpoint);
  return () => stop(child);
}
