import { LITELLM_DB_POOL_PER_WORKER } from "../lib/constants";

/**
 * Resource profiles. Memory limits are derived from the original bundle's measurements
 * (seed-inventory.md §2, measured 2025-11-24) rather than guessed:
 *
 * - LiteLLM: ~320 MB base process + ~460 MB per worker, plus 200-400 MB per worker while requests
 *   are in flight (we budget the middle, 300 MB).
 * - Open WebUI: ~600 MB idle, +100-200 MB while chatting; the bundled embedding model takes more
 *   when documents are indexed, so larger profiles get more room.
 * - PostgreSQL: 27-48 MB idle, +50-100 MB during queries; the limit leaves room for
 *   shared_buffers (a quarter of the limit) and per-connection memory.
 * - nginx: ~6 MB measured; the limit is for buffers under load.
 */
export type ProfileName = "small" | "medium" | "large";

/** The measured figures the limits are derived from (seed-inventory.md §2). */
export const MEASURED_MB = {
  litellmBase: 320,
  litellmPerWorker: 460,
  litellmRequestBufferPerWorker: 300,
} as const;

/** Connections kept free for LiteLLM's migration run, psql sessions and superusers. */
export const POSTGRES_CONNECTION_HEADROOM = 30;

export interface PostgresTuning {
  readonly maxConnections: number;
  readonly sharedBuffersMb: number;
  readonly effectiveCacheSizeMb: number;
  readonly workMemMb: number;
  readonly maintenanceWorkMemMb: number;
}

export interface ResourceProfile {
  readonly name: ProfileName;
  readonly description: string;
  /** Host size this profile is meant for. */
  readonly recommendedHost: string;
  readonly litellm: { readonly workers: number; readonly memoryMb: number };
  readonly openWebui: { readonly memoryMb: number };
  readonly postgres: { readonly memoryMb: number; readonly shmSizeMb: number; readonly tuning: PostgresTuning };
  readonly nginx: { readonly memoryMb: number; readonly workerProcesses: number; readonly workerConnections: number };
}

/** Rounds up to the next multiple of 64 MB so limits read cleanly in `docker stats`. */
export function roundUpTo64(mb: number): number {
  return Math.ceil(mb / 64) * 64;
}

export function litellmMemoryMb(workers: number): number {
  const perWorker = MEASURED_MB.litellmPerWorker + MEASURED_MB.litellmRequestBufferPerWorker;
  return roundUpTo64(MEASURED_MB.litellmBase + workers * perWorker);
}

/** LiteLLM's pool (10 connections per worker) plus headroom, so LiteLLM never exhausts PostgreSQL. */
export function postgresMaxConnections(litellmWorkers: number): number {
  return litellmWorkers * LITELLM_DB_POOL_PER_WORKER + POSTGRES_CONNECTION_HEADROOM;
}

export function postgresTuning(memoryMb: number, litellmWorkers: number): PostgresTuning {
  return {
    maxConnections: postgresMaxConnections(litellmWorkers),
    sharedBuffersMb: Math.floor(memoryMb / 4),
    effectiveCacheSizeMb: Math.floor(memoryMb / 2),
    workMemMb: memoryMb >= 1024 ? 8 : 4,
    maintenanceWorkMemMb: Math.max(32, Math.floor(memoryMb / 16)),
  };
}

interface ProfileInputs {
  readonly description: string;
  readonly recommendedHost: string;
  readonly litellmWorkers: number;
  readonly openWebuiMb: number;
  readonly postgresMb: number;
  readonly nginxMb: number;
  readonly nginxWorkerProcesses: number;
  readonly nginxWorkerConnections: number;
}

export function buildProfile(name: ProfileName, inputs: ProfileInputs): ResourceProfile {
  return {
    name,
    description: inputs.description,
    recommendedHost: inputs.recommendedHost,
    litellm: { workers: inputs.litellmWorkers, memoryMb: litellmMemoryMb(inputs.litellmWorkers) },
    openWebui: { memoryMb: inputs.openWebuiMb },
    postgres: {
      memoryMb: inputs.postgresMb,
      shmSizeMb: Math.max(64, inputs.postgresMb / 4),
      tuning: postgresTuning(inputs.postgresMb, inputs.litellmWorkers),
    },
    nginx: {
      memoryMb: inputs.nginxMb,
      workerProcesses: inputs.nginxWorkerProcesses,
      workerConnections: inputs.nginxWorkerConnections,
    },
  };
}

/** Worker counts are the original's (small 1, medium 2, large 6). */
export const PROFILES: Readonly<Record<ProfileName, ResourceProfile>> = {
  small: buildProfile("small", {
    description: "1-2 users",
    recommendedHost: "2 vCPU / 4 GB (e.g. Hetzner cpx22)",
    litellmWorkers: 1,
    openWebuiMb: 1024,
    postgresMb: 256,
    nginxMb: 64,
    nginxWorkerProcesses: 1,
    nginxWorkerConnections: 1024,
  }),
  medium: buildProfile("medium", {
    description: "3-5 users",
    recommendedHost: "4 vCPU / 8 GB (e.g. Hetzner cpx32)",
    litellmWorkers: 2,
    openWebuiMb: 1536,
    postgresMb: 512,
    nginxMb: 64,
    nginxWorkerProcesses: 2,
    nginxWorkerConnections: 2048,
  }),
  large: buildProfile("large", {
    description: "10+ users",
    recommendedHost: "8 vCPU / 16 GB (e.g. Hetzner cpx42)",
    litellmWorkers: 6,
    openWebuiMb: 2048,
    postgresMb: 1024,
    nginxMb: 128,
    nginxWorkerProcesses: 4,
    nginxWorkerConnections: 4096,
  }),
};

export const PROFILE_NAMES = Object.keys(PROFILES) as ProfileName[];

/** Memory the four containers may use together: what the host must have free besides the OS. */
export function totalMemoryMb(profile: ResourceProfile): number {
  return profile.litellm.memoryMb + profile.openWebui.memoryMb + profile.postgres.memoryMb + profile.nginx.memoryMb;
}
