import {
  GetPolicyCommand,
  GetPolicyVersionCommand,
  GetRolePolicyCommand,
  paginateListAttachedRolePolicies,
  paginateListRolePolicies,
  type IAMClient,
} from '@aws-sdk/client-iam';
import { GetFunctionConfigurationCommand } from '@aws-sdk/client-lambda';
import { shellQuote } from '../../domain/shell-quote.ts';
import { CONTAINMENT_PERMISSIONS } from '../../aws/containment.ts';
import { accountOf, errorName, failed, nameOf, partitionOf, passed, type DoctorCheckUnit, type DoctorContext } from './check.ts';
import { missingActions, parsePolicy, type PolicyStatement } from './iam-policy.ts';

const MISSING_ROLE_ERRORS = new Set(['NoSuchEntity', 'NoSuchEntityException']);

async function roleStatements(iam: IAMClient, roleName: string): Promise<{ statements: PolicyStatement[]; policies: string[] }> {
  const statements: PolicyStatement[] = [];
  const policies: string[] = [];
  for await (const page of paginateListRolePolicies({ client: iam }, { RoleName: roleName })) {
    for (const policyName of page.PolicyNames ?? []) {
      const { PolicyDocument } = await iam.send(new GetRolePolicyCommand({ RoleName: roleName, PolicyName: policyName }));
      statements.push(...parsePolicy(PolicyDocument));
      policies.push(`inline ${policyName}`);
    }
  }
  for await (const page of paginateListAttachedRolePolicies({ client: iam }, { RoleName: roleName })) {
    for (const attached of page.AttachedPolicies ?? []) {
      const { Policy } = await iam.send(new GetPolicyCommand({ PolicyArn: attached.PolicyArn }));
      const { PolicyVersion } = await iam.send(new GetPolicyVersionCommand({ PolicyArn: attached.PolicyArn, VersionId: Policy?.DefaultVersionId }));
      statements.push(...parsePolicy(PolicyVersion?.Document));
      policies.push(`attached ${attached.PolicyName}`);
    }
  }
  return { statements, policies };
}

async function containRoleOf({ config, lambda }: DoctorContext): Promise<string | undefined> {
  if (config.containRole !== undefined) return config.containRole;
  if (config.containFunction === undefined || lambda === undefined) return undefined;
  return (await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: config.containFunction }))).Role;
}

/** The command that grants the missing actions on the account's users and roles, as serverless.yml does. */
function grantFix(roleArn: string, roleName: string, missing: readonly string[], account: string): string {
  const partition = partitionOf(roleArn.startsWith('arn:') ? roleArn : undefined);
  const document = JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: missing, Resource: [`arn:${partition}:iam::${account}:user/*`, `arn:${partition}:iam::${account}:role/*`] }],
  });
  return `aws iam put-role-policy --role-name ${shellQuote(roleName)} --policy-name keysentry-contain-permissions --policy-document ${shellQuote(document)}`;
}

/** The contain function's role allows `CONTAINMENT_PERMISSIONS`, read from its inline and attached policies. */
export const containPermissionsCheck: DoctorCheckUnit = {
  id: 'contain-permissions',
  name: 'contain role holds the permissions its actions declare',
  async run(context) {
    const { config, iam } = context;
    const required = config.requiredPermissions ?? CONTAINMENT_PERMISSIONS;
    const roleArn = await containRoleOf(context);
    if (roleArn === undefined) return failed(this, 'no contain role named (--contain-role ROLE or --contain-function FUNCTION)');
    const roleName = nameOf(roleArn);
    let found;
    try {
      found = await roleStatements(iam, roleName);
    } catch (error) {
      if (!MISSING_ROLE_ERRORS.has(errorName(error) ?? '')) throw error;
      return failed(this, `there is no role ${roleName}: check --contain-role against the roles listed`, [
        `aws iam list-roles --query "Roles[?contains(RoleName, 'contain')].Arn" --output text`,
      ]);
    }
    const missing = missingActions(found.statements, required);
    const policies = found.policies.join(', ') || 'no policies';
    if (missing.length === 0) return passed(this, `role ${roleName} allows ${required.join(', ')} (${policies})`);
    const account = accountOf(roleArn) ?? (await context.account());
    return failed(this, `role ${roleName} lacks ${missing.join(', ')}: containment fails and only pages (found ${policies})`, [
      grantFix(roleArn, roleName, missing, account),
    ]);
  },
};
