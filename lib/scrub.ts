/**
 * Error text from a service (LiteLLM, Open WebUI) is rethrown into `pulumi up` output and CI logs,
 * which Pulumi does not mask. Before that it loses every secret the step knows (replaced exactly,
 * longest first, so a key that contains another is not half-replaced), anything shaped like a
 * LiteLLM key, and its length beyond `max` characters. runtime/litellm_keys.py:scrub applies the
 * same rules inside the container.
 */
export const MAX_ERROR_CHARS = 500;
const KEY_SHAPED = /sk-[A-Za-z0-9_-]{8,}/g;

export function scrubSecrets(text: string, secrets: readonly string[], max: number = MAX_ERROR_CHARS): string {
  let scrubbed = text;
  for (const secret of [...secrets].filter((s) => s.length > 0).sort((a, b) => b.length - a.length)) {
    scrubbed = scrubbed.split(secret).join("[secret]");
  }
  scrubbed = scrubbed.replace(KEY_SHAPED, "sk-\u2026");
  return scrubbed.length <= max ? scrubbed : `${scrubbed.slice(0, max)}\u2026 (truncated)`;
}
