import type { Collection, Document } from '../../readmodels/port.js';

/**
 * Which physical generation of a projection's collections serves queries.
 * A target is `v<version>` or `v<version>_g<n>` (a rebuild of that version);
 * a logical collection `namespaces` of target `v2_g3` is `namespaces_v2_g3`.
 */
export interface AliasDocument extends Document {
  target: string;
  /** A generation being built (blue/green), resumable after a crash. */
  building: string | null;
  previous: string | null;
  switchedAt: string;
}

export const ALIASES = 'read_model_aliases';

export const targetFor = (version: number, generation = 0): string => (generation === 0 ? `v${version}` : `v${version}_g${generation}`);

export function parseTarget(target: string): { version: number; generation: number } {
  const match = /^v(\d+)(?:_g(\d+))?$/.exec(target);
  if (!match) throw new Error(`not a read-model target: ${target}`);
  return { version: Number(match[1]), generation: Number(match[2] ?? 0) };
}

export const physicalName = (logicalName: string, target: string): string => `${logicalName}_${target}`;

/** FerretDB 1.24 drops null fields written by $setOnInsert: a missing field means null. */
const normalise = (alias: AliasDocument): AliasDocument => ({
  ...alias,
  building: alias.building ?? null,
  previous: alias.previous ?? null,
});

/** Alias documents, changed only by compare-and-set so that two operators cannot switch past each other. */
export class Aliases {
  constructor(private readonly collection: Collection<AliasDocument>) {}

  async get(name: string): Promise<AliasDocument | null> {
    const alias = await this.collection.findOne({ _id: name });
    return alias && normalise(alias);
  }

  async all(): Promise<AliasDocument[]> {
    return (await this.collection.find({})).map(normalise);
  }

  /** Creates the alias when there is none; returns the alias in force. */
  async ensure(name: string, target: string): Promise<AliasDocument> {
    await this.collection.updateOne(
      { _id: name },
      { $setOnInsert: { target, building: null, previous: null, switchedAt: new Date().toISOString() } },
      { upsert: true },
    );
    const alias = await this.get(name);
    if (!alias) throw new Error(`alias ${name} vanished`);
    return alias;
  }

  /** Records a generation being built; false when someone else changed the alias first. */
  async startBuilding(name: string, current: AliasDocument, building: string): Promise<boolean> {
    const result = await this.collection.updateOne(
      { _id: name, target: current.target, building: current.building },
      { $set: { building } },
    );
    return result.matchedCount === 1;
  }

  /** Makes `to` live atomically (one document update); false when the alias moved meanwhile. */
  async switchTo(name: string, from: string, to: string): Promise<boolean> {
    const result = await this.collection.updateOne(
      { _id: name, target: from },
      { $set: { target: to, building: null, previous: from, switchedAt: new Date().toISOString() } },
    );
    return result.matchedCount === 1;
  }
}
