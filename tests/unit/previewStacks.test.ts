/** Preview stacks' ports and time to live (lib/previewStacks.ts). */
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "crypto";
import { derivedPorts, permanentStacks, stackOfFile, StackFile, withPreviewSettings } from "../../lib/previewStacks";
import { SettingError } from "../../lib/errors";

const PROJECT = "ai-gateway";

function file(stack: string, config: Record<string, unknown>): StackFile {
  const lines = Object.entries(config).map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`);
  return { file: `Pulumi.${stack}.yaml`, text: `config:\n${lines.join("\n")}\n` };
}

/** The repository's own stack files, in the shapes they have. */
const FILES: StackFile[] = [
  file("small", { "ai-gateway:profile": "small", "ai-gateway:httpPort": 8081, "ai-gateway:adminPort": 4002 }),
  file("medium", { "ai-gateway:profile": "medium" }),
  file("hetzner", { "ai-gateway:vps": true, "ai-gateway:httpPort": 25000 }),
  file("pr-7", { "ai-gateway:ephemeral": "true", "ai-gateway:httpPort": 26000 }),
  file("preview", { "ai-gateway:ephemeral": true }),
];

function slot(stack: string): number {
  return parseInt(createHash("sha256").update(stack).digest("hex").slice(0, 8), 16) % 10000;
}

function refusal(run: () => unknown): string {
  try {
    run();
  } catch (e) {
    expect(e).toBeInstanceOf(SettingError);
    expect(pulumi.RunError.isInstance(e)).toBe(true);
    return (e as Error).message;
  }
  throw new Error("expected a SettingError");
}

describe("stackOfFile", () => {
  test("names the stack of a stack file and nothing else", () => {
    expect(stackOfFile("Pulumi.pr-12.yaml")).toBe("pr-12");
    expect(stackOfFile("Pulumi.small.yml")).toBe("small");
    expect(stackOfFile("Pulumi.yaml")).toBeUndefined();
    expect(stackOfFile("README.md")).toBeUndefined();
  });
});

describe("permanentStacks", () => {
  test("the stacks without ephemeral or vps, with their set or default ports, leaving out the current stack", () => {
    expect(permanentStacks(FILES, PROJECT, "pr-1")).toEqual([
      { stack: "small", file: "Pulumi.small.yaml", dockerHost: "unix:///var/run/docker.sock", ports: [8081, 4002] },
      { stack: "medium", file: "Pulumi.medium.yaml", dockerHost: "unix:///var/run/docker.sock", ports: [8080, 4001] },
    ]);
    expect(permanentStacks(FILES, PROJECT, "small").map((s) => s.stack)).toEqual(["medium"]);
  });

  test("bare keys, string ports, another Docker host, and the HTTPS port with tls", () => {
    const stacks = permanentStacks(
      [file("edge", { httpPort: "9000", adminPort: "9001", tls: "true", httpsPort: 9443, dockerHost: "ssh://deploy@gw.example.com" })],
      PROJECT,
      "pr-1",
    );
    expect(stacks).toEqual([
      { stack: "edge", file: "Pulumi.edge.yaml", dockerHost: "ssh://deploy@gw.example.com", ports: [9000, 9001, 9443] },
    ]);
  });

  test("a stack file that does not parse stops the run with one line naming it", () => {
    const broken = { file: "Pulumi.broken.yaml", text: "config:\n  a: [unclosed\n" };
    expect(() => permanentStacks([broken], PROJECT, "pr-1")).toThrow(/^Cannot read Pulumi\.broken\.yaml \(needed to keep .*\): [^\n]+$/);
  });
});

describe("derivedPorts", () => {
  test("from the sha256 of the name: 20000 + slot and 30000 + slot, the same every time", () => {
    const i = slot("pr-1");
    expect(derivedPorts("pr-1", new Set())).toEqual({ httpPort: 20000 + i, adminPort: 30000 + i });
    expect(derivedPorts("pr-1", new Set())).toEqual(derivedPorts("pr-1", new Set()));
    expect(derivedPorts("pr-1", new Set())).not.toEqual(derivedPorts("pr-2", new Set()));
  });

  test("a taken public or admin port moves the pair to the next slot", () => {
    const i = slot("pr-1");
    const next = (k: number) => (i + k) % 10000;
    expect(derivedPorts("pr-1", new Set([20000 + i]))).toEqual({ httpPort: 20000 + next(1), adminPort: 30000 + next(1) });
    expect(derivedPorts("pr-1", new Set([30000 + i, 20000 + next(1)]))).toEqual({ httpPort: 20000 + next(2), adminPort: 30000 + next(2) });
  });

  test("the last slot wraps round to the first", () => {
    const stack = Array.from({ length: 100000 }, (_, n) => `s${n}`).find((s) => slot(s) === 9999)!;
    expect(derivedPorts(stack, new Set([29999]))).toEqual({ httpPort: 20000, adminPort: 30000 });
  });
});

describe("withPreviewSettings", () => {
  const context = (stack: string, stackFiles: StackFile[] = FILES) => ({ stack, project: PROJECT, stackFiles });

  test("a permanent stack passes through unchanged, without previewTtl", () => {
    expect(withPreviewSettings({ profile: "small", httpPort: 8081 }, context("small"))).toEqual({ profile: "small", httpPort: 8081 });
  });

  test("an ephemeral stack without ports gets the derived pair; previewTtl is taken out", () => {
    const i = slot("pr-1");
    expect(withPreviewSettings({ ephemeral: true, previewTtl: "12h" }, context("pr-1"))).toEqual({
      ephemeral: true,
      httpPort: 20000 + i,
      adminPort: 30000 + i,
    });
  });

  test("derived ports step over a permanent stack's on the same host, not over one on another host", () => {
    const i = slot("pr-1");
    const onThisHost = file("busy", { httpPort: 20000 + i });
    const elsewhere = file("far", { httpPort: 20000 + i, dockerHost: "ssh://deploy@gw.example.com" });
    expect(withPreviewSettings({ ephemeral: true }, context("pr-1", [onThisHost])).httpPort).toBe(20000 + ((i + 1) % 10000));
    expect(withPreviewSettings({ ephemeral: true }, context("pr-1", [elsewhere])).httpPort).toBe(20000 + i);
  });

  test("a fixed port is kept; only the missing one is derived, off the fixed one", () => {
    const i = slot("pr-1");
    expect(withPreviewSettings({ ephemeral: true, httpPort: 18000 }, context("pr-1"))).toEqual({
      ephemeral: true,
      httpPort: 18000,
      adminPort: 30000 + i,
    });
    expect(withPreviewSettings({ ephemeral: true, httpPort: 30000 + i }, context("pr-1")).adminPort).toBe(30000 + ((i + 1) % 10000));
  });

  test("an ephemeral stack on a VPS keeps the VPS defaults: the server is its own", () => {
    expect(withPreviewSettings({ ephemeral: true, vps: true }, context("pr-1"))).toEqual({ ephemeral: true, vps: true });
  });

  test("a fixed port equal to a permanent stack's is refused, naming that stack and its file", () => {
    expect(refusal(() => withPreviewSettings({ ephemeral: true, httpPort: 8081 }, context("pr-1")))).toBe(
      "Invalid ai-gateway setting httpPort = 8081: is a port of permanent stack small (Pulumi.small.yaml) on the same Docker host; unset httpPort on this ephemeral stack to get one derived from its name",
    );
    expect(refusal(() => withPreviewSettings({ ephemeral: true, adminPort: 4001 }, context("pr-1")))).toMatch(
      /^Invalid ai-gateway setting adminPort = 4001: is a port of permanent stack medium \(Pulumi\.medium\.yaml\)/,
    );
    expect(refusal(() => withPreviewSettings({ ephemeral: true, tls: true }, context("pr-1", [file("secure", { tls: true })])))).toBe(
      "Invalid ai-gateway setting httpsPort = 443: is a port of permanent stack secure (Pulumi.secure.yaml) on the same Docker host; choose another httpsPort",
    );
  });

  test("the same fixed port on another Docker host, or beside an ephemeral or VPS stack, is fine", () => {
    expect(withPreviewSettings({ ephemeral: true, httpPort: 8081, dockerHost: "unix:///other.sock" }, context("pr-1")).httpPort).toBe(8081);
    expect(withPreviewSettings({ ephemeral: true, httpPort: 26000, adminPort: 36000 }, context("pr-1")).httpPort).toBe(26000);
    expect(withPreviewSettings({ ephemeral: true, httpPort: 25000, adminPort: 35000 }, context("pr-1")).httpPort).toBe(25000);
  });

  test.each(["0h", "tomorrow", "12", "-3d", "1.5h"])("previewTtl %s is refused with the allowed forms", (ttl) => {
    expect(refusal(() => withPreviewSettings({ ephemeral: true, previewTtl: ttl }, context("pr-1")))).toBe(
      `Invalid ai-gateway setting previewTtl = ${JSON.stringify(ttl)}: must be a positive whole number of minutes, hours or days: <n>m, <n>h or <n>d, e.g. 90m, 12h, 3d`,
    );
  });

  test("previewTtl on a permanent stack is refused", () => {
    expect(refusal(() => withPreviewSettings({ previewTtl: "12h" }, context("small")))).toBe(
      'Invalid ai-gateway setting previewTtl = "12h": only applies to an ephemeral stack (ephemeral: true): a permanent stack is never swept',
    );
  });
});
