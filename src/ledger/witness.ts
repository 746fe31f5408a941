/**
 * The witness: an append-only JSON-lines file, outside the data dir
 * (TENANTRY_AUDIT_WITNESS_FILE), where every signed checkpoint is appended
 * as it is made. Someone who can rewrite the whole data dir (log, ledger and
 * its checkpoints) and who holds the signing key can re-sign a forged
 * history there; the copy here keeps the roots that were signed before, and
 * verification checks that today's ledger still reaches every one of them.
 *
 * One line per checkpoint: `{"tenantId","size","rootHash","signedAt","keyId","signature"}`.
 * Appends go through the asynchronous file API (libuv's thread pool: off the
 * event loop), one write each (O_APPEND: lines of several processes do not
 * interleave), followed by an fdatasync. Reads stream the file a line at a
 * time: bounded memory whatever its length.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { SignedCheckpoint } from './checkpoint.js';

export class CheckpointWitness {
  private last: Promise<void> = Promise.resolve();

  constructor(readonly file: string) {}

  /** Appends the checkpoint as one line, durably; appends of this process are made one after another. */
  append(c: SignedCheckpoint): Promise<void> {
    const line = `${JSON.stringify({ tenantId: c.tenantId, size: c.size, rootHash: c.rootHash, signedAt: c.signedAt, keyId: c.keyId, signature: c.signature })}\n`;
    const next = this.last
      .catch(() => undefined)
      .then(async () => {
        const handle = await open(this.file, 'a', 0o600);
        try {
          await handle.write(line);
          await handle.datasync();
        } finally {
          await handle.close();
        }
      });
    this.last = next;
    return next;
  }
}

/** A line of the witness file: its checkpoint, or null when the line is not one. */
export interface WitnessLine {
  line: number;
  checkpoint: SignedCheckpoint | null;
}

function parseLine(text: string): SignedCheckpoint | null {
  try {
    const c = JSON.parse(text) as Partial<SignedCheckpoint>;
    const ok =
      typeof c.tenantId === 'string' &&
      Number.isInteger(c.size) &&
      typeof c.rootHash === 'string' &&
      typeof c.signedAt === 'string' &&
      typeof c.keyId === 'string' &&
      typeof c.signature === 'string';
    return ok ? (c as SignedCheckpoint) : null;
  } catch {
    return null;
  }
}

/** The witness file's lines, streamed; none when the file does not exist (yet). */
export async function* witnessLines(file: string): AsyncGenerator<WitnessLine> {
  const input = createReadStream(file, 'utf8');
  const missing = await new Promise<boolean>((resolve, reject) => {
    input.once('open', () => resolve(false));
    input.once('error', (error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? resolve(true) : reject(error)));
  });
  if (missing) return;
  const lines = createInterface({ input, crlfDelay: Infinity });
  let line = 0;
  try {
    for await (const text of lines) {
      line++;
      if (text.trim() === '') continue;
      yield { line, checkpoint: parseLine(text) };
    }
  } finally {
    lines.close();
    input.destroy();
  }
}
