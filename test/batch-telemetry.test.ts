import type { Logger } from '@aws-lambda-powertools/logger';
import { describe, expect, it } from 'vitest';
import { DispatchError } from '../lib/domain/errors.ts';
import { logDispatchError } from '../functions/batch-telemetry.ts';

/** A logger that keeps what `error` was called with. */
function recordingLogger(): { logger: Logger; lines: { message: string; attributes: Record<string, unknown> }[] } {
  const lines: { message: string; attributes: Record<string, unknown> }[] = [];
  const logger = { error: (message: string, attributes: Record<string, unknown>) => lines.push({ message, attributes }) } as unknown as Logger;
  return { logger, lines };
}

describe('logDispatchError', () => {
  it('logs which incidents the responder was not told of and whether they were marked', () => {
    const { logger, lines } = recordingLogger();
    const error = new DispatchError('could not invoke keysentry-dev-contain for KS-HKDURC', ['KS-HKDURC'], false);
    logDispatchError(logger, error);
    expect(lines).toEqual([{ message: 'responder not told of incidents', attributes: { error, incidentIds: ['KS-HKDURC'], marked: false } }]);
  });

  it('logs any other failure of the notifier as it is, without inventing incidents', () => {
    const { logger, lines } = recordingLogger();
    const error = Object.assign(new Error('socket hang up'), { incidentIds: ['made-up'] });
    logDispatchError(logger, error);
    expect(lines).toEqual([{ message: 'responder not told of incidents', attributes: { error } }]);
  });
});
