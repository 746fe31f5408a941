import { describe, expect, it } from 'vitest';
import { Lexer } from 'yaml';
import { MAX_NESTING_DEPTH, MAX_SOURCE_BYTES, parseFlowSource } from '../../src/aggregates/flow/flow-source.js';
import { DomainError } from '../../src/shared/errors.js';

const valid = `id: hello
namespace: company.team
description: Says hello
tasks:
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: hi
`;

function refusal(source: unknown): DomainError {
  try {
    parseFlowSource(source);
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error('expected the source to be refused');
}

describe('parseFlowSource', () => {
  it('reads id, namespace, description, disabled and the top-level tasks', () => {
    expect(parseFlowSource(valid)).toEqual({
      id: 'hello',
      namespace: 'company.team',
      description: 'Says hello',
      disabled: false,
      tasks: [{ id: 'log', type: 'io.kestra.plugin.core.log.Log' }],
      source: valid,
    });
    expect(parseFlowSource(`${valid}disabled: true\n`).disabled).toBe(true);
  });

  it('reports YAML syntax errors with their line and column', () => {
    const error = refusal('id: a\nnamespace: b\ntasks:\n  - id: x\n    type: "unterminated\n');
    expect(error.code).toBe('BAD_USER_INPUT');
    expect(error.extensions).toMatchObject({ field: 'source', line: 6, column: 1 });
    expect(error.message).toMatch(/line 6/);
    expect(refusal('id: a\nid: b\n').extensions).toMatchObject({ field: 'source', line: 2, reason: 'DUPLICATE_KEY' });
    expect(refusal('id: a\n---\nid: b\n').extensions).toMatchObject({ field: 'source', line: 2 });
  });

  it('refuses anything but a mapping, an empty source and an oversized one', () => {
    expect(refusal('- a\n- b\n').extensions).toMatchObject({ field: 'source' });
    expect(refusal('   ').extensions).toMatchObject({ field: 'source' });
    expect(refusal(42).extensions).toMatchObject({ field: 'source' });
    expect(refusal(`${valid}#${'x'.repeat(MAX_SOURCE_BYTES)}\n`).message).toMatch(/bytes/);
  });

  it('refuses unresolved aliases and alias bombs', () => {
    expect(refusal('id: *nothing\n').extensions).toMatchObject({ field: 'source' });
    const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 12; i++)
      bomb.push(
        `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9)
          .fill(`*${String.fromCharCode(96 + i)}`)
          .join(',')}]`,
      );
    expect(refusal(bomb.join('\n')).extensions).toMatchObject({ field: 'source' });
  });

  it('refuses YAML nested thousands of levels deep as nested too deeply, not with a stack overflow message', () => {
    const deep = `${valid}    deep: ${'['.repeat(20_000)}${']'.repeat(20_000)}\n`;
    const error = refusal(deep);
    expect(error.code).toBe('BAD_USER_INPUT');
    expect(error.message).toMatch(/^invalid YAML at line 8, column \d+: nested too deeply$/);
    expect(error.message).not.toMatch(/call stack/i);
  });

  it(`accepts collections nested ${MAX_NESTING_DEPTH} levels deep and refuses one more, with the same answer every time`, () => {
    // The mapping, `tasks`, the task: three levels before `deep`.
    const nested = (levels: number) => `${valid}    deep: ${'['.repeat(levels - 3)}${']'.repeat(levels - 3)}\n`;
    const blockSequences = (levels: number) => `${valid}    deep:\n      ${'- '.repeat(levels - 3)}x\n`;
    for (const source of [nested, blockSequences]) {
      expect(parseFlowSource(source(MAX_NESTING_DEPTH)).id).toBe('hello');
      // Before, where the stack ran out decided: the same source was refused while the parser was cold, accepted once warm.
      const messages = new Set<string>();
      for (let i = 0; i < 20; i++) messages.add(refusal(source(MAX_NESTING_DEPTH + 1)).message);
      expect([...messages]).toHaveLength(1);
      expect([...messages][0]).toMatch(/^invalid YAML at line \d+, column \d+: nested too deeply$/);
    }
    expect(refusal(nested(MAX_NESTING_DEPTH + 1)).extensions).toEqual({
      field: 'source',
      line: 8,
      column: 11 + MAX_NESTING_DEPTH - 3,
      reason: 'RESOURCE_EXHAUSTION',
    });
  });

  it('stops reading flow collections nested past the limit: 50,000 levels cost what 300 do, with the same answer', () => {
    const nested = (levels: number) => `${valid}    deep: ${'['.repeat(levels - 3)}${']'.repeat(levels - 3)}\n`;
    // Counts what the lexer hands the parser (the real lexer, wrapped to count; restored after).
    // eslint-disable-next-line @typescript-eslint/unbound-method -- kept to be called with the lexer as `this` and restored
    const lex = Lexer.prototype.lex;
    let lexemes = 0;
    Lexer.prototype.lex = function* (this: Lexer, ...args: Parameters<Lexer['lex']>) {
      for (const lexeme of lex.apply(this, args)) {
        lexemes++;
        yield lexeme;
      }
    };
    try {
      const read = (levels: number) => {
        lexemes = 0;
        const error = refusal(nested(levels));
        return { extensions: error.extensions, lexemes };
      };
      const small = read(300);
      const large = read(50_000);
      expect(large.extensions).toEqual({ field: 'source', line: 8, column: 11 + MAX_NESTING_DEPTH - 3, reason: 'RESOURCE_EXHAUSTION' });
      expect(large).toEqual(small);
      expect(large.lexemes).toBeLessThan(2 * MAX_NESTING_DEPTH);
    } finally {
      Lexer.prototype.lex = lex;
    }
  });

  it('names the missing or invalid field by path, with its line', () => {
    expect(refusal('namespace: a\ntasks: [{id: x, type: a.B}]\n').extensions).toMatchObject({ field: 'source', path: 'id' });
    expect(refusal('id: a\ntasks: [{id: x, type: a.B}]\n').extensions).toMatchObject({ path: 'namespace' });
    expect(refusal('id: a\nnamespace: b\n').extensions).toMatchObject({ path: 'tasks' });
    expect(refusal('id: a\nnamespace: b\ntasks: []\n').extensions).toMatchObject({ path: 'tasks' });
    expect(refusal('id: a\nnamespace: b\ntasks: nope\n').extensions).toMatchObject({ path: 'tasks' });
    expect(refusal('id: "bad id"\nnamespace: b\ntasks: [{id: x, type: a.B}]\n').extensions).toMatchObject({ path: 'id', line: 1 });
    expect(refusal('id: a\nnamespace: Bad..ns\ntasks: [{id: x, type: a.B}]\n').extensions).toMatchObject({ path: 'namespace', line: 2 });
    expect(refusal('id: a\nnamespace: b\ndisabled: maybe\ntasks: [{id: x, type: a.B}]\n').extensions).toMatchObject({ path: 'disabled' });

    const missingType = refusal('id: a\nnamespace: b\ntasks:\n  - id: x\n    type: a.B\n  - id: y\n  - id: z\n    type: a.B\n');
    expect(missingType.extensions).toMatchObject({ path: 'tasks[1].type', line: 6 });
    expect(missingType.message).toMatch(/tasks\[1\]\.type is required \(line 6\)/);
    expect(refusal('id: a\nnamespace: b\ntasks:\n  - just a string\n').extensions).toMatchObject({ path: 'tasks[0]', line: 4 });
    expect(refusal('id: a\nnamespace: b\ntasks:\n  - id: x\n    type: "not a type"\n').extensions).toMatchObject({ path: 'tasks[0].type' });
  });

  it('refuses duplicate task ids, nested task lists included', () => {
    const top = refusal('id: a\nnamespace: b\ntasks:\n  - {id: x, type: a.B}\n  - {id: y, type: a.B}\n  - {id: x, type: a.B}\n');
    expect(top.extensions).toMatchObject({ path: 'tasks[2].id', line: 6 });
    expect(top.message).toMatch(/tasks\[0\]/);
    const nested = `id: a
namespace: b
tasks:
  - id: parallel
    type: io.kestra.plugin.core.flow.Parallel
    tasks:
      - id: inner
        type: a.B
  - id: branch
    type: io.kestra.plugin.core.flow.If
    then:
      - id: inner
        type: a.B
`;
    expect(refusal(nested).extensions).toMatchObject({ path: 'tasks[1].then[0].id', line: 12 });
    const inErrors = 'id: a\nnamespace: b\ntasks: [{id: x, type: a.B}]\nerrors: [{id: x, type: a.B}]\n';
    expect(refusal(inErrors).extensions).toMatchObject({ path: 'errors[0].id' });
    const inCases = 'id: a\nnamespace: b\ntasks:\n  - id: s\n    type: a.Switch\n    cases:\n      ONE: [{id: s, type: a.B}]\n';
    expect(refusal(inCases).extensions).toMatchObject({ path: 'tasks[0].cases.ONE[0].id' });
  });
});
