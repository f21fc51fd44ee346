import {
  ConditionalCheckFailedException,
  GetItemCommand,
  PutItemCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand,
  type PutItemCommandInput,
} from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { StoreError } from '../../domain/errors.ts';
import type { Incident } from '../../domain/incident.ts';
import type { IncidentStore } from '../../store/store.ts';
import { backoff, fromStateItem, MAX_ATTEMPTS, SINGLE_ITEM, stateKey, type Item, type TableAccess } from './table-access.ts';

const INCIDENT_PREFIX = 'INCIDENT#';
const ACTOR_PREFIX = 'ACTOR#';

interface ActorPointer {
  incidentId: string;
  updatedTime: number;
}

/**
 * The per-item codes of a cancelled transaction (`'None'`, `'ConditionalCheckFailed'`,
 * `'TransactionConflict'`…). Lost conditions and conflicts with another transaction are
 * answers; any other cause (throttling past the retries, validation) is a StoreError.
 */
function cancellationCodes(error: unknown): (string | undefined)[] {
  if (!(error instanceof TransactionCanceledException)) throw error;
  const codes = (error.CancellationReasons ?? []).map((reason) => reason.Code);
  if (codes.every((code) => code === undefined || code === 'None' || code === 'ConditionalCheckFailed' || code === 'TransactionConflict')) {
    return codes;
  }
  throw new StoreError(`DynamoDB TransactWriteItems was cancelled: ${codes.join(', ')}`, { cause: error });
}

const incidentItem = (incident: Incident): Item =>
  marshall({ ...incident, pk: INCIDENT_PREFIX + incident.incidentId, sk: SINGLE_ITEM }, { removeUndefinedValues: true });

const pointerItem = (incident: Incident): Item =>
  marshall({ pk: ACTOR_PREFIX + incident.actor, sk: SINGLE_ITEM, incidentId: incident.incidentId, updatedTime: incident.updatedTime });

function incidentFromItem(item: Item): Incident {
  const { value, revision } = fromStateItem<Omit<Incident, 'revision'>>(item);
  return { ...value, revision };
}

/**
 * Incidents in the state table: `INCIDENT#<id>`, and `ACTOR#<actor>`, the actor's latest incident
 * and its `updatedTime`, what the cool-down is decided on. `openIncident` and `updateIncident`
 * are a two-item transaction (incident + actor pointer).
 */
export class DynamoDbIncidentStore implements IncidentStore {
  constructor(
    private readonly table: TableAccess,
    private readonly stateTable: string,
  ) {}

  private async getActorPointer(actor: string): Promise<ActorPointer | undefined> {
    const { Item } = await this.table.send(
      new GetItemCommand({ TableName: this.stateTable, Key: stateKey(ACTOR_PREFIX + actor), ConsistentRead: true }),
    );
    return Item === undefined ? undefined : fromStateItem<ActorPointer>(Item).value;
  }

  /**
   * Reads the actor's pointer to its latest incident; within the cool-down that incident is the
   * answer. Otherwise one transaction puts the candidate (absent) and moves the pointer, on
   * condition that the pointer is still what was read, so of two invocations deciding on the same
   * burst exactly one creates; the other finds the winner on its next look, or, since incident ids
   * derive from actor and decision time, finds its own id already taken.
   */
  async openIncident(candidate: Incident, cooldownMs: number): Promise<{ incident: Incident; created: boolean }> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const pointer = await this.getActorPointer(candidate.actor);
      if (pointer !== undefined && candidate.decisionTime - pointer.updatedTime < cooldownMs) {
        const latest = await this.getIncident(pointer.incidentId);
        if (latest !== undefined) return { incident: latest, created: false };
      }
      const pointerCondition =
        pointer === undefined
          ? { ConditionExpression: 'attribute_not_exists(pk)' }
          : {
              ConditionExpression: 'incidentId = :previousId AND updatedTime = :previousTime',
              ExpressionAttributeValues: {
                ':previousId': { S: pointer.incidentId },
                ':previousTime': { N: String(pointer.updatedTime) },
              },
            };
      try {
        await this.table.send(
          new TransactWriteItemsCommand({
            TransactItems: [
              { Put: { TableName: this.stateTable, Item: incidentItem(candidate), ConditionExpression: 'attribute_not_exists(pk)' } },
              { Put: { TableName: this.stateTable, Item: pointerItem(candidate), ...pointerCondition } },
            ],
          }),
        );
        return { incident: candidate, created: true };
      } catch (error) {
        const [incidentCode] = cancellationCodes(error);
        if (incidentCode === 'ConditionalCheckFailed') {
          const existing = await this.getIncident(candidate.incidentId);
          if (existing !== undefined) return { incident: existing, created: false };
        }
        // The pointer moved (another incident, or an update inside the cool-down): decide again.
        await backoff(attempt);
      }
    }
    throw new StoreError(`incident of ${candidate.actor} kept changing under ${MAX_ATTEMPTS} attempts`);
  }

  /**
   * Writes the incident if its stored revision is `incident.revision - 1`, and in the same
   * transaction moves the actor pointer's `updatedTime` (the cool-down runs from the last update)
   * when the pointer still designates this incident; an older incident is written alone.
   */
  async updateIncident(incident: Incident): Promise<boolean> {
    const incidentCondition = {
      ConditionExpression: '#revision = :previous',
      ExpressionAttributeNames: { '#revision': 'revision' },
      ExpressionAttributeValues: { ':previous': { N: String(incident.revision - 1) } },
    };
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      try {
        await this.table.send(
          new TransactWriteItemsCommand({
            TransactItems: [
              { Put: { TableName: this.stateTable, Item: incidentItem(incident), ...incidentCondition } },
              {
                Update: {
                  TableName: this.stateTable,
                  Key: stateKey(ACTOR_PREFIX + incident.actor),
                  UpdateExpression: 'SET updatedTime = :updated',
                  ConditionExpression: 'incidentId = :id',
                  ExpressionAttributeValues: { ':updated': { N: String(incident.updatedTime) }, ':id': { S: incident.incidentId } },
                },
              },
            ],
          }),
        );
        return true;
      } catch (error) {
        const [incidentCode, pointerCode] = cancellationCodes(error);
        if (incidentCode === 'ConditionalCheckFailed') return false;
        if (pointerCode === 'ConditionalCheckFailed') return this.putIncidentAlone(incident, incidentCondition);
        await backoff(attempt);
      }
    }
    throw new StoreError(`incident ${incident.incidentId} kept changing under ${MAX_ATTEMPTS} attempts`);
  }

  private async putIncidentAlone(
    incident: Incident,
    condition: Pick<PutItemCommandInput, 'ConditionExpression' | 'ExpressionAttributeNames' | 'ExpressionAttributeValues'>,
  ): Promise<boolean> {
    try {
      await this.table.send(new PutItemCommand({ TableName: this.stateTable, Item: incidentItem(incident), ...condition }));
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  async getIncident(incidentId: string): Promise<Incident | undefined> {
    const { Item } = await this.table.send(
      new GetItemCommand({ TableName: this.stateTable, Key: stateKey(INCIDENT_PREFIX + incidentId), ConsistentRead: true }),
    );
    return Item === undefined ? undefined : incidentFromItem(Item);
  }

  /** A Scan of the incident items; fine while incidents number in the hundreds. */
  async listIncidents(): Promise<Incident[]> {
    const incidents: Incident[] = [];
    const items = this.table.scan({
      TableName: this.stateTable,
      FilterExpression: 'begins_with(pk, :prefix)',
      ExpressionAttributeValues: { ':prefix': { S: INCIDENT_PREFIX } },
      ConsistentRead: true,
    });
    for await (const item of items) incidents.push(incidentFromItem(item));
    return incidents;
  }
}
