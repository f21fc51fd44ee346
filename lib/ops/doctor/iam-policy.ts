/** One statement of an IAM or resource policy, as far as the doctor reads it. */
export interface PolicyStatement {
  Sid?: string;
  Effect?: string;
  Principal?: string | { Service?: string | string[]; AWS?: string | string[] };
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

/** The statements of a policy document. IAM answers documents URL-encoded (RFC 3986); the SDK hands them over as they came. */
export function parsePolicy(document: string | undefined): PolicyStatement[] {
  if (document === undefined || document === '') return [];
  const json = document.trimStart().startsWith('{') ? document : decodeURIComponent(document);
  const statement = (JSON.parse(json) as { Statement?: PolicyStatement | PolicyStatement[] }).Statement;
  return statement === undefined ? [] : Array.isArray(statement) ? statement : [statement];
}

export const asList = (value: string | string[] | undefined): string[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

/** IAM patterns (actions, ARNs in `ArnLike`): case-insensitive for actions, `*` any run of characters, `?` one character. */
export function patternMatches(pattern: string, value: string, caseInsensitive = true): boolean {
  const source = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${source}$`, caseInsensitive ? 'i' : '').test(value);
}

export const statementCovers = (statement: PolicyStatement, action: string): boolean =>
  statement.NotAction !== undefined
    ? !asList(statement.NotAction).some((pattern) => patternMatches(pattern, action))
    : asList(statement.Action).some((pattern) => patternMatches(pattern, action));

/**
 * The required actions the statements do not allow: no Allow statement names them (wildcards
 * count), or a Deny on every resource (`*`) takes them away. Resources and conditions of the
 * Allow statements are not evaluated, nor permission boundaries: `iam:SimulatePrincipalPolicy`
 * would, but the emulator the tests run on lacks it.
 */
export function missingActions(statements: readonly PolicyStatement[], required: readonly string[]): string[] {
  return required.filter((action) => {
    const allowed = statements.some((statement) => statement.Effect === 'Allow' && statementCovers(statement, action));
    const denied = statements.some(
      (statement) => statement.Effect === 'Deny' && asList(statement.Resource).includes('*') && statementCovers(statement, action),
    );
    return !allowed || denied;
  });
}
