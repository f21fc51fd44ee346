'use strict';

/**
 * Removes the framework's shared Lambda role (`IamRoleLambdaExecution`) from the packaged template
 * once no function uses it. serverless-iam-roles-per-function gives every function its own role
 * but leaves the shared one in place, with the statements the framework derived from the events
 * (receiving from the intake queue among them): a role nobody needs that could be assumed by any
 * Lambda function of the account. Runs after that plugin (listed after it, same hook), and keeps
 * the role when anything still refers to it.
 */
class DropUnusedRoles {
  constructor(serverless) {
    this.serverless = serverless;
    this.hooks = { 'before:package:finalize': () => this.dropUnusedSharedRole() };
  }

  dropUnusedSharedRole() {
    const template = this.serverless.service.provider.compiledCloudFormationTemplate;
    const roleId = this.serverless.providers.aws.naming.getRoleLogicalId();
    if (template.Resources[roleId] === undefined) return;
    const { [roleId]: _role, ...others } = template.Resources;
    const stillUsed = JSON.stringify({ Resources: others, Outputs: template.Outputs ?? {} }).includes(`"${roleId}"`);
    if (stillUsed) {
      this.serverless.cli.log(`keeping ${roleId}: still referred to`);
      return;
    }
    delete template.Resources[roleId];
  }
}

module.exports = DropUnusedRoles;
