import type { AdvancedEventSelector, AdvancedFieldSelector, EventSelector } from '@aws-sdk/client-cloudtrail';
import { shellQuote } from '../../domain/shell-quote.ts';

/** A trail's selectors, basic and advanced, as `GetEventSelectors` returns them. */
export interface TrailSelectors {
  EventSelectors?: EventSelector[];
  AdvancedEventSelectors?: AdvancedEventSelector[];
}

/** How much of a bucket's objects a selector takes in. */
type Extent = 'all' | 'some' | 'none';

/** What the trail records of one bucket's object data events. */
export interface BucketCoverage {
  bucket: string;
  read: boolean;
  write: boolean;
  /** Why it is not (fully) covered, when a selector takes in only part of it. */
  notes: string[];
}

interface SelectorCoverage {
  read: boolean;
  write: boolean;
  note?: string;
}

const narrower = (a: Extent, b: Extent): Extent => (a === 'none' || b === 'none' ? 'none' : a === 'some' || b === 'some' ? 'some' : 'all');

/**
 * How much of bucket `objects` (its object ARN prefix, `arn:aws:s3:::bucket/`) a `resources.ARN`
 * field selector takes in. Positive operators (Equals, StartsWith, EndsWith) include events when
 * any of their values matches; negative ones exclude events matching any of theirs. Only a
 * StartsWith value that is a prefix of the bucket's prefix takes in every object of the bucket.
 */
function arnExtent(field: AdvancedFieldSelector, objects: string): Extent {
  const starts = field.StartsWith ?? [];
  const positives = [...(field.Equals ?? []), ...starts, ...(field.EndsWith ?? [])];
  let extent: Extent = 'all';
  if (positives.length > 0) {
    if (starts.some((value) => objects.startsWith(value))) extent = 'all';
    else if ([...starts, ...(field.Equals ?? [])].some((value) => value.startsWith(objects)) || (field.EndsWith ?? []).length > 0) extent = 'some';
    else extent = 'none';
  }
  if ((field.NotStartsWith ?? []).some((value) => objects.startsWith(value))) return 'none';
  const excludesSome =
    (field.NotStartsWith ?? []).some((value) => value.startsWith(objects)) ||
    (field.NotEquals ?? []).some((value) => value.startsWith(objects)) ||
    (field.NotEndsWith ?? []).length > 0;
  return excludesSome ? narrower(extent, 'some') : extent;
}

const onlyEquals = (field: AdvancedFieldSelector, value: string): boolean =>
  Object.keys(field).every((key) => key === 'Field' || key === 'Equals') && (field.Equals ?? []).includes(value);

/** Fields whose usual values filter nothing out of S3 object data events. */
const NEUTRAL_FIELDS: Readonly<Record<string, (field: AdvancedFieldSelector) => boolean>> = {
  eventSource: (field) => onlyEquals(field, 's3.amazonaws.com'),
  eventType: (field) => onlyEquals(field, 'AwsApiCall'),
};

const SELECTOR_FIELDS = ['eventCategory', 'resources.type', 'resources.ARN', 'readOnly'];

function advancedCoverage(selector: AdvancedEventSelector, objects: string): SelectorCoverage {
  const fields = selector.FieldSelectors ?? [];
  const equals = (name: string): string[] | undefined => {
    const found = fields.filter((field) => field.Field === name);
    return found.length === 0 ? undefined : found.flatMap((field) => field.Equals ?? []);
  };
  const none = { read: false, write: false };
  if (!(equals('eventCategory') ?? []).includes('Data')) return none;
  if (!(equals('resources.type') ?? []).includes('AWS::S3::Object')) return none;
  const readOnly = equals('readOnly');
  const label = selector.Name ? `selector "${selector.Name}"` : 'an advanced selector';

  let extent: Extent = 'all';
  for (const field of fields.filter((candidate) => candidate.Field === 'resources.ARN')) extent = narrower(extent, arnExtent(field, objects));
  if (extent === 'none') return none;
  if (extent === 'some') return { ...none, note: `${label} takes in only some of its objects (resources.ARN)` };
  const filtering = fields.filter((field) => !SELECTOR_FIELDS.includes(field.Field ?? '') && !(NEUTRAL_FIELDS[field.Field ?? '']?.(field) ?? false));
  if (filtering.length > 0) {
    return { ...none, note: `${label} also filters on ${filtering.map((field) => field.Field).join(', ')}: some calls on it are not recorded` };
  }
  return { read: readOnly === undefined || readOnly.includes('true'), write: readOnly === undefined || readOnly.includes('false') };
}

function basicCoverage(selector: EventSelector, partition: string, bucket: string): SelectorCoverage {
  const objects = `arn:${partition}:s3:::${bucket}/`;
  // Basic selectors' values are ARN prefixes: "arn:aws:s3" (or "arn:aws:s3:::") is every bucket.
  const whole = new Set([`arn:${partition}:s3`, `arn:${partition}:s3:::`, `arn:${partition}:s3:::${bucket}`, objects]);
  const values = (selector.DataResources ?? []).filter((resource) => resource.Type === 'AWS::S3::Object').flatMap((resource) => resource.Values ?? []);
  const type = selector.ReadWriteType ?? 'All';
  if (values.some((value) => whole.has(value))) return { read: type !== 'WriteOnly', write: type !== 'ReadOnly' };
  const prefixes = values.filter((value) => value.startsWith(objects));
  if (prefixes.length > 0) return { read: false, write: false, note: `an event selector takes in only the prefixes ${prefixes.join(', ')}` };
  return { read: false, write: false };
}

/**
 * What the trail's event selectors record of each bucket's object data events, read and write
 * apart. Basic selectors (`DataResources` of type `AWS::S3::Object`, values `arn:aws:s3` for every
 * bucket or `arn:aws:s3:::bucket/`; `ReadWriteType`) and advanced ones (`eventCategory = Data`,
 * `resources.type = AWS::S3::Object`, optional `resources.ARN` and `readOnly`) are both read; a
 * selector counts only when it takes in every object of the bucket, and one that filters on
 * anything else (event names, callers) does not count, with a note saying why.
 */
export function coverageOfBuckets(selectors: TrailSelectors, partition: string, buckets: readonly string[]): BucketCoverage[] {
  return buckets.map((bucket) => {
    const objects = `arn:${partition}:s3:::${bucket}/`;
    const results = [
      ...(selectors.EventSelectors ?? []).map((selector) => basicCoverage(selector, partition, bucket)),
      ...(selectors.AdvancedEventSelectors ?? []).map((selector) => advancedCoverage(selector, objects)),
    ];
    return {
      bucket,
      read: results.some((result) => result.read),
      write: results.some((result) => result.write),
      notes: results.flatMap((result) => (result.note === undefined ? [] : [result.note])),
    };
  });
}

/**
 * The `put-event-selectors` command that adds the buckets' object data events (read and write) to
 * what the trail records. The call replaces every selector of the trail, so the command carries the
 * existing ones too: a trail on basic selectors gets one more basic selector, any other trail one
 * more advanced selector.
 */
export function eventSelectorsFix(trail: string, region: string, partition: string, current: TrailSelectors, buckets: readonly string[]): string {
  const prefixes = buckets.map((bucket) => `arn:${partition}:s3:::${bucket}/`);
  const command = `aws cloudtrail put-event-selectors --region ${region} --trail-name ${shellQuote(trail)}`;
  const basic = current.EventSelectors ?? [];
  if (basic.length > 0 && (current.AdvancedEventSelectors ?? []).length === 0) {
    const added: EventSelector = {
      ReadWriteType: 'All',
      IncludeManagementEvents: false,
      DataResources: [{ Type: 'AWS::S3::Object', Values: prefixes }],
    };
    return `${command} --event-selectors ${shellQuote(JSON.stringify([...basic, added]))}`;
  }
  const added: AdvancedEventSelector = {
    Name: 'keysentry: S3 object data events of the protected buckets',
    FieldSelectors: [
      { Field: 'eventCategory', Equals: ['Data'] },
      { Field: 'resources.type', Equals: ['AWS::S3::Object'] },
      { Field: 'resources.ARN', StartsWith: prefixes },
    ],
  };
  return `${command} --advanced-event-selectors ${shellQuote(JSON.stringify([...(current.AdvancedEventSelectors ?? []), added]))}`;
}
