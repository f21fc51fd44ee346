import type { SerializedRecord } from './record-factory.ts';

/** The scenarios the simulator can write. */
export type ScenarioName = 'breach' | 'month-end-surge' | 'ransomware-versions' | 'benign';

/** Knobs of a simulation run; every default gives the documented scenario. */
export interface SimulateOptions {
  /** Seeds every random choice; the same seed writes byte-identical files. Default 1. */
  seed?: number;
  /** ISO date the simulated trail starts at. Default `2026-10-05T00:00:00Z`, a Monday. */
  start?: string;
  /** Days of log files. Default 21. `month-end-surge` extends it to reach a month's last day. */
  days?: number;
  /** Multiplies the application role's request rate. Default 1. */
  scale?: number;
  /** Objects per second the `breach` attacker downloads. Default 3. */
  attackerRate?: number;
}

/** Someone whose calls appear in the simulated trail: the ground truth a replay is judged on. */
export interface SimulatedActor {
  label: string;
  principalArn: string;
  /** Every key it used; for role sessions all the session (`ASIA…`) keys. */
  accessKeyIds: string[];
  identityType: 'iam-user-key' | 'iam-user-temporary' | 'assumed-role' | 'anonymous' | 'cross-account' | 'aws-service';
  benign: boolean;
}

/** What a simulation wrote, saved as `manifest.json` next to `AWSLogs/`. */
export interface SimulationManifest {
  scenario: ScenarioName;
  seed: number;
  start: string;
  end: string;
  accountId: string;
  region: string;
  /** CloudTrail log files written (digest files not counted). */
  files: number;
  /** Record entries in those files; a record CloudTrail delivered twice counts twice. */
  records: number;
  attack?: { label: string; start: string; end: string; objects: number; description: string };
  actors: SimulatedActor[];
}

/** A record, the moment (epoch milliseconds) it happened, and who made the call. */
export interface SimulatedEvent {
  at: number;
  record: SerializedRecord;
  actor?: SimulatedActor;
}

/**
 * A stream of events in time order. It is first pulled in the step that reaches `startsAt`, so
 * that an attack sees the world as it is when it starts (the object versions written until then).
 */
export interface Activity {
  startsAt: number;
  events: Iterator<SimulatedEvent>;
}
