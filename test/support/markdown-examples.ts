/**
 * The runnable examples of a markdown file: its ```sh and ```graphql blocks,
 * in order, with the `<!-- example: … -->` markers written on the lines just
 * before each block (docs/development.md, "Examples in the docs are tested").
 *
 *   <!-- example: skip REASON -->          not run here; REASON says why (shown as a skipped test)
 *   <!-- example: endpoint=acme -->        a graphql block: POST /api/v1/acme/graphql (`instance`: /api/v1/graphql;
 *                                          `v2:acme`, `v2:instance`: the same on /api/v2)
 *   <!-- example: expect-error=CODE -->    the block's (last) answer must be this error code
 *   <!-- example: variables={"id":"@startAuditVerification.id"} -->
 *                                          graphql variables; "@a.b" takes a value from an earlier answer of the same block
 */
import { readFileSync } from 'node:fs';

export interface Example {
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  lang: 'sh' | 'graphql';
  code: string;
  skip: string | null;
  endpoint: string | null;
  expectError: string | null;
  variables: Record<string, unknown> | null;
}

const MARKER = /^<!--\s*example:\s*(.*?)\s*-->$/;

export function extractExamples(file: string): Example[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  const examples: Example[] = [];
  for (let i = 0; i < lines.length; i++) {
    const fence = /^```(\w*)\s*$/.exec(lines[i] ?? '');
    if (!fence) continue;
    const start = i;
    let end = i + 1;
    while (end < lines.length && !/^```\s*$/.test(lines[end] ?? '')) end++;
    const lang = fence[1];
    i = end;
    if (lang !== 'sh' && lang !== 'graphql') continue;
    const example: Example = {
      file,
      line: start + 1,
      lang,
      code: lines.slice(start + 1, end).join('\n'),
      skip: null,
      endpoint: null,
      expectError: null,
      variables: null,
    };
    // Markers: the non-blank lines right above the fence.
    for (let j = start - 1; j >= 0; j--) {
      const text = (lines[j] ?? '').trim();
      if (text === '') continue;
      const marker = MARKER.exec(text);
      if (!marker) break;
      const body = marker[1] ?? '';
      if (body.startsWith('skip')) example.skip = body.slice(4).trim() || 'no reason given';
      else if (body.startsWith('endpoint=')) example.endpoint = body.slice('endpoint='.length);
      else if (body.startsWith('expect-error=')) example.expectError = body.slice('expect-error='.length);
      else if (body.startsWith('variables=')) example.variables = JSON.parse(body.slice('variables='.length)) as Record<string, unknown>;
      else throw new Error(`${file}:${j + 1}: unknown example marker ${JSON.stringify(body)}`);
    }
    examples.push(example);
  }
  return examples;
}
