import { goDuration } from "./durations";

/** A container healthcheck in seconds, before it is written in Docker's terms. */
export interface HealthcheckSpec {
  /** Docker's test: ["CMD", ...] (exec form, no shell) or ["CMD-SHELL", "..."]. */
  readonly test: readonly string[];
  readonly intervalSeconds: number;
  readonly timeoutSeconds: number;
  readonly retries: number;
  /** Failures during the start period do not count; a success ends it early. */
  readonly startPeriodSeconds: number;
}

/** The docker provider's healthcheck block, with durations in Go's canonical form. */
export interface DockerHealthcheck {
  readonly tests: string[];
  readonly interval: string;
  readonly timeout: string;
  readonly retries: number;
  readonly startPeriod: string;
}

export function dockerHealthcheck(spec: HealthcheckSpec): DockerHealthcheck {
  return {
    tests: [...spec.test],
    interval: goDuration(spec.intervalSeconds),
    timeout: goDuration(spec.timeoutSeconds),
    retries: spec.retries,
    startPeriod: goDuration(spec.startPeriodSeconds),
  };
}

/** Slack for the image's own start-up and Docker's first probe after the start period. */
const WAIT_MARGIN_SECONDS = 30;

/**
 * How long `pulumi up` waits for the container to turn healthy. It covers the whole start period
 * plus every retry Docker makes before it would declare the container unhealthy, so a slow first
 * boot (LiteLLM's migrations) is waited out rather than reported as a failure.
 */
export function waitTimeoutSeconds(spec: HealthcheckSpec): number {
  return spec.startPeriodSeconds + spec.retries * (spec.intervalSeconds + spec.timeoutSeconds) + WAIT_MARGIN_SECONDS;
}

/**
 * An HTTP GET probe run with the image's own python3. LiteLLM's Chainguard-based image has neither
 * curl nor wget (BerriAI/litellm#17645), and `wget --spider` sends HEAD, which `/health/liveliness`
 * answers with 405. urllib raises on any non-2xx status or connection error, so the exit code is
 * non-zero exactly when the endpoint is not healthy.
 */
export function pythonHttpProbe(url: string, timeoutSeconds: number): string[] {
  return ["CMD", "python3", "-c", `import urllib.request; urllib.request.urlopen(${JSON.stringify(url)}, timeout=${timeoutSeconds})`];
}
