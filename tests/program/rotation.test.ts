/**
 * Credential rotation as config (lib/rotation.ts, components/secrets.ts), under mocks: at version 1
 * the generated secrets' inputs are exactly those of the stacks deployed before the versions
 * existed; raising one version changes that secret and what consumes it, and nothing else, in the
 * order that keeps LiteLLM from ever starting with a password PostgreSQL does not hold yet. The mock
 * random provider, like the real one, gives a new value when the keepers change.
 */
import { OPEN_WEBUI_SECRET_KEY_FILE, POSTGRES_PASSWORD_APPLIED } from "../../lib/constants";
import { scramSha256Verifier } from "../../lib/scram";
import { filesOf, find, ProgramRun, RecordedResource, runProgram, stackConfig, TYPES, withSettings } from "../helpers/program";

const STACK = "small";
const SUPPLIED_MASTER_KEY = "sk-suppliedMasterKey0123456789abcdefghijklmn";

async function runWith(settings: Record<string, string | undefined>): Promise<ProgramRun> {
  const run = await runProgram({ stack: STACK, config: withSettings(stackConfig(STACK), settings) });
  if (run.error) {
    throw run.error;
  }
  return run;
}

/** Each resource's inputs by URN. */
function inputsByUrn(run: ProgramRun): Map<string, RecordedResource> {
  return new Map(run.resources.map((r) => [r.urn, r]));
}

/** The names of the resources whose inputs differ between two runs (both must register the same URNs). */
function changed(base: ProgramRun, other: ProgramRun): string[] {
  const before = inputsByUrn(base);
  const after = inputsByUrn(other);
  expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
  return [...before.entries()]
    .filter(([urn, r]) => JSON.stringify(r.inputs) !== JSON.stringify(after.get(urn)!.inputs))
    .map(([, r]) => r.name)
    .sort();
}

function env(container: RecordedResource): Record<string, string> {
  return Object.fromEntries((container.inputs.envs as string[]).map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]));
}

const container = (run: ProgramRun, service: string) => find(run, TYPES.container, `-${service}`);
const password = (run: ProgramRun, suffix: string) => find(run, TYPES.password, `-secrets-${suffix}`);

let base: ProgramRun;
beforeAll(async () => {
  base = await runWith({});
});

test("at version 1 every generated secret's inputs are exactly those registered before versions existed: no keepers", () => {
  const passwords = base.resources.filter((r) => r.type === TYPES.password);
  const secrets = passwords.filter((p) => p.name.includes("-secrets-"));
  expect(secrets.map((p) => p.name.replace(/^.*-secrets-/, "")).sort()).toEqual(
    [
      "litellm-ui-password",
      "master-key",
      "open-webui-admin-password",
      "postgres-password",
      "redis-password",
      "salt-key",
      "webui-secret-key",
    ].sort(),
  );
  for (const p of passwords) {
    expect([p.name, p.inputs]).toEqual([p.name, { length: p.inputs.length, special: false }]);
  }
});

test("versions set to 1 explicitly register exactly what a stack without them registers", async () => {
  const explicit = await runWith({ postgresPasswordVersion: "1", masterKeyVersion: "1", webuiSecretKeyVersion: "1" });
  expect(changed(base, explicit)).toEqual([]);
});

describe("postgresPasswordVersion 1 -> 2", () => {
  let rotated: ProgramRun;
  beforeAll(async () => {
    rotated = await runWith({ postgresPasswordVersion: "2" });
  });

  test("changes the password, PostgreSQL's container (its verifier) and LiteLLM's (its DATABASE_URL), and nothing else", () => {
    expect(password(rotated, "postgres-password").inputs).toEqual({ length: 32, special: false, keepers: { version: "2" } });
    // The migration step keeps the URL it would migrate with; with the same image it runs nothing.
    // The database's backup container gets a new .pgpass: a new config volume, filler and container.
    expect(changed(base, rotated)).toEqual(
      [
        "ai-gateway-backups-litellm-database",
        "ai-gateway-backups-litellm-database-config",
        "ai-gateway-backups-litellm-database-config",
        "ai-gateway-litellm",
        "ai-gateway-litellm-migration",
        "ai-gateway-postgres",
        "ai-gateway-secrets-postgres-password",
      ].sort(),
    );
  });

  test("PostgreSQL gets the new password's verifier and LiteLLM the new password in its URL", async () => {
    const oldUrl = env(container(base, "litellm")).DATABASE_URL;
    const newUrl = env(container(rotated, "litellm")).DATABASE_URL;
    const newPassword = decodeURIComponent(new URL(newUrl).password);
    expect(newUrl).not.toBe(oldUrl);
    expect(env(container(rotated, "postgres")).POSTGRES_PASSWORD).toBe(scramSha256Verifier(newPassword));
    expect(env(container(base, "postgres")).POSTGRES_PASSWORD).toBe(scramSha256Verifier(decodeURIComponent(new URL(oldUrl).password)));
  });

  test("both containers carry the version as a label, known at preview (the new password is not), so the preview shows their replacement", () => {
    const label = (run: ProgramRun, service: string) =>
      (container(run, service).inputs.labels as { label: string; value: string }[]).find(
        (l) => l.label === "ai-gateway.postgres-password-version",
      )?.value;
    expect([label(rotated, "postgres"), label(rotated, "litellm"), label(rotated, "open-webui")]).toEqual(["2", "2", undefined]);
    expect([label(base, "postgres"), label(base, "litellm")]).toEqual([undefined, undefined]);
  });

  test("LiteLLM is created only after PostgreSQL, which is healthy only once the start script has applied the password", () => {
    const postgres = container(rotated, "postgres");
    const litellm = container(rotated, "litellm");
    expect(litellm.dependencies).toContain(postgres.urn);
    // wait: true makes the provider wait for health on create; health includes the start script's marker.
    expect(postgres.inputs.wait).toBe(true);
    expect(postgres.inputs.healthcheck.tests.join(" ")).toContain(`test -e ${POSTGRES_PASSWORD_APPLIED}`);
    // Both are replaced by deleting first: the old LiteLLM is gone before the new PostgreSQL starts.
    expect([postgres.options.deleteBeforeReplace, litellm.options.deleteBeforeReplace]).toEqual([true, true]);
  });
});

describe("masterKeyVersion 1 -> 2", () => {
  let rotated: ProgramRun;
  beforeAll(async () => {
    rotated = await runWith({ masterKeyVersion: "2" });
  });

  test("changes the master key, LiteLLM's container and the key registration (which then registers with the new key), and nothing else", () => {
    // The migration step carries LiteLLM's labels (the rotation's among them); with the same image it runs nothing.
    expect(changed(base, rotated)).toEqual(
      ["ai-gateway-keys-registration", "ai-gateway-litellm", "ai-gateway-litellm-migration", "ai-gateway-secrets-master-key"].sort(),
    );
    const registration = rotated.resources.find((r) => r.type === TYPES.keyRegistration)!;
    expect(registration.inputs.masterKey).toBe(env(container(rotated, "litellm")).LITELLM_MASTER_KEY);
    expect(registration.inputs.masterKey).not.toBe(env(container(base, "litellm")).LITELLM_MASTER_KEY);
  });

  test("the salt key, which encrypts the stored provider credentials, stays the same; so do the virtual keys", () => {
    expect(env(container(rotated, "litellm")).LITELLM_SALT_KEY).toBe(env(container(base, "litellm")).LITELLM_SALT_KEY);
    expect(rotated.outputs.openWebuiApiKey).toBe(base.outputs.openWebuiApiKey);
    expect(rotated.outputs.apiKeys).toEqual(base.outputs.apiKeys);
  });

  test("a supplied masterKey is used as given: its version changes nothing", async () => {
    const supplied = await runWith({ masterKey: SUPPLIED_MASTER_KEY });
    const suppliedRaised = await runWith({ masterKey: SUPPLIED_MASTER_KEY, masterKeyVersion: "2" });
    expect(changed(supplied, suppliedRaised)).toEqual([]);
    expect(env(container(suppliedRaised, "litellm")).LITELLM_MASTER_KEY).toBe(SUPPLIED_MASTER_KEY);
  });
});

describe("webuiSecretKeyVersion 1 -> 2", () => {
  test("changes WEBUI_SECRET_KEY (the key file) and Open WebUI's container, and nothing else", async () => {
    const rotated = await runWith({ webuiSecretKeyVersion: "2" });
    expect(changed(base, rotated)).toEqual(["ai-gateway-open-webui", "ai-gateway-secrets-webui-secret-key"].sort());
    // The image's key file, which its start script reads when WEBUI_SECRET_KEY is unset.
    const keyFile = (run: ProgramRun) =>
      filesOf(run, container(run, "open-webui")).find((f) => f.file === OPEN_WEBUI_SECRET_KEY_FILE)!.content;
    expect(keyFile(rotated)).toHaveLength(48);
    expect(keyFile(rotated)).not.toBe(keyFile(base));
  });
});

test("raising a version again rotates again: 2 -> 3 is another value", async () => {
  const two = await runWith({ postgresPasswordVersion: "2" });
  const three = await runWith({ postgresPasswordVersion: "3" });
  expect(env(container(three, "litellm")).DATABASE_URL).not.toBe(env(container(two, "litellm")).DATABASE_URL);
});
