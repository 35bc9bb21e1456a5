// The Temporal SDK's logger (Runtime, worker, workflow `log`, activity `log`, native core logs when
// forwarded) writing through Disburse's JSON logger, so one process prints one kind of line.
import type { LogMetadata, LogLevel as SdkLevel, Logger as SdkLogger } from '@temporalio/common';
import type { Logger } from './log.ts';

const levels: Record<SdkLevel, 'debug' | 'info' | 'warn' | 'error'> = {
  TRACE: 'debug',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

export function sdkLogger(log: Logger): SdkLogger {
  const emit = (level: SdkLevel, message: string, meta?: LogMetadata) => {
    const fields = { ...(meta as Record<string, unknown> | undefined) };
    // The bundler prints webpack's stats as one multi-line INFO message: one debug line instead.
    if (level === 'INFO' && message.includes('\n')) {
      log.debug('temporal.bundle.stats', { ...fields, output: message });
      return;
    }
    const component = typeof fields.sdkComponent === 'string' ? fields.sdkComponent : 'sdk';
    log[levels[level] ?? 'info'](message, { ...fields, sdkComponent: component });
  };
  return {
    log: emit,
    trace: (m, meta) => emit('TRACE', m, meta),
    debug: (m, meta) => emit('DEBUG', m, meta),
    info: (m, meta) => emit('INFO', m, meta),
    warn: (m, meta) => emit('WARN', m, meta),
    error: (m, meta) => emit('ERROR', m, meta),
  };
}
