import { elasticKeyFirstSeenFromIp, ELASTIC_NEW_TERMS } from './elastic-new-terms.ts';
import { PANTHER_DELETE_OBJECT, PANTHER_DELETE_OBJECTS, pantherDeleteObject, pantherDeleteObjects } from './panther-s3-delete.ts';
import type { PeerAlert, PeerTiming, RawRecord } from './peer-alert.ts';
import { SPLUNK_ANOMALOUS_GETOBJECT, splunkAnomalousGetObject } from './splunk-anomalous-getobject.ts';

export type { PeerAlert, PeerTiming, RawRecord } from './peer-alert.ts';

/** The public rules keysentry is compared with, each a pure function from records to alerts. */
export const PEER_RULES: ReadonlyArray<{ name: string; evaluate: (records: readonly RawRecord[], timing?: PeerTiming) => PeerAlert[] }> = [
  { name: ELASTIC_NEW_TERMS, evaluate: elasticKeyFirstSeenFromIp },
  { name: PANTHER_DELETE_OBJECT, evaluate: pantherDeleteObject },
  { name: PANTHER_DELETE_OBJECTS, evaluate: pantherDeleteObjects },
  { name: SPLUNK_ANOMALOUS_GETOBJECT, evaluate: splunkAnomalousGetObject },
];
