import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../lib/commands/cli.ts';

function captureIo(isTTY = false) {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: { stdout: { write: (t: string) => out.push(t) }, stderr: { write: (t: string) => err.push(t), isTTY } },
    stdout: () => out.join(''),
    stderr: () => err.join(''),
  };
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'keysentry-cli-'));
  const { io } = captureIo();
  expect(await runCli(['simulate', 'breach', dir, '--days', '16', '--seed', '3'], io)).toBe(0);
}, 120_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('keysentry replay --json', () => {
  it('prints one JSON object per incident with the documented fields, then the summary', async () => {
    const capture = captureIo();
    expect(await runCli(['replay', '--json', join(dir, 'AWSLogs')], capture.io)).toBe(0);
    const lines = capture.stdout().trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    const summary = lines.pop() as { summary: Record<string, unknown> };
    expect(Object.keys(summary)).toEqual(['summary']);
    expect(summary.summary).toMatchObject({ incidents: lines.length, rejected: {} });
    expect(summary.summary.events).toBeGreaterThan(1000);
    expect(summary.summary.elapsedMs).toEqual(expect.any(Number));
    expect(lines.length).toBeGreaterThanOrEqual(1);
    for (const incident of lines) {
      expect(Object.keys(incident)).toEqual(
        expect.arrayContaining(['incidentId', 'actor', 'accessKeyId', 'identityType', 'action', 'score', 'reasons', 'firstEventTime', 'decisionTime', 'getsBeforeDecision', 'deletesBeforeDecision']),
      );
      expect(['contain', 'page']).toContain(incident.action);
      expect(Date.parse(incident.decisionTime as string)).toBeGreaterThanOrEqual(Date.parse(incident.firstEventTime as string));
      for (const reason of incident.reasons as Array<Record<string, unknown>>) {
        expect(Object.keys(reason).sort()).toEqual(['code', 'message', 'points', 'threshold', 'value']);
      }
    }
    expect(capture.stderr()).toBe('');
  });

  it('says which order it took: by delivery stamp by default, everything sorted first with --sort-all', async () => {
    const delivered = captureIo();
    expect(await runCli(['replay', '--reorder-window', '2h', join(dir, 'AWSLogs')], delivered.io)).toBe(0);
    expect(delivered.stdout()).toMatch(/^Order: decided while reading, files by delivery stamp, at most [\d,]+ events held to reorder$/m);
    const sorted = captureIo();
    expect(await runCli(['replay', '--sort-all', join(dir, 'AWSLogs')], sorted.io)).toBe(0);
    // 67,980 records: more than the sort holds in memory, so part of them went to a run on disk.
    expect(sorted.stdout()).toMatch(/^Order: every record sorted first, on disk in 1 run$/m);
    // The same decisions either way.
    const incidents = (text: string): string => text.slice(0, text.indexOf('Read '));
    expect(incidents(sorted.stdout())).toBe(incidents(delivered.stdout()));
    const wrong = captureIo();
    expect(await runCli(['replay', '--reorder-window', 'soon', join(dir, 'AWSLogs')], wrong.io)).toBe(2);
    expect(wrong.stderr()).toContain('--reorder-window');
  });

  it('draws a progress bar on stderr only when stderr is a terminal', async () => {
    const tty = captureIo(true);
    await runCli(['replay', join(dir, 'AWSLogs')], tty.io);
    expect(tty.stderr()).toMatch(/\[#+ *\] +\d+%/);
    expect(tty.stdout()).toContain('CONTAIN');
  });

  it('applies --protect: the same breach only pages and says why', async () => {
    const capture = captureIo();
    await runCli(['replay', '--json', '--protect', '*:user/contractor-*', join(dir, 'AWSLogs')], capture.io);
    const incidents = capture.stdout().trim().split('\n').slice(0, -1).map((l) => JSON.parse(l) as { action: string; blockedBy: string | null });
    expect(incidents.length).toBeGreaterThanOrEqual(1);
    expect(incidents.every((i) => i.action === 'page')).toBe(true);
    expect(incidents.some((i) => i.blockedBy === 'protected')).toBe(true);
  });
});

describe('usage errors', () => {
  it('exits 2 with one line and where the usage is, for an unknown command, option or scenario', async () => {
    const cases: Array<[string[], string]> = [
      [['frobnicate'], 'keysentry --help'],
      [['replay', '--no-such-option', dir], 'keysentry replay --help'],
      [['simulate', 'heist', dir], 'keysentry simulate --help'],
      [['replay'], 'keysentry replay --help'],
      [['replay', '--batch-window', 'soon', dir], 'keysentry replay --help'],
    ];
    for (const [args, hint] of cases) {
      const capture = captureIo();
      expect(await runCli(args, capture.io)).toBe(2);
      const lines = capture.stderr().trimEnd().split('\n');
      expect(lines).toHaveLength(2);
      expect(lines[1]).toBe(`see ${hint}`);
      expect(capture.stderr()).not.toContain('Usage:');
    }
  });

  it('exits 1 with a clear message for a path that does not exist', async () => {
    const capture = captureIo();
    expect(await runCli(['replay', join(dir, 'nowhere')], capture.io)).toBe(1);
    expect(capture.stderr()).toMatch(/cannot read .*nowhere/);
  });
});
