/**
 * Checks a tenant's events export against a signed checkpoint with nothing
 * but the two files (and, preferably, a public key the auditor pinned):
 * hashes the export's events as the ledger does, and compares the root of
 * the first `size` of them with the signed root.
 */
import { createPublicKey } from 'node:crypto';
import { TrustedKeys, type SignedCheckpoint } from '../ledger/checkpoint.js';
import { eventLeaf, ledgerOf } from '../ledger/leaf.js';
import type { RecordedEvent } from '../eventstore/port.js';
import { Frontier, verifyInclusion } from '../shared/merkle.js';
import { Slicer } from '../shared/slices.js';
import type { InclusionProofView } from './audit-ledger.js';
import { EXPORT_FORMAT, type ExportHeader } from './tenant-transfer.js';

export const CHECKPOINT_FILE_FORMAT = 'tenantry-audit-checkpoint';

/** What `tenantry audit checkpoint --output` writes and the offline verifier reads. */
export interface CheckpointFile {
  format: typeof CHECKPOINT_FILE_FORMAT;
  version: 1;
  checkpoint: SignedCheckpoint;
  /** The public key that signed it (SPKI PEM): trust it only after comparing its key id with one you know. */
  publicKeyPem: string;
}

export function checkpointFile(checkpoint: SignedCheckpoint, publicKeyPem: string): CheckpointFile {
  return { format: CHECKPOINT_FILE_FORMAT, version: 1, checkpoint, publicKeyPem };
}

export function parseCheckpointFile(text: string): CheckpointFile {
  const file = JSON.parse(text) as Partial<CheckpointFile>;
  if (file.format !== CHECKPOINT_FILE_FORMAT || file.version !== 1 || !file.checkpoint || typeof file.publicKeyPem !== 'string') {
    throw new Error(`not a ${CHECKPOINT_FILE_FORMAT} file of version 1`);
  }
  return file as CheckpointFile;
}

export interface OfflineVerification {
  ok: boolean;
  /** Events of the export hashed. */
  events: number;
  /** Position of the last event the checkpoint covers (when reached). */
  position: number | null;
  reason: string | null;
}

export async function verifyExportOffline(input: {
  lines: AsyncIterable<string>;
  checkpoint: CheckpointFile;
  /** A public key the auditor trusts (PEM); without it, the checkpoint file's own key (and the caller says so). */
  publicKeyPem?: string | undefined;
  onProgress?: (events: number) => void;
}): Promise<OfflineVerification> {
  const { checkpoint } = input.checkpoint;
  const trusted = new TrustedKeys([createPublicKey(input.publicKeyPem ?? input.checkpoint.publicKeyPem)]);
  const signature = trusted.problem(checkpoint);
  if (signature) return { ok: false, events: 0, position: null, reason: `the checkpoint cannot be trusted: ${signature}` };
  const frontier = new Frontier();
  const slicer = new Slicer();
  let header: ExportHeader | null = null;
  let position: number | null = null;
  for await (const line of input.lines) {
    if (line.trim() === '') continue;
    if (header === null) {
      header = JSON.parse(line) as ExportHeader;
      if ((header.format as string) !== EXPORT_FORMAT)
        return { ok: false, events: 0, position: null, reason: 'not an events export (tenantry events export)' };
      if (header.tenantId !== checkpoint.tenantId) {
        return {
          ok: false,
          events: 0,
          position: null,
          reason: `the export is of ${header.tenantId}, the checkpoint of ${checkpoint.tenantId}`,
        };
      }
      continue;
    }
    if (frontier.size >= checkpoint.size) break;
    const event = JSON.parse(line) as RecordedEvent;
    frontier.append(eventLeaf(event));
    position = event.position;
    if (frontier.size % 10_000 === 0) input.onProgress?.(frontier.size);
    await slicer.tick();
  }
  input.onProgress?.(frontier.size);
  if (frontier.size < checkpoint.size) {
    return {
      ok: false,
      events: frontier.size,
      position,
      reason: `the export ends after ${frontier.size} events, before the checkpoint's ${checkpoint.size}`,
    };
  }
  if (frontier.root().toString('hex') !== checkpoint.rootHash) {
    return {
      ok: false,
      events: frontier.size,
      position,
      reason: `the first ${checkpoint.size} events of the export do not reach the signed root: history was changed before position ${position}`,
    };
  }
  return { ok: true, events: frontier.size, position, reason: null };
}

export const INCLUSION_PROOF_FILE_FORMAT = 'tenantry-audit-inclusion-proof';

/**
 * What `tenantry audit prove --position N --output FILE` writes: everything
 * an auditor needs to check, with nothing else, that one event is in a
 * signed checkpoint. `event` is exactly the object the leaf hashes (the event
 * as the log stores it, as `tenantry events export` prints it): the log holds
 * no secret value and no vault ciphertext (secret events carry metadata only;
 * API tokens a salted hash of their secret).
 */
export interface InclusionProofFile extends InclusionProofView {
  format: typeof INCLUSION_PROOF_FILE_FORMAT;
  version: 1;
  event: Record<string, unknown>;
  /** The public key that signed the checkpoint: trust it only after comparing its key id with one you know. */
  publicKeyPem: string;
}

export function parseInclusionProofFile(text: string): InclusionProofFile {
  const file = JSON.parse(text) as Partial<InclusionProofFile>;
  if (
    file.format !== INCLUSION_PROOF_FILE_FORMAT ||
    file.version !== 1 ||
    !file.checkpoint ||
    !file.event ||
    !Array.isArray(file.proof) ||
    !Number.isInteger(file.leafIndex) ||
    typeof file.publicKeyPem !== 'string'
  ) {
    throw new Error(`not a ${INCLUSION_PROOF_FILE_FORMAT} file of version 1`);
  }
  return file as InclusionProofFile;
}

/**
 * Checks an inclusion proof with nothing but the file (and, preferably, a
 * pinned public key): the leaf is hashed again from the event, the path
 * leads from it to the checkpoint's root, and the checkpoint's signature
 * holds. `root`: a root the auditor kept for the same size (a checkpoint
 * file), which the signed one must equal.
 */
export function verifyInclusionOffline(
  file: InclusionProofFile,
  options: { publicKeyPem?: string | undefined; kept?: SignedCheckpoint | undefined } = {},
): { ok: boolean; reason: string | null } {
  const c = file.checkpoint;
  const fail = (reason: string) => ({ ok: false, reason });
  const signature = new TrustedKeys([createPublicKey(options.publicKeyPem ?? file.publicKeyPem)]).problem(c);
  if (signature) return fail(`the checkpoint cannot be trusted: ${signature}`);
  const event = file.event as unknown as RecordedEvent;
  if (c.tenantId !== file.tenantId || ledgerOf(String(event.streamName)) !== file.tenantId) {
    return fail(`the event (stream ${String(event.streamName)}) and the checkpoint (${c.tenantId}) are not of tenant ${file.tenantId}`);
  }
  if (event.position !== file.position) return fail(`the event is at position ${String(event.position)}, not ${file.position}`);
  if (file.treeSize !== c.size) return fail(`the proof is for a tree of ${file.treeSize} events, the checkpoint of ${c.size}`);
  if (options.kept) {
    if (options.kept.tenantId !== c.tenantId || options.kept.size !== c.size || options.kept.rootHash !== c.rootHash) {
      return fail(
        `the proof's checkpoint (size ${c.size}, root ${c.rootHash}) is not the one you kept (size ${options.kept.size}, root ${options.kept.rootHash})`,
      );
    }
  }
  const leaf = eventLeaf(event);
  if (leaf.toString('hex') !== file.leafHash) return fail('the event does not hash to the leaf of the proof (the event was changed)');
  const ok = verifyInclusion(
    file.leafIndex,
    c.size,
    leaf,
    file.proof.map((h) => Buffer.from(h, 'hex')),
    Buffer.from(c.rootHash, 'hex'),
  );
  return ok ? { ok: true, reason: null } : fail(`the proof does not lead from the event's leaf to the root signed at size ${c.size}`);
}
