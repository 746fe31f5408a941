import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import type { JsonValue } from '../shared/json.js';
import { PageInfo } from './connection.type.js';
import { DateTimeScalar, JSONScalar, PositionScalar } from './scalars.js';

@ObjectType({ description: 'Who caused an event.' })
export class Actor {
  @Field(() => String, { description: 'USER, SERVICE_ACCOUNT or SYSTEM.' }) type!: string;
  @Field(() => ID) id!: string;
}

@ObjectType({ description: 'One event, as the audit log records it. Entries are hash-chained per tenant.' })
export class AuditLogEntry {
  @Field(() => ID, { description: 'The id of the event.' }) id!: string;
  @Field(() => String, { description: 'The tenant, or `_instance` for instance-level events (users).' }) tenantId!: string;
  @Field(() => String, { nullable: true }) namespace!: string | null;
  @Field(() => String) resourceType!: string;
  @Field(() => String) resourceId!: string;
  @Field(() => String, { description: 'CREATE UPDATE DELETE RESTORE GRANT REVOKE ADD_MEMBER REMOVE_MEMBER ...' }) action!: string;
  @Field(() => String) eventType!: string;
  @Field(() => Actor) actor!: Actor;
  @Field(() => DateTimeScalar) occurredAt!: string;
  @Field(() => PositionScalar) position!: string;
  @Field(() => String) correlationId!: string;
  @Field(() => JSONScalar, {
    nullable: true,
    description:
      'Before/after of what changed: `{field: {before, after}}` for updates, `{after}` for creations, `{before}` for deletions. Never a secret value.',
  })
  changes!: JsonValue | null;
  @Field(() => String, { nullable: true }) ip!: string | null;
  @Field(() => String, { nullable: true }) userAgent!: string | null;
  @Field(() => String, { description: 'SHA-256 (hex) of the canonical JSON of every other field, previousHash included.' }) hash!: string;
  @Field(() => String, { nullable: true, description: "The previous entry's hash in this tenant's chain; null for the first." })
  previousHash!: string | null;
}

@ObjectType()
export class AuditLogEdge {
  @Field(() => String) cursor!: string;
  @Field(() => AuditLogEntry) node!: AuditLogEntry;
}

@ObjectType()
export class AuditLogConnection {
  @Field(() => [AuditLogEdge]) edges!: AuditLogEdge[];
  @Field(() => PageInfo) pageInfo!: PageInfo;
  @Field(() => Int) totalCount!: number;
}

@ObjectType({ description: 'The result of recomputing a tenant chain from the read model and from the event log.' })
export class AuditLogVerification {
  @Field(() => Boolean) ok!: boolean;
  @Field(() => String) tenantId!: string;
  @Field(() => Int, { description: 'Entries known good: checked by this run, plus (incremental) those verified before it.' })
  checkedEntries!: number;
  @Field(() => Int, { description: 'Entries this run read and checked.' }) newlyCheckedEntries!: number;
  @Field(() => Boolean, { description: 'The run started after the last entry verified before, instead of at the first entry.' })
  incremental!: boolean;
  @Field(() => PositionScalar, { description: 'Position of the last entry verified before this run (0: from the first entry).' })
  verifiedFrom!: string;
  @Field(() => PositionScalar, { description: 'Entries up to this position were checked.' }) verifiedUpTo!: string;
  @Field(() => String, { nullable: true, description: 'Hash of the last entry that checked out.' }) lastHash!: string | null;
  @Field(() => ID, { nullable: true }) firstBrokenEntryId!: string | null;
  @Field(() => PositionScalar, { nullable: true }) firstBrokenPosition!: string | null;
  @Field(() => String, { nullable: true }) reason!: string | null;
  @Field(() => String, {
    nullable: true,
    description:
      "`readModel`: the stored chain contradicts itself; `eventLog`: the chain or the ledger disagrees with the events the log holds now; `ledger`: the ledger's own store was changed; `checkpoint`: the log no longer reaches a signed root, or a signature does not check out.",
  })
  source!: string | null;
  @Field(() => Int, { nullable: true, description: 'Events of the log hashed again and checked against the ledger by this run.' })
  checkedEvents!: number | null;
  @Field(() => Int, { nullable: true, description: 'Signed checkpoints whose root the log reached, each with a trusted signature.' })
  checkedCheckpoints!: number | null;
}

@ObjectType({ description: "A signed tree head of a tenant's ledger (Ed25519 over the text form in docs/ledger.md)." })
export class AuditCheckpoint {
  @Field(() => String) tenantId!: string;
  @Field(() => Int, { description: 'Events covered: the first `size` events of the tenant, in log order.' }) size!: number;
  @Field(() => String, { description: 'Merkle tree root (RFC 9162, SHA-256), hex.' }) rootHash!: string;
  @Field(() => DateTimeScalar) signedAt!: string;
  @Field(() => String, { description: 'First 16 hex digits of SHA-256 of the signing public key (SPKI DER).' }) keyId!: string;
  @Field(() => String, { description: 'Ed25519 signature, base64.' }) signature!: string;
}

@ObjectType({ description: 'A public key that signs (or signed) checkpoints.' })
export class AuditSigningKey {
  @Field(() => String) keyId!: string;
  @Field(() => String) publicKeyPem!: string;
  @Field(() => Boolean, { description: 'The key that signs new checkpoints.' }) current!: boolean;
}

@ObjectType({ description: 'Proof that the log of `toSize` events extends the one of `fromSize` (RFC 9162 consistency proof).' })
export class AuditConsistencyProof {
  @Field(() => String) tenantId!: string;
  @Field(() => Int) fromSize!: number;
  @Field(() => Int) toSize!: number;
  @Field(() => String, { description: 'Root of the first fromSize events: must equal the root of the checkpoint you kept.' })
  fromRoot!: string;
  @Field(() => String) toRoot!: string;
  @Field(() => [String], { description: 'Hashes, hex, in RFC 9162 order.' }) proof!: string[];
  @Field(() => AuditCheckpoint, { nullable: true, description: 'The signed checkpoint of toSize, if one was signed at that size.' })
  toCheckpoint!: AuditCheckpoint | null;
}

@ObjectType({ description: 'Proof that an event is in a signed checkpoint (RFC 9162 inclusion proof).' })
export class AuditInclusionProof {
  @Field(() => String) tenantId!: string;
  @Field(() => PositionScalar) position!: string;
  @Field(() => Int) leafIndex!: number;
  @Field(() => Int) treeSize!: number;
  @Field(() => String, { description: 'SHA-256(0x00 ‖ RFC 8785 JSON of the event as stored), hex.' }) leafHash!: string;
  @Field(() => [String], { description: 'The audit path, hex, bottom up.' }) proof!: string[];
  @Field(() => AuditCheckpoint) checkpoint!: AuditCheckpoint;
}

export enum AuditVerificationJobStatus {
  RUNNING = 'RUNNING',
  SUCCEEDED = 'SUCCEEDED',
  FAILED = 'FAILED',
  ERROR = 'ERROR',
  ABANDONED = 'ABANDONED',
}

registerEnumType(AuditVerificationJobStatus, {
  name: 'AuditVerificationJobStatus',
  description: 'Where a background verification stands.',
  valuesConfig: {
    RUNNING: { description: 'Checking entries; see checkedEntries against totalEntries.' },
    SUCCEEDED: { description: 'Every entry up to targetPosition checked out.' },
    FAILED: { description: 'The chain is broken: result names the first entry that does not match.' },
    ERROR: { description: 'The job could not finish (a store failed, or the gateway stopped); error says why. Start a new one.' },
    ABANDONED: { description: 'The process running the job stopped sending heartbeats (it died). Start a new one.' },
  },
});

@ObjectType({ description: "A full re-verification of a tenant's audit chain, running in the background." })
export class AuditVerificationJob {
  @Field(() => ID) id!: string;
  @Field(() => String) tenantId!: string;
  @Field(() => AuditVerificationJobStatus) status!: AuditVerificationJobStatus;
  @Field(() => DateTimeScalar) startedAt!: string;
  @Field(() => String, { description: 'Who started it.' }) startedBy!: string;
  @Field(() => DateTimeScalar, { nullable: true }) finishedAt!: string | null;
  @Field(() => DateTimeScalar, { description: 'Last sign of life of the process running it.' }) heartbeatAt!: string;
  @Field(() => Int, { description: 'Entries checked so far.' }) checkedEntries!: number;
  @Field(() => Int, { description: 'Entries in the chain when the job started.' }) totalEntries!: number;
  @Field(() => PositionScalar, { description: 'Entries up to this position are checked.' }) targetPosition!: string;
  @Field(() => AuditLogVerification, { nullable: true, description: 'The outcome, once finished.' }) result!: AuditLogVerification | null;
  @Field(() => String, { nullable: true }) error!: string | null;
}
