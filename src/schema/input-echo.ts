/**
 * graphql-js quotes the client's input in some of its error messages:
 * `Variable "$input" got invalid value { ..., value: "…" }; …`, scalar
 * coercion failures (`String cannot represent a non string value: …`) and
 * literal validation (`Expected value of type "X", found …`). Any of these
 * may hold a secret value (putSecret's input), and error messages reach
 * clients and logs, so the quoted input is cut out; the variable, the path
 * into it and the reason stay.
 */

const VARIABLE_PREFIX = /^Variable "\$([_A-Za-z][_0-9A-Za-z]*)" got invalid value /;
/** The path graphql-js appends after the quoted value; a quote inside the value is always escaped, so this cannot match inside it. */
const PATH_SUFFIX = / at "([^"]*)"$/;

/** `reason`: the message of the error graphql-js wrapped (Apollo keeps it as `originalError`). */
export function withoutInputValues(message: string, reason?: string): string {
  const variable = VARIABLE_PREFIX.exec(message);
  if (!variable) return withoutQuotedLiterals(message);
  const name = variable[1] ?? '';
  if (reason === undefined || !message.endsWith(`; ${reason}`)) return `Variable "$${name}" got an invalid value`;
  const prefix = message.slice(0, message.length - reason.length - 2);
  const path = PATH_SUFFIX.exec(prefix)?.[1];
  const where = path?.startsWith(name) ? ` at "${path}"` : '';
  return `Variable "$${name}" got an invalid value${where}; ${withoutQuotedLiterals(reason)}`;
}

function withoutQuotedLiterals(message: string): string {
  return message
    .replace(/^([^:]*?cannot represent [^:]*):[\s\S]*$/, '$1.')
    .replace(/^(Expected value of type "[^"]+"), found [\s\S]*$/, '$1.')
    .replace(/^Value [\s\S]* does not exist in ("[^"]+" enum)[\s\S]*$/, 'Value does not exist in $1.');
}
