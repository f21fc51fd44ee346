import { GetTrailStatusCommand } from '@aws-sdk/client-cloudtrail';
import { shellQuote } from '../../domain/shell-quote.ts';
import { errorName, failed, passed, type DoctorCheckUnit } from './check.ts';

/** The trail is logging: nothing reaches EventBridge or the log files otherwise. */
export const trailLoggingCheck: DoctorCheckUnit = {
  id: 'trail-logging',
  name: 'CloudTrail trail is logging',
  async run({ cloudtrail, config, region }) {
    const trail = config.trail;
    try {
      const status = await cloudtrail.send(new GetTrailStatusCommand({ Name: trail }));
      const delivery = status.LatestDeliveryError ? `; its last log file delivery failed: ${status.LatestDeliveryError}` : '';
      if (status.IsLogging) return passed(this, `trail ${trail} is logging${delivery}`);
      return failed(this, `trail ${trail} is not logging: no event reaches EventBridge or the log files${delivery}`, [
        `aws cloudtrail start-logging --region ${region} --name ${shellQuote(trail)}`,
      ]);
    } catch (error) {
      if (errorName(error) !== 'TrailNotFoundException') throw error;
      return failed(this, `there is no trail ${trail} in ${region}: check --trail and --region against the trails listed`, [
        `aws cloudtrail describe-trails --region ${region} --query 'trailList[].[Name,HomeRegion]' --output text`,
      ]);
    }
  },
};
