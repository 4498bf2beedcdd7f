/** The README documents what the code does: its tables are checked against the code. */
import * as fs from "fs";
import * as path from "path";
import { SETTINGS } from "../../lib/config";
import { PROFILES, ProfileName, totalMemoryMb } from "../../profiles";
import { ROOT } from "../helpers/program";
import { DEFAULT_SERVER_TYPE, monthlyPriceEur, SERVER_TYPES } from "../../lib/hetzner";
import { requiredHostMemoryMb } from "../../lib/capacity";

const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");

/** The rows (without header and separator) of the first table after a heading. */
function tableRows(heading: string): string[][] {
  const lines = readme.slice(readme.indexOf(`## ${heading}`)).split("\n");
  const start = lines.findIndex((l) => l.startsWith("|"));
  const end = lines.findIndex((l, i) => i > start && !l.startsWith("|"));
  return lines.slice(start + 2, end).map((l) =>
    l
      .split(/(?<!\\)\|/)
      .slice(1, -1)
      .map((c) => c.trim()),
  );
}

test("the profile table shows the code's workers, limits and totals", () => {
  const rows = tableRows("Profiles");
  expect(rows.map((r) => r[0])).toEqual(["small", "medium", "large"]);
  for (const row of rows) {
    const p = PROFILES[row[0] as ProfileName];
    expect(row.slice(2, 10)).toEqual(
      [
        p.litellm.workers,
        p.litellm.memoryMb,
        p.openWebui.memoryMb,
        p.postgres.memoryMb,
        p.nginx.memoryMb,
        p.redis ? p.redis.memoryMb : "—",
        `${p.backups.litellmMemoryMb} + ${p.backups.openWebuiMemoryMb}`,
        totalMemoryMb(p),
      ].map(String),
    );
    expect(row[10]).toBe(`${p.postgres.tuning.maxConnections} / ${p.postgres.tuning.sharedBuffersMb} MB`);
    expect(row[11]).toBe(`${p.nginx.workerProcesses} × ${p.nginx.workerConnections}`);
  }
});

test("the configuration reference lists every setting the program reads, and nothing else", () => {
  const documented = tableRows("Configuration reference").map((r) => r[0].replace(/`/g, ""));
  expect([...documented].sort()).toEqual(Object.keys(SETTINGS).sort());
});

test("the README's two commands are the ones CI and the deploy use", () => {
  expect(readme).toContain("bash scripts/test-all.sh");
  expect(fs.readFileSync(path.join(ROOT, ".ci", "run"), "utf8")).toContain("bash scripts/test-all.sh");
  expect(readme).toContain("pulumi up --stack medium");
});

test("the Hetzner cost table shows each profile's default server type, what it needs and its list price", () => {
  const rows = tableRows("On a Hetzner server");
  expect(rows.map((r) => r[0])).toEqual(["small", "medium", "large"]);
  for (const row of rows) {
    const profile = row[0] as ProfileName;
    const type = SERVER_TYPES[DEFAULT_SERVER_TYPE[profile]];
    expect(row.slice(1)).toEqual([
      type.name,
      `${type.cores} / ${type.memoryMb / 1024} GB`,
      `${requiredHostMemoryMb(PROFILES[profile])} MB`,
      monthlyPriceEur(type, "fsn1").toFixed(2),
    ]);
  }
});
