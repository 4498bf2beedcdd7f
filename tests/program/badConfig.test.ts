/**
 * Bad values are refused before any resource is registered, with one line naming the setting, the
 * value and what is allowed, as a pulumi.RunError (printed without a stack trace).
 */
import * as pulumi from "@pulumi/pulumi";
import { runProgram, stackConfig } from "../helpers/program";

const SECRET_MASTER_KEY_NO_PREFIX = "zq9ZQ3vR8pL2mN7xK4wB6yT1uH5jD0cF9aS";

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
  ["latest Open WebUI", { openWebuiImage: "ghcr.io/open-webui/open-webui:latest" }, /openWebuiImage = .*"latest" is a rolling tag/],
  ["misspelt setting", { profle: "small" }, /profle = "small": is not a setting of ai-gateway; known settings: adminEmail, /],
  ["non-boolean ephemeral", { ephemeral: "yes" }, /ephemeral = "yes": must be true or false/],
  ["model without a model string", { models: '[{"name":"gpt-4o"}]' }, /models\[0\]\.model = undefined: must be LiteLLM's model string/],
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
    "public URL with a path",
    { publicUrl: "https://ai.example.com/chat" },
    /publicUrl = "https:\/\/ai.example.com\/chat": must be an http:\/\/ or https:\/\/ origin without a path/,
  ],
  ["admin email Open WebUI would reject", { adminEmail: "admin@localhost" }, /adminEmail = "admin@localhost": must be an email address/],
  ["admin user name with a space", { adminUsername: "the admin" }, /adminUsername = "the admin": must be 1-64 letters/],
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
    expect(run.resources).toHaveLength(0);
  });
});
