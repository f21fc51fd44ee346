import { describe, expect, it } from 'vitest';
import type { Identity } from '../lib/domain/access-event.ts';
import type { IncidentChange } from '../lib/engine/score-engine.ts';
import type { Incident } from '../lib/domain/incident.ts';
import { composePage, isPageDue, pageSignature, SMS_MAX, STILL_ACTIVE_GRACE_MS, toGsmText } from '../lib/aws/paging.ts';
import { selectIncidentsToRespond } from '../lib/engine/responder-dispatch.ts';
import { breachIncident, failedContainment, ransomwareIncident, succeededContainment } from './fixtures/incidents.ts';

const CONTAINED_AT = 1792465971000;

/** The GSM-7 characters that take one septet each (what keeps a page in one SMS segment). */
const GSM_SINGLE_SEPTET = /^[A-Za-z0-9 @$!"#%&'()*+,\-./:;<=>?_]*$/;

const contained = (incident: Incident = breachIncident()): Incident => {
  const containment = succeededContainment(incident, CONTAINED_AT);
  return { ...incident, status: 'contained', containment };
};

/** What SNS receives: the JSON message with one entry per protocol. */
const messagesOf = (incident: Incident, options: Parameters<typeof composePage>[1] = {}) => {
  const page = composePage(incident, options);
  return { page, message: JSON.parse(page.publish.Message) as Record<string, string> };
};

describe('the SMS line', () => {
  it('says what happened, to whom, how much, why and what was done, in one line', () => {
    const { page } = messagesOf(contained());
    expect(page.sms).toBe(
      'KS-HKDURC CONTAINED key AKIA...X7IB contractor-2019: 21 objects read in 49s, never seen, bulk read, list+sweep. Key disabled.',
    );
    expect(page.sms.length).toBeLessThanOrEqual(SMS_MAX);
  });

  it('starts with CONTAINMENT FAILED when an action failed', () => {
    const incident = breachIncident();
    const { page } = messagesOf({ ...incident, status: 'containment-failed', containment: failedContainment(incident, CONTAINED_AT) });
    expect(page.sms).toMatch(/^CONTAINMENT FAILED KS-HKDURC key AKIA\.\.\.X7IB contractor-2019: /);
    expect(page.sms).toContain('Act by hand: see email.');
  });

  it('says WOULD CONTAIN (dry-run) and that nothing changed in dry run', () => {
    const incident = breachIncident({ action: 'page', blockedBy: 'dry-run' });
    const containment = { ...succeededContainment(incident, CONTAINED_AT), dryRun: true };
    const { page } = messagesOf({ ...incident, containment });
    expect(page.sms).toMatch(/^KS-HKDURC WOULD CONTAIN \(dry-run\) key AKIA\.\.\.X7IB contractor-2019: .* Nothing changed\.$/);
  });

  it('names the role and session of a contained role session', () => {
    const { page } = messagesOf(contained(ransomwareIncident()));
    expect(page.sms).toBe(
      'KS-ST88U3 CONTAINED role patient-portal-app session botocore-session-1792465920: 128 deleted in 9s, versions deleted, mass delete, new IP. Session denied.',
    );
  });

  it('stays within 160 characters for the longest IAM names, dropping reasons before the name', () => {
    const longUser = `contractor-${'x'.repeat(53)}`; // IAM's 64-character maximum
    const incident = contained(breachIncident({ identity: { ...breachIncident().identity, userName: longUser } }));
    const { page } = messagesOf(incident);
    expect(page.sms.length).toBeLessThanOrEqual(SMS_MAX);
    expect(page.sms).toMatch(/^KS-HKDURC CONTAINED key AKIA\.\.\.X7IB contractor-x+/);
    expect(page.sms).toMatch(/Key disabled\.$/);

    const longRole = `r${'o'.repeat(63)}`;
    const longSession = `s${'e'.repeat(63)}`;
    const role = ransomwareIncident();
    const identity: Identity = { ...role.identity, roleName: longRole, sessionName: longSession, roleArn: `arn:aws:iam::111122223333:role/${longRole}` };
    const rolePage = composePage(contained({ ...role, identity, principal: identity.roleArn as string }));
    expect(rolePage.sms.length).toBeLessThanOrEqual(SMS_MAX);
    expect(rolePage.sms.startsWith('KS-ST88U3 CONTAINED role ro')).toBe(true);
    expect(rolePage.sms.endsWith('Session denied.')).toBe(true);
  });

  it('keeps the id, the outcome and the step when even the label is too long', () => {
    const hugeRole = 'R'.repeat(400);
    const role = ransomwareIncident();
    const identity: Identity = { ...role.identity, roleName: hugeRole, sessionName: 'S'.repeat(400) };
    const incident = { ...role, identity, status: 'containment-failed' as const, containment: failedContainment(role, CONTAINED_AT) };
    const { page } = messagesOf(incident);
    expect(page.sms.length).toBeLessThanOrEqual(SMS_MAX);
    expect(page.sms.startsWith('CONTAINMENT FAILED KS-ST88U3 role RRR')).toBe(true);
    expect(page.sms.endsWith('Act by hand: see email.')).toBe(true);
  });

  it('folds Unicode names into one GSM-7 segment without splitting a character', () => {
    const name = 'Zoë-Ångström-Øyvind-山田太郎-👩‍💻-𝔘𝔫𝔦𝔠𝔬𝔡𝔢-'.repeat(6);
    const incident = contained(breachIncident({ identity: { ...breachIncident().identity, userName: name } }));
    const { page } = messagesOf(incident);
    expect(page.sms.length).toBeLessThanOrEqual(SMS_MAX);
    expect(page.sms).toMatch(GSM_SINGLE_SEPTET);
    expect(page.sms).toContain('Zoe-Angstrom-Oyvind-');
    expect(page.sms.startsWith('KS-HKDURC CONTAINED key AKIA...X7IB Zoe-')).toBe(true);
    expect(toGsmText('𝔘𝔫𝔦𝔠𝔬𝔡𝔢 [x] {y} ~|\\^`…')).toBe("Unicode (x) (y) -//'...");
  });

  it('keeps every page in one segment: no character outside GSM-7, whatever the incident', () => {
    const incidents = [
      contained(),
      contained(ransomwareIncident()),
      breachIncident({ action: 'page', blockedBy: 'protected' }),
      breachIncident({ action: 'page', score: 60 }),
      breachIncident({
        identityType: 'anonymous',
        identity: { type: 'anonymous', principal: 'anonymous:203.0.113.9', actor: 'anonymous:203.0.113.9' },
        accessKeyId: undefined,
        action: 'page',
        blockedBy: 'not-containable',
      }),
    ];
    for (const incident of incidents) {
      const { page } = messagesOf(incident);
      expect(page.sms.length, page.sms).toBeLessThanOrEqual(SMS_MAX);
      expect(page.sms, page.sms).toMatch(GSM_SINGLE_SEPTET);
    }
  });
});

describe('the e-mail', () => {
  it('gives the reasons with their numbers, the evidence and the timeline', () => {
    const { page } = messagesOf(contained());
    expect(page.email).toContain('+40 never-seen: arn:aws:iam::111122223333:user/contractor-2019 first seen 50 s ago [value 0.00 days, threshold 7 days]');
    expect(page.email).toContain('+20 bulk-read: 21 objects read in 49 s by an unfamiliar actor (limit 10) [value 21 objects, threshold 10 objects]');
    expect(page.email).toContain('21 reads (21 distinct objects), 0 deletes, 4 lists, 0 failed calls, 9.5 MB out');
    expect(page.email).toContain('buckets: checkup-results');
    expect(page.email).toContain('checkup-results/checkups/2025/P100971/Øyvind-Søreide-rapport.pdf');
    expect(page.email).toContain('source IPs: 185.243.218.27');
    expect(page.email).toContain('aws-cli/2.9.19');
    expect(page.email).toContain('2026-10-20T03:12:00Z  first event of the actor');
    expect(page.email).toContain('2026-10-20T03:12:50Z  decision: contain (score 80)');
    expect(page.email).toContain('2026-10-20T03:12:51Z  contained');
  });

  it('gives the keysentry commands and the raw aws iam commands that undo the containment', () => {
    const { page } = messagesOf(contained(), { commands: { cliOptions: '--region eu-west-1 --table keysentry-prod' } });
    expect(page.email).toContain('keysentry incidents ack KS-HKDURC --region eu-west-1 --table keysentry-prod');
    expect(page.email).toContain('keysentry incidents release KS-HKDURC --note "why" --region eu-west-1 --table keysentry-prod');
    expect(page.email).toContain('aws iam update-access-key --user-name contractor-2019 --access-key-id AKIAFR5DZ5MDQX7IX7IB --status Active');
    expect(page.email).toContain('aws iam delete-user-policy --user-name contractor-2019 --policy-name keysentry-deny-KS-HKDURC');

    const role = messagesOf(contained(ransomwareIncident())).page;
    expect(role.email).toContain('aws iam delete-role-policy --role-name patient-portal-app --policy-name keysentry-deny-KS-ST88U3');
    // If the attacker comes back with a new session: every session of the role, cut off when the command runs.
    expect(role.email).toContain(`"aws:TokenIssueTime":"%s"}}}]}' "$(date -u +%Y-%m-%dT%H:%M:%SZ)")"`);
  });

  it('gives the command that does a failed action by hand', () => {
    const incident = breachIncident();
    const { page } = messagesOf({ ...incident, status: 'containment-failed', containment: failedContainment(incident, CONTAINED_AT) });
    expect(page.email).toContain('DO THIS BY HAND NOW (containment failed)');
    expect(page.email).toContain('aws iam update-access-key --user-name contractor-2019 --access-key-id AKIAFR5DZ5MDQX7IX7IB --status Inactive');
    expect(page.email).toContain('FAILED disable access key AKIAFR5DZ5MDQX7IX7IB of IAM user contractor-2019: AccessDenied');
  });

  it('says what to do when no key can be disabled', () => {
    const anonymous = breachIncident({
      identityType: 'anonymous',
      identity: { type: 'anonymous', principal: 'anonymous:203.0.113.9', actor: 'anonymous:203.0.113.9' },
      principal: 'anonymous:203.0.113.9',
      accessKeyId: undefined,
      action: 'page',
      blockedBy: 'not-containable',
    });
    const { page } = messagesOf(anonymous);
    expect(page.sms).toMatch(/^KS-HKDURC NOT CONTAINABLE anonymous .* Block public access\.$/);
    expect(page.email).toContain('aws s3api put-public-access-block --bucket checkup-results');
  });

  it('gives the commands that would contain a protected principal by hand', () => {
    const { page } = messagesOf(breachIncident({ action: 'page', blockedBy: 'protected' }));
    expect(page.sms).toMatch(/^KS-HKDURC NOT CONTAINED \(protected\) key AKIA/);
    expect(page.email).toContain('TO CONTAIN BY HAND');
    expect(page.email).toContain('aws iam update-access-key --user-name contractor-2019 --access-key-id AKIAFR5DZ5MDQX7IX7IB --status Inactive');
    expect(page.email).toContain('aws iam put-user-policy --user-name contractor-2019 --policy-name keysentry-deny-KS-HKDURC');
  });
});

describe('the SNS message', () => {
  it('is a JSON structure with sms, email, sqs and default entries', () => {
    const { page, message } = messagesOf(contained());
    expect(page.publish.MessageStructure).toBe('json');
    expect(Object.keys(message).sort()).toEqual(['default', 'email', 'sms', 'sqs']);
    expect(message.sms).toBe(page.sms);
    expect(message.default?.startsWith(page.sms)).toBe(true);
    expect(JSON.parse(message.sqs as string)).toMatchObject({ incidentId: 'KS-HKDURC', severity: 'critical', kind: 'contained', sms: page.sms });
    expect(page.publish.Subject.length).toBeLessThan(100);
    expect(page.publish.Subject).toBe('[keysentry] KS-HKDURC CONTAINED key AKIA...X7IB contractor-2019');
  });

  it('carries severity and action attributes for subscription filters', () => {
    const attributes = (incident: Incident) => {
      const { MessageAttributes } = composePage(incident).publish;
      return { severity: MessageAttributes.severity?.StringValue, action: MessageAttributes.action?.StringValue };
    };
    const incident = breachIncident();
    expect(attributes(contained())).toEqual({ severity: 'critical', action: 'contained' });
    expect(attributes({ ...incident, status: 'containment-failed', containment: failedContainment(incident, CONTAINED_AT) })).toEqual({
      severity: 'critical',
      action: 'containment-failed',
    });
    expect(attributes(breachIncident({ action: 'page', score: 60 }))).toEqual({ severity: 'high', action: 'page' });
    expect(attributes(breachIncident({ action: 'page', blockedBy: 'protected' }))).toEqual({ severity: 'critical', action: 'not-contained' });
    expect(attributes({ ...contained(), status: 'acknowledged' })).toEqual({ severity: 'info', action: 'acknowledged' });
  });
});

describe('when a page is due', () => {
  it('waits for the containment of a contain decision, then pages its outcome once', () => {
    const decided = breachIncident();
    expect(pageSignature(decided)).toBeUndefined();
    expect(isPageDue(decided)).toBe(false);
    const done = contained(decided);
    expect(isPageDue(done)).toBe(true);
    expect(isPageDue({ ...done, pagedState: pageSignature(done) })).toBe(false);
  });

  it('does not page again for evidence piling up under the cool-down', () => {
    const done = contained();
    const paged = { ...done, pagedState: pageSignature(done) };
    const more = { ...paged, evidence: { ...paged.evidence, gets: 900 }, lastEventTime: CONTAINED_AT + 10_000, revision: 9 };
    expect(isPageDue(more)).toBe(false);
  });

  it('pages once more when the contained actor is still active after the grace', () => {
    const done = contained();
    const paged = { ...done, pagedState: pageSignature(done) };
    const active = { ...paged, lastEventTime: CONTAINED_AT + STILL_ACTIVE_GRACE_MS + 1_000 };
    expect(isPageDue(active)).toBe(true);
    expect(composePage(active).sms).toMatch(/^KS-HKDURC STILL ACTIVE after containment key AKIA/);
    const pagedAgain = { ...active, pagedState: pageSignature(active), lastEventTime: CONTAINED_AT + 600_000 };
    expect(isPageDue(pagedAgain)).toBe(false);
  });

  it('pages a page-only incident when it opens and when it escalates, not on repeats', () => {
    const page = breachIncident({ action: 'page', score: 60 });
    expect(isPageDue(page)).toBe(true);
    const paged = { ...page, pagedState: pageSignature(page) };
    expect(isPageDue({ ...paged, score: 65 })).toBe(false);
    const escalated = { ...paged, action: 'contain' as const };
    expect(isPageDue(escalated)).toBe(false);
    expect(isPageDue(contained(escalated))).toBe(true);
  });

  it('sends the responder new and escalated incidents, and updated ones only when their page changed', () => {
    const change = (kind: IncidentChange['kind'], incident: Incident): IncidentChange => ({ kind, incident });
    const done = contained();
    const paged = { ...done, pagedState: pageSignature(done) };
    const stillActive = { ...paged, incidentId: 'KS-ACTIVE', lastEventTime: CONTAINED_AT + 120_000 };
    expect(
      selectIncidentsToRespond([
        change('created', breachIncident({ incidentId: 'KS-NEW222' })),
        change('escalated', breachIncident({ incidentId: 'KS-ESC333' })),
        change('updated', breachIncident({ incidentId: 'KS-PENDNG' })),
        change('updated', paged),
        change('updated', stillActive),
        change('created', breachIncident({ incidentId: 'KS-NEW222' })),
      ]),
    ).toEqual(['KS-NEW222', 'KS-ESC333', 'KS-ACTIVE']);
  });
});
