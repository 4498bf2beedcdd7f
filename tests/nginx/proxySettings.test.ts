/** The proxy settings' validation and derived values (no nginx needed). */
import { SettingError } from "../../lib/errors";
import { checkTlsMaterial, defaultPublicUrl, PROXY_DEFAULTS, resolveProxySettings } from "../../lib/proxySettings";
import { resolveSettings } from "../../lib/settings";
import * as validate from "../../lib/validation";
import { selfSignedCertificate } from "../fixtures/nginx/selfSignedCert";

const PORTS = { httpPort: 8080, adminPort: 4001 };

test("defaults: no TLS, admin on loopback without a filter, no trusted proxy, no rate limit", () => {
  expect(resolveProxySettings({}, PORTS)).toEqual({ ...PROXY_DEFAULTS, domain: undefined, apiRateLimitPerMinute: undefined });
});

test.each([
  ["10.8.0.0/24", true],
  ["203.0.113.7/32", true],
  ["0.0.0.0/0", true],
  ["10.8.0.1/24", false],
  ["10.8.0.0", false],
  ["10.8.0.0/33", false],
  ["256.0.0.0/8", false],
  ["fd00::/8", false],
  [" 10.0.0.0/8", false],
])("CIDR %s accepted: %s", (value, ok) => {
  const run = () => validate.cidr("c", value);
  if (ok) {
    expect(run()).toBe(value);
  } else {
    expect(run).toThrow(SettingError);
  }
});

test("host bits set: the message names the network meant", () => {
  expect(() => validate.cidr("adminAllowedCidrs[0]", "192.168.1.77/24")).toThrow(/has host bits set; the network is 192\.168\.1\.0\/24/);
});

test.each([0, -1, 1.5, 60001, "60"])("rate limit %p is refused", (value) => {
  expect(() => resolveProxySettings({ apiRateLimitPerMinute: value as number }, PORTS)).toThrow(
    /apiRateLimitPerMinute = .*: must be a positive whole number of requests per minute/,
  );
});

test.each([
  ["trustedProxies", "0.0.0.0/0", "choose the client address"],
  ["trustedProxies", "128.0.0.0/1", "choose the client address"],
  ["adminAllowedCidrs", "0.0.0.0/0", "reach LiteLLM's admin UI"],
  ["adminAllowedCidrs", "8.0.0.0/7", "reach LiteLLM's admin UI"],
] as const)("%s %s is refused: wider than a /8 covers public addresses", (key, cidr, grants) => {
  expect(() => resolveProxySettings({ [key]: ["10.8.0.0/24", cidr] }, PORTS)).toThrow(
    new RegExp(
      `^Invalid ai-gateway setting ${key}\\[1\\] = "${cidr.replace(/\./g, "\\.")}": covers \\d+ addresses, .*${grants}.*the widest network accepted is a /8`,
    ),
  );
});

test("a /8 (the largest private block) is accepted in both lists", () => {
  const settings = resolveProxySettings({ trustedProxies: ["10.0.0.0/8"], adminAllowedCidrs: ["10.0.0.0/8"] }, PORTS);
  expect([settings.trustedProxies, settings.adminAllowedCidrs]).toEqual([["10.0.0.0/8"], ["10.0.0.0/8"]]);
});

test("an admin listener beyond loopback needs an allow-list; on loopback the allow-list is optional", () => {
  expect(() => resolveProxySettings({ adminBindAddress: "10.8.0.1" }, PORTS)).toThrow(/also set adminAllowedCidrs/);
  expect(resolveProxySettings({ adminBindAddress: "10.8.0.1", adminAllowedCidrs: ["10.8.0.0/24"] }, PORTS).adminBindAddress).toBe(
    "10.8.0.1",
  );
  expect(resolveProxySettings({ adminAllowedCidrs: ["172.16.0.0/12"] }, PORTS).adminAllowedCidrs).toEqual(["172.16.0.0/12"]);
});

test("the public URL follows TLS, the domain and the HTTPS port", () => {
  const tls = resolveProxySettings({ tls: true, domain: "AI.Example.com" }, PORTS);
  expect(defaultPublicUrl(tls, "127.0.0.1", 8080)).toBe("https://ai.example.com");
  expect(defaultPublicUrl(resolveProxySettings({ tls: true, domain: "ai.example.com", httpsPort: 8443 }, PORTS), "127.0.0.1", 8080)).toBe(
    "https://ai.example.com:8443",
  );
  expect(defaultPublicUrl(resolveProxySettings({ domain: "ai.example.com" }, PORTS), "127.0.0.1", 80)).toBe("http://ai.example.com");
  expect(resolveSettings({ tls: true, domain: "ai.example.com" }).publicUrl).toBe("https://ai.example.com");
  expect(() => resolveSettings({ tls: true, domain: "ai.example.com", publicUrl: "http://ai.example.com" })).toThrow(
    /must be an https:\/\/ origin/,
  );
});

describe("certificate and key", () => {
  const cert = selfSignedCertificate(["ai.example.com", "*.ai.example.com"]);
  const tls = resolveProxySettings({ tls: true, domain: "ai.example.com" }, PORTS);

  test("a matching chain and key for the domain pass; so do a wildcard name and a chain of several certificates", () => {
    expect(() => checkTlsMaterial(tls, cert.cert, cert.key)).not.toThrow();
    const sub = resolveProxySettings({ tls: true, domain: "chat.ai.example.com" }, PORTS);
    const intermediate = selfSignedCertificate(["Test Intermediate"]).cert;
    expect(() => checkTlsMaterial(sub, cert.cert + intermediate, cert.key)).not.toThrow();
  });

  test("Pulumi Outputs are only checked for presence (their values are unknown before registration)", () => {
    const output = {} as unknown;
    expect(() => checkTlsMaterial(tls, output, output)).not.toThrow();
    expect(() => checkTlsMaterial(tls, undefined, output)).toThrow(/tlsCertificate = undefined: is required/);
  });

  test("messages never show the PEM text", () => {
    for (const [c, k] of [
      ["garbage", cert.key],
      [cert.cert, "garbage"],
      [cert.cert, selfSignedCertificate(["ai.example.com"]).key],
    ]) {
      let message = "";
      try {
        checkTlsMaterial(tls, c, k);
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message).toMatch(/^Invalid ai-gateway setting tls(Certificate|Key) = \[secret, \d+ characters\]: /);
      expect(message).not.toContain(cert.key.split("\n")[1]);
      expect(message).not.toContain(cert.cert.split("\n")[1]);
    }
  });

  test("an encrypted key is refused with a hint", () => {
    expect(() =>
      validate.pemPrivateKey("tlsKey", "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n"),
    ).toThrow(/is encrypted; nginx needs the unencrypted PEM key/);
  });
});
