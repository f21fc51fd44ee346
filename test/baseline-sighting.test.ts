import { describe, expect, it } from 'vitest';
import { applySighting, BASELINE_CAPS, type Sighting } from '../lib/domain/baseline.ts';

const T0 = Date.parse('2026-10-05T09:00:00Z');

function sighting(time: number, networks: string[]): Sighting {
  return {
    id: 'arn:aws:iam::111122223333:user/etl',
    kind: 'principal',
    firstSeen: time,
    lastSeen: time,
    days: new Set([Math.floor(time / 86_400_000)]),
    networks: new Map(networks.map((network) => [network, time])),
    addresses: new Map(),
    tools: new Map(),
    buckets: new Map(),
  };
}

describe('a sighting merged into a baseline', () => {
  it('keeps when each network was first seen, and reports no change for routine traffic', () => {
    const { baseline } = applySighting(undefined, sighting(T0, ['198.51.100.0/24']));
    const routine = applySighting(baseline, sighting(T0 + 60_000, ['198.51.100.0/24']));
    expect(routine.changed).toBe(false);
    expect(routine.baseline.networks).toEqual({ '198.51.100.0/24': T0 });

    const earlier = applySighting(routine.baseline, sighting(T0 - 60_000, ['198.51.100.0/24']));
    expect(earlier.changed).toBe(true);
    expect(earlier.baseline.networks).toEqual({ '198.51.100.0/24': T0 - 60_000 });
  });

  it('learns new networks up to the cap and no further', () => {
    const full = Array.from({ length: BASELINE_CAPS.networks - 1 }, (_, i) => `10.${i}.0.0/16`);
    const { baseline } = applySighting(undefined, sighting(T0, full));
    const next = applySighting(baseline, sighting(T0 + 1, ['192.0.2.0/24', '203.0.113.0/24', full[0] as string]));
    expect(next.changed).toBe(true);
    expect(Object.keys(next.baseline.networks)).toHaveLength(BASELINE_CAPS.networks);
    expect(next.baseline.networks['192.0.2.0/24']).toBe(T0 + 1);
    expect(next.baseline.networks['203.0.113.0/24']).toBeUndefined();

    const beyond = applySighting(next.baseline, sighting(T0 + 2, ['198.18.0.0/24']));
    expect(beyond.changed).toBe(false);

    // A copy read back from a store, and a copy with room made by the tuning, are counted afresh.
    const read = applySighting(structuredClone(next.baseline), sighting(T0 + 3, ['198.18.1.0/24']));
    expect(read.changed).toBe(false);
    const pruned = structuredClone(next.baseline);
    delete pruned.networks['10.0.0.0/16'];
    const roomy = applySighting(pruned, sighting(T0 + 4, ['198.18.2.0/24', '198.18.3.0/24']));
    expect(Object.keys(roomy.baseline.networks)).toHaveLength(BASELINE_CAPS.networks);
    expect(roomy.baseline.networks['198.18.2.0/24']).toBe(T0 + 4);
  });
});
