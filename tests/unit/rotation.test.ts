import { effectiveVersions, FIRST_SECRET_VERSION, rotationKeepers, rotationLabels, secretVersion } from "../../lib/rotation";
import { resolveSettings } from "../../lib/settings";
import { argsFromConfig } from "../../lib/config";

describe("secretVersion", () => {
  test.each([1, 2, 17, 1_000_000])("%p is a version", (value) => {
    expect(secretVersion("masterKeyVersion", value)).toBe(value);
  });

  test.each([0, -1, 1.5, 1_000_001, "2", null, true])(
    "%p is refused with one line naming the setting, the value and what is allowed",
    (value) => {
      let message = "";
      try {
        secretVersion("postgresPasswordVersion", value);
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message).toMatch(/^Invalid ai-gateway setting postgresPasswordVersion = .+: must be a whole number from 1 to 1000000 /);
      expect(message).not.toContain("\n");
    },
  );
});

describe("rotationKeepers", () => {
  test("the first version adds no input at all, so a stack deployed before versions existed sees no change", () => {
    expect(rotationKeepers(FIRST_SECRET_VERSION)).toEqual({});
  });

  test("every later version is a keeper of its own, so each raise is a change the random provider replaces on", () => {
    expect(rotationKeepers(2)).toEqual({ keepers: { version: "2" } });
    expect(rotationKeepers(3)).not.toEqual(rotationKeepers(2));
  });
});

describe("the version settings", () => {
  test("default to 1 and are read from the stack's config as whole numbers", () => {
    expect(resolveSettings({}).secretVersions).toEqual({ postgresPassword: 1, masterKey: 1, webuiSecretKey: 1 });
    const args = argsFromConfig("ai-gateway", {
      "ai-gateway:postgresPasswordVersion": "2",
      "ai-gateway:masterKeyVersion": "3",
      "ai-gateway:webuiSecretKeyVersion": "4",
    });
    expect(resolveSettings(args).secretVersions).toEqual({ postgresPassword: 2, masterKey: 3, webuiSecretKey: 4 });
  });

  test.each([
    ["postgresPasswordVersion", "0", /^Invalid ai-gateway setting postgresPasswordVersion = 0: must be a whole number from 1/],
    ["masterKeyVersion", "two", /^Invalid ai-gateway setting masterKeyVersion = "two": must be a whole number$/],
    ["webuiSecretKeyVersion", "-3", /^Invalid ai-gateway setting webuiSecretKeyVersion = -3: must be a whole number from 1/],
  ])("%s = %s is refused before anything is registered", (key, raw, message) => {
    expect(() => resolveSettings(argsFromConfig("ai-gateway", { [`ai-gateway:${key}`]: raw }))).toThrow(message);
  });
});

describe("rotationLabels", () => {
  const versions = { postgresPassword: 2, masterKey: 1, webuiSecretKey: 5 };

  test("name each raised version a container uses, and nothing at version 1", () => {
    expect(rotationLabels(versions, ["postgresPassword", "masterKey"])).toEqual({ "ai-gateway.postgres-password-version": "2" });
    expect(rotationLabels(versions, ["webuiSecretKey"])).toEqual({ "ai-gateway.webui-secret-key-version": "5" });
    expect(
      rotationLabels({ postgresPassword: 1, masterKey: 1, webuiSecretKey: 1 }, ["postgresPassword", "masterKey", "webuiSecretKey"]),
    ).toEqual({});
  });
});

test("a supplied master key has no generation to rotate: its version counts as the first", () => {
  const versions = { postgresPassword: 2, masterKey: 3, webuiSecretKey: 4 };
  expect(effectiveVersions(versions, { masterKey: true })).toEqual({ postgresPassword: 2, masterKey: 1, webuiSecretKey: 4 });
  expect(effectiveVersions(versions, { masterKey: false })).toEqual(versions);
});
