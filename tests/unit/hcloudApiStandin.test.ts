/**
 * The Hetzner Cloud API stand-in (tests/fixtures/hcloud/api.ts) held to the documented behaviour
 * the e2e test relies on: the token, Hetzner's error shape, delete protection (423 `protected`),
 * pagination meta, actions that finish only once the server "booted", what deleting a server
 * releases. The real provider's calls against it are exercised by tests/e2e/hetzner.test.ts.
 */
import { HcloudApi } from "../fixtures/hcloud/api";
import { generateSshKey } from "../helpers/sshKeys";

const TOKEN = "t".repeat(64);

describe("the Hetzner Cloud API stand-in", () => {
  let booted: () => void = () => undefined;
  const created: { userData: string; ipv4: string }[] = [];
  const api = new HcloudApi({
    token: TOKEN,
    ipv4For: (name) => (name === "gw-ip" ? "10.213.7.2" : "10.213.7.6"),
    onServerCreated: (server) => {
      created.push(server);
      return new Promise<void>((resolve) => (booted = resolve));
    },
  });
  let base = "";

  const call = async (method: string, path: string, body?: unknown, token = TOKEN) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, ...(body ? { "Content-Type": "application/json" } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, json: text ? JSON.parse(text) : undefined };
  };

  beforeAll(async () => {
    base = await api.start();
  });
  afterAll(() => api.stop());

  test("a wrong token is 401 unauthorized in Hetzner's error shape; an unknown route 404 not_found", async () => {
    expect(await call("GET", "/servers", undefined, "x".repeat(64))).toEqual({
      status: 401,
      json: { error: { code: "unauthorized", message: "unable to authenticate", details: {} } },
    });
    const unknown = await call("GET", "/load_balancers");
    expect(unknown.status).toBe(404);
    expect(unknown.json.error.code).toBe("not_found");
    // A missing resource is not an unknown route; an action the stand-in lacks on an existing path is.
    expect((await call("GET", "/servers/999")).json.error.code).toBe("not_found");
    expect((await call("POST", "/servers/999/actions/rebuild", {})).status).toBe(404);
    expect(api.unknownRoutes().map((r) => `${r.method} ${r.path}`)).toEqual(["GET /load_balancers", "POST /servers/999/actions/rebuild"]);
  });

  test("lists answer pagination meta; images are looked up by name and architecture", async () => {
    const types = await call("GET", "/server_types?per_page=2&page=2");
    expect(types.json.server_types).toHaveLength(2);
    expect(types.json.meta.pagination).toMatchObject({ page: 2, per_page: 2, previous_page: 1 });
    expect(types.json.meta.pagination.total_entries).toBeGreaterThan(4);
    const images = await call("GET", "/images?name=ubuntu-24.04&architecture=arm");
    expect(images.json.images.map((i: any) => [i.name, i.architecture])).toEqual([["ubuntu-24.04", "arm"]]);
  });

  test("a server: created with its primary IP and firewall, its action running until the boot is done, protected from deletion", async () => {
    const key = await call("POST", "/ssh_keys", { name: "gw-key", public_key: generateSshKey("ed25519").publicKey });
    expect(key.json.ssh_key.fingerprint).toMatch(/^([0-9a-f]{2}:){15}[0-9a-f]{2}$/);
    const firewall = await call("POST", "/firewalls", {
      name: "gw-fw",
      rules: [{ direction: "in", protocol: "tcp", port: "22", source_ips: ["10.0.0.0/8"] }],
    });
    expect(firewall.status).toBe(201);
    const badRule = await call("POST", "/firewalls", {
      name: "bad",
      rules: [{ direction: "in", protocol: "icmp", port: "22", source_ips: ["0.0.0.0/0"] }],
    });
    expect(badRule.json.error.code).toBe("invalid_input");
    const ip = await call("POST", "/primary_ips", { name: "gw-ip", type: "ipv4", location: "fsn1", auto_delete: false });
    expect(ip.json.primary_ip).toMatchObject({ ip: "10.213.7.2", assignee_id: null });

    const server = await call("POST", "/servers", {
      name: "gw",
      server_type: "cpx22",
      image: "ubuntu-24.04",
      location: "fsn1",
      ssh_keys: [key.json.ssh_key.id],
      user_data: "#cloud-config\n",
      firewalls: [{ firewall: firewall.json.firewall.id }],
      public_net: { enable_ipv4: true, enable_ipv6: false, ipv4: ip.json.primary_ip.id },
    });
    expect(server.status).toBe(201);
    const id = server.json.server.id;
    expect(created).toEqual([{ id, name: "gw", userData: "#cloud-config\n", ipv4: "10.213.7.2" }]);
    const actionIds = [server.json.action.id, ...server.json.next_actions.map((a: any) => a.id)];
    const poll = async () =>
      (await call("GET", `/actions?${actionIds.map((a) => `id=${a}`).join("&")}`)).json.actions.map((a: any) => a.status);
    expect(await poll()).toEqual(["running", "running"]);
    booted();
    await new Promise((r) => setTimeout(r, 10));
    expect(await poll()).toEqual(["success", "success"]);
    const shown = (await call("GET", `/servers/${id}`)).json.server;
    expect(shown).toMatchObject({
      status: "running",
      public_net: { ipv4: { ip: "10.213.7.2" }, firewalls: [{ id: firewall.json.firewall.id, status: "applied" }] },
    });

    // Delete protection: 423 protected for the server, the primary IP and the volume, until lifted.
    await call("POST", `/servers/${id}/actions/change_protection`, { delete: true, rebuild: true });
    expect(await call("DELETE", `/servers/${id}`)).toMatchObject({ status: 423, json: { error: { code: "protected" } } });
    await call("POST", `/primary_ips/${ip.json.primary_ip.id}/actions/change_protection`, { delete: true });
    expect((await call("DELETE", `/primary_ips/${ip.json.primary_ip.id}`)).status).toBe(423);
    const volume = await call("POST", "/volumes", { name: "gw-data", size: 20, location: "fsn1", format: "ext4" });
    expect(volume.json.volume.linux_device).toBe(`/dev/disk/by-id/scsi-0HC_Volume_${volume.json.volume.id}`);
    await call("POST", `/volumes/${volume.json.volume.id}/actions/change_protection`, { delete: true });
    expect((await call("DELETE", `/volumes/${volume.json.volume.id}`)).status).toBe(423);
    await call("POST", `/servers/${id}/actions/change_protection`, { delete: false, rebuild: false });
    await call("POST", `/volumes/${volume.json.volume.id}/actions/attach`, { server: id });

    // Deleting the server releases its volume, firewall and (kept, auto_delete false) primary IP.
    expect((await call("DELETE", `/servers/${id}`)).status).toBe(200);
    expect((await call("GET", `/volumes/${volume.json.volume.id}`)).json.volume.server).toBeNull();
    expect((await call("GET", `/firewalls/${firewall.json.firewall.id}`)).json.firewall.applied_to).toEqual([]);
    expect((await call("GET", `/primary_ips/${ip.json.primary_ip.id}`)).json.primary_ip.assignee_id).toBeNull();
    expect((await call("GET", `/servers/${id}`)).status).toBe(404);
  });

  test("names are unique per kind (409 uniqueness_error), and so are SSH keys' fingerprints", async () => {
    const publicKey = generateSshKey("ed25519").publicKey;
    expect((await call("POST", "/ssh_keys", { name: "k1", public_key: publicKey })).status).toBe(201);
    expect((await call("POST", "/ssh_keys", { name: "k2", public_key: publicKey })).json.error.code).toBe("uniqueness_error");
    expect((await call("POST", "/firewalls", { name: "gw-fw" })).json.error.code).toBe("uniqueness_error");
  });
});
