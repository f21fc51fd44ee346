/**
 * DynamoDB's billing units, computed from item sizes the way its developer guide defines them
 * (docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html): an
 * attribute costs its name's UTF-8 bytes plus its value — strings their UTF-8 bytes, numbers
 * about one byte per two significant digits plus one, binaries their bytes, booleans and nulls
 * one byte, sets the sum of their members, lists and maps 3 bytes plus 1 per element plus the
 * elements (and a map's names). A write costs one write unit per KB of the larger of the item
 * before and after it (at least one); a strongly consistent read one read unit per 4 KB (a Query
 * rounds its items' total, a GetItem or BatchGetItem each item).
 */
export function valueBytes(value: unknown): number {
  if (typeof value === 'string') return Buffer.byteLength(value, 'utf8');
  if (typeof value === 'number') return numberBytes(value);
  if (typeof value === 'boolean' || value === null) return 1;
  if (value instanceof Uint8Array) return value.byteLength;
  if (value instanceof Set) {
    let total = 0;
    for (const member of value) total += valueBytes(member);
    return total;
  }
  if (Array.isArray(value)) return value.reduce<number>((total, element) => total + 1 + valueBytes(element), 3);
  if (value instanceof Map) {
    let total = 3;
    for (const [name, element] of value) total += 1 + Buffer.byteLength(String(name), 'utf8') + valueBytes(element);
    return total;
  }
  if (typeof value === 'object') {
    let total = 3;
    for (const [name, element] of Object.entries(value as object)) if (element !== undefined) total += 1 + Buffer.byteLength(name, 'utf8') + valueBytes(element);
    return total;
  }
  return 0;
}

function numberBytes(value: number): number {
  if (!Number.isFinite(value)) return 0;
  return Math.ceil(Math.max(1, significantDigits(Math.abs(value))) / 2) + 1;
}

/**
 * The digits of `value` (≥ 0) between its first and last non-zero digit. Item sizes are summed on
 * every write and most numbers are whole (counts, times, sizes): those are counted without being
 * written out as text.
 */
function significantDigits(value: number): number {
  if (!Number.isSafeInteger(value)) return value.toString().replace('.', '').replace(/e.*$/, '').replace(/^0+/, '').replace(/0+$/, '').length;
  if (value === 0) return 0;
  let rest = value;
  while (rest % 10 === 0) rest /= 10;
  let digits = 0;
  for (; rest >= 1; rest = Math.floor(rest / 10)) digits++;
  return digits;
}

/** The size of an item: each top-level attribute's name and value. */
export function itemBytes(item: object): number {
  let total = 0;
  for (const [name, value] of Object.entries(item)) if (value !== undefined) total += Buffer.byteLength(name, 'utf8') + valueBytes(value);
  return total;
}

/** Write units of one write: the larger of the item before and after, per started KB, at least one. */
export const writeUnits = (bytesBefore: number, bytesAfter: number): number => Math.max(1, Math.ceil(Math.max(bytesBefore, bytesAfter) / 1024));

/** Read units of a strongly consistent read of `bytes`, per started 4 KB, at least one. */
export const readUnits = (bytes: number): number => Math.max(1, Math.ceil(bytes / 4096));
