import { MAX_ERROR_CHARS, scrubSecrets } from "../../lib/scrub";

describe("scrubSecrets", () => {
  test("declared secrets are replaced exactly, a longer one before a shorter one it contains", () => {
    expect(scrubSecrets("a=hunter2-long b=hunter2", ["hunter2", "hunter2-long"])).toBe("a=[secret] b=[secret]");
  });

  test("anything shaped like a LiteLLM key goes, even when nobody declared it; short sk- words stay", () => {
    expect(scrubSecrets("Key not found: sk-abcdEFGH_123-xyz; sk-1234", [])).toBe("Key not found: sk-\u2026; sk-1234");
  });

  test("long text is capped", () => {
    const scrubbed = scrubSecrets("x".repeat(5000), []);
    expect(scrubbed).toBe(`${"x".repeat(MAX_ERROR_CHARS)}\u2026 (truncated)`);
  });

  test("empty secrets do not blank the text", () => {
    expect(scrubSecrets("plain text", [""])).toBe("plain text");
  });
});
