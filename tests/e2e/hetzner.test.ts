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
import { changes, dockerObjects, Stack, Workspace } from "./harness";
import { allHealthy, names, publicChecks, removeLeftovers, useLocalImages, virtualKeys } from "./gateway";
import { describeE2E } from "./requirements";

/** The one request of a kind; fails when there are none or several. */
function only(requests: RecordedRequest[], what: string): RecordedRequest {
  if (requests.length !== 1) {
    throw new Error(`expected one ${what}, the stand-in received ${requests.length}`);
  }
  return requests[0];
}

/**
 * A VPS stack of the program with its own API stand-in and netns server: the stand-in hands out
 * the server's address as the primary IPv4, boots the server on POST /servers and stops it when
 * the server is deleted. setUp() writes the stack's settings; tearDown() removes whatever is left.
 */
class VpsStack {
  readonly workspace: Workspace;
  readonly stack: Stack;
  readonly client = generateSshKey("ed25519");
  readonly link = freeLink();
  readonly api: HcloudApi;
  server: NetnsServer | undefined;
  /** The stand-in's base URL, once setUp() started it. */
  endpoint = "";
  private keyDir = "";

  constructor(
    readonly name: string,
    readonly settings: { ephemeral: boolean; httpPort: number; adminPort: number },
  ) {
    this.workspace = new Workspace(`hetzner-${name}`);
    this.stack = this.workspace.stack(name);
    this.api = new HcloudApi({
      token: HCLOUD_TOKEN,
      ipv4For: () => this.link.address,
      onServerCreated: async (created) => {
        this.server = await NetnsServer.boot(created.userData, this.link);
      },
      onServerDeleted: () => {
        this.server?.dispose();
        this.server = undefined;
      },
    });
  }

  async setUp(): Promise<void> {
    this.keyDir = fs.mkdtempSync(path.join(os.tmpdir(), "ai-gateway-e2e-hetzner-"));
    const clientKeyFile = path.join(this.keyDir, "deploy_key");
    fs.writeFileSync(clientKeyFile, this.client.privateKey, { mode: 0o600 });
    const endpoint = (this.endpoint = await this.api.start());
    await removeLeftovers(this.name, { volumes: true });
    await this.stack.init();
    await useLocalImages(this.stack);
    for (const [key, value] of Object.entries({
      profile: "small",
      ephemeral: String(this.settings.ephemeral),
      httpPort: String(this.settings.httpPort),
      adminPort: String(this.settings.adminPort),
      vps: "true",
    })) {
      await this.stack.set(key, value);
    }
    await this.stack.set("vpsSshPublicKeys[0]", this.client.publicKey, { path: true });
    // SSH only from this machine's end of the link, the address the deploy connects from.
    await this.stack.set("vpsSshAllowedCidrs[0]", `${this.link.hostAddress}/32`, { path: true });
    await this.stack.set("dockerSshOpts[0]", "-i", { path: true });
    await this.stack.set("dockerSshOpts[1]", clientKeyFile, { path: true });
    await this.workspace.pulumi(["--stack", this.name, "config", "set", "--plaintext", "hcloud:endpoint", endpoint]);
    await this.workspace.pulumi(["--stack", this.name, "config", "set", "--secret", "hcloud:token", HCLOUD_TOKEN]);
  }

  /** A request to the stand-in as another API client would make it (a person in the Cloud Console, say). */
  async call(method: string, path: string, body: unknown): Promise<number> {
    const answer = await fetch(`${this.endpoint}${path}`, {
      method,
      headers: { Authorization: `Bearer ${HCLOUD_TOKEN}`, "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    return answer.status;
  }

  async tearDown(): Promise<void> {
    await this.stack.destroy({ allowFailure: true });
    await removeLeftovers(this.name, { volumes: true });
    this.server?.dispose();
    await this.api.stop();
    this.workspace.remove();
    if (this.keyDir) {
      fs.rmSync(this.keyDir, { recursive: true, force: true });
    }
  }
}

/** Beyond the e2e suite's own: the netns server needs network namespaces and sshd. */
const requires = [requirements.netns(), requirements.sshd()];

describeE2E(
  "a VPS stack against the Hetzner Cloud API stand-in, deployed onto a netns server over ssh",
  () => {
    const vps = new VpsStack("vps", { ephemeral: true, httpPort: 18480, adminPort: 14481 });
    const { stack, api, link, client } = vps;
    const STACK = vps.name;
    const HTTP_PORT = vps.settings.httpPort;

    beforeAll(() => vps.setUp());
    afterAll(() => vps.tearDown());

    test("a wrong hcloud:token: pulumi up fails with the API's 401 in the provider's words, and nothing is created", async () => {
      const setToken = (token: string) => vps.workspace.pulumi(["--stack", STACK, "config", "set", "--secret", "hcloud:token", token]);
      await setToken("w".repeat(64));
      const result = await stack.up([], { allowFailure: true });
      expect(result.result.code).not.toBe(0);
      expect(result.result.stdout + result.result.stderr).toMatch(/unable to authenticate \(unauthorized/);
      expect(api.requests.length).toBeGreaterThan(0);
      expect(api.requests.every((r) => r.status === 401)).toBe(true);
      for (const collection of [api.servers, api.firewalls, api.primaryIps, api.sshKeys, api.volumes]) {
        expect(collection.size).toBe(0);
      }
      await setToken(HCLOUD_TOKEN);
      // The next tests count requests from here.
      api.requests.splice(0);
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
      expect(vps.server).toBeUndefined();
      expect(api.unknownRoutes()).toEqual([]);
      expect(api.requests.filter((r) => r.status >= 400)).toEqual([]);
    });
  },
  requires,
);

describeE2E(
  "a non-ephemeral VPS stack: Hetzner's delete and rebuild protection, destroy refused, the volume kept",
  () => {
    const vps = new VpsStack("vps-kept", { ephemeral: false, httpPort: 18482, adminPort: 14483 });
    const { stack, api, workspace } = vps;
    const serverId = () => [...api.servers.keys()][0];

    beforeAll(() => vps.setUp());
    afterAll(async () => {
      // Whatever a failed test left protected: lifted at the API and in the state, so tearDown can delete it.
      for (const id of api.servers.keys()) {
        await vps.call("POST", `/servers/${id}/actions/change_protection`, { delete: false, rebuild: false });
      }
      for (const id of api.primaryIps.keys()) {
        await vps.call("POST", `/primary_ips/${id}/actions/change_protection`, { delete: false });
      }
      await workspace.pulumi(["--stack", vps.name, "state", "unprotect", "--all", "--yes"], { allowFailure: true });
      await vps.tearDown();
    });

    test("pulumi up: delete and rebuild protection on the server, delete protection on the address and the volume", async () => {
      await stack.up();
      await allHealthy(vps.name);
      expect(api.received("POST", /\/change_protection$/).map((r) => [r.path.split("/")[1], r.body])).toEqual(
        expect.arrayContaining([
          ["servers", { delete: true, rebuild: true }],
          ["primary_ips", { delete: true }],
          ["volumes", { delete: true }],
        ]),
      );
      expect([...api.servers.values()].map((s) => s.protection)).toEqual([{ delete: true, rebuild: true }]);
      expect([...api.primaryIps.values()].map((p) => p.protection)).toEqual([{ delete: true }]);
      expect([...api.volumes.values()].map((v) => v.protection)).toEqual([{ delete: true }]);
    });

    test("a bigger server type and backups: resized in place (powered off, change_type), backups enabled, nothing replaced; the readiness gate powers the server on again and the gateway is healthy", async () => {
      const id = serverId();
      const before = api.requests.length;
      await stack.set("vpsServerType", "cpx32");
      await stack.set("vpsBackups", "true");
      const { steps } = await stack.up();
      expect(changes(steps)).toEqual(["update HostReady ai-gateway-vps-ready", "update Server ai-gateway-vps-server"]);
      const calls = api.requests
        .slice(before)
        .filter((r) => r.method !== "GET")
        .map((r) => `${r.method} ${r.path} ${JSON.stringify(r.body ?? {})}`);
      // terraform-provider-hcloud v1.68.0 resourceServerUpdate: poweroff if running, change_type
      // (upgrade_disk unless keep_disk), then backups; it never powers the server on again. The
      // readiness gate (its input serverType changed) does, through the API, before waiting for SSH.
      expect(calls).toEqual([
        `POST /servers/${id}/actions/poweroff {}`,
        `POST /servers/${id}/actions/change_type {"server_type":"cpx32","upgrade_disk":true}`,
        `POST /servers/${id}/actions/enable_backup {}`,
        `POST /servers/${id}/actions/poweron {}`,
      ]);
      expect(api.servers.get(id)).toMatchObject({ serverType: "cpx32", backups: true, status: "running" });
      expect((await stack.outputs()).vps.serverType).toBe("cpx32");
      expect(Object.values(await allHealthy(vps.name)).every((state) => state === "healthy")).toBe(true);
      await stack.expectNoChanges();
    });

    test("pulumi destroy is refused by Pulumi's protect before anything is deleted, at the API or on the server", async () => {
      const before = api.requests.length;
      const result = await stack.destroy({ allowFailure: true });
      expect(result.code).not.toBe(0);
      expect(result.stdout + result.stderr).toMatch(/protect/i);
      expect(api.requests.slice(before).filter((r) => r.method !== "GET")).toEqual([]);
      expect(Object.values(await allHealthy(vps.name)).every((state) => state === "healthy")).toBe(true);
    });

    test("with Pulumi's protect lifted, Hetzner's refuses: DELETE of the server answers 423 protected, and the server stays", async () => {
      await workspace.pulumi(["--stack", vps.name, "state", "unprotect", "--all", "--yes"]);
      const id = serverId();
      const result = await stack.destroy({ allowFailure: true });
      expect(result.code).not.toBe(0);
      expect(api.received("DELETE", `/servers/${id}`).map((r) => r.status)).toEqual([423]);
      expect(result.stdout + result.stderr).toContain("protected");
      expect([...api.servers.keys()]).toEqual([id]);
      // What a refused destroy has done by then: the gateway's containers, which depend on the
      // server, are gone, and the server was shut down (shutdownBeforeDeletion) before Hetzner refused.
      expect(await dockerObjects("container", `label=${names(vps.name).label}`)).toEqual([]);
      expect(api.received("POST", `/servers/${id}/actions/shutdown`)).toHaveLength(1);
      expect(api.servers.get(id)?.status).toBe("off");
    });

    test("protection lifted at Hetzner too (as in the Cloud Console): destroy removes the server, address, firewall and key, and keeps the volume", async () => {
      await vps.call("POST", `/servers/${serverId()}/actions/change_protection`, { delete: false, rebuild: false });
      for (const id of api.primaryIps.keys()) {
        await vps.call("POST", `/primary_ips/${id}/actions/change_protection`, { delete: false });
      }
      const [volumeId] = [...api.volumes.keys()];
      await stack.destroy();
      for (const collection of [api.servers, api.firewalls, api.primaryIps, api.sshKeys]) {
        expect([...collection.keys()]).toEqual([]);
      }
      // Retained (not ephemeral): still at Hetzner, detached, still protected, never asked to be deleted.
      expect([...api.volumes.values()].map((v) => [v.id, v.server, v.protection])).toEqual([[volumeId, null, { delete: true }]]);
      expect(api.received("DELETE", `/volumes/${volumeId}`)).toEqual([]);
      expect(api.unknownRoutes()).toEqual([]);
    });
  },
  requires,
);
