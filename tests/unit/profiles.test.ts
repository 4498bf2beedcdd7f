import { LITELLM_DB_POOL_PER_WORKER } from "../../lib/constants";
import {
  BUDGETS,
  buildProfile,
  MEASURED_MB,
  PROFILE_NAMES,
  PROFILES,
  postgresMaxConnections,
  ProfileInputs,
  ResourceProfile,
  totalMemoryMb,
} from "../../profiles";

/** The inputs a built profile came from, to build a variant of it. */
function inputsOf(p: ResourceProfile): ProfileInputs {
  return {
    description: p.description,
    recommendedHost: p.recommendedHost,
    litellmWorkers: p.litellm.workers,
    openWebuiMb: p.openWebui.memoryMb,
    postgresMb: p.postgres.memoryMb,
    nginxMb: p.nginx.memoryMb,
    nginxWorkerProcesses: p.nginx.workerProcesses,
    nginxWorkerConnections: p.nginx.workerConnections,
    redisMb: p.redis?.memoryMb,
    backups: {
      interval: p.backups.interval,
      keep: p.backups.keep,
      litellmMemoryMb: p.backups.litellmMemoryMb,
      openWebuiMemoryMb: p.backups.openWebuiMemoryMb,
    },
  };
}

describe("profiles", () => {
  test("worker counts are the original bundle's: small 1, medium 2, large 6", () => {
    expect(PROFILE_NAMES.map((n) => PROFILES[n].litellm.workers)).toEqual([1, 2, 6]);
  });

  test.each(PROFILE_NAMES)("%s: LiteLLM's limit covers base + per-worker + request buffer, in 64 MB steps", (name) => {
    const { workers, memoryMb } = PROFILES[name].litellm;
    const need = MEASURED_MB.litellmBase + workers * (MEASURED_MB.litellmPerWorker + MEASURED_MB.litellmRequestBufferPerWorker);
    expect(memoryMb).toBeGreaterThanOrEqual(need);
    expect(memoryMb - need).toBeLessThan(64);
    expect(memoryMb % 64).toBe(0);
  });

  test.each(PROFILE_NAMES)("%s: PostgreSQL accepts LiteLLM's whole pool plus headroom", (name) => {
    const p = PROFILES[name];
    const pool = p.litellm.workers * LITELLM_DB_POOL_PER_WORKER;
    expect(p.postgres.tuning.maxConnections).toBeGreaterThanOrEqual(pool + 20);
    expect(p.postgres.tuning.maxConnections).toBe(postgresMaxConnections(p.litellm.workers));
  });

  test.each(PROFILE_NAMES)("%s: PostgreSQL's shared memory fits inside its container limit", (name) => {
    const { memoryMb, shmSizeMb, tuning } = PROFILES[name].postgres;
    expect(tuning.sharedBuffersMb).toBeLessThanOrEqual(memoryMb / 4);
    expect(tuning.sharedBuffersMb + tuning.maxConnections * tuning.workMemMb).toBeLessThan(memoryMb);
    expect(shmSizeMb).toBeGreaterThanOrEqual(64);
    expect(tuning.effectiveCacheSizeMb).toBeGreaterThan(tuning.sharedBuffersMb);
  });

  test.each(PROFILE_NAMES)("%s: Open WebUI has its measured ~600 MB plus chat headroom", (name) => {
    expect(PROFILES[name].openWebui.memoryMb).toBeGreaterThanOrEqual(600 + 200);
  });

  test("larger profiles never get less of anything", () => {
    const [small, medium, large] = PROFILE_NAMES.map((n) => PROFILES[n]);
    for (const [a, b] of [
      [small, medium],
      [medium, large],
    ]) {
      expect(b.litellm.memoryMb).toBeGreaterThan(a.litellm.memoryMb);
      expect(b.openWebui.memoryMb).toBeGreaterThanOrEqual(a.openWebui.memoryMb);
      expect(b.postgres.memoryMb).toBeGreaterThanOrEqual(a.postgres.memoryMb);
      expect(b.nginx.workerConnections).toBeGreaterThanOrEqual(a.nginx.workerConnections);
      expect(totalMemoryMb(b)).toBeGreaterThan(totalMemoryMb(a));
    }
  });

  test("total memory is the sum of the container limits, Redis's included where it runs, and the two backup containers'", () => {
    const small = PROFILES.small;
    const backups = (p: ResourceProfile) => p.backups.litellmMemoryMb + p.backups.openWebuiMemoryMb;
    expect(totalMemoryMb(small)).toBe(
      small.litellm.memoryMb + small.openWebui.memoryMb + small.postgres.memoryMb + small.nginx.memoryMb + backups(small),
    );
    const p = PROFILES.medium;
    expect(totalMemoryMb(p)).toBe(
      p.litellm.memoryMb + p.openWebui.memoryMb + p.postgres.memoryMb + p.nginx.memoryMb + p.redis!.memoryMb + backups(p),
    );
  });

  test("bigger profiles back up more often and keep more snapshots", () => {
    expect(PROFILE_NAMES.map((name) => [PROFILES[name].backups.interval, PROFILES[name].backups.keep])).toEqual([
      ["24h", 7],
      ["12h", 14],
      ["6h", 28],
    ]);
  });

  test("Redis runs exactly when LiteLLM has more than one worker, with maxmemory inside its limit", () => {
    for (const name of PROFILE_NAMES) {
      const p = PROFILES[name];
      expect([name, p.redis !== undefined]).toEqual([name, p.litellm.workers > 1]);
      if (p.redis) {
        expect(p.redis.maxMemoryMb).toBeLessThanOrEqual(p.redis.memoryMb / 2);
        expect(p.redis.maxMemoryMb).toBeGreaterThanOrEqual(16);
      }
    }
    expect(() => buildProfile("small", { ...inputsOf(PROFILES.small), litellmWorkers: 2 })).toThrow(/Redis is needed exactly when/);
    expect(() => buildProfile("medium", { ...inputsOf(PROFILES.medium), redisMb: undefined })).toThrow(/Redis is needed exactly when/);
  });
});

describe("budgets", () => {
  test("test $15, prod $200, unlimited $1000, each per 30 days", () => {
    expect(Object.values(BUDGETS).map((b) => [b.name, b.maxBudgetUsd, b.budgetDuration])).toEqual([
      ["test", 15, "30d"],
      ["prod", 200, "30d"],
      ["unlimited", 1000, "30d"],
    ]);
  });
});
