import { pino, type Logger as PinoLogger } from 'pino';

export type Logger = PinoLogger;

/**
 * Structured JSON logs. Secret values and tokens never reach a log line:
 * callers log ids and metadata only, and these paths are redacted as a second
 * line of defence.
 */
export function createLogger(options: { level?: string; destination?: NodeJS.WritableStream } = {}): Logger {
  return pino(
    {
      level: options.level ?? process.env['TENANTRY_LOG_LEVEL'] ?? 'info',
      base: { service: 'tenantry' },
      redact: {
        paths: ['value', '*.value', 'token', '*.token', 'authorization', '*.authorization', 'req.headers.authorization'],
        censor: '[redacted]',
      },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination ?? process.stdout,
  );
}

export const silentLogger = (): Logger => pino({ level: 'silent' });
