/**
 * `tenantry audit checkpoint | checkpoints | key | prove`, and the offline
 * form of `tenantry audit verify --export FILE --checkpoint FILE`: the
 * ledger's signed checkpoints and the proofs an auditor checks them with.
 */
import { createReadStream, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { InvalidArgumentError, type Command } from 'commander';
import type { Application } from '../application/application.js';
import {
  checkpointFile,
  INCLUSION_PROOF_FILE_FORMAT,
  parseCheckpointFile,
  parseInclusionProofFile,
  verifyExportOffline,
  verifyInclusionOffline,
  type InclusionProofFile,
} from '../application/ledger-offline.js';
import { tenantPrefix } from '../eventstore/port.js';
import { leafText } from '../ledger/leaf.js';
import type { Services } from '../application/services.js';
import { keyIdOf, type SignedCheckpoint } from '../ledger/checkpoint.js';
import { systemCaller } from '../server/start.js';
import { verifyConsistency } from '../shared/merkle.js';
import { createPublicKey } from 'node:crypto';
import { ExitCode } from './exit-codes.js';
import { parseInputFile, readInputFile, requireReadable } from './input-files.js';
import { progress, withOperatorApplication } from './operator.js';
import type { Config } from '../config/config.js';
import { LEDGER_PROJECTION, ledgerCheckpointId } from '../ledger/start-guard.js';
import { CHECKPOINTS, type CheckpointDocument } from '../projections/runtime/checkpoints.js';
import { LEASES, type LeaseDocument } from '../projections/runtime/lease.js';
import { conflict } from '../shared/errors.js';

type WithApplication = <T>(work: (opened: { app: Application; services: Services }) => Promise<T>) => Promise<T>;

const write = (text: string): void => void process.stdout.write(text);

/** The largest page `auditCheckpoints` serves. */
const CHECKPOINT_PAGE = 1000;

/** The offline verifier: no stores, no gateway; exit 1 when the export does not match. */
export async function verifyOffline(exportPath: string, checkpointPath: string, keyPath: string | undefined, json = false): Promise<void> {
  const file = parseInputFile('--checkpoint', checkpointPath, parseCheckpointFile);
  const publicKeyPem = keyPath ? readInputFile('--key', keyPath) : undefined;
  const keyId = parseInputFile(keyPath ? '--key' : '--checkpoint', keyPath ?? checkpointPath, () =>
    keyIdOf(createPublicKey(publicKeyPem ?? file.publicKeyPem)),
  );
  requireReadable('--export', exportPath);
  if (!publicKeyPem) {
    process.stderr.write(
      `trusting the key in the checkpoint file (key id ${keyId}): compare it with the one you know, or pin it with --key\n`,
    );
  }
  const lines = createInterface({ input: createReadStream(exportPath, 'utf8'), crlfDelay: Infinity });
  const c = file.checkpoint;
  // The checkpoint's size is where hashing stops: the total, known before the first line is read.
  const bar = progress(`export of ${c.tenantId}`);
  const result = await verifyExportOffline({
    lines,
    checkpoint: file,
    publicKeyPem,
    onProgress: (n) => bar.update(n, c.size, 'events hashed'),
  });
  bar.stop();
  if (json) {
    write(`${JSON.stringify({ tenant: c.tenantId, size: c.size, signedAt: c.signedAt, keyId: c.keyId, ...result })}\n`);
    if (!result.ok) process.exitCode = ExitCode.VERIFICATION_FAILED;
    return;
  }
  if (result.ok) {
    write(
      `export of ${c.tenantId}: OK — its first ${c.size} events (up to position ${result.position}) reach the root signed at ${c.signedAt} by key ${c.keyId}\n`,
    );
    return;
  }
  write(`export of ${c.tenantId}: DOES NOT MATCH the checkpoint of size ${c.size} signed at ${c.signedAt}: ${result.reason}\n`);
  process.exitCode = ExitCode.VERIFICATION_FAILED;
}

export function registerLedgerCommands(
  audit: Command,
  withApplication: WithApplication,
  trailArg: (value: string) => string,
  config: () => Config,
): void {
  audit
    .command('rebuild-ledger')
    .description(
      'after a start was refused because the ledger lost events (exit 6): hash the event log AS IT IS NOW into the ledger again (an edit made meanwhile is taken for the original; only checkpoints kept outside tell)',
    )
    .action(async () => {
      await withOperatorApplication(config(), async ({ app }) => {
        // A gateway (or projector) running on the same read models holds the ledger projection's lease and renews it:
        // resetting its checkpoint under it would race its own ledger writes. (Read models in memory keep no checkpoint
        // to reset, and no lease another process could see.)
        const lease = await app.documents.collection<LeaseDocument>(LEASES).findOne({ _id: ledgerCheckpointId() });
        if (lease && lease.expiresAt > Date.now()) {
          throw conflict(
            `a gateway or projector (${lease.owner}) runs the ledger projection on these stores (its lease runs until ${new Date(lease.expiresAt).toISOString()}): stop it, then run tenantry audit rebuild-ledger again`,
          );
        }
        process.stderr.write(
          'WARNING: the ledger is rebuilt from the event log as it is now. Any edit of the log made while the ledger was away becomes part of it; ' +
            'compare the result with the checkpoints your auditors kept (tenantry audit prove --checkpoint FILE).\n',
        );
        // From the first event again: the projection skips what each tenant's head covers and hashes the rest.
        await app.documents.collection<CheckpointDocument>(CHECKPOINTS).deleteOne({ _id: ledgerCheckpointId() });
        await app.start();
        const head = await app.events.headPosition();
        const runner = app.projections.runner(LEDGER_PROJECTION.name);
        const bar = progress('ledger');
        while (!(await runner.waitFor(head, 1000))) {
          const error = runner.status().error;
          if (error) throw new Error(`the ledger projection is failing: ${error}`);
          bar.update(runner.appliedPosition, head, 'position');
        }
        bar.stop(`ledger rebuilt from the event log up to position ${head}`);
      });
    });

  audit
    .command('checkpoint')
    .description("sign the tenant's ledger as it is now (or reuse the checkpoint that covers it) and print or save it for an auditor")
    .requiredOption('--tenant <id>', 'tenant id', trailArg)
    .option('--output <file>', 'write the checkpoint file (checkpoint and public key) here')
    .action(async (opts: { tenant: string; output?: string }) => {
      await withApplication(async ({ app, services }) => {
        await app.projections.waitFor(await app.events.headPosition(), 60_000);
        const checkpoint = await services.auditLedger.sign(systemCaller(app, 'cli'), opts.tenant);
        const file = checkpointFile(checkpoint, app.signing.key.publicPem());
        if (opts.output) {
          writeFileSync(opts.output, `${JSON.stringify(file, null, 2)}\n`);
          write(
            `checkpoint of ${opts.tenant}: size ${checkpoint.size}, root ${checkpoint.rootHash}, signed ${checkpoint.signedAt} → ${opts.output}\n`,
          );
        } else write(`${JSON.stringify(file, null, 2)}\n`);
      });
    });

  audit
    .command('checkpoints')
    .description("list the tenant's signed checkpoints, oldest first")
    .requiredOption('--tenant <id>', 'tenant id', trailArg)
    .option('--json', 'one JSON object per line')
    .action(async (opts: { tenant: string; json?: boolean }) => {
      await withApplication(async ({ app, services }) => {
        const caller = systemCaller(app, 'cli');
        // Pages of the API's largest size, by size: the next page starts again at the last page's last size (checkpoints
        // of one size, signed by two processes at once, may straddle pages), skipping those of that size already printed.
        let afterSize = -1;
        let printed = new Set<string>();
        for (;;) {
          const page = await services.auditLedger.checkpoints(caller, opts.tenant, { afterSize, first: CHECKPOINT_PAGE });
          const last = page.at(-1);
          const lastSize = last?.size;
          const atLast = new Set<string>();
          for (const c of page) {
            const id = `${c.size} ${c.signedAt} ${c.signature}`;
            if (c.size === lastSize) atLast.add(id);
            if (c.size === afterSize + 1 && printed.has(id)) continue;
            write(opts.json ? `${JSON.stringify(c)}\n` : `${c.size}\t${c.signedAt}\t${c.rootHash}\t${c.keyId}\n`);
          }
          if (!last || page.length < CHECKPOINT_PAGE) break;
          // A whole page of one size already printed: go past it (a thousand checkpoints of one size do not happen).
          const stuck = page.every((c) => c.size === last.size) && afterSize === last.size - 1;
          afterSize = stuck ? last.size : last.size - 1;
          printed = stuck ? new Set() : atLast;
        }
      });
    });

  audit
    .command('key')
    .description('print the public key that signs checkpoints (give it to your auditors) and its key id')
    .option('--json', 'as {"keyId", "publicKeyPem"}')
    .action(async (opts: { json?: boolean }) => {
      await withApplication(async ({ app }) => {
        if (opts.json) return write(`${JSON.stringify({ keyId: app.signing.key.keyId, publicKeyPem: app.signing.key.publicPem() })}\n`);
        write(`# key id ${app.signing.key.keyId}\n${app.signing.key.publicPem()}`);
      });
    });

  audit
    .command('prove')
    .description(
      'prove that the ledger today extends a checkpoint you kept (RFC 9162 consistency proof), or with --position that an event is in a signed checkpoint (inclusion proof), and check the proof here',
    )
    .requiredOption('--tenant <id>', 'tenant id', trailArg)
    .option(
      '--checkpoint <file>',
      'a checkpoint file saved earlier (tenantry audit checkpoint --output); with --position: prove inclusion in it',
    )
    .option('--position <n>', "inclusion: the position of one of the tenant's events", positionArg)
    .option('--output <file>', 'with --position: write the proof file (tenantry audit verify --proof checks it offline)')
    .option('--json', 'the result as one JSON object (exit codes unchanged)')
    .action(async (opts: { tenant: string; checkpoint?: string; position?: number; output?: string; json?: boolean }) => {
      const kept = opts.checkpoint ? parseInputFile('--checkpoint', opts.checkpoint, parseCheckpointFile).checkpoint : undefined;
      if (opts.position !== undefined) {
        await proveInclusion(withApplication, { ...opts, position: opts.position, kept });
        return;
      }
      if (opts.output) throw new InvalidArgumentError('--output goes with --position');
      if (!kept) throw new InvalidArgumentError('--checkpoint is required (or --position N, for an inclusion proof)');
      await withApplication(async ({ app, services }) => {
        const caller = systemCaller(app, 'cli');
        await services.audit.requireWholeTrail(caller, opts.tenant);
        const inconsistent = (reason: string, extra: Record<string, unknown> = {}): void => {
          write(
            opts.json
              ? `${JSON.stringify({ tenant: opts.tenant, consistent: false, fromSize: kept.size, reason, ...extra })}\n`
              : `ledger of ${opts.tenant}: INCONSISTENT — ${reason}\n`,
          );
          process.exitCode = ExitCode.VERIFICATION_FAILED;
        };
        // A ledger shorter than a checkpoint (the kept one, or its own newest) lost signed events: not a bad request.
        const size = (await app.ledger.head(opts.tenant))?.size ?? 0;
        const newest = await app.ledger.latestCheckpoint(opts.tenant);
        const signed = (c: SignedCheckpoint) => `the checkpoint of size ${c.size} signed at ${c.signedAt}`;
        if (kept.size > size) return inconsistent(`today's ledger holds ${size} events, fewer than ${signed(kept)}`);
        if (newest && newest.size > size) return inconsistent(`today's ledger holds ${size} events, fewer than its own ${signed(newest)}`);
        const proof = await services.auditLedger.consistency(caller, opts.tenant, kept.size);
        const latest = proof.toCheckpoint;
        // The root the proof reaches is only worth its signature.
        const untrusted = latest ? app.signing.trusted.problem(latest) : null;
        if (latest && untrusted) return inconsistent(`${signed(latest)}, which the proof reaches, cannot be trusted: ${untrusted}`);
        const ok =
          kept.tenantId === opts.tenant &&
          proof.fromRoot === kept.rootHash &&
          verifyConsistency(
            kept.size,
            proof.toSize,
            Buffer.from(kept.rootHash, 'hex'),
            Buffer.from(latest?.rootHash ?? proof.toRoot, 'hex'),
            proof.proof.map((h) => Buffer.from(h, 'hex')),
          );
        if (opts.json) {
          // Everything needed to check the proof again elsewhere: both roots, the proof, and the signed checkpoint it reaches.
          const { fromRoot, toRoot, toSize, toCheckpoint } = proof;
          write(
            `${JSON.stringify({ tenant: opts.tenant, consistent: ok, fromSize: kept.size, fromRoot, toSize, toRoot, proof: proof.proof, toCheckpoint })}\n`,
          );
          if (!ok) process.exitCode = ExitCode.VERIFICATION_FAILED;
          return;
        }
        if (ok) {
          write(
            `ledger of ${opts.tenant}: CONSISTENT — the checkpoint of size ${kept.size} (${kept.signedAt}) is a prefix of ${latest ? `the checkpoint of size ${latest.size} (${latest.signedAt})` : `the ledger of ${proof.toSize} events`}\n`,
          );
          return;
        }
        inconsistent(`today's ledger does not extend the checkpoint of size ${kept.size} signed at ${kept.signedAt}`);
      });
    });
}

function positionArg(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('a position of the log (a positive integer)');
  return n;
}

/** `tenantry audit prove --position N`: an inclusion proof of the event, checked here as an auditor would check it offline. */
async function proveInclusion(
  withApplication: WithApplication,
  opts: { tenant: string; position: number; kept: SignedCheckpoint | undefined; output?: string; json?: boolean },
): Promise<void> {
  const { tenant, position, kept } = opts;
  await withApplication(async ({ app, services }) => {
    const caller = systemCaller(app, 'cli');
    await services.audit.requireWholeTrail(caller, tenant);
    // The ledger hashes the log a batch behind: let it reach the event.
    await app.projections.waitFor(await app.events.headPosition(), 60_000);
    const proof = await services.auditLedger.inclusion(caller, tenant, position, kept?.size ?? null);
    const [event] = await app.events.readAll({ after: position - 1, maxCount: 1, streamPrefix: tenantPrefix(tenant), fromStorage: true });
    const c = proof.checkpoint;
    const fail = (reason: string): void => {
      write(
        opts.json
          ? `${JSON.stringify({ tenant, position, included: false, reason })}\n`
          : `event at position ${position} of ${tenant}: NOT PROVEN — ${reason}\n`,
      );
      process.exitCode = ExitCode.VERIFICATION_FAILED;
    };
    if (!event || event.position !== position) return fail(`the log holds no event of ${tenant} at position ${position} any more`);
    const untrusted = app.signing.trusted.problem(c);
    if (untrusted) return fail(`the checkpoint of size ${c.size} signed at ${c.signedAt} cannot be trusted: ${untrusted}`);
    const publicKeyPem = app.signing.trusted.list().find((k) => k.keyId === c.keyId)!.publicKeyPem;
    const file: InclusionProofFile = {
      format: INCLUSION_PROOF_FILE_FORMAT,
      version: 1,
      tenantId: tenant,
      position,
      leafIndex: proof.leafIndex,
      treeSize: proof.treeSize,
      leafHash: proof.leafHash,
      proof: proof.proof,
      event: JSON.parse(leafText(event)) as Record<string, unknown>,
      checkpoint: c,
      publicKeyPem,
    };
    // Checked as the auditor will: from the event as the log holds it now, the path and the signed (or kept) root.
    const check = verifyInclusionOffline(file, { publicKeyPem, kept });
    if (opts.output) writeFileSync(opts.output, `${JSON.stringify(file, null, 2)}\n`);
    if (!check.ok) return fail(check.reason ?? 'the proof does not hold');
    if (opts.json) {
      const { leafIndex, treeSize, leafHash } = file;
      write(`${JSON.stringify({ tenant, position, included: true, leafIndex, treeSize, leafHash, proof: file.proof, checkpoint: c })}\n`);
      return;
    }
    write(
      `event at position ${position} of ${tenant}: INCLUDED — leaf ${proof.leafIndex} of the checkpoint of size ${c.size} signed at ${c.signedAt} by key ${c.keyId}${opts.output ? ` → ${opts.output}` : ''}\n`,
    );
  });
}

/** The offline check of an inclusion proof file: no stores, no gateway; exit 1 when it does not hold. */
export function verifyProofOffline(proofPath: string, checkpointPath: string | undefined, keyPath: string | undefined, json = false): void {
  const file = parseInputFile('--proof', proofPath, parseInclusionProofFile);
  const kept = checkpointPath ? parseInputFile('--checkpoint', checkpointPath, parseCheckpointFile).checkpoint : undefined;
  const publicKeyPem = keyPath ? readInputFile('--key', keyPath) : undefined;
  if (!publicKeyPem) {
    process.stderr.write(
      `trusting the key in the proof file (key id ${file.checkpoint.keyId}): compare it with the one you know, or pin it with --key\n`,
    );
  }
  const result = parseInputFile(keyPath ? '--key' : '--proof', keyPath ?? proofPath, () =>
    verifyInclusionOffline(file, { publicKeyPem, kept }),
  );
  const c = file.checkpoint;
  if (json) write(`${JSON.stringify({ tenant: file.tenantId, position: file.position, size: c.size, keyId: c.keyId, ...result })}\n`);
  else if (result.ok)
    write(
      `event at position ${file.position} of ${file.tenantId}: INCLUDED in the checkpoint of size ${c.size} signed at ${c.signedAt} by key ${c.keyId}\n`,
    );
  else write(`event at position ${file.position} of ${file.tenantId}: NOT PROVEN — ${result.reason}\n`);
  if (!result.ok) process.exitCode = ExitCode.VERIFICATION_FAILED;
}
