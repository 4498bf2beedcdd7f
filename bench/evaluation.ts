/**
 * `npm run bench`: how long the program takes to evaluate under Pulumi mocks, per profile, and the
 * longest chain of health-gated containers in its dependency graph (each link is a container that
 * `pulumi up` must see healthy before the next one is created). A benchmark that prints figures,
 * not a test.
 */
import { performance } from "perf_hooks";
import { ProgramRun, RecordedResource, runProgram, TYPES } from "../tests/helpers/program";

const RUNS = Number(process.env.BENCH_RUNS ?? 15);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Longest path of wait:true containers, following dependencies (direct or through other resources). */
export function longestHealthGatedChain(run: ProgramRun): { length: number; chain: string[] } {
  const byUrn = new Map(run.resources.map((r) => [r.urn, r]));
  const gated = run.resources.filter((r) => r.type === TYPES.container && r.inputs.wait === true);
  const gatedUrns = new Set(gated.map((r) => r.urn));
  const directGatedDeps = (r: RecordedResource): string[] => {
    const found = new Set<string>();
    const seen = new Set<string>();
    const stack = [...r.dependencies];
    while (stack.length > 0) {
      const urn = stack.pop()!;
      if (seen.has(urn)) continue;
      seen.add(urn);
      if (gatedUrns.has(urn)) {
        found.add(urn);
        continue;
      }
      stack.push(...(byUrn.get(urn)?.dependencies ?? []));
    }
    return [...found];
  };
  const memo = new Map<string, string[]>();
  const chainTo = (r: RecordedResource): string[] => {
    const cached = memo.get(r.urn);
    if (cached) return cached;
    let best: string[] = [];
    for (const dep of directGatedDeps(r)) {
      const c = chainTo(byUrn.get(dep)!);
      if (c.length > best.length) best = c;
    }
    const result = [...best, r.inputs.name as string];
    memo.set(r.urn, result);
    return result;
  };
  const chains = gated.map(chainTo).sort((a, b) => b.length - a.length);
  return { length: chains[0]?.length ?? 0, chain: chains[0] ?? [] };
}

async function main(): Promise<void> {
  console.log(`program evaluation under mocks (${RUNS} runs per profile, after one warm-up)`);
  console.log("profile  median ms  min ms  resources  longest health-gated chain");
  for (const stack of ["small", "medium", "large"]) {
    await runProgram({ stack });
    const times: number[] = [];
    let last: ProgramRun | undefined;
    for (let i = 0; i < RUNS; i++) {
      const start = performance.now();
      last = await runProgram({ stack });
      times.push(performance.now() - start);
      if (last.error) throw last.error;
    }
    const chain = longestHealthGatedChain(last!);
    console.log(
      `${stack.padEnd(8)} ${median(times).toFixed(1).padStart(9)} ${Math.min(...times)
        .toFixed(1)
        .padStart(7)} ${String(last!.resources.length).padStart(10)}  ${chain.length} (${chain.chain.join(" -> ")})`,
    );
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
