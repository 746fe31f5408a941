/**
 * Runs in a worker thread (flow-source.async.ts): the pure parseFlowSource.
 * A refusal comes back as data, not as a thrown error: a DomainError would
 * cross the thread boundary as a plain Error and lose its code and
 * extensions. The source is not sent back, the caller still has it.
 */
import { DomainError, type ErrorCode } from '../../shared/errors.js';
import { parseFlowDocument, type FlowDefinition } from './flow-source.js';

/** A source, or a source and whether the whole parsed mapping should come back too (resolved configuration reads it). */
export type FlowSourceTask = string | { source: string; document: boolean };

export type FlowSourceAnswer =
  | { ok: true; definition: FlowDefinition; document?: Record<string, unknown> }
  | { ok: false; error: { code: ErrorCode; message: string; extensions: Record<string, unknown> } };

export default function parseInWorker(task: FlowSourceTask): FlowSourceAnswer {
  const { source, document: withDocument } = typeof task === 'string' ? { source: task, document: false } : task;
  try {
    const { definition, document } = parseFlowDocument(source);
    // Emptied, not deleted: the caller puts it back in its place, so the keys keep parseFlowSource's order.
    definition.source = '';
    return withDocument ? { ok: true, definition, document } : { ok: true, definition };
  } catch (error) {
    if (!(error instanceof DomainError)) throw error;
    return { ok: false, error: { code: error.code, message: error.message, extensions: error.extensions } };
  }
}
