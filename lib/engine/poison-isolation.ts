import type { AccessEvent } from '../domain/access-event.ts';
import { appendTo } from '../domain/collections.ts';
import { messageOf } from '../domain/errors.ts';
import { classifyStoreFailure } from '../aws/store-errors.ts';
import type { BatchOutcome, Detector } from './score-engine.ts';

/** A message the store refused for what it carries: acknowledged, counted and logged, never retried. */
export interface PoisonMessage {
  messageId: string;
  /** The store's error, named (`ValidationException: Item size has exceeded …`). */
  reason: string;
}

/** What deciding a failed batch piece by piece came to. */
export interface IsolatedBatch {
  /** The decisions of every part that could be decided. */
  outcome: BatchOutcome;
  /** Messages to hand back to SQS: their part met a transient failure. */
  retry: string[];
  poison: PoisonMessage[];
}

const emptyOutcome = (): BatchOutcome => ({ events: 0, fresh: 0, actors: 0, verdicts: [], changes: [] });

function merge(into: BatchOutcome, part: BatchOutcome): void {
  into.events += part.events;
  into.fresh += part.fresh;
  into.actors += part.actors;
  for (const verdict of part.verdicts) into.verdicts.push(verdict);
  for (const change of part.changes) into.changes.push(change);
}

const nameOf = (error: unknown): string => {
  let current = error as { name?: unknown; cause?: unknown } | undefined;
  while (current?.cause !== undefined && typeof current.cause === 'object') current = current.cause as typeof current;
  return typeof current?.name === 'string' ? current.name : 'Error';
};

/**
 * Decides a batch the store refused as a whole for what it carries (see `classifyStoreFailure`),
 * one actor at a time, and within an actor whose part is refused again one message at a time: the
 * messages the store still refuses alone are poison; the rest are decided and written. Writing
 * again what the failed attempt already wrote is harmless: a window counts an event id once.
 * Parts that meet a transient failure go back to the queue. When every message is refused alone,
 * the fault is not in the messages (a table gone, a permission missing): all of them go back, so
 * that they reach the dead-letter queue under its alarm instead of being dropped.
 */
export async function decidePieceByPiece(
  events: readonly AccessEvent[],
  carriers: ReadonlyMap<string, readonly string[]>,
  decisionTime: number,
  detector: Pick<Detector, 'processBatch'>,
): Promise<IsolatedBatch> {
  const result: IsolatedBatch = { outcome: emptyOutcome(), retry: [], poison: [] };
  const messagesOf = (part: readonly AccessEvent[]): string[] => part.flatMap((event) => carriers.get(event.eventId) ?? []);
  const attempt = async (part: readonly AccessEvent[]): Promise<unknown> => {
    try {
      merge(result.outcome, await detector.processBatch(part, decisionTime));
      return undefined;
    } catch (error) {
      return error;
    }
  };

  const byActor = new Map<string, AccessEvent[]>();
  for (const event of events) appendTo(byActor, event.identity.actor, event);
  for (const part of byActor.values()) {
    const error = await attempt(part);
    if (error === undefined) continue;
    if (classifyStoreFailure(error) === 'transient') {
      result.retry.push(...messagesOf(part));
      continue;
    }
    for (const event of part) {
      const single = await attempt([event]);
      if (single === undefined) continue;
      if (classifyStoreFailure(single) === 'transient') result.retry.push(...messagesOf([event]));
      else for (const messageId of messagesOf([event])) result.poison.push({ messageId, reason: `${nameOf(single)}: ${messageOf(single)}` });
    }
  }
  if (result.poison.length > 1 && result.poison.length === messagesOf(events).length) {
    return { outcome: result.outcome, retry: result.poison.map((poison) => poison.messageId), poison: [] };
  }
  return result;
}
