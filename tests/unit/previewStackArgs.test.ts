/** The preview-stack tool's command line, tags and sweep choice (tools/previewStackArgs.ts). */
import {
  creationTags,
  dockerHostInState,
  dockerObjectsInState,
  formatDuration,
  gatewayLabel,
  isPreviewStack,
  parseCommand,
  PREVIEW_TAGS,
  stackName,
  sweepPlan,
  UsageError,
} from "../../tools/previewStackArgs";

const H = 3_600_000;

function usageError(argv: string[]): string {
  try {
    parseCommand(argv);
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    const message = (e as Error).message;
    expect(message).not.toContain("\n");
    return message;
  }
  throw new Error(`expected ${JSON.stringify(argv)} to be refused`);
}

describe("parseCommand", () => {
  test("up with --set values (kept in order, values may hold '=') and a secrets provider", () => {
    expect(
      parseCommand([
        "up",
        "pr-123",
        "--set",
        "dockerHost=unix:///var/run/docker.sock",
        "--set",
        "publicUrl=http://a.example:8080",
        "--secrets-provider",
        "passphrase",
      ]),
    ).toEqual({
      kind: "up",
      name: "pr-123",
      settings: [
        ["dockerHost", "unix:///var/run/docker.sock"],
        ["publicUrl", "http://a.example:8080"],
      ],
      secretsProvider: "passphrase",
      policyPacks: [],
      policyPackConfigs: [],
    });
    expect(parseCommand(["up", "pr-1", "--set", "litellmImage=a=b"])).toEqual({
      kind: "up",
      name: "pr-1",
      settings: [["litellmImage", "a=b"]],
      policyPacks: [],
      policyPackConfigs: [],
    });
    expect(parseCommand(["up", "pr-1", "--policy-pack", "policy", "--policy-pack-config", "policy/config.json"])).toEqual({
      kind: "up",
      name: "pr-1",
      settings: [],
      policyPacks: ["policy"],
      policyPackConfigs: ["policy/config.json"],
    });
  });

  test("smoke passes every later argument on; down takes a name; sweep its options; help", () => {
    expect(parseCommand(["smoke", "pr-1", "--skip-convergence", "--public-url", "http://x"])).toEqual({
      kind: "smoke",
      name: "pr-1",
      smokeArgs: ["--skip-convergence", "--public-url", "http://x"],
    });
    expect(parseCommand(["down", "pr-1"])).toEqual({ kind: "down", name: "pr-1" });
    expect(parseCommand(["sweep"])).toEqual({ kind: "sweep", dryRun: false });
    expect(parseCommand(["sweep", "--older-than", "90m", "--dry-run"])).toEqual({ kind: "sweep", olderThanMs: 90 * 60_000, dryRun: true });
    expect(parseCommand([])).toEqual({ kind: "help" });
    expect(parseCommand(["--help"])).toEqual({ kind: "help" });
  });

  test.each([
    [["deploy", "pr-1"], /^preview-stack: unknown command "deploy"; commands: up, smoke, down, sweep$/],
    [["up"], /^preview-stack: stack name "" is not allowed: lower-case letters, digits and '-'/],
    [["up", "PR-1"], /stack name "PR-1" is not allowed/],
    [["down", "-pr"], /stack name "-pr" is not allowed/],
    [["down", "pr_1"], /stack name "pr_1" is not allowed/],
    [["down", "a".repeat(41)], /is not allowed: .* at most 40 characters/],
    [["down", "pr-1", "pr-2"], /^preview-stack: down takes one stack name, not 2$/],
    [["up", "pr-1", "--set", "profile"], /--set "profile" must be key=value/],
    [["up", "pr-1", "--set"], /--set "" must be key=value/],
    [["up", "pr-1", "--set", "profle=small"], /--set profle: is not a setting of ai-gateway/],
    [["up", "pr-1", "--set", "masterKey=sk-abc"], /--set masterKey: is a secret, which a command line would show/],
    [["up", "pr-1", "--set", "ephemeral=false"], /a preview stack is always ephemeral/],
    [["up", "pr-1", "--yes"], /up: unknown argument "--yes"/],
    [["up", "pr-1", "--policy-pack"], /up: unknown argument "--policy-pack"; allowed: .*--policy-pack DIR/],
    [["up", "pr-1", "--policy-pack-config", "policy/config.json"], /^preview-stack: up: --policy-pack-config needs a --policy-pack/],
    [["sweep", "--older-than", "1w"], /^preview-stack: --older-than "1w" must be a positive whole number of minutes, hours or days/],
    [["sweep", "--older-than", "0h"], /--older-than "0h" must be/],
    [["sweep", "--older-than"], /--older-than "" must be/],
    [["sweep", "--force"], /sweep: unknown argument "--force"/],
  ])("%j is refused with one line", (argv, expected) => {
    expect(usageError(argv)).toMatch(expected);
  });

  test("a secret value given by mistake is never repeated in the refusal", () => {
    expect(usageError(["up", "pr-1", "--set", "masterKey=sk-do-not-print-me-0123456789abcdef"])).not.toContain("do-not-print");
  });
});

test("stackName accepts the allowed shapes", () => {
  expect(stackName("pr-123")).toBe("pr-123");
  expect(stackName("7")).toBe("7");
  expect(stackName("a".repeat(40))).toBe("a".repeat(40));
});

test("creation tags: preview, the ISO creation time and the TTL", () => {
  const tags = creationTags(new Date("2026-12-01T03:00:00Z"), "12h");
  expect(tags).toEqual({ "ai-gateway:preview": "true", "ai-gateway:created": "2026-12-01T03:00:00.000Z", "ai-gateway:ttl": "12h" });
  expect(isPreviewStack(tags)).toBe(true);
  expect(isPreviewStack({ "ai-gateway:preview": "false" })).toBe(false);
  expect(isPreviewStack({})).toBe(false);
});

describe("sweepPlan", () => {
  const now = new Date("2026-12-02T12:00:00Z");
  const preview = (created: string, ttl?: string) => ({
    [PREVIEW_TAGS.preview]: "true",
    [PREVIEW_TAGS.created]: created,
    ...(ttl ? { [PREVIEW_TAGS.ttl]: ttl } : {}),
  });
  const stacks = [
    { name: "small", tags: { [PREVIEW_TAGS.created]: "2020-01-01T00:00:00Z" } },
    { name: "pr-old", tags: preview("2026-12-01T11:00:00Z", "24h") },
    { name: "pr-young", tags: preview("2026-12-02T10:00:00Z", "24h") },
    { name: "pr-short", tags: preview("2026-12-02T10:00:00Z", "90m") },
    { name: "pr-default", tags: preview("2026-12-01T12:00:00Z") },
    { name: "pr-undated", tags: preview("yesterday") },
    { name: "pr-bad-ttl", tags: preview("2026-12-01T00:00:00Z", "forever") },
  ];

  test("each preview against its own TTL (24h when it has none); stacks not tagged as previews never appear", () => {
    const plan = sweepPlan(stacks, now);
    expect(plan.expired).toEqual([
      { name: "pr-default", ageMs: 24 * H, limitMs: 24 * H },
      { name: "pr-old", ageMs: 25 * H, limitMs: 24 * H },
      { name: "pr-short", ageMs: 2 * H, limitMs: 1.5 * H },
    ]);
    expect(plan.kept).toEqual([{ name: "pr-young", ageMs: 2 * H, limitMs: 24 * H }]);
    expect(plan.skipped.map((s) => s.name)).toEqual(["pr-bad-ttl", "pr-undated"]);
    expect(plan.skipped[0].note).toBe('unreadable ai-gateway:ttl tag ("forever")');
    expect(plan.skipped[1].note).toBe('no readable ai-gateway:created tag ("yesterday")');
    const named = [...plan.expired, ...plan.kept, ...plan.skipped].map((e) => e.name);
    expect(named).not.toContain("small");
  });

  test("--older-than replaces every TTL", () => {
    const plan = sweepPlan(stacks, now, 3 * H);
    expect(plan.expired.map((e) => e.name)).toEqual(["pr-bad-ttl", "pr-default", "pr-old"]);
    expect(plan.kept.map((e) => e.name)).toEqual(["pr-short", "pr-young"]);
  });

  test("a stack created just now is kept even with the shortest age", () => {
    const plan = sweepPlan([{ name: "pr-new", tags: preview(now.toISOString(), "1m") }], now, 60_000);
    expect(plan.expired).toEqual([]);
    expect(plan.kept.map((e) => e.name)).toEqual(["pr-new"]);
  });
});

test("formatDuration", () => {
  expect(formatDuration(0)).toBe("0m");
  expect(formatDuration(7 * 60_000 + 59_000)).toBe("7m");
  expect(formatDuration(2 * H + 5 * 60_000)).toBe("2h 5m");
  expect(formatDuration(76 * H)).toBe("3d 4h");
});

test("the gateway label is the one the program puts on the stack's Docker objects", () => {
  expect(gatewayLabel("pr-1")).toBe("ai-gateway.gateway=ai-gateway-pr-1");
});

describe("reading an exported state", () => {
  // The shape `pulumi stack export` writes (deployment.resources), cut down to what down reads.
  const deployment = {
    resources: [
      { type: "pulumi:pulumi:Stack", urn: "urn:pulumi:pr-1::ai-gateway::pulumi:pulumi:Stack::ai-gateway-pr-1" },
      { type: "pulumi:providers:docker", inputs: { host: "unix:///var/run/docker.sock" } },
      {
        type: "docker:index/volume:Volume",
        inputs: { name: "ai-gateway-pr-1-postgres-data" },
        outputs: { name: "ai-gateway-pr-1-postgres-data" },
      },
      { type: "docker:index/container:Container", outputs: { name: "ai-gateway-pr-1-nginx" } },
      { type: "docker:index/network:Network", inputs: { name: "ai-gateway-pr-1-edge" } },
      { type: "docker:index/remoteImage:RemoteImage", outputs: { name: "127.0.0.1:5000/nginx:1.30.5-alpine" } },
    ],
  };

  test("the containers, networks and volumes by Docker name; images are not the stack's alone", () => {
    expect(dockerObjectsInState(deployment)).toEqual([
      { kind: "container", name: "ai-gateway-pr-1-nginx" },
      { kind: "network", name: "ai-gateway-pr-1-edge" },
      { kind: "volume", name: "ai-gateway-pr-1-postgres-data" },
    ]);
    expect(dockerObjectsInState({})).toEqual([]);
    expect(dockerObjectsInState(undefined)).toEqual([]);
  });

  test("the docker provider's host, or undefined when the state has none", () => {
    expect(dockerHostInState(deployment)).toBe("unix:///var/run/docker.sock");
    expect(dockerHostInState({ resources: [{ type: "pulumi:providers:docker", inputs: {} }] })).toBeUndefined();
  });
});
