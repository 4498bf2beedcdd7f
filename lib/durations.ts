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

/** What a duration may look like (previewTtl, the sweep's --older-than, retention and backup intervals): said in every refusal. */
export const DURATION_FORMS = "a positive whole number of minutes, hours or days: <n>m, <n>h or <n>d, e.g. 90m, 12h, 3d";

const DURATION = /^([0-9]{1,6})(m|h|d)$/;
const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** A duration such as `90m`, `12h` or `3d` in milliseconds; undefined unless it is one and positive. */
export function durationMs(text: string): number | undefined {
  const m = DURATION.exec(text);
  if (!m) {
    return undefined;
  }
  const ms = Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
  return ms > 0 ? ms : undefined;
}
