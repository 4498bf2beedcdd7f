/**
 * Every stack of the program passes the pack: the real program (index.ts) runs under Pulumi mocks
 * for each stack file and for the settings that change what it registers (TLS, a Hetzner server,
 * an ephemeral stack, a preview with unknowns), and every registered resource (type, name,
 * inputs with their secret marks, options) goes to every policy, advisory ones included: none
 * reports anything.
 */
import { SSH_FROM_ANYWHERE_LABEL } from "../../lib/firewall";
import { policies } from "../../policy/policies";
import { selfSignedCertificate } from "../fixtures/nginx/selfSignedCert";
import { HCLOUD_TOKEN } from "../fixtures/hcloudToken";
import { subjectOf, violations } from "../helpers/policyArgs";
import { MOCK_HCLOUD_SSH_KEY, ProgramRun, runProgram, stackConfig, TYPES, withSettings } from "../helpers/program";

async function run(stack: string, settings: Record<string, string | undefined> = {}, preview = false): Promise<ProgramRun> {
  const result = await runProgram({ stack, config: withSettings(stackConfig(stack), settings), preview });
  if (result.error) {
    throw result.error;
  }
  return result;
}

const CERT = selfSignedCertificate(["ai.example.com"]);

const STACKS: [string, () => Promise<ProgramRun>][] = [
  ["small", () => run("small")],
  ["medium", () => run("medium")],
  ["large", () => run("large")],
  ["medium with TLS", () => run("medium", { tls: "true", domain: "ai.example.com", tlsCertificate: CERT.cert, tlsKey: CERT.key })],
  [
    "hetzner (vps: true)",
    () =>
      run("hetzner", {
        vps: "true",
        vpsSshPublicKeys: JSON.stringify([MOCK_HCLOUD_SSH_KEY.publicKey]),
        vpsSshAllowedCidrs: JSON.stringify(["198.51.100.7/32"]),
        "hcloud:token": HCLOUD_TOKEN,
      }),
  ],
  [
    "hetzner with SSH open to the internet on purpose (vpsSshFromAnywhere)",
    () =>
      run("hetzner", {
        vps: "true",
        vpsSshPublicKeys: JSON.stringify([MOCK_HCLOUD_SSH_KEY.publicKey]),
        vpsSshAllowedCidrs: undefined,
        vpsSshFromAnywhere: "true",
        "hcloud:token": HCLOUD_TOKEN,
      }),
  ],
  ["small, ephemeral", () => run("small", { ephemeral: "true" })],
  [
    "a preview stack (Pulumi.preview.yaml as pr-1: ports derived from its name)",
    async () => {
      const result = await runProgram({ stack: "pr-1", config: stackConfig("preview") });
      if (result.error) {
        throw result.error;
      }
      return result;
    },
  ],
  ["small, previewed (unknown outputs)", () => run("small", {}, true)],
];

describe("every stack passes every policy", () => {
  test.each(STACKS)("%s", async (_label, stack) => {
    const program = await stack();
    // The run registered the gateway's containers, volumes and images: the policies had something to judge.
    expect(program.resources.filter((r) => r.type === TYPES.container).length).toBeGreaterThanOrEqual(4);
    expect(await violations(policies, program.resources.map(subjectOf))).toEqual([]);
  });
});

describe("the secrets the program marks are the ones the pack would find unmarked", () => {
  test("without the marks (what @pulumi/policy 1.21.0 hands validateResource by itself), no-plain-secrets reports the gateway's secrets", async () => {
    const program = await run("medium", { tls: "true", domain: "ai.example.com", tlsCertificate: CERT.cert, tlsKey: CERT.key });
    const unmarked = program.resources.map((r) => ({ ...subjectOf(r), wireInputs: r.inputs }));
    const found = (await violations(policies, unmarked)).filter((v) => v.policy === "no-plain-secrets");
    const messages = found.map((v) => v.message).join("\n");
    // LiteLLM's keys, UI password and database URL, PostgreSQL's password, Open WebUI's admin
    // password, the key registration's keys, nginx's TLS key.
    expect(messages).toMatch(/ai-gateway-litellm: envs\[\d+\] holds an sk- API key/);
    expect(messages).toMatch(/ai-gateway-litellm: envs\[\d+\] holds a credential in UI_PASSWORD/);
    expect(messages).toMatch(/ai-gateway-litellm: envs\[\d+\] holds a URL with a password/);
    expect(messages).toMatch(/ai-gateway-open-webui: envs\[\d+\] holds a credential in WEBUI_ADMIN_PASSWORD/);
    expect(messages).toMatch(/LitellmKeyRegistration ai-gateway-keys-registration: masterKey holds an sk- API key/);
    expect(messages).toMatch(/postgres: envs\[\d+\] holds a credential in POSTGRES_PASSWORD/);
    expect(messages).toMatch(/uploads\[\d+\]\.content holds a PEM private key/);
    // Redis's password in its uploaded redis.conf.
    expect(messages).toMatch(/ai-gateway-redis-config: uploads\[\d+\]\.content holds a credential in a requirepass line/);
  });
});

describe("the firewall says when SSH is open to the internet on purpose", () => {
  test("vpsSshFromAnywhere labels the firewall; without the label its rule is reported", async () => {
    const program = await run("hetzner", {
      vps: "true",
      vpsSshPublicKeys: JSON.stringify([MOCK_HCLOUD_SSH_KEY.publicKey]),
      vpsSshAllowedCidrs: undefined,
      vpsSshFromAnywhere: "true",
      "hcloud:token": HCLOUD_TOKEN,
    });
    const firewall = program.resources.find((r) => r.type === "hcloud:index/firewall:Firewall")!;
    expect(firewall.inputs.labels[SSH_FROM_ANYWHERE_LABEL]).toBe("true");
    const otherLabels = Object.fromEntries(Object.entries(firewall.wireInputs.labels).filter(([key]) => key !== SSH_FROM_ANYWHERE_LABEL));
    const unlabelled = { ...subjectOf(firewall), wireInputs: { ...firewall.wireInputs, labels: otherLabels } };
    expect((await violations(policies, [unlabelled])).map((v) => v.message)).toEqual([
      expect.stringMatching(/rules\[0\] opens tcp 22 \(SSH\) to 0.0.0.0\/0, ::\/0/),
    ]);
  });

  test("a stack that does not open SSH to everyone keeps its firewall's labels as they were", async () => {
    const program = await run("hetzner", {
      vps: "true",
      vpsSshPublicKeys: JSON.stringify([MOCK_HCLOUD_SSH_KEY.publicKey]),
      vpsSshAllowedCidrs: JSON.stringify(["198.51.100.7/32"]),
      "hcloud:token": HCLOUD_TOKEN,
    });
    const firewall = program.resources.find((r) => r.type === "hcloud:index/firewall:Firewall")!;
    expect(Object.keys(firewall.inputs.labels)).toEqual(["ai-gateway.gateway"]);
  });
});

describe("the admin listener off loopback needs the policy's allow-list", () => {
  test("adminBindAddress 10.8.0.1: reported for nginx until the address is allow-listed", async () => {
    const program = await run("small", { adminBindAddress: "10.8.0.1", adminAllowedCidrs: JSON.stringify(["10.8.0.0/24"]) });
    const subjects = program.resources.map(subjectOf);
    expect((await violations(policies, subjects)).map((v) => `${v.policy}: ${v.message}`)).toEqual([
      expect.stringMatching(
        /^host-ports-reverse-proxy-only: docker container "ai-gateway-small-nginx" \(resource ai-gateway-nginx\) publishes the admin listener \(container port 8081\) on 10.8.0.1: bind it to 127.0.0.1/,
      ),
    ]);
    const config = { "host-ports-reverse-proxy-only": { adminBindAllowList: ["10.8.0.1"] } };
    expect(await violations(policies, subjects, config)).toEqual([]);
  });
});
