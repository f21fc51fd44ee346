import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  PutItemCommand,
  QueryCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { messageOf, StoreError } from '../domain/errors.ts';

/** An incident whose response (containment, page) is not known to be complete. */
export interface ResponseMarker {
  incidentId: string;
  markedAt: number;
}

/**
 * The incidents the responder still owes something: marked by the score functions before they
 * invoke the responder, and again by the responder when a page fails; cleared once the incident
 * is contained (or failed, or dry-run) and its page is out. Every responder invocation reads them,
 * so an invocation that was lost or a page SNS refused is picked up by the next one.
 */
export interface ResponseMarkers {
  mark(incidentIds: readonly string[], at: number): Promise<void>;
  list(): Promise<ResponseMarker[]>;
  /** Removes the marker unless it was marked again after `handledFrom` (a newer change is waiting). */
  clear(incidentId: string, handledFrom: number): Promise<void>;
}

/** Markers in memory: unit tests and the CLI. */
export class MemoryResponseMarkers implements ResponseMarkers {
  private readonly markers = new Map<string, number>();

  async mark(incidentIds: readonly string[], at: number): Promise<void> {
    for (const id of incidentIds) this.markers.set(id, Math.max(at, this.markers.get(id) ?? Number.NEGATIVE_INFINITY));
  }

  async list(): Promise<ResponseMarker[]> {
    return [...this.markers].map(([incidentId, markedAt]) => ({ incidentId, markedAt }));
  }

  async clear(incidentId: string, handledFrom: number): Promise<void> {
    const markedAt = this.markers.get(incidentId);
    if (markedAt !== undefined && markedAt <= handledFrom) this.markers.delete(incidentId);
  }
}

/** The partition of the state table that holds the markers: one Query reads them all. */
export const MARKER_PARTITION = 'RESPONSE-DUE';

/**
 * Markers in the state table, all in one partition (`pk = RESPONSE-DUE`, `sk = incident id`), so
 * that finding the unfinished responses is a single Query of a partition that is empty almost
 * always: no scan of incidents, no index. The store's own items all have `sk = '-'` and
 * `pk` prefixes of their own, so the two never meet.
 */
export class DynamoDbResponseMarkers implements ResponseMarkers {
  constructor(private readonly options: { client: DynamoDBClient; stateTable: string }) {}

  private async send<T>(operation: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw error;
      throw new StoreError(`DynamoDB ${operation} of response markers failed: ${messageOf(error)}`, { cause: error });
    }
  }

  async mark(incidentIds: readonly string[], at: number): Promise<void> {
    const { client, stateTable } = this.options;
    await Promise.all(
      [...new Set(incidentIds)].map((incidentId) =>
        this.send('PutItem', () =>
          client.send(
            new PutItemCommand({
              TableName: stateTable,
              Item: { pk: { S: MARKER_PARTITION }, sk: { S: incidentId }, markedAt: { N: String(at) } },
            }),
          ),
        ),
      ),
    );
  }

  async list(): Promise<ResponseMarker[]> {
    const { client, stateTable } = this.options;
    const markers: ResponseMarker[] = [];
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.send('Query', () =>
        client.send(
          new QueryCommand({
            TableName: stateTable,
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': { S: MARKER_PARTITION } },
            ConsistentRead: true,
            ExclusiveStartKey: startKey,
          }),
        ),
      );
      for (const item of page.Items ?? []) {
        const incidentId = item.sk?.S;
        if (incidentId !== undefined) markers.push({ incidentId, markedAt: Number(item.markedAt?.N ?? 0) });
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
    return markers;
  }

  async clear(incidentId: string, handledFrom: number): Promise<void> {
    const { client, stateTable } = this.options;
    try {
      await this.send('DeleteItem', () =>
        client.send(
          new DeleteItemCommand({
            TableName: stateTable,
            Key: { pk: { S: MARKER_PARTITION }, sk: { S: incidentId } },
            ConditionExpression: 'markedAt <= :handled',
            ExpressionAttributeValues: { ':handled': { N: String(handledFrom) } },
          }),
        ),
      );
    } catch (error) {
      // Marked again while it was handled (or already gone): the marker stays for the newer change.
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }
}
