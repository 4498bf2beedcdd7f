/** Pulumi.yaml's config declarations and the code's defaults and settings must agree. */
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { SETTINGS } from "../../lib/config";
import { DEFAULTS } from "../../lib/settings";
import { ROOT } from "../helpers/program";

const declared: Record<string, any> = parse(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8")).config;

const codeDefaults: Record<string, unknown> = {
  profile: DEFAULTS.profile,
  budget: DEFAULTS.budget,
  dockerSshOpts: DEFAULTS.dockerSshOpts,
  litellmImage: DEFAULTS.images.litellm,
  openWebuiImage: DEFAULTS.images.openWebui,
  postgresImage: DEFAULTS.images.postgres,
  nginxImage: DEFAULTS.images.nginx,
  adminUsername: DEFAULTS.adminUsername,
  adminEmail: DEFAULTS.adminEmail,
  ephemeral: DEFAULTS.ephemeral,
  continueModels: DEFAULTS.continueModels,
  continueAnthropicTier: DEFAULTS.continueAnthropicTier,
  tls: DEFAULTS.tls,
  httpsPort: DEFAULTS.httpsPort,
  adminBindAddress: DEFAULTS.adminBindAddress,
  adminAllowedCidrs: DEFAULTS.adminAllowedCidrs,
  trustedProxies: DEFAULTS.trustedProxies,
  postgresPasswordVersion: DEFAULTS.postgresPasswordVersion,
  masterKeyVersion: DEFAULTS.masterKeyVersion,
  webuiSecretKeyVersion: DEFAULTS.webuiSecretKeyVersion,
};

test("every declared key is a setting the program reads, with a description", () => {
  for (const [key, declaration] of Object.entries(declared)) {
    expect(SETTINGS).toHaveProperty(key);
    expect(typeof declaration.description).toBe("string");
    expect(["string", "integer", "boolean", "array"]).toContain(declaration.type);
  }
});

test("every declared key has a default: the CLI refuses to run a stack that lacks a declared key without one", () => {
  for (const [key, declaration] of Object.entries(declared)) {
    expect([key, declaration.default]).not.toEqual([key, undefined]);
  }
});

test("the only undeclared settings are objects (which Pulumi.yaml cannot type), optional ones without a default, those whose default depends on another setting, and those only ephemeral stacks may set", () => {
  expect(
    Object.keys(SETTINGS)
      .filter((k) => !(k in declared))
      .sort(),
  ).toEqual([
    "adminPort",
    "apiKeyValues",
    "apiKeys",
    "apiRateLimitPerMinute",
    "backupInterval",
    "backupKeep",
    "backupS3AccessKeyId",
    "backupS3Bucket",
    "backupS3Endpoint",
    "backupS3Prefix",
    "backupS3Region",
    "backupS3SecretAccessKey",
    "backups",
    "bindAddress",
    "continueKey",
    "dockerHost",
    "dockerHostMemoryMb",
    "dockerSshHostKey",
    "dockerTlsCa",
    "dockerTlsCert",
    "dockerTlsKey",
    "domain",
    "httpPort",
    "masterKey",
    "models",
    "previewTtl",
    "providerApiKeys",
    "publicUrl",
    "spendLogRetention",
    "tlsCertificate",
    "tlsKey",
    "vps",
    "vpsBackups",
    "vpsDeployUser",
    "vpsImage",
    "vpsLocation",
    "vpsProtection",
    "vpsPublicAllowedCidrs",
    "vpsServerType",
    "vpsSshAllowedCidrs",
    "vpsSshFromAnywhere",
    "vpsSshKeyName",
    "vpsSshPublicKeys",
    "vpsVolumeSizeGb",
  ]);
});

test.each(Object.entries(codeDefaults))("%s: Pulumi.yaml's default is the code's", (key, value) => {
  expect(declared[key].default).toEqual(value);
});

test("declared types match how the program parses each setting", () => {
  const kinds: Record<string, string> = { string: "string", integer: "integer", boolean: "boolean", array: "json" };
  for (const [key, declaration] of Object.entries(declared)) {
    expect([key, (SETTINGS as any)[key].kind]).toEqual([key, kinds[declaration.type]]);
  }
});
