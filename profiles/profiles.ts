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
 * - Redis (only with more than one LiteLLM worker): a few MB of rate-limit and spend counters, key
 *   invalidations and locks; `maxmemory` is half the container limit, leaving the rest for the
 *   process itself (~8 MB), client buffers and allocator fragmentation.
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

/**
 * Redis for LiteLLM's workers. Nothing in it has to survive a restart (counters are per minute or
 * re-read from PostgreSQL, which keeps spend; invalidations are messages), so it runs without
 * persistence and needs no volume.
 */
export interface RedisSizing {
  /** Container memory limit. */
  readonly memoryMb: number;
  /** Redis's own `maxmemory`; past it, least recently used keys are evicted, never writes refused. */
  readonly maxMemoryMb: number;
  readonly pidsLimit: number;
}

export interface ResourceProfile {
  readonly name: ProfileName;
  readonly description: string;
  /** Host size this profile is meant for. */
  readonly recommendedHost: string;
  /** `pidsLimit` everywhere: most processes and threads the container may have at once (PIDS_LIMITS). */
  readonly litellm: { readonly workers: number; readonly memoryMb: number; readonly pidsLimit: number };
  readonly openWebui: { readonly memoryMb: number; readonly pidsLimit: number };
  readonly postgres: { readonly memoryMb: number; readonly shmSizeMb: number; readonly tuning: PostgresTuning; readonly pidsLimit: number };
  readonly nginx: {
    readonly memoryMb: number;
    readonly workerProcesses: number;
    readonly workerConnections: number;
    readonly pidsLimit: number;
  };
  /**
   * Present when LiteLLM runs more than one worker: without a shared Redis each worker counts rate
   * limits and budgets on its own (a limit of 60/min lets 60 through per worker) and a deleted key
   * stays valid on the others until their cache expires (LiteLLM's "What Needs Redis").
   */
  readonly redis?: RedisSizing;
  /** The backup containers (components/backups.ts) and the schedule's defaults (the backupInterval and backupKeep settings). */
  readonly backups: BackupSizing;
}

/**
 * The two backup containers and how often they run by default. Bigger profiles serve more users,
 * so they have more to lose between two snapshots (shorter interval) and keep more of them.
 * - backup-litellm: sh and pg_dump, which streams each table to the file (a few MB of its own);
 * - backup-open-webui: python3 with tarfile and sqlite3's backup API (page by page), and boto3
 *   with two upload threads of 8 MB parts when S3 is configured.
 */
export interface BackupSizing {
  /** Default backupInterval. */
  readonly interval: string;
  /** Default backupKeep: snapshots kept per label (scheduled, and each pre-upgrade label). */
  readonly keep: number;
  readonly litellmMemoryMb: number;
  readonly openWebuiMemoryMb: number;
  readonly pidsLimit: number;
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

export interface ProfileInputs {
  readonly description: string;
  readonly recommendedHost: string;
  readonly litellmWorkers: number;
  readonly openWebuiMb: number;
  readonly postgresMb: number;
  readonly nginxMb: number;
  readonly nginxWorkerProcesses: number;
  readonly nginxWorkerConnections: number;
  /** Redis's container limit; required, and only allowed, with more than one LiteLLM worker. */
  readonly redisMb?: number;
  /** The backup containers' limits and the schedule's defaults (BackupSizing). */
  readonly backups: Omit<BackupSizing, "pidsLimit">;
}

/**
 * Pids limits (processes and threads, CIS Docker 5.28): a fork bomb or a thread leak stops at the
 * container instead of exhausting the host. Each is several times what the service runs:
 * - nginx: master, `workerProcesses` workers (at most 4) and the healthcheck's wget;
 * - Redis: a handful of threads (main, bio, io threads) and the healthcheck's redis-cli;
 * - PostgreSQL: one backend per connection (`max_connections` at most 90 here), about ten
 *   background workers, parallel query workers and psql from the start script and healthcheck;
 * - LiteLLM, per worker: an event loop, anyio's thread pool (40 threads at most), asyncio's
 *   executor and the Prisma query engine's runtime threads;
 * - Open WebUI: one process, but torch, tokenizers and its thread pools start threads per CPU;
 * - a backup container: its script, pg_dump or boto3's upload threads, the healthcheck and sleep.
 */
export const PIDS_LIMITS = {
  nginx: 64,
  redis: 64,
  backup: 64,
  postgres: 256,
  openWebui: 1024,
  litellmBase: 256,
  litellmPerWorker: 128,
} as const;

export function litellmPidsLimit(workers: number): number {
  return PIDS_LIMITS.litellmBase + workers * PIDS_LIMITS.litellmPerWorker;
}

/** Redis's `maxmemory` for a container limit: half of it (see RedisSizing). */
export function redisMaxMemoryMb(memoryMb: number): number {
  return Math.floor(memoryMb / 2);
}

export function buildProfile(name: ProfileName, inputs: ProfileInputs): ResourceProfile {
  if (inputs.litellmWorkers > 1 !== (inputs.redisMb !== undefined)) {
    throw new Error(`profile ${name}: Redis is needed exactly when LiteLLM has more than one worker (${inputs.litellmWorkers})`);
  }
  return {
    name,
    description: inputs.description,
    recommendedHost: inputs.recommendedHost,
    litellm: {
      workers: inputs.litellmWorkers,
      memoryMb: litellmMemoryMb(inputs.litellmWorkers),
      pidsLimit: litellmPidsLimit(inputs.litellmWorkers),
    },
    openWebui: { memoryMb: inputs.openWebuiMb, pidsLimit: PIDS_LIMITS.openWebui },
    postgres: {
      memoryMb: inputs.postgresMb,
      shmSizeMb: Math.max(64, inputs.postgresMb / 4),
      tuning: postgresTuning(inputs.postgresMb, inputs.litellmWorkers),
      pidsLimit: PIDS_LIMITS.postgres,
    },
    nginx: {
      memoryMb: inputs.nginxMb,
      workerProcesses: inputs.nginxWorkerProcesses,
      workerConnections: inputs.nginxWorkerConnections,
      pidsLimit: PIDS_LIMITS.nginx,
    },
    ...(inputs.redisMb !== undefined
      ? { redis: { memoryMb: inputs.redisMb, maxMemoryMb: redisMaxMemoryMb(inputs.redisMb), pidsLimit: PIDS_LIMITS.redis } }
      : {}),
    backups: { ...inputs.backups, pidsLimit: PIDS_LIMITS.backup },
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
    backups: { interval: "24h", keep: 7, litellmMemoryMb: 64, openWebuiMemoryMb: 128 },
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
    redisMb: 64,
    backups: { interval: "12h", keep: 14, litellmMemoryMb: 64, openWebuiMemoryMb: 192 },
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
    redisMb: 128,
    backups: { interval: "6h", keep: 28, litellmMemoryMb: 128, openWebuiMemoryMb: 256 },
  }),
};

export const PROFILE_NAMES = Object.keys(PROFILES) as ProfileName[];

/** Memory the containers may use together: what the host must have free besides the OS. */
export function totalMemoryMb(profile: ResourceProfile): number {
  return (
    profile.litellm.memoryMb +
    profile.openWebui.memoryMb +
    profile.postgres.memoryMb +
    profile.nginx.memoryMb +
    (profile.redis?.memoryMb ?? 0) +
    profile.backups.litellmMemoryMb +
    profile.backups.openWebuiMemoryMb
  );
}
