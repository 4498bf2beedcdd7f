/**
 * The reverse of lib/services.ts `toEnvList`: a container's KEY=VALUE list as a record, split at the
 * first "=" (values may contain "=", e.g. base64 or URLs with query strings).
 */
export function envRecord(list: readonly string[]): Record<string, string> {
  return Object.fromEntries(list.map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]));
}
