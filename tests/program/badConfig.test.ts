/**
 * Bad values are refused before any resource is registered, with one line naming the setting, the
 * value and what is allowed, as a pulumi.RunError (printed without a stack trace).
 */
import * as pulumi from "@pulumi/pulumi";
import { runProgram, stackConfig } from "../helpers/program";
import { selfSignedCertificate } from "../fixtures/nginx/selfSignedCert";

const SECRET_MASTER_KEY_NO_PREFIX = "zq9ZQ3vR8pL2mN7xK4wB6yT1uH5jD0cF9aS";

// nginx's TLS: a certificate for the domain, one for another name, and the settings that turn TLS on.
const CERT = selfSignedCertificate(["ai.example.com"]);
const OTHER_CERT = selfSignedCertificate(["other.example.com"]);
const TLS_ON = { tls: "true", domain: "ai.example.com" };
const BROKEN_KEY = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";

type Row = [description: string, overrides: Record<string, string>, expected: RegExp];

const rows: Row[] = [
  ["unknown profile", { profile: "huge" }, /profile = "huge": must be one of small, medium, large/],
  ["profile in the wrong case", { profile: "Medium" }, /profile = "Medium": must be one of small, medium, large/],
  ["unknown budget", { budget: "free" }, /budget = "free": must be one of test, prod, unlimited/],
  ["port above 65535", { httpPort: "80800" }, /httpPort = 80800: must be a whole number from 1024 to 65535, or 80 or 443/],
  ["privileged port other than 80/443", { httpPort: "22" }, /httpPort = 22: must be a whole number from 1024 to 65535, or 80 or 443/],
  ["port zero", { httpPort: "0" }, /httpPort = 0: must be a whole number from 1024/],
  ["fractional port", { httpPort: "8080.5" }, /httpPort = "8080.5": must be a whole number/],
  ["port that is not a number", { httpPort: "http" }, /httpPort = "http": must be a whole number/],
  [
    "admin port 443 (80/443 are for the public listener only)",
    { adminPort: "443" },
    /adminPort = 443: must be a whole number from 1024 to 65535$/,
  ],
  ["admin port equal to the public port", { httpPort: "9000", adminPort: "9000" }, /adminPort = 9000: must differ from httpPort \(9000\)/],
  ["address with an octet above 255", { bindAddress: "256.1.1.1" }, /bindAddress = "256.1.1.1": must be an IPv4 address/],
  ["host name instead of an address", { bindAddress: "localhost" }, /bindAddress = "localhost": must be an IPv4 address/],
  ["IPv6 address", { bindAddress: "::" }, /bindAddress = "::": must be an IPv4 address/],
  ["truncated address", { bindAddress: "10.0.0" }, /bindAddress = "10.0.0": must be an IPv4 address/],
  ["master key without sk-", { masterKey: SECRET_MASTER_KEY_NO_PREFIX }, /masterKey = \[secret, 35 characters\]: must start with "sk-"/],
  ["master key too short", { masterKey: "sk-short" }, /masterKey = \[secret, 8 characters\]: must be at least 32 characters long/],
  ["LiteLLM's refused weak key", { masterKey: "sk-1234" }, /masterKey = \[secret, 7 characters\]: must be at least 32/],
  [
    "ssh Docker host without a user",
    { dockerHost: "ssh://gateway.example.com" },
    /dockerHost = "ssh:\/\/gateway.example.com": must be unix:\/\/\/path/,
  ],
  ["http Docker host", { dockerHost: "http://127.0.0.1:2375" }, /dockerHost = "http:\/\/127.0.0.1:2375": must be unix/],
  [
    "ssh options for a local socket",
    { dockerSshOpts: '["-i","/k"]' },
    /dockerSshOpts = \["-i","\/k"\]: only applies to an ssh:\/\/ dockerHost/,
  ],
  [
    "floating LiteLLM tag",
    { litellmImage: "ghcr.io/berriai/litellm:main-stable" },
    /litellmImage = "ghcr.io\/berriai\/litellm:main-stable": "main-stable" is a rolling tag/,
  ],
  ["image without a tag", { nginxImage: "nginx" }, /nginxImage = "nginx": has no tag, which means "latest"/],
  ["major-only postgres tag", { postgresImage: "postgres:16" }, /postgresImage = "postgres:16": "16" is a rolling tag/],
  ["rolling Redis tag", { redisImage: "redis:alpine" }, /redisImage = "redis:alpine": "alpine" is a rolling tag/],
  ["latest Open WebUI", { openWebuiImage: "ghcr.io/open-webui/open-webui:latest" }, /openWebuiImage = .*"latest" is a rolling tag/],
  ["misspelt setting", { profle: "small" }, /profle = "small": is not a setting of ai-gateway; known settings: .*\bprofile\b/],
  ["non-boolean ephemeral", { ephemeral: "yes" }, /ephemeral = "yes": must be true or false/],
  ["non-boolean openWebuiEgress", { openWebuiEgress: "1" }, /openWebuiEgress = "1": must be true or false/],
  [
    "model without a model string",
    { models: '[{"name":"gpt-4o"}]' },
    /models\[0\]\.model = undefined: must be LiteLLM's provider\/model string/,
  ],
  [
    "model whose provider LiteLLM does not know",
    { models: '[{"name":"a","model":"gpt4/a"}]' },
    /models\[0\]\.model = "gpt4\/a": names provider "gpt4", which LiteLLM 1.110.1 does not know/,
  ],
  [
    "model with an unknown field",
    { models: '[{"name":"a","model":"openai/a","key":"x"}]' },
    /models\[0\]\.key = "x": is not a model field/,
  ],
  [
    "model using an undeclared provider key",
    { models: '[{"name":"a","model":"openai/a","apiKeyEnv":"OPENAI_API_KEY"}]' },
    /models\[0\]\.apiKeyEnv = "OPENAI_API_KEY": names a provider key, but providerApiKeys is empty/,
  ],
  [
    "duplicate model names",
    { models: '[{"name":"a","model":"openai/a"},{"name":"a","model":"openai/b"}]' },
    /models\[1\]\.name = "a": is declared twice/,
  ],
  [
    "provider key with a lower-case name",
    { providerApiKeys: '{"openai_key":"sk-x"}' },
    /providerApiKeys = "openai_key": each name must be an environment variable name/,
  ],
  [
    "provider key shadowing the gateway's own variable",
    { providerApiKeys: '{"DATABASE_URL":"postgres://x"}' },
    /providerApiKeys = "DATABASE_URL": is set by the gateway itself/,
  ],
  [
    "provider key shadowing the Redis password LiteLLM reads",
    { providerApiKeys: '{"REDIS_PASSWORD":"x"}' },
    /providerApiKeys = "REDIS_PASSWORD": is set by the gateway itself/,
  ],
  [
    "public URL with a path",
    { publicUrl: "https://ai.example.com/chat" },
    /publicUrl = "https:\/\/ai.example.com\/chat": must be an http:\/\/ or https:\/\/ origin without a path/,
  ],
  ["admin email Open WebUI would reject", { adminEmail: "admin@localhost" }, /adminEmail = "admin@localhost": must be an email address/],
  ["admin user name with a space", { adminUsername: "the admin" }, /adminUsername = "the admin": must be 1-64 letters/],
  [
    "API rate limit of zero",
    { apiRateLimitPerMinute: "0" },
    /apiRateLimitPerMinute = 0: must be a positive whole number of requests per minute/,
  ],
  ["negative API rate limit", { apiRateLimitPerMinute: "-60" }, /apiRateLimitPerMinute = -60: must be a positive whole number/],
  ["API rate limit that is not a number", { apiRateLimitPerMinute: "fast" }, /apiRateLimitPerMinute = "fast": must be a whole number/],
  [
    "admin allow-list entry that is not a CIDR",
    { adminAllowedCidrs: '["intranet"]' },
    /adminAllowedCidrs\[0\] = "intranet": must be an IPv4 network in CIDR/,
  ],
  [
    "admin allow-list prefix above 32",
    { adminAllowedCidrs: '["10.0.0.0/8","10.0.0.0/33"]' },
    /adminAllowedCidrs\[1\] = "10.0.0.0\/33": must be an IPv4 network/,
  ],
  [
    "admin allow-list entry with host bits set",
    { adminAllowedCidrs: '["10.8.0.1/24"]' },
    /adminAllowedCidrs\[0\] = "10.8.0.1\/24": has host bits set; the network is 10.8.0.0\/24/,
  ],
  [
    "trusted proxy without a prefix length",
    { trustedProxies: '["10.0.0.1"]' },
    /trustedProxies\[0\] = "10.0.0.1": must be an IPv4 network in CIDR/,
  ],
  [
    "admin listener on every interface without an allow-list",
    { adminBindAddress: "0.0.0.0" },
    /adminBindAddress = "0.0.0.0": publishes LiteLLM's admin UI/,
  ],
  ["TLS without a domain", { tls: "true" }, /domain = undefined: is required when tls is true/],
  [
    "TLS enabled without a certificate",
    TLS_ON,
    /tlsCertificate = undefined: is required when tls is true: pulumi config set --secret tlsCertificate/,
  ],
  ["TLS certificate without its key", { ...TLS_ON, tlsCertificate: CERT.cert }, /tlsKey = undefined: is required when tls is true/],
  [
    "certificate that is not PEM",
    { ...TLS_ON, tlsCertificate: "not a certificate", tlsKey: CERT.key },
    /tlsCertificate = \[secret, 17 characters\]: must be a PEM certificate chain/,
  ],
  [
    "PEM certificate whose body does not parse",
    { ...TLS_ON, tlsCertificate: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", tlsKey: CERT.key },
    /tlsCertificate = \[secret, \d+ characters\]: certificate 1 of the chain does not parse as a PEM X.509 certificate/,
  ],
  [
    "the key given as the certificate",
    { ...TLS_ON, tlsCertificate: CERT.key, tlsKey: CERT.key },
    /tlsCertificate = \[secret, \d+ characters\]: holds a private key/,
  ],
  [
    "key that does not parse",
    { ...TLS_ON, tlsCertificate: CERT.cert, tlsKey: BROKEN_KEY },
    /tlsKey = \[secret, \d+ characters\]: does not parse as a PEM private key/,
  ],
  [
    "key of another certificate",
    { ...TLS_ON, tlsCertificate: CERT.cert, tlsKey: OTHER_CERT.key },
    /tlsKey = \[secret, \d+ characters\]: does not belong to tlsCertificate/,
  ],
  [
    "certificate for another name",
    { ...TLS_ON, tlsCertificate: OTHER_CERT.cert, tlsKey: OTHER_CERT.key },
    /domain = "ai.example.com": is not a name tlsCertificate covers \(DNS:other.example.com\)/,
  ],
  ["certificate without tls", { tlsCertificate: CERT.cert, tlsKey: CERT.key }, /tls = false: is not true, but tlsCertificate is set/],
  [
    "plain-HTTP public URL with TLS",
    { ...TLS_ON, tlsCertificate: CERT.cert, tlsKey: CERT.key, publicUrl: "http://ai.example.com" },
    /publicUrl = "http:\/\/ai.example.com": must be an https:\/\/ origin when tls is true/,
  ],
  [
    "HTTPS port equal to the public port",
    { ...TLS_ON, tlsCertificate: CERT.cert, tlsKey: CERT.key, httpPort: "8443", httpsPort: "8443" },
    /httpsPort = 8443: must differ from httpPort \(8443\)/,
  ],
  ["API key with an empty name", { apiKeys: '[{"name":""}]' }, /apiKeys\[0\]\.name = "": must be a non-empty name/],
  ["API key name used twice", { apiKeys: '[{"name":"ci"},{"name":"ci"}]' }, /apiKeys\[1\]\.name = "ci": is declared twice/],
  [
    "API key named like Open WebUI's own",
    { apiKeys: '[{"name":"open-webui"}]' },
    /apiKeys\[0\]\.name = "open-webui": is Open WebUI's own key/,
  ],
  [
    "negative key budget",
    { apiKeys: '[{"name":"ci","maxBudget":-5}]' },
    /apiKeys\[0\]\.maxBudget = -5: must be a number of US dollars, 0 or more/,
  ],
  [
    "unknown key budget profile",
    { apiKeys: '[{"name":"ci","budget":"gold"}]' },
    /apiKeys\[0\]\.budget = "gold": must be one of test, prod, unlimited/,
  ],
  [
    "budget period LiteLLM refuses (months other than 1)",
    { apiKeys: '[{"name":"ci","maxBudget":5,"budgetDuration":"2mo"}]' },
    /apiKeys\[0\]\.budgetDuration = "2mo": LiteLLM resets monthly budgets only every month: use 1mo/,
  ],
  [
    "rate limit that is not a whole number",
    { apiKeys: '[{"name":"ci","rpmLimit":0.5}]' },
    /apiKeys\[0\]\.rpmLimit = 0.5: must be a positive whole number of requests per minute/,
  ],
  [
    "supplied key value without sk-",
    { apiKeyValues: '{"agents":"pk-0123456789abcdefghijklmnopqrstuvwxyz"}' },
    /apiKeyValues\.agents = \[secret, 39 characters\]: must start with "sk-"/,
  ],
  [
    "supplied key value shorter than allowed",
    { apiKeyValues: '{"agents":"sk-0123456789"}' },
    /apiKeyValues\.agents = \[secret, 13 characters\]: must be at least 32 characters/,
  ],
  [
    "supplied value for an undeclared key",
    { apiKeyValues: '{"ghost":"sk-0123456789abcdefghijklmnopqrstuvwxyz"}' },
    /apiKeyValues\.ghost = \[secret\]: names no declared key; declared: open-webui, agents/,
  ],
  ["Continue.dev key that is not declared", { continueKey: "nobody" }, /continueKey = "nobody": must name one of apiKeys: agents/],
  [
    "Continue.dev models without any agent key",
    { apiKeys: "[]", continueModels: '["gpt-4o"]' },
    /continueModels = \["gpt-4o"\]: needs a key that is not Open WebUI's/,
  ],
  ["Anthropic tier out of range", { continueAnthropicTier: "5" }, /continueAnthropicTier = 5: must be 1, 2, 3 or 4/],
];

describe("bad config is refused before anything is registered", () => {
  test("the table covers at least 20 cases", () => {
    expect(rows.length).toBeGreaterThanOrEqual(20);
  });

  test.each(rows)("%s", async (_description, overrides, expected) => {
    const config = { ...stackConfig("medium") };
    for (const [key, value] of Object.entries(overrides)) {
      config[`ai-gateway:${key}`] = value;
    }
    const run = await runProgram({ stack: "medium", config });
    expect(run.error).toBeDefined();
    expect(pulumi.RunError.isInstance(run.error)).toBe(true);
    const message = run.error!.message;
    expect(message).toMatch(/^Invalid ai-gateway setting /);
    expect(message).toMatch(expected);
    expect(message).not.toContain("\n");
    expect(message).not.toContain(SECRET_MASTER_KEY_NO_PREFIX);
    expect(message).not.toContain("-----BEGIN");
    expect(run.resources).toHaveLength(0);
  });
});
