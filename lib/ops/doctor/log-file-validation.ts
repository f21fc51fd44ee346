import { DescribeTrailsCommand, type CloudTrailClient, type Trail } from '@aws-sdk/client-cloudtrail';
import { shellQuote } from '../../domain/shell-quote.ts';
import { failed, passed, type DoctorCheckUnit } from './check.ts';

/** The trail named (by name or ARN), as DescribeTrails describes it; `undefined` when there is none. */
export async function describeTrail(cloudtrail: CloudTrailClient, nameOrArn: string): Promise<Trail | undefined> {
  const { trailList = [] } = await cloudtrail.send(new DescribeTrailsCommand({ trailNameList: [nameOrArn] }));
  return trailList.find((trail) => trail.Name === nameOrArn || trail.TrailARN === nameOrArn);
}

/**
 * The trail signs its log files: without digest files, no log file is evidence enough to contain
 * (score-logfile pages "unverified evidence" for every one), and nothing shows one was forged.
 */
export const logFileValidationCheck: DoctorCheckUnit = {
  id: 'log-file-validation',
  name: 'CloudTrail log file validation is on (signed digests)',
  async run({ cloudtrail, config, region }) {
    const trail = await describeTrail(cloudtrail, config.trail);
    if (trail === undefined) return failed(this, `there is no trail ${config.trail} in ${region} (see the trail check)`);
    if (trail.LogFileValidationEnabled === true) return passed(this, `trail ${config.trail} delivers signed digest files`);
    return failed(
      this,
      `trail ${config.trail} delivers no digest files: log files can never be verified, so they page "unverified evidence" and never contain`,
      [`aws cloudtrail update-trail --region ${region} --name ${shellQuote(config.trail)} --enable-log-file-validation`],
    );
  },
};
