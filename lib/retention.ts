import { ProfileName } from "../profiles";
import { durationMs } from "./durations";
import { SettingError, shown } from "./errors";

/**
 * How long LiteLLM keeps its spend logs (one row per request, with its error when it failed and,
 * were prompt storage on, its bodies) when the stack does not say: a month for a small team, a
 * quarter for a medium one, a year for a large one.
 */
export const SPEND_LOG_RETENTION_DEFAULTS: Readonly<Record<ProfileName, string>> = {
  small: "30d",
  medium: "90d",
  large: "365d",
};

/** What a retention may look like: said in every refusal. Minutes are refused: a log kept under an hour is no log. */
export const RETENTION_FORMS = "a positive whole number of hours or days: <n>h or <n>d, e.g. 36h, 90d";

const HOURS_OR_DAYS = /^[0-9]+(h|d)$/;

/** A spend-log retention such as `90d` or `36h`, as given; throws a one-line SettingError otherwise. */
export function spendLogRetention(key: string, value: unknown): string {
  if (typeof value === "string" && HOURS_OR_DAYS.test(value) && durationMs(value) !== undefined) {
    return value;
  }
  throw new SettingError(key, shown(value), `must be ${RETENTION_FORMS}`);
}

/**
 * When LiteLLM's cleanup job runs (`maximum_spend_logs_cleanup_cron`, in the container's time zone,
 * UTC): daily at 03:17, or hourly at :17 for a retention of a day or less, so a row outlives its
 * retention by at most one period. A cron rather than LiteLLM's `maximum_spend_logs_retention_interval`:
 * an interval's first run is one whole interval after LiteLLM starts (APScheduler's IntervalTrigger),
 * so a LiteLLM replaced more often than that (an upgrade, a config change, a rotation) would never
 * prune. Off the hour, away from LiteLLM's own midnight jobs (budget resets, the 00:15 rollup).
 */
export function retentionCleanupCron(retention: string): string {
  const ms = durationMs(retention);
  if (ms === undefined) {
    throw new Error(`retentionCleanupCron: ${retention} is not a duration`);
  }
  return ms <= durationMs("1d")! ? "17 * * * *" : "17 3 * * *";
}
