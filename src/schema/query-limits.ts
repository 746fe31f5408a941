/**
 * Limits on the shape of a GraphQL request, refused before any resolver runs
 * with `QUERY_TOO_COMPLEX` (`extensions.reason`, `extensions.limit` and, when
 * known, `extensions.found`). Depth, aliases, directives and cost are
 * graphql-armor's validation rules; the token limit is graphql-js's own
 * parser limit, which stops parsing at the first token past it.
 */
import { costLimitRule } from '@escape.tech/graphql-armor-cost-limit';
import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesRule } from '@escape.tech/graphql-armor-max-directives';
import {
  GraphQLError,
  Kind,
  TypeInfo,
  validate,
  visit,
  visitWithTypeInfo,
  type ArgumentNode,
  type DocumentNode,
  type FieldNode,
  type GraphQLFormattedError,
  type GraphQLSchema,
  type ParseOptions,
  type ValidationContext,
  type ValidationRule,
  type ValueNode,
} from 'graphql';
import type { RequestLimits } from '../config/config.js';
import { DomainError, ErrorCode } from '../shared/errors.js';

export type LimitReason =
  | 'MAX_DEPTH'
  | 'MAX_ALIASES'
  | 'MAX_DIRECTIVES'
  | 'MAX_TOKENS'
  | 'MAX_COST'
  | 'MAX_VARIABLE_DEPTH'
  | 'EXECUTION_TIMEOUT'
  | 'MAX_RESPONSE_SIZE';

export const tooComplex = (reason: LimitReason, limit: number, message: string, found?: number): DomainError =>
  new DomainError(ErrorCode.QUERY_TOO_COMPLEX, message, { reason, limit, ...(found === undefined ? {} : { found }) });

/**
 * Deepest nesting of arrays and objects in a request's variables. The body
 * parser reads a hundred thousand levels; graphql-js and type-graphql walk
 * argument values recursively and overflow the stack a few thousand levels
 * down. No argument of the schema needs more than a few levels, and JSON
 * values the domain stores are limited to 32, so 64 refuses nothing real.
 */
export const MAX_VARIABLE_DEPTH = 64;

/** Refuses variables nested deeper than MAX_VARIABLE_DEPTH; walks them without recursion, stopping at the first too deep. */
export function checkVariableDepth(variables: unknown, max = MAX_VARIABLE_DEPTH): void {
  const stack: [unknown, number][] = [[variables, 0]];
  for (let next = stack.pop(); next; next = stack.pop()) {
    const [value, depth] = next;
    if (value === null || typeof value !== 'object') continue;
    if (depth > max) {
      const cause = tooComplex('MAX_VARIABLE_DEPTH', max, `the variables are nested deeper than ${max} levels`);
      throw new GraphQLError(cause.message, { originalError: cause, extensions: { http: { status: 400 } } });
    }
    for (const item of Array.isArray(value) ? value : Object.values(value)) {
      if (item !== null && typeof item === 'object') stack.push([item, depth + 1]);
    }
  }
}

/** Turns graphql-armor's rejection ("Syntax Error: Query depth limit of 6 exceeded, found 7.") into ours. */
function armorRejection(reason: LimitReason, limit: number, error: GraphQLError): DomainError {
  const message = error.message.replace(/^Syntax Error: /, '');
  const found = /found (\d+(?:\.\d+)?)/.exec(message)?.[1];
  return tooComplex(reason, limit, message, found === undefined ? undefined : Number(found));
}

/** graphql-armor calls this instead of throwing (`propagateOnRejection: false`), so the error keeps our code. */
const reportAs =
  (reason: LimitReason, limit: number) =>
  (context: ValidationContext | null, error: GraphQLError): void => {
    // Apollo wraps validation errors as GRAPHQL_VALIDATION_FAILED, keeping `originalError`; formatError finds ours there.
    context?.reportError(new GraphQLError(error.message, { originalError: armorRejection(reason, limit, error) }));
  };

/** Extra validation rules for Apollo's `validationRules`. Introspection (`__schema`) is not counted in depth. */
export function shapeRules(limits: RequestLimits): ValidationRule[] {
  const common = { exposeLimits: true, propagateOnRejection: false } as const;
  return [
    maxDepthRule({ ...common, n: limits.maxDepth, ignoreIntrospection: true, onReject: [reportAs('MAX_DEPTH', limits.maxDepth)] }),
    maxAliasesRule({ ...common, n: limits.maxAliases, onReject: [reportAs('MAX_ALIASES', limits.maxAliases)] }),
    maxDirectivesRule({ ...common, n: limits.maxDirectives, onReject: [reportAs('MAX_DIRECTIVES', limits.maxDirectives)] }),
  ];
}

/** For Apollo's `parseOptions`: graphql-js aborts parsing past `maxTokens`. */
export const tokenLimit = (limits: RequestLimits): ParseOptions => ({ maxTokens: limits.maxTokens });

/** graphql-js's wording (its own typo included, "more that"). */
const TOKEN_LIMIT_MESSAGE = /^Syntax Error: Document contains more tha[nt] (\d+) tokens\. Parsing aborted\.$/;

/**
 * The QUERY_TOO_COMPLEX refusal a request-level error stands for, if any:
 * one of ours carried as the cause of Apollo's wrapper (validation rules,
 * plugins), or graphql-js's token limit.
 */
export function requestLimitError(error: unknown): DomainError | null {
  for (let cause: unknown = error, hops = 0; cause instanceof GraphQLError && hops < 3; hops++) {
    if (cause.path !== undefined) return null; // a resolver's error: not a refusal of the request
    const tokens = TOKEN_LIMIT_MESSAGE.exec(cause.message)?.[1];
    if (tokens !== undefined) {
      return tooComplex('MAX_TOKENS', Number(tokens), `Token limit of ${tokens} exceeded.`);
    }
    if (cause.originalError instanceof DomainError && cause.originalError.code === ErrorCode.QUERY_TOO_COMPLEX) {
      return cause.originalError;
    }
    cause = cause.originalError;
  }
  return null;
}

/** graphql-armor's convention: a connection's `first`/`last` multiplies the cost of what it selects. */
const PAGE_ARGUMENTS = new Set(['first', 'last']);

/**
 * The largest page any connection serves (`flows`, `auditLogs`). A larger
 * `first` is priced as this: its resolver refuses it as BAD_USER_INPUT
 * naming `first`, a more useful answer than QUERY_TOO_COMPLEX.
 */
const LARGEST_PAGE = 500;

const intValue = (value: unknown): ValueNode | null =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= 0
    ? { kind: Kind.INT, value: String(Math.min(value, LARGEST_PAGE)) }
    : null;

/**
 * graphql-armor's cost rule reads `first`/`last` only when written as
 * literals; a variable, or an argument left to its schema default (50 for
 * `flows` and `auditLogs`), would count as 1. This writes the actual page
 * sizes into a copy of the document, so `first: $n` costs what it asks for.
 */
function withPageSizes(schema: GraphQLSchema, document: DocumentNode, variables: Record<string, unknown>): DocumentNode {
  const typeInfo = new TypeInfo(schema);
  const variableDefaults = new Map<string, ValueNode>();
  for (const definition of document.definitions) {
    if (definition.kind !== Kind.OPERATION_DEFINITION) continue;
    for (const variable of definition.variableDefinitions ?? []) {
      if (variable.defaultValue) variableDefaults.set(variable.variable.name.value, variable.defaultValue);
    }
  }
  const literal = (value: ValueNode | undefined): ValueNode | null => (value?.kind === Kind.INT ? intValue(Number(value.value)) : null);
  const resolved = (argument: ArgumentNode): ArgumentNode => {
    if (!PAGE_ARGUMENTS.has(argument.name.value)) return argument;
    if (argument.value.kind !== Kind.VARIABLE) return { ...argument, value: literal(argument.value) ?? argument.value };
    const name = argument.value.name.value;
    const value = Object.prototype.hasOwnProperty.call(variables, name) ? intValue(variables[name]) : literal(variableDefaults.get(name));
    return value ? { ...argument, value } : argument;
  };
  return visit(
    document,
    visitWithTypeInfo(typeInfo, {
      Field(node: FieldNode): FieldNode | undefined {
        const definition = typeInfo.getFieldDef();
        const pageArguments = definition?.args.filter((a) => PAGE_ARGUMENTS.has(a.name)) ?? [];
        if (pageArguments.length === 0) return undefined;
        const given = (node.arguments ?? []).map(resolved);
        if (given.some((a) => PAGE_ARGUMENTS.has(a.name.value) && a.value.kind === Kind.INT)) return { ...node, arguments: given };
        // Omitted, null, or not a number (refused later by coercion): the resolver's default applies.
        const others = given.filter((a) => !PAGE_ARGUMENTS.has(a.name.value));
        // A list whose resolver picks a page size when none is given declares it as `defaultPageSize` (see pageDefault).
        const declared = definition?.extensions['defaultPageSize'] as { argument?: string; size?: number } | undefined;
        const fallback =
          pageArguments.map((a) => ({ name: a.name, value: intValue(a.defaultValue) })).find((a) => a.value !== null) ??
          (declared?.argument && declared.size !== undefined ? { name: declared.argument, value: intValue(declared.size) } : undefined);
        const added: ArgumentNode[] = fallback?.value
          ? [{ kind: Kind.ARGUMENT, name: { kind: Kind.NAME, value: fallback.name }, value: fallback.value }]
          : [];
        return { ...node, arguments: [...others, ...added] };
      },
    }),
  );
}

/**
 * Field extensions for a list whose resolver applies a page size of its own
 * when the client gives neither `first` nor `last` (type-graphql:
 * `@Extensions(pageDefault('last', 20))`): the cost model prices the field
 * with that size, as if the client had asked for it.
 */
export const pageDefault = (argument: 'first' | 'last', size: number) => ({ defaultPageSize: { argument, size } });

/**
 * The variables a document passes as `first`/`last` (on any field: a
 * superset of what the cost reads). The cost of a document depends on its
 * variables through these alone.
 */
export function pageSizeVariables(document: DocumentNode): string[] {
  const names = new Set<string>();
  visit(document, {
    Argument(node: ArgumentNode) {
      if (PAGE_ARGUMENTS.has(node.name.value) && node.value.kind === Kind.VARIABLE) names.add(node.value.name.value);
    },
  });
  return [...names].sort();
}

/**
 * Throws QUERY_TOO_COMPLEX (HTTP 400) when the document costs more than
 * `maxCost` under graphql-armor's model (2 per object, 1 per scalar, ×1.5
 * per level, × the page size of a connection), variables resolved.
 */
export function checkCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  variables: Record<string, unknown> | undefined,
  maxCost: number,
): void {
  const priced = withPageSizes(schema, document, variables ?? {});
  const rule = costLimitRule({
    maxCost,
    exposeLimits: true,
    ignoreIntrospection: true,
    propagateOnRejection: false,
    onReject: [reportAs('MAX_COST', maxCost)],
  });
  const [refusal] = validate(schema, priced, [rule]);
  if (refusal) {
    const cause = refusal.originalError ?? refusal;
    throw new GraphQLError(cause.message, { originalError: cause, extensions: { http: { status: 400 } } });
  }
}

/** graphql-js's "Did you mean …?" endings, which give the schema away when introspection is off. */
const SUGGESTION = /\s*Did you mean [^?]*\?/g;

/** A message without graphql-js's "Did you mean …?" endings. */
export const stripSuggestions = (message: string): string => message.replace(SUGGESTION, '');

/**
 * With production on, error messages lose their suggestions. This strips
 * them from the formatted message rather than using graphql-armor's
 * block-field-suggestions plugin: that plugin edits `error.message` before
 * formatting, but formatError rebuilds variable errors from graphql-js's
 * original message (input-echo.ts), suggestion included, and the plugin
 * leaves a mask and a dangling "?" behind.
 */
export function withoutSuggestions(
  format: (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError,
): (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError {
  return (formatted, error) => {
    const result = format(formatted, error);
    return { ...result, message: stripSuggestions(result.message) };
  };
}
