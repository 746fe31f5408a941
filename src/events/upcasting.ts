import { createHash } from 'node:crypto';
import type { RecordedEvent } from '../eventstore/port.js';

/**
 * Upcasters turn an event written with an older schema version into the
 * current shape when it is read, for aggregates and projections alike, so the
 * log is never rewritten. Register one function per (type, fromVersion); a
 * chain 1 → 2 → 3 is applied step by step.
 */
export type Upcaster = (data: unknown, event: RecordedEvent) => unknown;

interface Registration {
  type: string;
  fromVersion: number;
  upcast: Upcaster;
}

export class UpcasterRegistry {
  private readonly byKey = new Map<string, Registration>();
  private readonly current = new Map<string, number>();

  register(type: string, fromVersion: number, upcast: Upcaster): this {
    this.byKey.set(`${type}@${fromVersion}`, { type, fromVersion, upcast });
    this.fingerprinted = null;
    this.current.set(type, Math.max(this.current.get(type) ?? 1, fromVersion + 1));
    return this;
  }

  /**
   * Names the set of registered upcasters: states folded from upcast events
   * (snapshots) are only valid for the set they were folded with.
   */
  fingerprint(): string {
    if (this.fingerprinted === null) {
      const keys = [...this.byKey.keys()].sort().join(',');
      this.fingerprinted = keys === '' ? '0' : createHash('sha256').update(keys).digest('hex').slice(0, 12);
    }
    return this.fingerprinted;
  }

  private fingerprinted: string | null = null;

  /** The schema version new events of this type are written with. */
  currentVersion(type: string): number {
    return this.current.get(type) ?? 1;
  }

  upcast<E extends RecordedEvent>(event: E): E {
    const target = this.currentVersion(event.type);
    let data = event.data;
    let version = event.schemaVersion;
    while (version < target) {
      const step = this.byKey.get(`${event.type}@${version}`);
      if (!step) throw new Error(`no upcaster for ${event.type} from schema version ${version} to ${target}`);
      data = step.upcast(data, event);
      version += 1;
    }
    return version === event.schemaVersion ? event : { ...event, data, schemaVersion: version };
  }
}

/**
 * The registry of the running application. An event schema change adds one
 * line here, and the catalog test checks that every type and version has a
 * path to its current shape.
 */
export const upcasters = new UpcasterRegistry()
  // v1 (the first CreateTenantInput of the API) could leave domains and the
  // namespace setting out; v2 always carries both.
  .register('TenantCreated', 1, (data) => ({ domains: [], requireExistingNamespace: false, ...(data as object) }));
