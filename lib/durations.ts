/**
 * Formats a duration the way Go's `time.Duration.String()` does ("5s", "1m0s", "1m30s", "2h0m0s",
 * "500ms"). The docker provider reads healthcheck durations back in this form, so writing anything
 * else ("90s", "1m") would show a difference on every `pulumi up`.
 */
export function goDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) {
    throw new Error(`goDuration: ${seconds} is not a non-negative number of seconds`);
  }
  if (seconds === 0) {
    return "0s";
  }
  if (seconds < 1) {
    const ms = seconds * 1000;
    if (!Number.isInteger(ms)) {
      throw new Error(`goDuration: ${seconds}s is finer than a millisecond`);
    }
    return `${ms}ms`;
  }
  if (!Number.isInteger(seconds)) {
    throw new Error(`goDuration: ${seconds}s must be a whole number of seconds above one second`);
  }
  const hours = Math.floor(seconds / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  const secs = seconds % 60;
  if (hours > 0) {
    return `${hours}h${minutes}m${secs}s`;
  }
  if (minutes > 0) {
    return `${minutes}m${secs}s`;
  }
  return `${secs}s`;
}
