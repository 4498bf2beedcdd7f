import { ResourceProfile, totalMemoryMb } from "../profiles/profiles";

/**
 * The host-memory rule of the capacity check (issue 10 item 2), kept apart from capacity.ts so
 * that hetzner.ts can derive its default server types from it without an import cycle
 * (capacity.ts needs the catalog, the catalog needs this rule). capacity.ts re-exports all of it.
 */

/**
 * Memory (MB) the host needs besides the containers' limits: the operating system and the Docker
 * engine. 768 = 512 for the OS + 256 for Docker.
 * - Docker: measured 2026-11-30 on a Debian 12 host running this gateway's five containers:
 *   dockerd 89 MB, containerd 47 MB, five containerd-shim processes of 19 MB each, 230 MB in all
 *   (`ps -eo rss,comm`); the original bundle measured "~200 MB" (seed-inventory.md §2). Rounded up
 *   to 256.
 * - OS: a minimal cloud image (systemd, journald, sshd, cloud-init's leftovers, snapd on Ubuntu)
 *   plus unattended-upgrades, whose apt runs take 100-200 MB while they last. The original bundle
 *   gives "~0.7 GB lightweight distro" and "~1.2 GB typical" (seed-inventory.md §2), measured on
 *   desktop installs; a server cloud image runs far less, so 512 is the estimate (INFERRED).
 */
export const OS_AND_DOCKER_OVERHEAD_MB = 768;

/**
 * Fraction added on top of containers plus overhead. Container limits are caps, not usage, so the
 * sum is already the worst case; the 10% is for what no limit covers: the kernel's page cache,
 * which PostgreSQL relies on for reads beyond shared_buffers (effective_cache_size assumes it),
 * image pulls and layer extraction during an update, and log rotation.
 */
export const HEADROOM_FRACTION = 0.1;

/**
 * Memory (MB, rounded up) a host must have usable for a profile: every container limit
 * (profiles.ts totalMemoryMb) plus OS_AND_DOCKER_OVERHEAD_MB, plus HEADROOM_FRACTION of that.
 */
export function requiredHostMemoryMb(profile: ResourceProfile): number {
  return Math.ceil((totalMemoryMb(profile) + OS_AND_DOCKER_OVERHEAD_MB) * (1 + HEADROOM_FRACTION));
}
