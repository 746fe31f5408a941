/**
 * Tracing (docs/api.md, "Tracing"): a tiny HTTP server here is the OTLP
 * receiver (what an OpenTelemetry Collector listens with on port 4318); a
 * gateway configured with its address by the standard OTEL_* variables
 * exports a span per GraphQL request, the child of the request's W3C
 * traceparent. One gateway sends OTLP/HTTP JSON (read here as the collector
 * would), another the default protobuf (checked for the ids' bytes).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, expectData, startTestGateway, type TestGateway } from '../support/gateway.js';
import { eventually } from '../support/eventually.js';

interface Received {
  path: string;
  contentType: string;
  body: Buffer;
}

/** Accepts every export with 200, as a collector does, and keeps what it was sent. */
async function otlpReceiver(): Promise<{ url: string; received: Received[]; close(): Promise<void> }> {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({ path: req.url ?? '', contentType: req.headers['content-type'] ?? '', body: Buffer.concat(chunks) });
      const json = (req.headers['content-type'] ?? '').includes('json');
      res.writeHead(200, { 'content-type': json ? 'application/json' : 'application/x-protobuf' });
      res.end(json ? '{}' : '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

interface OtlpAttribute {
  key: string;
  value: { stringValue?: string; intValue?: number | string; arrayValue?: { values: { stringValue?: string }[] } };
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  status?: { code?: number };
  attributes: OtlpAttribute[];
}
interface OtlpExport {
  resourceSpans: { resource: { attributes: OtlpAttribute[] }; scopeSpans: { spans: OtlpSpan[] }[] }[];
}

/** An attribute's value as a plain value (OTLP JSON wraps each in its type). */
function attribute(attributes: OtlpAttribute[], key: string): unknown {
  const value = attributes.find((a) => a.key === key)?.value;
  if (!value) return undefined;
  if (value.arrayValue) return value.arrayValue.values.map((v) => v.stringValue);
  if (value.intValue !== undefined) return Number(value.intValue);
  return value.stringValue;
}

const spansOf = (received: Received[]): { span: OtlpSpan; resource: OtlpAttribute[] }[] =>
  received
    .filter((r) => r.contentType.includes('json'))
    .flatMap((r) => (JSON.parse(r.body.toString('utf8')) as OtlpExport).resourceSpans)
    .flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans.map((span) => ({ span, resource: rs.resource.attributes }))));

/** Waits (generously: the machine may be busy) until `found` returns something. */

const hex = (bytes: number): string => randomBytes(bytes).toString('hex');
const traceparent = (traceId: string, parentId: string, flags = '01'): string => `00-${traceId}-${parentId}-${flags}`;

let receiver: Awaited<ReturnType<typeof otlpReceiver>>;
let json: TestGateway;
let protobuf: TestGateway;

beforeAll(async () => {
  receiver = await otlpReceiver();
  [json, protobuf] = await Promise.all([
    startTestGateway({
      eventStore: 'memory',
      env: {
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_SERVICE_NAME: 'tenantry-under-test',
        OTEL_BSP_SCHEDULE_DELAY: '100',
      },
    }),
    // The full URL of the traces variable, used as is; the protocol the specification's default (protobuf).
    startTestGateway({
      eventStore: 'memory',
      env: { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${receiver.url}/custom/traces`, OTEL_BSP_SCHEDULE_DELAY: '100' },
    }),
  ]);
  expectData(await json.gql('mutation { createTenant(input: { id: "acme", name: "Acme" }) { id } }'));
});

afterAll(async () => {
  await Promise.all([json?.dispose(), protobuf?.dispose()]);
  await receiver?.close();
});

const post = (gw: TestGateway, path: string, body: unknown, headers: Record<string, string>) =>
  fetch(`${gw.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}`, ...headers },
    body: JSON.stringify(body),
  });

describe('a span per GraphQL request, the child of the incoming traceparent (OTLP/HTTP JSON)', () => {
  it('carries the incoming trace id and parent span id, the operation, the tenant and the correlation id', async () => {
    const [traceId, parentId] = [hex(16), hex(8)];
    const response = await post(
      json,
      '/api/v1/acme/graphql',
      { query: 'query WhoAmI { me { id } }', operationName: 'WhoAmI' },
      { traceparent: traceparent(traceId, parentId), 'x-correlation-id': 'traced-request-1' },
    );
    expect(response.status).toBe(200);
    // The response names the correlation id the span carries.
    expect(response.headers.get('x-correlation-id')).toBe('traced-request-1');

    const { span, resource } = await eventually(() => spansOf(receiver.received).find((s) => s.span.traceId === traceId), traceId);
    expect(span.parentSpanId).toBe(parentId);
    expect(span.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(span.spanId).not.toBe(parentId);
    expect(span.kind).toBe(2); // SERVER
    expect(span.name).toBe('query WhoAmI');
    expect(attribute(span.attributes, 'graphql.operation.name')).toBe('WhoAmI');
    expect(attribute(span.attributes, 'graphql.operation.type')).toBe('query');
    expect(attribute(span.attributes, 'tenantry.tenant')).toBe('acme');
    expect(attribute(span.attributes, 'tenantry.correlation_id')).toBe('traced-request-1');
    expect(attribute(span.attributes, 'http.route')).toBe('/api/v1/{tenant}/graphql');
    expect(attribute(span.attributes, 'http.response.status_code')).toBe(200);
    expect(attribute(span.attributes, 'error.type')).toBeUndefined();
    expect(attribute(resource, 'service.name')).toBe('tenantry-under-test');
    const exported = receiver.received.find((r) => r.contentType.includes('json'));
    expect(exported?.path).toBe('/v1/traces');
  });

  it('names the error codes of a failed operation, and of a request refused before it ran (no token)', async () => {
    const invalid = { traceId: hex(16), parentId: hex(8) };
    await post(
      json,
      '/api/v1/graphql',
      { query: 'query Broken { noSuchField }' },
      { traceparent: traceparent(invalid.traceId, invalid.parentId) },
    );
    const refused = { traceId: hex(16), parentId: hex(8) };
    const anonymous = await post(
      json,
      '/api/v1/graphql',
      { query: '{ me { id } }' },
      { traceparent: traceparent(refused.traceId, refused.parentId), authorization: '' },
    );
    expect(anonymous.status).toBe(401);

    const failed = await eventually(() => spansOf(receiver.received).find((s) => s.span.traceId === invalid.traceId), 'invalid');
    expect(failed.span.parentSpanId).toBe(invalid.parentId);
    expect(attribute(failed.span.attributes, 'tenantry.error_codes')).toEqual(['BAD_USER_INPUT']);
    expect(attribute(failed.span.attributes, 'error.type')).toBe('BAD_USER_INPUT');
    expect(attribute(failed.span.attributes, 'http.response.status_code')).toBe(400);
    // The client's mistake: not an ERROR status of the server's span.
    expect(failed.span.status?.code ?? 0).not.toBe(2);

    const unauthenticated = await eventually(() => spansOf(receiver.received).find((s) => s.span.traceId === refused.traceId), 'refused');
    expect(unauthenticated.span.parentSpanId).toBe(refused.parentId);
    expect(attribute(unauthenticated.span.attributes, 'error.type')).toBe('UNAUTHENTICATED');
    expect(attribute(unauthenticated.span.attributes, 'http.response.status_code')).toBe(401);
  });

  it('without a traceparent the span starts a trace of its own; a parent not sampled (flags 00) is followed: not exported', async () => {
    const notSampled = hex(16);
    await post(json, '/api/v1/graphql', { query: '{ me { id } }' }, { traceparent: traceparent(notSampled, hex(8), '00') });
    const response = await post(json, '/api/v1/graphql', { query: 'query Untraced { me { id } }' }, {});
    const correlationId = response.headers.get('x-correlation-id');
    expect(correlationId).toBeTruthy();
    const own = await eventually(
      () => spansOf(receiver.received).find((s) => attribute(s.span.attributes, 'tenantry.correlation_id') === correlationId),
      'untraced request',
    );
    expect(own.span.parentSpanId ?? '').toBe('');
    expect(own.span.traceId).toMatch(/^[0-9a-f]{32}$/);
    // Spans leave in the order they end: the unsampled request's would have come with or before this one.
    expect(spansOf(receiver.received).some((s) => s.span.traceId === notSampled)).toBe(false);
  });
});

describe('OTLP/HTTP protobuf (the default protocol) to OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', () => {
  it('exports the span, with the incoming trace id and parent span id, to the URL as given', async () => {
    const [traceId, parentId] = [hex(16), hex(8)];
    const response = await post(
      protobuf,
      '/api/v1/graphql',
      { query: 'query Me { me { id } }' },
      { traceparent: traceparent(traceId, parentId) },
    );
    expect(response.status).toBe(200);
    const exported = await eventually(
      () => receiver.received.find((r) => r.body.includes(Buffer.from(traceId, 'hex'))),
      `protobuf export of ${traceId}`,
    );
    expect(exported.path).toBe('/custom/traces');
    expect(exported.contentType).toBe('application/x-protobuf');
    // In protobuf the ids are raw bytes.
    expect(exported.body.includes(Buffer.from(parentId, 'hex'))).toBe(true);
    expect(exported.body.includes(Buffer.from('query Me'))).toBe(true);
  });
});
