import { diag } from '@opentelemetry/api';

const logger = diag.createComponentLogger({ namespace: 'otel-llm-cost' });

/** Our diagnostics go through OpenTelemetry's `diag`, never to the user's code. */
export function logInternalError(where: string, error: unknown): void {
  try {
    logger.error(`${where} failed; the request is unaffected`, error);
  } catch {
    // a broken logger must not break the request either
  }
}

export function logInfo(message: string): void {
  logger.info(message);
}

/** A problem the user should know about (and can usually fix); never thrown at them. */
export function logWarning(message: string): void {
  try {
    logger.warn(message);
  } catch {
    // a broken logger must not break the request either
  }
}

/** Runs our own code on the user's path: a failure is logged and replaced by `fallback`. */
export function safely<T>(where: string, fallback: T, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    logInternalError(where, error);
    return fallback;
  }
}
