/**
 * Summarises a V8 CPU profile (.cpuprofile, e.g. from
 * `bench/gateway-vs-baseline.ts --cpu-profile FILE`): self time by function
 * and by where the code lives (a package in node_modules, a file of src/,
 * Node's internals, the garbage collector).
 *
 *   npx tsx bench/profile-summary.ts FILE [--top 40]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '40' } } });
const file = positionals[0];
if (!file) throw new Error('usage: profile-summary FILE [--top N]');
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const TOP = Number(values.top);

const byId = new Map(profile.nodes.map((node) => [node.id, node] as const));
const selfTime = new Map<number, number>();
profile.samples.forEach((id, i) => selfTime.set(id, (selfTime.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
const total = [...selfTime.values()].reduce((a, b) => a + b, 0);

/** Where a frame's code lives: a package, a src/ file, Node's internals or V8's pseudo-frames. */
function place(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (!url) return `(${functionName || 'native'})`;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  if (url.startsWith('node:')) return url;
  const src = /\/(src|bench)\/(.*)$/.exec(url);
  if (src) return `${src[1]}/${src[2]}`;
  return url;
}

const byFunction = new Map<string, number>();
const byPlace = new Map<string, number>();
for (const [id, time] of selfTime) {
  const frame = byId.get(id)!.callFrame;
  const where = place(frame);
  const name = `${frame.functionName || '(anonymous)'}  ${where}:${frame.lineNumber + 1}`;
  byFunction.set(name, (byFunction.get(name) ?? 0) + time);
  byPlace.set(where, (byPlace.get(where) ?? 0) + time);
}

const show = (title: string, table: Map<string, number>) => {
  console.log(`\n${title}`);
  for (const [name, time] of [...table].sort((a, b) => b[1] - a[1]).slice(0, TOP))
    console.log(`${((100 * time) / total).toFixed(1).padStart(5)}%  ${name}`);
};
console.log(`${(total / 1e6).toFixed(1)} s sampled`);
show('self time by place', byPlace);
show('self time by function', byFunction);
