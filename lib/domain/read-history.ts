import type { AccessEvent } from './access-event.ts';
import type { ReadHistory } from './scoring-types.ts';
import { countDistinctObjects, type WindowStats } from './window-counter.ts';

const HOUR_MS = 3_600_000;
/** How far back the persistence of an unfamiliar reader is measured. */
export const READ_HISTORY_MS = 86_400_000;

/**
 * Distinct objects an actor read over the last hour and the last day, from its stored windows
 * (no extra counter to write: the windows are read back only for unfamiliar actors) and the
 * batch's fresh events. Objects are hashed, so the same object read in two windows counts once;
 * a window whose object set was compacted counts by its own distinct count, which can count an
 * object read again in another window twice (an upper bound, as the weekly tuning's).
 */
export function summarizeReadHistory(
  windows: Iterable<WindowStats>,
  fresh: readonly AccessEvent[],
  nowWindow: number,
  windowMs: number,
): ReadHistory {
  const firstHourWindow = nowWindow - Math.ceil(HOUR_MS / windowMs) + 1;
  const firstDayWindow = nowWindow - Math.ceil(READ_HISTORY_MS / windowMs) + 1;
  const hour = new Set<string>();
  const day = new Set<string>();
  let hourCompacted = 0;
  let dayCompacted = 0;
  for (const stats of windows) {
    if (stats.window < firstDayWindow || stats.window > nowWindow) continue;
    const inHour = stats.window >= firstHourWindow;
    const compacted = countDistinctObjects(stats) - stats.readObjects.size;
    dayCompacted += compacted;
    if (inHour) hourCompacted += compacted;
    for (const hash of stats.readObjects) {
      day.add(hash);
      if (inHour) hour.add(hash);
    }
  }
  for (const event of fresh) {
    if (event.operation !== 'get' || event.errorCode !== undefined || event.objectHash === undefined) continue;
    const window = Math.floor(event.eventTime / windowMs);
    if (window < firstDayWindow || window > nowWindow) continue;
    day.add(event.objectHash);
    if (window >= firstHourWindow) hour.add(event.objectHash);
  }
  return { hourObjects: hour.size + hourCompacted, dayObjects: day.size + dayCompacted };
}
