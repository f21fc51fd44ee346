import { GetEventSelectorsCommand } from '@aws-sdk/client-cloudtrail';
import { coverageOfBuckets, eventSelectorsFix, type BucketCoverage } from './event-selectors.ts';
import { failed, partitionOf, passed, type DoctorCheckUnit } from './check.ts';

const describeGap = (bucket: BucketCoverage): string => {
  const what = bucket.read ? 'writes not recorded' : bucket.write ? 'reads not recorded' : 'not recorded';
  return `${bucket.bucket}: ${what}${bucket.notes.length > 0 ? ` (${bucket.notes.join('; ')})` : ''}`;
};

/**
 * The trail's event selectors record S3 object data events, reads and writes, of every protected
 * bucket; the fix is the exact `put-event-selectors` command, which keeps the trail's other selectors.
 */
export const dataEventsCheck: DoctorCheckUnit = {
  id: 'data-events',
  name: 'trail records S3 data events (read and write) for every protected bucket',
  async run({ cloudtrail, config, region }) {
    const selectors = await cloudtrail.send(new GetEventSelectorsCommand({ TrailName: config.trail }));
    const partition = partitionOf(selectors.TrailARN);
    const coverage = coverageOfBuckets(selectors, partition, config.protectedBuckets);
    const missing = coverage.filter((bucket) => !bucket.read || !bucket.write);
    if (missing.length === 0) return passed(this, `reads and writes recorded on ${config.protectedBuckets.join(', ')}`);
    return failed(this, `${missing.map(describeGap).join('; ')}. keysentry sees nothing the trail does not record`, [
      eventSelectorsFix(config.trail, region, partition, selectors, missing.map((bucket) => bucket.bucket)),
    ]);
  },
};
