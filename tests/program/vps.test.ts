/**
 * The Hetzner server under Pulumi mocks: what the stack registers with vps on (server per profile,
 * firewall rules, primary IPv4, volume, user data, protection and retain flags), that every Docker
 * object then goes through the one provider whose host is the readiness gate's output, the
 * outputs, and the example stack file.
 */
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { HCLOUD_TOKEN } from "../fixtures/hcloudToken";
import { selfSignedCertificate } from "../fixtures/nginx/selfSignedCert";
import {
  find,
  MOCK_HCLOUD_SSH_KEY,
  MOCK_VPS_IPV4,
  numericId,
  plainOccurrences,
  ProgramRun,
  ROOT,
  runProgram,
  stackConfig,
  TYPES,
  unwrapSecrets,
  withSettings,
} from "../helpers/program";
import { firewallRules } from "../../lib/firewall";
import { pinnedSshOptions } from "../../lib/dockerHost";
import { CLOUD_INIT_FILES } from "../../lib/cloudInit";
import { ProfileName } from "../../profiles";

const HCLOUD = {
  sshKey: "hcloud:index/sshKey:SshKey",
  firewall: "hcloud:index/firewall:Firewall",
  primaryIp: "hcloud:index/primaryIp:PrimaryIp",
  volume: "hcloud:index/volume:Volume",
  attachment: "hcloud:index/volumeAttachment:VolumeAttachment",
  server: "hcloud:index/server:Server",
  hostKeySeed: "random:index/randomBytes:RandomBytes",
  ready: "pulumi-nodejs:dynamic/ai-gateway:HostReady",
} as const;

const MY_NETWORK = "198.51.100.7/32";

/** The example stack file with its placeholders replaced, as a user would, plus the token. */
function vpsConfig(overrides: Record<string, string> = {}, stack = "hetzner"): Record<string, string> {
  return withSettings(stackConfig(stack), {
    vps: "true",
    vpsSshPublicKeys: JSON.stringify([MOCK_HCLOUD_SSH_KEY.publicKey]),
    vpsSshAllowedCidrs: JSON.stringify([MY_NETWORK]),
    "hcloud:token": HCLOUD_TOKEN,
    ...overrides,
  });
}

async function run(overrides: Record<string, string> = {}, stack = "hetzner"): Promise<ProgramRun> {
  const result = await runProgram({ stack, config: vpsConfig(overrides, stack) });
  if (result.error) {
    throw result.error;
  }
  return result;
}

const one = (r: ProgramRun, type: string) => {
  const matches = r.resources.filter((x) => x.type === type);
  expect(matches).toHaveLength(1);
  return matches[0];
};

describe("the example stack Pulumi.hetzner.yaml", () => {
  const file = parse(fs.readFileSync(path.join(ROOT, "Pulumi.hetzner.yaml"), "utf8")).config;

  test("asks for a VPS of the medium profile", () => {
    expect(file["ai-gateway:vps"]).toBe(true);
    expect(file["ai-gateway:profile"]).toBe("medium");
  });

  test("is refused as it stands, naming the placeholder to replace, before anything is registered", async () => {
    const result = await runProgram({ stack: "hetzner", config: { ...stackConfig("hetzner"), "hcloud:token": HCLOUD_TOKEN } });
    expect(result.error?.message).toMatch(/^Invalid ai-gateway setting vpsSshPublicKeys\[0\] = "REPLACE-with-your-ssh-public-key": /);
    expect(result.resources).toHaveLength(0);
    const keyReplaced = await runProgram({
      stack: "hetzner",
      config: {
        ...stackConfig("hetzner"),
        "hcloud:token": HCLOUD_TOKEN,
        "ai-gateway:vpsSshPublicKeys": JSON.stringify([MOCK_HCLOUD_SSH_KEY.publicKey]),
      },
    });
    expect(keyReplaced.error?.message).toMatch(/^Invalid ai-gateway setting vpsSshAllowedCidrs\[0\] = "REPLACE-with-your-address\/32": /);
    expect(keyReplaced.resources).toHaveLength(0);
  });

  test("with both replaced, deploys a cpx32 in fsn1 running ubuntu-24.04, port 80 open to everyone", async () => {
    const r = await run();
    const server = one(r, HCLOUD.server).inputs;
    expect([server.serverType, server.location, server.image]).toEqual(["cpx32", "fsn1", "ubuntu-24.04"]);
    expect((r.outputs as any).openWebuiUrl).toBe(`http://${MOCK_VPS_IPV4}/`);
  });
});

describe("a medium gateway on a Hetzner server", () => {
  let r: ProgramRun;
  beforeAll(async () => {
    r = await run();
  });

  test("registers the key, firewall, IPv4, volume, server, attachment, host key seed and readiness gate, once each", () => {
    for (const type of Object.values(HCLOUD)) {
      one(r, type);
    }
    expect(one(r, HCLOUD.sshKey).inputs.publicKey).toBe(MOCK_HCLOUD_SSH_KEY.publicKey);
    expect(one(r, HCLOUD.hostKeySeed).inputs.length).toBe(32);
  });

  test("the firewall: SSH from the configured network only, port 80 from everyone, ICMP, nothing else", () => {
    const rules = one(r, HCLOUD.firewall).inputs.rules.map((rule: any) => [rule.protocol, rule.port ?? "-", rule.sourceIps.join(" ")]);
    expect(rules).toEqual([
      ["tcp", "22", MY_NETWORK],
      ["tcp", "80", "0.0.0.0/0 ::/0"],
      ["icmp", "-", "0.0.0.0/0 ::/0"],
    ]);
    // The same rules lib/firewall.ts gives, so the table above pins the wiring, not a copy of it.
    expect(one(r, HCLOUD.firewall).inputs.rules).toEqual(
      firewallRules({
        sshAllowedCidrs: [MY_NETWORK],
        sshFromAnywhere: false,
        publicAllowedCidrs: ["0.0.0.0/0", "::/0"],
        publicPorts: [80],
      }),
    );
  });

  test("the server uses the primary IPv4 (no IPv6), the firewall and the SSH key", () => {
    const server = one(r, HCLOUD.server).inputs;
    const ipv4 = one(r, HCLOUD.primaryIp);
    expect(server.publicNets).toEqual([{ ipv4Enabled: true, ipv4: Number(idOf(r, HCLOUD.primaryIp)), ipv6Enabled: false }]);
    expect(server.firewallIds).toEqual([Number(idOf(r, HCLOUD.firewall))]);
    expect(server.sshKeys).toEqual([idOf(r, HCLOUD.sshKey)]);
    expect(server.backups).toBe(false);
    expect(ipv4.inputs).toMatchObject({ type: "ipv4", assigneeType: "server", autoDelete: false, location: "fsn1" });
  });

  test("the volume: ext4, in the server's location, not automounted (the user data mounts it), 20 GB", () => {
    expect(one(r, HCLOUD.volume).inputs).toMatchObject({ format: "ext4", automount: false, location: "fsn1", size: 20 });
    expect(one(r, HCLOUD.attachment).inputs).toMatchObject({
      serverId: Number(idOf(r, HCLOUD.server)),
      volumeId: Number(idOf(r, HCLOUD.volume)),
      automount: false,
    });
  });

  test("the user data is secret, ignored after creation, and holds the deploy user, the pinned host key and the volume's device", () => {
    const server = one(r, HCLOUD.server);
    expect(plainOccurrences(server.wireInputs, "#cloud-config")).toEqual([]);
    expect(server.options.ignoreChanges).toEqual(["userData"]);
    const userData = parse(unwrapSecrets(server.wireInputs).userData);
    expect(userData.users[0]).toMatchObject({ name: "deploy", groups: ["docker"], ssh_authorized_keys: [MOCK_HCLOUD_SSH_KEY.publicKey] });
    const hostPublicKey = userData.ssh_keys.ed25519_public.split(" ").slice(0, 2).join(" ");
    expect(userData.mounts[0][0]).toBe(`/dev/disk/by-id/scsi-0HC_Volume_${idOf(r, HCLOUD.volume)}`);
    expect(userData.write_files.map((f: any) => f.path)).toContain(CLOUD_INIT_FILES.dockerDaemonJson);
    // The key the docker provider pins is the one the server is given.
    expect(one(r, HCLOUD.ready).inputs.sshHostKey).toBe(hostPublicKey);
    // Provider configuration reaches the engine as JSON text.
    expect(JSON.parse(one(r, TYPES.dockerProvider).inputs.sshOpts)).toEqual(expect.arrayContaining(pinnedSshOptions(hostPublicKey)));
  });

  test("every Docker object goes through the one provider, whose host is the readiness gate's output", () => {
    const provider = one(r, TYPES.dockerProvider);
    const ready = one(r, HCLOUD.ready);
    expect(provider.inputs.host).toBe(`ssh://deploy@${MOCK_VPS_IPV4}`);
    expect(provider.propertyDependencies.host).toEqual([ready.urn]);
    const dockerObjects = r.resources.filter((x) => x.type.startsWith("docker:"));
    expect(dockerObjects.length).toBeGreaterThan(10);
    for (const resource of dockerObjects) {
      // A provider reference is `<urn>::<id>`.
      expect([resource.name, resource.provider.startsWith(`${provider.urn}::`)]).toEqual([resource.name, true]);
    }
    // The gate can start the server through Hetzner's API (after a type change): the token it gets is secret.
    expect(ready.inputs.hcloud).toEqual({ endpoint: "https://api.hetzner.cloud/v1", token: HCLOUD_TOKEN });
    expect(ready.inputs.serverType).toBe("cpx32");
    for (const resource of r.resources) {
      expect([resource.name, plainOccurrences(resource.wireInputs, HCLOUD_TOKEN)]).toEqual([resource.name, []]);
    }
    // The gate waits for the server with its volume attached.
    expect(ready.propertyDependencies.serverId).toEqual([one(r, HCLOUD.server).urn]);
    expect(ready.propertyDependencies.volumeAttachmentId).toEqual([one(r, HCLOUD.attachment).urn]);
  });

  test("protection: Pulumi's protect and Hetzner's flags on the server, IPv4 and volume; the volume is kept on destroy", () => {
    for (const type of [HCLOUD.server, HCLOUD.primaryIp, HCLOUD.volume]) {
      expect([type, one(r, type).options.protect, one(r, type).inputs.deleteProtection]).toEqual([type, true, true]);
    }
    expect(one(r, HCLOUD.server).inputs.rebuildProtection).toBe(true);
    expect(one(r, HCLOUD.volume).options.retainOnDelete).toBe(true);
    // A rebuilt server takes over the address and the volume, so the old one goes first.
    expect(one(r, HCLOUD.server).options.deleteBeforeReplace).toBe(true);
    expect(one(r, HCLOUD.attachment).options.deleteBeforeReplace).toBe(true);
  });

  test("outputs: the address, the URL on it, the SSH and tunnel commands with the pinned key, the type and its price", () => {
    const o = r.outputs as any;
    const hostKey = one(r, HCLOUD.ready).inputs.sshHostKey;
    expect(o.vps).toMatchObject({ ipv4: MOCK_VPS_IPV4, serverType: "cpx32", location: "fsn1" });
    // What a tunnel to the server needs (scripts/ci-docker-ssh.sh stack-tunnel): its endpoint and public host key.
    expect({ dockerHost: o.vps.dockerHost, sshHostKey: o.vps.sshHostKey }).toEqual({
      dockerHost: `ssh://deploy@${MOCK_VPS_IPV4}`,
      sshHostKey: hostKey,
    });
    expect(o.vps.monthlyPrice).toMatch(/^€\d+\.\d\d\/month net \(Hetzner list price read \d{4}-\d\d-\d\d/);
    expect(o.vps.sshCommand).toMatch(
      new RegExp(`^ssh .*'KnownHostsCommand=.*${hostKey.split(" ")[1].replace(/[+/]/g, "\\$&")}.* deploy@${MOCK_VPS_IPV4}$`),
    );
    expect(o.vps.adminTunnel).toMatch(
      new RegExp(`^ssh -N -L 4001:127\\.0\\.0\\.1:4001 .* deploy@${MOCK_VPS_IPV4} {2}# then open http://127\\.0\\.0\\.1:4001/ui$`),
    );
    expect(o.openWebuiUrl).toBe(`http://${MOCK_VPS_IPV4}/`);
    expect(o.apiBaseUrl).toBe(`http://${MOCK_VPS_IPV4}/api/litellm/v1`);
    // nginx publishes on every interface of the server; the admin listener stays on its loopback.
    const ports = find(r, TYPES.container, "-nginx").inputs.ports.map((p: any) => `${p.ip}:${p.external}`);
    expect(ports).toEqual(["0.0.0.0:80", "127.0.0.1:4001"]);
  });
});

/** The id the mocks gave the one resource of `type` (what other resources must reference). */
function idOf(r: ProgramRun, type: string): string {
  return numericId(one(r, type).name);
}

describe("per profile, option and stack kind", () => {
  test.each([
    ["small", "cpx22"],
    ["medium", "cpx32"],
    ["large", "cpx42"],
  ] as [ProfileName, string][])("profile %s gets server type %s by default", async (profile, serverType) => {
    const r = await run({ profile });
    expect(one(r, HCLOUD.server).inputs.serverType).toBe(serverType);
  });

  test("an ephemeral stack: no protection anywhere, and the volume goes with the stack", async () => {
    const r = await run({ ephemeral: "true" });
    for (const type of [HCLOUD.server, HCLOUD.primaryIp, HCLOUD.volume]) {
      expect([type, one(r, type).options.protect, one(r, type).inputs.deleteProtection]).toEqual([type, false, false]);
    }
    expect(one(r, HCLOUD.volume).options.retainOnDelete).toBe(false);
  });

  test("vpsProtection false lifts protection (before destroy) but still keeps the volume of a non-ephemeral stack", async () => {
    const r = await run({ vpsProtection: "false" });
    expect(one(r, HCLOUD.server).options.protect).toBe(false);
    expect(one(r, HCLOUD.server).inputs.rebuildProtection).toBe(false);
    expect(one(r, HCLOUD.volume).options.retainOnDelete).toBe(true);
  });

  test("TLS opens 80 and 443; a narrowed public allow-list applies to both; backups, volume size and location follow the settings", async () => {
    const cert = selfSignedCertificate(["ai.example.com"]);
    const r = await run({
      tls: "true",
      domain: "ai.example.com",
      httpsPort: "443",
      tlsCertificate: cert.cert,
      tlsKey: cert.key,
      vpsPublicAllowedCidrs: '["192.0.2.0/24"]',
      vpsBackups: "true",
      vpsVolumeSizeGb: "50",
      vpsLocation: "hel1",
    });
    const rules = one(r, HCLOUD.firewall).inputs.rules.map((rule: any) => [rule.protocol, rule.port ?? "-", rule.sourceIps.join(" ")]);
    expect(rules).toEqual([
      ["tcp", "22", MY_NETWORK],
      ["tcp", "80", "192.0.2.0/24"],
      ["tcp", "443", "192.0.2.0/24"],
      ["icmp", "-", "0.0.0.0/0 ::/0"],
    ]);
    expect(one(r, HCLOUD.server).inputs).toMatchObject({ backups: true, location: "hel1" });
    expect(one(r, HCLOUD.volume).inputs).toMatchObject({ size: 50, location: "hel1" });
    expect(one(r, HCLOUD.primaryIp).inputs.location).toBe("hel1");
  });

  test("an existing Hetzner SSH key by name: no key registered, its public key logs in as the deploy user", async () => {
    const r = await run({ vpsSshKeyName: "laptop", vpsSshPublicKeys: undefined as unknown as string });
    expect(r.resources.filter((x) => x.type === HCLOUD.sshKey)).toHaveLength(0);
    expect(one(r, HCLOUD.server).inputs.sshKeys).toEqual([String(MOCK_HCLOUD_SSH_KEY.id)]);
    const userData = parse(unwrapSecrets(one(r, HCLOUD.server).wireInputs).userData);
    expect(userData.users[0].ssh_authorized_keys).toEqual([MOCK_HCLOUD_SSH_KEY.publicKey]);
  });

  test("the public port bound to the server's loopback opens no public port in the firewall", async () => {
    const r = await run({ bindAddress: "127.0.0.1", httpPort: "8080" });
    const ports = one(r, HCLOUD.firewall)
      .inputs.rules.filter((rule: any) => rule.protocol === "tcp")
      .map((rule: any) => rule.port);
    expect(ports).toEqual(["22"]);
  });

  test("two runs register the same user data and host key (the seed is kept in state)", async () => {
    const a = unwrapSecrets(one(await run(), HCLOUD.server).wireInputs).userData;
    const b = unwrapSecrets(one(await run(), HCLOUD.server).wireInputs).userData;
    expect(a).toBe(b);
  });
});
