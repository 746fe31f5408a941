/**
 * The OpenTelemetry variables the gateway reads itself (docs/api.md,
 * "Tracing"; the OpenTelemetry specification's names and defaults): whether
 * spans are exported, where, how and as which service. The exporter and the
 * SDK read the others (timeout, compression, certificates, sampler) from the
 * process's environment themselves.
 */
import { bool, ConfigError, integer, optional, type Env } from './env.js';

export interface TracingConfig {
  /** Where spans are POSTed: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as is, or OTEL_EXPORTER_OTLP_ENDPOINT plus `/v1/traces`. */
  url: string;
  /** OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, else OTEL_EXPORTER_OTLP_PROTOCOL: `http/protobuf` (the specification's default) or `http/json`. */
  protocol: 'http/protobuf' | 'http/json';
  /** OTEL_EXPORTER_OTLP_HEADERS and OTEL_EXPORTER_OTLP_TRACES_HEADERS (which wins), e.g. an API key of the tracing backend. */
  headers: Record<string, string>;
  /** OTEL_SERVICE_NAME: the `service.name` of every span; default `tenantry`. */
  serviceName: string;
  /** OTEL_BSP_SCHEDULE_DELAY: how long finished spans wait to be sent in one batch, in ms; default 5000. */
  scheduleDelayMs: number;
}

/** `key=value,key2=value2` (values percent-encoded), the W3C baggage-like format of OTEL_EXPORTER_OTLP_HEADERS. */
function otlpHeaders(env: Env, name: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const pair of (optional(env, name) ?? '').split(',')) {
    if (pair.trim() === '') continue;
    const at = pair.indexOf('=');
    const key = at > 0 ? pair.slice(0, at).trim() : '';
    let value: string | null;
    try {
      value = at > 0 ? decodeURIComponent(pair.slice(at + 1).trim()) : null;
    } catch {
      value = null;
    }
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(key) || value === null) {
      throw new ConfigError(name, 'must be key=value pairs separated by commas, values percent-encoded (e.g. api-key=abc%20def)');
    }
    headers[key.toLowerCase()] = value;
  }
  return headers;
}

function httpUrl(env: Env, name: string): string | null {
  const value = optional(env, name);
  if (value === null) return null;
  let url: URL | null;
  try {
    url = new URL(value);
  } catch {
    url = null;
  }
  if (url === null || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new ConfigError(name, `must be an http(s) URL (OTLP over HTTP, e.g. http://localhost:4318), got ${JSON.stringify(value)}`);
  }
  return value;
}

export function tracing(env: Env): TracingConfig | null {
  if (bool(env, 'OTEL_SDK_DISABLED', false)) return null;
  const exporter = optional(env, 'OTEL_TRACES_EXPORTER')?.toLowerCase() ?? 'otlp';
  if (exporter === 'none') return null;
  if (exporter !== 'otlp') {
    throw new ConfigError(
      'OTEL_TRACES_EXPORTER',
      `must be otlp or none (the gateway exports over OTLP/HTTP only), got ${JSON.stringify(exporter)}`,
    );
  }
  const signal = httpUrl(env, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
  const base = httpUrl(env, 'OTEL_EXPORTER_OTLP_ENDPOINT');
  // The specification: the signal's variable is the full URL; the general one is a base the signal's path is appended to.
  const url = signal ?? (base === null ? null : `${base.replace(/\/+$/, '')}/v1/traces`);
  if (url === null) return null;
  const protocolVariable =
    optional(env, 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL') !== null ? 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL' : 'OTEL_EXPORTER_OTLP_PROTOCOL';
  const protocol = optional(env, protocolVariable) ?? 'http/protobuf';
  if (protocol !== 'http/protobuf' && protocol !== 'http/json') {
    throw new ConfigError(
      protocolVariable,
      `must be http/protobuf or http/json (the gateway does not export over gRPC; an OpenTelemetry Collector takes OTLP/HTTP on port 4318), got ${JSON.stringify(protocol)}`,
    );
  }
  return {
    url,
    protocol,
    headers: { ...otlpHeaders(env, 'OTEL_EXPORTER_OTLP_HEADERS'), ...otlpHeaders(env, 'OTEL_EXPORTER_OTLP_TRACES_HEADERS') },
    serviceName: optional(env, 'OTEL_SERVICE_NAME') ?? 'tenantry',
    scheduleDelayMs: integer(env, 'OTEL_BSP_SCHEDULE_DELAY', 5000, 0, 600_000),
  };
}
