import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, vi } from 'vitest';

/**
 * Collects what the code under test writes to stdout into `lines` (emptied before each test):
 * Powertools Logger and Metrics (EMF) write there, one JSON object a line.
 */
export function captureStdout(lines: string[]): void {
  beforeEach(() => {
    lines.length = 0;
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });
}

/** Keeps what the code under test writes to stdout (Powertools' log and EMF lines) out of the test output. */
export function silenceStdout(): void {
  captureStdout([]);
}

/** A fresh temporary folder per test, removed after it, and a way to write files into it. */
export function useTempDir(prefix: string): { path: () => string; put: (relative: string, content: string | Buffer) => Promise<string> } {
  let dir = '';
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), prefix));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  return {
    path: () => dir,
    put: async (relative, content) => {
      const path = join(dir, relative);
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, content);
      return path;
    },
  };
}
