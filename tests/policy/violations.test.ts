/**
 * Each rule of the pack (policy/policies.ts), and each part of a rule, against a hand-built
 * resource that breaks it: the right policy reports it, with a message that names the resource and
 * what to change (and never the secret it found). A compliant container, volume, image and
 * firewall come first: nothing is reported for them, so each case's report is its one change's.
 */
import { policies, POLICY_NAMES } from "../../policy/policies";
import { PolicySubject, violations } from "../helpers/policyArgs";
import { SECRET_SIG } from "../helpers/program";

const SIG_KEY = "4dabf18193072939515e22adb298388d";
const secret = (value: unknown) => ({ [SIG_KEY]: SECRET_SIG, value });
/** The wire sentinel of a string not known during a preview. */
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

const CONTAINER = "docker:index/container:Container";
const IMAGE_ID = `sha256:${"a".repeat(64)}`;
const PASSWORD = "hunter2-correct-horse";
const API_KEY = `sk-${"Q".repeat(40)}`;

function container(inputs: Record<string, any> = {}, options: PolicySubject["options"] = {}): PolicySubject {
  return {
    type: CONTAINER,
    name: "web",
    wireInputs: {
      name: "demo-web",
      image: IMAGE_ID,
      restart: "unless-stopped",
      logDriver: "json-file",
      logOpts: { "max-size": "10m", "max-file": "3" },
      memory: 256,
      memorySwap: 256,
      securityOpts: ["no-new-privileges=true"],
      healthcheck: { tests: ["CMD", "true"], interval: "10s", timeout: "5s", startPeriod: "1m0s", retries: 3 },
      networkMode: "bridge",
      capabilities: { drops: ["ALL"], adds: ["CAP_CHOWN"] },
      labels: [{ label: "ai-gateway.service", value: "web" }],
      envs: ["MODE=prod", "ENABLE_API_KEY=True", "POSTGRES_PASSWORD_FILE=/run/secrets/pg", secret(`POSTGRES_PASSWORD=${PASSWORD}`)],
      ...inputs,
    },
    options: { deleteBeforeReplace: true, ...options },
  };
}

function proxy(ports: Record<string, any>[]): PolicySubject {
  return container({ name: "demo-nginx", labels: [{ label: "ai-gateway.service", value: "nginx" }], ports });
}

const dataVolume = (inputs: Record<string, any> = {}, ignoreChanges = ["name", "driver"]): PolicySubject => ({
  type: "docker:index/volume:Volume",
  name: "gw-postgres-data",
  wireInputs: { name: "demo-postgres-data", driver: "local", ...inputs },
  options: { ignoreChanges },
});

const remoteImage = (name: string, extra: Record<string, any> = {}): PolicySubject => ({
  type: "docker:index/remoteImage:RemoteImage",
  name: "web-image",
  wireInputs: { name, keepLocally: true, ...extra },
});

const firewall = (rules: Record<string, any>[], labels: Record<string, string> = {}): PolicySubject => ({
  type: "hcloud:index/firewall:Firewall",
  name: "gw-vps-firewall",
  wireInputs: { name: "demo", rules, labels: { "ai-gateway.gateway": "demo", ...labels } },
});

const sshRule = (port: string, sourceIps: string[]) => ({ direction: "in", protocol: "tcp", port, sourceIps, description: "ssh" });

const COMPLIANT: [string, PolicySubject][] = [
  ["a hardened container", container()],
  [
    "a never-started config filler (no healthcheck, memory or restart)",
    container({ start: false, mustRun: false, restart: "no", healthcheck: undefined, memory: undefined, memorySwap: undefined }),
  ],
  [
    "nginx with the admin listener on 127.0.0.1",
    proxy([
      { internal: 8080, external: 80, ip: "0.0.0.0" },
      { internal: 8081, external: 4001, ip: "127.0.0.1" },
    ]),
  ],
  ["a data volume with fixed inputs", dataVolume()],
  [
    "another volume with labels (not *-data)",
    {
      type: "docker:index/volume:Volume",
      name: "gw-nginx-config",
      wireInputs: { name: "x-config-1", labels: [{ label: "a", value: "b" }] },
    },
  ],
  ["an image pinned to a version", remoteImage("ghcr.io/berriai/litellm:v1.110.1")],
  ["an image pinned to a digest", remoteImage(`postgres:16.15-trixie@sha256:${"b".repeat(64)}`)],
  ["a firewall with SSH from one network", firewall([sshRule("22", ["198.51.100.7/32"]), sshRule("80", ["0.0.0.0/0", "::/0"])])],
  [
    "a firewall with SSH from anywhere, labelled so",
    firewall([sshRule("22", ["0.0.0.0/0", "::/0"])], { "ai-gateway.ssh-from-anywhere": "true" }),
  ],
  [
    "uploaded files that only refer to credentials or merely mention them",
    container({
      uploads: [
        {
          file: "/app/config.yaml",
          content: "general_settings:\n  master_key: os.environ/LITELLM_MASTER_KEY\n  database_url: ${DATABASE_URL}\n",
        },
        { file: "/etc/nginx.conf", content: "server_tokens off;\nproxy_set_header Authorization $http_authorization;\n" },
      ],
    }),
  ],
  ["a container whose healthcheck and restart are not known yet", container({ healthcheck: UNKNOWN, restart: UNKNOWN, memory: UNKNOWN })],
];

describe("compliant resources", () => {
  test.each(COMPLIANT)("%s: nothing reported", async (_label, subject) => {
    expect(await violations(policies, [subject])).toEqual([]);
  });
});

/** [case, resource, policy that must report, what the message must say]. */
const CASES: [string, PolicySubject, string, RegExp][] = [
  // container-healthcheck
  [
    "no healthcheck",
    container({ healthcheck: undefined }),
    "container-healthcheck",
    /docker container "demo-web" \(resource web\) has no healthcheck: set healthcheck.tests/,
  ],
  ["healthcheck NONE", container({ healthcheck: { tests: ["NONE"] } }), "container-healthcheck", /"demo-web" .* has no healthcheck/],
  // container-memory-limit
  [
    "no memory limit",
    container({ memory: undefined, memorySwap: undefined }),
    "container-memory-limit",
    /"demo-web" .* has no memory limit: set memory \(MB\) and memorySwap to the same value/,
  ],
  [
    "swap above the limit",
    container({ memorySwap: 512 }),
    "container-memory-limit",
    /has memory 256 MB but memorySwap 512: set memorySwap to 256/,
  ],
  [
    "swap unset",
    container({ memorySwap: undefined }),
    "container-memory-limit",
    /has memory 256 MB but memorySwap unset: set memorySwap to 256/,
  ],
  // container-restart-policy
  ["restart no", container({ restart: "no" }), "container-restart-policy", /"demo-web" .* has restart no: set restart to unless-stopped/],
  ["restart unset", container({ restart: undefined }), "container-restart-policy", /has restart unset \(no\)/],
  // container-log-rotation
  [
    "another log driver",
    container({ logDriver: "syslog" }),
    "container-log-rotation",
    /"demo-web" .* logs with driver syslog: set logDriver json-file and logOpts/,
  ],
  [
    "no log driver",
    container({ logDriver: undefined, logOpts: undefined }),
    "container-log-rotation",
    /logs with driver unset \(the daemon's default\) without max-size and max-file/,
  ],
  [
    "no max-file",
    container({ logOpts: { "max-size": "10m" } }),
    "container-log-rotation",
    /logs to json-file without max-file: set logDriver json-file/,
  ],
  // container-no-new-privileges
  [
    "no security options",
    container({ securityOpts: [] }),
    "container-no-new-privileges",
    /"demo-web" .* lacks no-new-privileges: add "no-new-privileges=true" to securityOpts/,
  ],
  [
    "no-new-privileges off",
    container({ securityOpts: ["no-new-privileges=false"] }),
    "container-no-new-privileges",
    /lacks no-new-privileges/,
  ],
  // images-pinned
  [
    "container image :latest",
    container({ image: "nginx:latest" }),
    "images-pinned",
    /"demo-web" .* uses image nginx:latest, and its tag latest follows new releases: pin a version tag/,
  ],
  [
    "image without a tag",
    remoteImage("127.0.0.1:5000/litellm"),
    "images-pinned",
    /docker image resource web-image uses image 127.0.0.1:5000\/litellm, and it has no tag, which means latest/,
  ],
  ["image on a bare major", remoteImage("postgres:16"), "images-pinned", /its tag 16 does not name a version \(major.minor at least\)/],
  ["image on a variant tag", remoteImage("redis:alpine"), "images-pinned", /its tag alpine follows new releases/],
  ["image with a broken digest", remoteImage("redis@sha256:abc"), "images-pinned", /its digest is not sha256: followed by 64 hex digits/],
  // host-ports-reverse-proxy-only
  [
    "a service publishing a port",
    container({ ports: [{ internal: 5432, external: 5432, ip: "127.0.0.1" }] }),
    "host-ports-reverse-proxy-only",
    /"demo-web" .* publishes host ports, but only the reverse proxy may/,
  ],
  [
    "a service on the host's network",
    container({ networkMode: "host" }),
    "host-ports-reverse-proxy-only",
    /"demo-web" .* uses the host's network/,
  ],
  [
    "the admin listener on every interface",
    proxy([{ internal: 8081, external: 4001, ip: "0.0.0.0" }]),
    "host-ports-reverse-proxy-only",
    /"demo-nginx" .* publishes the admin listener \(container port 8081\) on 0.0.0.0: bind it to 127.0.0.1 \(adminBindAddress\), or add 0.0.0.0 to adminBindAllowList/,
  ],
  [
    "the admin listener without an address",
    proxy([{ internal: 8081, external: 4001 }]),
    "host-ports-reverse-proxy-only",
    /admin listener .* on 0.0.0.0/,
  ],
  // no-plain-secrets
  [
    "a password in a plain variable",
    container({ envs: [`POSTGRES_PASSWORD=${PASSWORD}`] }),
    "no-plain-secrets",
    /docker:index\/container:Container web: envs\[0\] holds a credential in POSTGRES_PASSWORD in plain text: mark it secret/,
  ],
  [
    "an sk- key in a command",
    container({ command: ["--key", API_KEY] }),
    "no-plain-secrets",
    /web: command\[1\] holds an sk- API key in plain text/,
  ],
  [
    "a PEM private key in an upload",
    container({ uploads: [{ file: "/k.pem", content: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n" }] }),
    "no-plain-secrets",
    /uploads\[0\].content holds a PEM private key/,
  ],
  [
    "requirepass in an uploaded redis.conf",
    container({ uploads: [{ file: "/etc/redis.conf", content: `maxmemory 32mb\nrequirepass ${PASSWORD}\n` }] }),
    "no-plain-secrets",
    /uploads\[0\]\.content holds a credential in a requirepass line/,
  ],
  [
    "a password key in an uploaded YAML file",
    container({ uploads: [{ file: "/app/config.yaml", content: `general_settings:\n  master_key: ${API_KEY.slice(3)}\n` }] }),
    "no-plain-secrets",
    /uploads\[0\]\.content holds a credential in a master_key line/,
  ],
  [
    "a URL with a password",
    container({ envs: [`DATABASE_URL=postgresql://litellm:${PASSWORD}@postgres:5432/litellm`] }),
    "no-plain-secrets",
    /envs\[0\] holds a URL with a password/,
  ],
  [
    "a provider's password field",
    {
      type: "pulumi:providers:docker",
      name: "gw-docker",
      wireInputs: { registryAuth: [{ address: "ghcr.io", username: "me", password: PASSWORD }] },
    },
    "no-plain-secrets",
    /pulumi:providers:docker gw-docker: registryAuth\[0\].password holds a credential in password/,
  ],
  // healthcheck-durations-canonical
  [
    "90s",
    container({ healthcheck: { tests: ["CMD", "true"], interval: "90s" } }),
    "healthcheck-durations-canonical",
    /"demo-web" .* healthcheck.interval: 90s reads back as 1m30s; write 1m30s/,
  ],
  [
    "1m",
    container({ healthcheck: { tests: ["CMD", "true"], startPeriod: "1m" } }),
    "healthcheck-durations-canonical",
    /healthcheck.startPeriod: 1m reads back as 1m0s; write 1m0s/,
  ],
  [
    "a fraction of a second",
    container({ healthcheck: { tests: ["CMD", "true"], timeout: "1.5s" } }),
    "healthcheck-durations-canonical",
    /healthcheck.timeout: 1.5s is not a whole number of seconds/,
  ],
  [
    "not a duration",
    container({ healthcheck: { tests: ["CMD", "true"], interval: "10 seconds" } }),
    "healthcheck-durations-canonical",
    /healthcheck.interval: 10 seconds is not a Go duration/,
  ],
  // data-volumes-never-replaced
  [
    "a data volume whose name may change",
    dataVolume({}, ["driver"]),
    "data-volumes-never-replaced",
    /docker volume resource gw-postgres-data does not ignore changes to name: a new value would replace it with an empty volume/,
  ],
  [
    "a data volume with labels",
    dataVolume({ labels: [{ label: "ai-gateway.gateway", value: "demo" }] }),
    "data-volumes-never-replaced",
    /gw-postgres-data sets labels, and any change to it replaces the volume with an empty one/,
  ],
  // firewall-ssh-not-open
  [
    "SSH from every IPv4 address",
    firewall([sshRule("22", ["0.0.0.0/0"])]),
    "firewall-ssh-not-open",
    /hcloud firewall resource gw-vps-firewall: rules\[0\] opens tcp 22 \(SSH\) to 0.0.0.0\/0: list your own networks in vpsSshAllowedCidrs, or set vpsSshFromAnywhere: true/,
  ],
  [
    "every port from every IPv6 address",
    firewall([sshRule("any", ["198.51.100.7/32", "::/0"])]),
    "firewall-ssh-not-open",
    /rules\[0\] opens tcp any \(SSH\) to ::\/0/,
  ],
  ["a port range over 22", firewall([sshRule("1-1024", ["0.0.0.0/0"])]), "firewall-ssh-not-open", /opens tcp 1-1024 \(SSH\)/],
  // convergence-traps (advisory)
  [
    "an image by name",
    container({ image: "nginx:1.30.5-alpine" }),
    "convergence-traps",
    /"demo-web" .* names its image \(nginx:1.30.5-alpine\) instead of an id/,
  ],
  [
    "ports out of order",
    proxy([
      { internal: 8081, external: 4001, ip: "127.0.0.1" },
      { internal: 8080, external: 80, ip: "0.0.0.0" },
    ]),
    "convergence-traps",
    /lists ports out of order/,
  ],
  [
    "a port on ::",
    proxy([{ internal: 8080, external: 80, ip: "::" }]),
    "convergence-traps",
    /publishes a port on "::": dual-stack bindings replace the container/,
  ],
  [
    "a capability without CAP_",
    container({ capabilities: { drops: ["ALL"], adds: ["CHOWN"] } }),
    "convergence-traps",
    /adds capabilities CHOWN without the CAP_ prefix .*: write CAP_CHOWN/,
  ],
  ["networkMode unset", container({ networkMode: undefined }), "convergence-traps", /leaves networkMode unset/],
  [
    "a fixed name without deleteBeforeReplace",
    container({}, { deleteBeforeReplace: false }),
    "convergence-traps",
    /has a fixed name but no deleteBeforeReplace/,
  ],
  [
    "a never-started container that must run",
    container({ start: false }),
    "convergence-traps",
    /is never started but mustRun is not false/,
  ],
  [
    "an image that is not kept",
    remoteImage("nginx:1.30.5-alpine", { keepLocally: false }),
    "convergence-traps",
    /docker image resource web-image has no keepLocally: true/,
  ],
  [
    "a server whose user data may change",
    {
      type: "hcloud:index/server:Server",
      name: "gw-vps-server",
      wireInputs: { name: "demo", serverType: "cx23", userData: secret("#cloud-config") },
    },
    "convergence-traps",
    /hcloud server resource gw-vps-server does not ignore changes to userData/,
  ],
];

describe("violations", () => {
  test.each(CASES.map(([label, subject, policy, message]) => [label, policy, subject, message] as const))(
    "%s: reported by %s",
    async (_label, policy, subject, message) => {
      const found = await violations(policies, [subject]);
      expect(found.map((v) => v.policy)).toContain(policy);
      expect(found.filter((v) => v.policy === policy).map((v) => v.message)).toEqual([expect.stringMatching(message)]);
      // The secret a message is about is never in it.
      for (const v of found) {
        expect(v.message).not.toContain(PASSWORD);
        expect(v.message).not.toContain(API_KEY);
      }
    },
  );

  test("every policy has at least one case", () => {
    expect(new Set(CASES.map(([, , policy]) => policy))).toEqual(new Set(POLICY_NAMES));
  });

  test("an allow-listed address may carry the admin listener; others still may not", async () => {
    const config = { "host-ports-reverse-proxy-only": { adminBindAllowList: ["10.8.0.1"] } };
    expect(await violations(policies, [proxy([{ internal: 8081, external: 4001, ip: "10.8.0.1" }])], config)).toEqual([]);
    const found = await violations(policies, [proxy([{ internal: 8081, external: 4001, ip: "10.8.0.2" }])], config);
    expect(found.map((v) => v.message)).toEqual([expect.stringMatching(/on 10.8.0.2: bind it to 127.0.0.1/)]);
  });

  test("a secret the program marked is not reported; the same value unmarked is", async () => {
    expect(
      await violations(policies, [container({ envs: [secret(`POSTGRES_PASSWORD=${PASSWORD}`)], command: [secret(API_KEY)] })]),
    ).toEqual([]);
    const found = await violations(policies, [container({ envs: [`POSTGRES_PASSWORD=${PASSWORD}`], command: [API_KEY] })]);
    expect(found.map((v) => v.message)).toEqual([
      expect.stringMatching(/envs\[0\] holds a credential/),
      expect.stringMatching(/command\[0\] holds an sk- API key/),
    ]);
  });

  test("the enforcement levels: advisory for the convergence traps, mandatory for every other policy", () => {
    expect(Object.fromEntries(policies.map((p) => [p.name, p.enforcementLevel]))).toEqual(
      Object.fromEntries(POLICY_NAMES.map((name) => [name, name === "convergence-traps" ? "advisory" : "mandatory"])),
    );
    for (const p of policies) {
      expect(p.description.length).toBeGreaterThan(60);
    }
  });
});
