/**
 * Pure checks behind the policies (policies.ts): image references, secret-shaped values, Go
 * durations, firewall rules. Each returns what is wrong in words a violation message can use, and
 * never the value it judged (a secret must not reach the CLI's output).
 */
import { goDuration } from "../lib/durations";
import { plainStrings, Value } from "./values";

// ---- images ---------------------------------------------------------------------------------

/** Tags that follow a moving target by name; a pinned image names a version or a digest. */
export const ROLLING_TAGS: ReadonlySet<string> = new Set([
  "latest",
  "stable",
  "main",
  "master",
  "edge",
  "nightly",
  "dev",
  "develop",
  "mainline",
  "lts",
  "current",
  "alpine",
  "slim",
]);

/**
 * Why an image reference is not pinned, or undefined when it is: a digest (`@sha256:` and 64 hex
 * digits, or an image id `sha256:...`) pins it; otherwise the tag must name a version with at least
 * a major and a minor number (`16.15-trixie`, `v1.110.1`): a bare major (`16`) follows every
 * minor release, and a tag-less name means `latest`.
 */
export function imageNotPinned(reference: string): string | undefined {
  if (/^sha256:[0-9a-f]{64}$/.test(reference) || /@sha256:[0-9a-f]{64}$/.test(reference)) {
    return undefined;
  }
  if (reference.includes("@")) {
    return "its digest is not sha256: followed by 64 hex digits";
  }
  const lastSlash = reference.lastIndexOf("/");
  const colon = reference.indexOf(":", lastSlash + 1);
  if (colon < 0) {
    return "it has no tag, which means latest";
  }
  const tag = reference.slice(colon + 1);
  if (ROLLING_TAGS.has(tag.toLowerCase())) {
    return `its tag ${tag} follows new releases`;
  }
  if (!/^v?[0-9]+\.[0-9]+/.test(tag)) {
    return `its tag ${tag} does not name a version (major.minor at least)`;
  }
  return undefined;
}

// ---- secrets --------------------------------------------------------------------------------

/** Environment variable names that hold credentials. */
const SECRET_NAME = /(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|MASTER_?KEY|SALT_?KEY|ACCESS_?KEY|CREDENTIALS?)/i;
/** Names that point at a credential instead of holding one (`POSTGRES_PASSWORD_FILE`). */
const REFERENCE_NAME = /_(FILE|PATH|DIR|ENV|NAME|URL_ENV)$/i;
/** Object keys that hold credentials (a provider's `password`, `token`, ...). */
const SECRET_KEY =
  /^(password|passwd|secret|token|api_?key|apikey|private_?key|key_?material|master_?key|secret_?key|client_?secret|access_?key)$/i;
/** Values that are settings, not credentials (`ENABLE_API_KEY=True`), or references to one. */
const NOT_A_CREDENTIAL = /^(true|false|yes|no|on|off|none|null|[0-9]{1,6}|os\.environ\/.*|\$.*|\/run\/secrets\/.*)$/i;

/** One secret-shaped value found outside any secret mark: where, and what it looks like. */
export interface PlainSecret {
  /** The input path, e.g. `envs[3]` or `uploads[0].content`. */
  readonly path: string;
  /** What it looks like: "a password in POSTGRES_PASSWORD", "a PEM private key", ... */
  readonly kind: string;
}

/**
 * Secret-shaped values among the strings not marked secret: credentials in `NAME=value` variables
 * whose name says so, `sk-` API keys, PEM private keys, URLs with a password, and object keys
 * named like a credential with a value.
 */
export function plainSecrets(inputs: Value): PlainSecret[] {
  const found: PlainSecret[] = [];
  for (const { path, text } of plainStrings(inputs)) {
    const kind = secretShape(path, text);
    if (kind !== undefined) {
      found.push({ path, kind });
    }
  }
  return found;
}

function secretShape(path: string, text: string): string | undefined {
  if (/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(text)) {
    return "a PEM private key";
  }
  const url = /\b[a-z][a-z0-9+.-]*:\/\/[^\s:@/]+:([^\s@/]+)@/i.exec(text);
  if (url && !NOT_A_CREDENTIAL.test(url[1])) {
    return "a URL with a password";
  }
  if (/(^|[^A-Za-z0-9])sk-[A-Za-z0-9_-]{20,}/.test(text)) {
    return "an sk- API key";
  }
  const line = /uploads\[[0-9]+\]\.content$/.test(path) ? credentialLine(text) : undefined;
  if (line !== undefined) {
    return line;
  }
  const assignment = /^([A-Za-z_][A-Za-z0-9_]*)=(.+)$/s.exec(text);
  if (
    assignment &&
    SECRET_NAME.test(assignment[1]) &&
    !REFERENCE_NAME.test(assignment[1]) &&
    !NOT_A_CREDENTIAL.test(assignment[2].trim())
  ) {
    return `a credential in ${assignment[1]}`;
  }
  const key = /([A-Za-z_][A-Za-z0-9_]*)$/.exec(path)?.[1];
  if (key !== undefined && SECRET_KEY.test(key) && text.trim() !== "" && !NOT_A_CREDENTIAL.test(text.trim())) {
    return `a credential in ${key}`;
  }
  return undefined;
}

/**
 * A config file's line setting a credential: `requirepass x` or `masterauth x` (redis.conf), or a
 * YAML key named like one (`password: x`, `master_key: x`); not a reference (`os.environ/X`, `\${X}`).
 */
const CREDENTIAL_LINE =
  /^\s*(?:(requirepass|masterauth)\s+|([A-Za-z0-9_-]*(?:password|passwd|secret|token|api_?key|master_?key|private_?key)):\s+)["']?([^"'\s#;]+)/i;

/** A credential set in plain text by a line of an uploaded file. */
function credentialLine(text: string): string | undefined {
  for (const line of text.split("\n")) {
    const match = CREDENTIAL_LINE.exec(line);
    if (match && !NOT_A_CREDENTIAL.test(match[3])) {
      return `a credential in a ${match[1] ?? match[2]} line`;
    }
  }
  return undefined;
}

// ---- durations ------------------------------------------------------------------------------

const UNIT_SECONDS: Readonly<Record<string, number>> = { ns: 1e-9, us: 1e-6, µs: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };

/** A Go duration (`1m30s`, `500ms`, `90s`) in seconds; undefined when Go's time.ParseDuration would refuse it. */
export function parseGoDuration(text: string): number | undefined {
  if (text === "0") {
    return 0;
  }
  const parts = /^(?:[0-9]+(?:\.[0-9]*)?(?:ns|us|µs|ms|s|m|h))+$/.test(text)
    ? text.match(/[0-9]+(?:\.[0-9]*)?(?:ns|us|µs|ms|s|m|h)/g)
    : null;
  if (parts === null) {
    return undefined;
  }
  let seconds = 0;
  for (const part of parts) {
    const [, number, unit] = /^([0-9.]+)(.+)$/.exec(part)!;
    seconds += Number(number) * UNIT_SECONDS[unit];
  }
  // Rounded to whole nanoseconds, as Go keeps them, so 0.1s + 0.2s is not 0.30000000000000004 s.
  return Math.round(seconds * 1e9) / 1e9;
}

/**
 * Why a healthcheck duration is not written the way the docker provider reads it back (Go's
 * time.Duration.String(), lib/durations.ts goDuration), or undefined when it is.
 */
export function durationNotCanonical(text: string): string | undefined {
  const seconds = parseGoDuration(text);
  if (seconds === undefined) {
    return `${text} is not a Go duration (e.g. 10s, 1m30s)`;
  }
  let canonical: string;
  try {
    canonical = goDuration(seconds);
  } catch {
    return `${text} is not a whole number of seconds (or of milliseconds under one second)`;
  }
  return canonical === text ? undefined : `${text} reads back as ${canonical}; write ${canonical}`;
}

// ---- firewall -------------------------------------------------------------------------------

/** True when a firewall rule's port field ("22", "20-30", "any") includes `port`. */
export function portCovers(spec: string | undefined, port: number): boolean {
  if (spec === undefined || spec === "any") {
    return true;
  }
  const range = /^([0-9]+)-([0-9]+)$/.exec(spec);
  if (range) {
    return Number(range[1]) <= port && port <= Number(range[2]);
  }
  return Number(spec) === port;
}

/** The networks among `sources` that are the whole IPv4 or IPv6 internet (a /0). */
export function wholeInternet(sources: readonly string[]): string[] {
  return sources.filter((cidr) => /\/0+$/.test(cidr.trim()));
}
