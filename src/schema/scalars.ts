import { GraphQLError, GraphQLScalarType, Kind } from 'graphql';
import { GraphQLJSON } from 'graphql-scalars';

export const JSONScalar = GraphQLJSON;

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

function parseDate(value: unknown): Date {
  if (typeof value !== 'string' || !ISO.test(value) || Number.isNaN(Date.parse(value))) {
    throw new GraphQLError('DateTime must be an ISO-8601 date-time such as 2026-01-31T12:00:00Z', {
      extensions: { code: 'BAD_USER_INPUT' },
    });
  }
  return new Date(value);
}

/** What `Date#toISOString` produces for years 0000-9999: such strings are already in their wire form. */
const CANONICAL = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

function serializeDate(value: unknown): string {
  if (typeof value === 'string' && CANONICAL.test(value)) return value;
  return value instanceof Date ? value.toISOString() : new Date(String(value)).toISOString();
}

/**
 * ISO-8601 on the wire; a Date in resolvers' arguments; ISO strings or Dates
 * in answers. Read models store `toISOString()` output, which is passed
 * through as is (parsing and re-formatting every timestamp of a page showed
 * in profiles).
 */
export const DateTimeScalar = new GraphQLScalarType<Date, string>({
  name: 'DateTime',
  description:
    'A date and time in ISO-8601 with a time zone, e.g. `2026-01-31T12:00:00Z` or `2026-01-31T13:00:00+01:00`. Answers are always UTC with milliseconds (`2026-01-31T12:00:00.000Z`).',
  serialize: serializeDate,
  parseValue: parseDate,
  parseLiteral: (ast) => parseDate(ast.kind === Kind.STRING ? ast.value : undefined),
});

/** Event-store position: a decimal string, because positions may outgrow 2^53 on other engines. */
export const PositionScalar = new GraphQLScalarType<string, string>({
  name: 'Position',
  description:
    'A position in the event log, as a decimal string (positions may outgrow what a JSON number holds exactly). A larger position is a later event.',
  serialize: (value) => String(value),
  parseValue: (value) => {
    if (typeof value !== 'string' || !/^\d{1,30}$/.test(value)) {
      throw new GraphQLError('Position must be a decimal string', { extensions: { code: 'BAD_USER_INPUT' } });
    }
    return value;
  },
  parseLiteral: (ast) => {
    if (ast.kind !== Kind.STRING || !/^\d{1,30}$/.test(ast.value)) {
      throw new GraphQLError('Position must be a decimal string', { extensions: { code: 'BAD_USER_INPUT' } });
    }
    return ast.value;
  },
});
