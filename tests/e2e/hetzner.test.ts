/**
 * The VPS path end to end, with the real Pulumi CLI and the real hcloud provider (1.41.0, i.e.
 * terraform-provider-hcloud v1.68.0) pointed (`hcloud:endpoint`) at a stand-in of the Hetzner
 * Cloud API (tests/fixtures/hcloud/api.ts), which records every request. When the stand-in receives
 * POST /servers it boots a "server" (tests/helpers/netnsServer.ts) from the user data it was sent:
 * a network namespace at the primary IPv4 the stand-in handed out, sshd with the user data's host
 * key and deploy user, the real Docker engine behind it. The readiness gate and the docker provider
 * then reach it as `ssh://deploy@<that address>`, exactly as they would reach the Hetzner server.
 *
 * The containers run on this machine's engine (the namespace reaches it through the unix socket),
 * so nginx's published ports are on this machine's network: the gateway is checked through
 * 127.0.0.1:<httpPort>, not through the server's address (on Hetzner it is the server's address).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { performance } from "perf_hooks";
import { EVERYWHERE } from "../../lib/firewall";
import { HcloudApi, IMAGES, RecordedRequest } from "../fixtures/hcloud/api";
import { HCLOUD_TOKEN } from "../fixtures/hcloudToken";
import { freeLink, NetnsServer, readUserData } from "../helpers/netnsServer";
import { requirements } from "../helpers/requirements";
import { generateSshKey } from "../helpers/sshKeys";
import { dockerObjects, Stack, Workspace } from "./harness";
import { allHealthy, names, publicChecks, removeLeftovers, useLocalImages, virtualKeys } from "./gateway";
import { describeE2E } from "./requirements";

const STACK = "vps";
const HTTP_PORT = 18480;
const ADMIN_PORT = 14481;

/** The one request of a kind; fails when there are none or several. */
function only(requests: RecordedRequest[], what: string): RecordedRequest {
  if (requests.length !== 1) {
    throw new Error(`expected one ${what}, the stand-in received ${requests.length}`);
  }
  return requests[0];
}

describeE2E(
  "a VPS stack against the Hetzner Cloud API stand-in, deployed onto a netns server over ssh",
  () => {
    const workspace = new Workspace("hetzner");
    const stack: Stack = workspace.stack(STACK);
    const keyDir = fs.mkdtempSync(path.join(os.tmpdir(), "ai-gateway-e2e-hetzner-"));
    const clientKeyFile = path.join(keyDir, "deploy_key");
    const client = generateSshKey("ed25519");
    const link = freeLink();
    let server: NetnsServer | undefined;
    const api = new HcloudApi({
      token: HCLOUD_TOKEN,
      ipv4For: () => link.address,
      onServerCreated: async (created) => {
        server = await NetnsServer.boot(created.userData, link);
      },
      onServerDeleted: () => {
        server?.dispose();
        server = undefined;
      },
    });

    beforeAll(async () => {
      fs.writeFileSync(clientKeyFile, client.privateKey, { mode: 0o600 });
      const endpoint = await api.start();
      await removeLeftovers(STACK, { volumes: true });
      await stack.init();
      await useLocalImages(stack);
      for (const [key, value] of Object.entries({
        profile: "small",
        ephemeral: "true",
        httpPort: String(HTTP_PORT),
        adminPort: String(ADMIN_PORT),
        vps: "true",
      })) {
        await stack.set(key, value);
      }
      await stack.set("vpsSshPublicKeys[0]", client.publicKey, { path: true });
      // SSH only from this machine's end of the link, the address the deploy connects from.
      await stack.set("vpsSshAllowedCidrs[0]", `${link.hostAddress}/32`, { path: true });
      await stack.set("dockerSshOpts[0]", "-i", { path: true });
      await stack.set("dockerSshOpts[1]", clientKeyFile, { path: true });
      await workspace.pulumi(["--stack", STACK, "config", "set", "--plaintext", "hcloud:endpoint", endpoint]);
      await workspace.pulumi(["--stack", STACK, "config", "set", "--secret", "hcloud:token", HCLOUD_TOKEN]);
    });

    afterAll(async () => {
      await stack.destroy({ allowFailure: true });
      await removeLeftovers(STACK, { volumes: true });
      server?.dispose();
      await api.stop();
      workspace.remove();
      fs.rmSync(keyDir, { recursive: true, force: true });
    });

    test("pulumi up: SSH key, firewall, primary IP, volume, server and attachment at the API; the gateway deploys onto the server over ssh and is healthy", async () => {
      const started = performance.now();
      await stack.up();
      // Printed for the README: a VPS stack's first up, the server booted in a namespace.
      process.stdout.write(
        `first up of a VPS stack (API stand-in, netns server): ${((performance.now() - started) / 1000).toFixed(0)} s\n`,
      );
      expect(api.unknownRoutes()).toEqual([]);
      await allHealthy(STACK);

      const outputs = await stack.outputs();
      expect(outputs.vps).toMatchObject({ ipv4: link.address, serverType: "cpx22", location: "fsn1" });
      expect(outputs.vps.sshCommand).toContain(`deploy@${link.address}`);
      const checks = await publicChecks(`http://127.0.0.1:${HTTP_PORT}`, virtualKeys(outputs));
      expect(checks.openWebui.status).toBe(200);
      expect(Object.values(checks.withKey).every((status) => status === 200)).toBe(true);
      expect([checks.missingKey, checks.wrongKey]).toEqual([401, 401]);

      // The docker provider deploys to the server, with the host key the user data installed pinned.
      const state = await stack.exportState();
      const provider = state.deployment.resources.find((r: any) => r.type === "pulumi:providers:docker");
      expect(provider.inputs.host).toBe(`ssh://deploy@${link.address}`);
      // Provider inputs are kept as JSON text in state.
      const sshOpts: string[] = typeof provider.inputs.sshOpts === "string" ? JSON.parse(provider.inputs.sshOpts) : provider.inputs.sshOpts;
      const pinned = sshOpts.find((o) => o.startsWith("KnownHostsCommand="));

      const sshKey = only(api.received("POST", "/ssh_keys"), "SSH key");
      expect(sshKey.body.public_key).toBe(client.publicKey);
      const firewall = only(api.received("POST", "/firewalls"), "firewall");
      const rules = firewall.body.rules.map((r: any) => ({
        protocol: r.protocol,
        port: r.port,
        from: r.source_ips,
        direction: r.direction,
      }));
      // A set for the provider (hcloud_firewall rules are a schema.Set): compared in any order.
      expect(rules).toHaveLength(3);
      expect(rules).toEqual(
        expect.arrayContaining([
          { direction: "in", protocol: "tcp", port: "22", from: [`${link.hostAddress}/32`] },
          { direction: "in", protocol: "tcp", port: String(HTTP_PORT), from: [...EVERYWHERE] },
          { direction: "in", protocol: "icmp", port: undefined, from: [...EVERYWHERE] },
        ]),
      );
      const ip = only(api.received("POST", "/primary_ips"), "primary IP");
      expect(ip.body).toMatchObject({ type: "ipv4", location: "fsn1", auto_delete: false });
      const volume = only(api.received("POST", "/volumes"), "volume");
      expect(volume.body).toMatchObject({ size: 20, location: "fsn1", format: "ext4" });

      const created = only(api.received("POST", "/servers"), "server");
      const [ipId] = [...api.primaryIps.keys()];
      const [firewallId] = [...api.firewalls.keys()];
      const [keyId] = [...api.sshKeys.keys()];
      const [volumeInApi] = [...api.volumes.values()];
      const [serverId] = [...api.servers.keys()];
      expect(created.body).toMatchObject({
        name: names(STACK).prefix,
        server_type: "cpx22",
        location: "fsn1",
        ssh_keys: [keyId],
        firewalls: [{ firewall: firewallId }],
        public_net: { enable_ipv4: true, enable_ipv6: false, ipv4: ipId },
      });
      // The image the provider looked up by name and the server type's architecture.
      expect(created.body.image).toBe(IMAGES.find((i) => i.name === "ubuntu-24.04" && i.architecture === "x86")?.id);
      // The user data: the cloud-config with the deploy user, the test's key, the volume's device and
      // the host key whose public half the docker provider pins.
      const userData = readUserData(created.body.user_data);
      expect(userData.deployUser).toBe("deploy");
      expect(userData.authorizedKeys).toEqual([client.publicKey]);
      expect(userData.config.mounts[0].slice(0, 2)).toEqual([volumeInApi.linux_device, "/var/lib/docker/volumes"]);
      const [hostKeyType, hostKeyBlob] = userData.hostPublicKey.split(" ");
      expect(pinned).toContain(`${hostKeyType} ${hostKeyBlob}`);
      // An ephemeral stack: no delete or rebuild protection anywhere, the volume attached to the server.
      expect(api.mutations().filter((r) => r.path.endsWith("/change_protection") && Object.values(r.body).includes(true))).toEqual([]);
      expect([...api.servers.values()].map((s) => s.protection)).toEqual([{ delete: false, rebuild: false }]);
      expect([...api.primaryIps.values()].map((p) => p.protection)).toEqual([{ delete: false }]);
      expect([...api.volumes.values()].map((v) => [v.protection, v.server])).toEqual([[{ delete: false }, serverId]]);
      expect(api.received("POST", /^\/volumes\/\d+\/actions\/attach$/).map((r) => r.body.server)).toEqual([serverId]);
      expect(api.requests.every((r) => r.status < 400)).toBe(true);
    });

    test("pulumi preview --expect-no-changes: exit 0, and the API receives no change", async () => {
      const before = api.requests.length;
      await stack.expectNoChanges();
      expect(api.requests.slice(before).filter((r) => r.method !== "GET")).toEqual([]);
    });

    test("pulumi destroy: the gateway's containers, then the server (shut down first), its firewall, address, key and (ephemeral) volume", async () => {
      await stack.destroy();
      expect(await dockerObjects("container", `label=${names(STACK).label}`)).toEqual([]);
      expect(api.received("POST", /^\/servers\/\d+\/actions\/shutdown$/)).toHaveLength(1);
      for (const collection of [api.servers, api.firewalls, api.primaryIps, api.sshKeys, api.volumes]) {
        expect([...collection.keys()]).toEqual([]);
      }
      expect(server).toBeUndefined();
      expect(api.requests.filter((r) => r.status >= 400)).toEqual([]);
    });
  },
  [requirements.netns(), requirements.sshd()],
);
