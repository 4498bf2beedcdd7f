import { SettingError, shown } from "./errors";
import { DEFAULT_LOCATION, ServerType, listTypes, typesSoldIn, usableMemoryMb } from "./hetzner";
import { HEADROOM_FRACTION, OS_AND_DOCKER_OVERHEAD_MB, requiredHostMemoryMb } from "./hostMemory";
import { PROFILE_NAMES, PROFILES, ProfileName, ResourceProfile, totalMemoryMb } from "../profiles/profiles";

/**
 * The capacity check (issue 10 item 2): a profile's containers, the OS and Docker, with headroom,
 * must fit the host's memory, or the deployment is refused before anything is created. It applies
 * to a Hetzner server type (its usable memory, hetzner.ts usableMemoryMb) and to any Docker host
 * whose memory is stated in config (as Linux reports it, e.g. MemTotal in /proc/meminfo).
 */
export { HEADROOM_FRACTION, OS_AND_DOCKER_OVERHEAD_MB, requiredHostMemoryMb };

/** Server types sold in `location` (default DEFAULT_LOCATION) whose usable memory holds the profile, cheapest first. */
export function typesThatFit(profile: ResourceProfile, location: string = DEFAULT_LOCATION): ServerType[] {
  return typesSoldIn(location).filter(typeFits(profile));
}

/** True when the server type's usable memory holds the profile (for hetzner.ts checkServerType's `fits`). */
export function typeFits(profile: ResourceProfile): (type: ServerType) => boolean {
  const required = requiredHostMemoryMb(profile);
  return (type) => usableMemoryMb(type) >= required;
}

function gigabytes(mb: number): string {
  return `${(mb / 1024).toFixed(1)} GB`;
}

/**
 * undefined when the profile fits in `availableMemoryMb`; otherwise the one-line reason, e.g.
 * "profile medium needs 5.2 GB (4032 MB of container limits + 768 MB for the OS and Docker + 10%
 * headroom = 5280 MB); server type cpx22 has 3891 MB usable; types that fit in fsn1: cpx32 (8 GB,
 * €35.99/month), ...". `what` names the host ("server type cpx22", "the Docker host"); `location`
 * (default DEFAULT_LOCATION) is where the fitting types are looked up.
 */
export function capacityProblem(
  profileName: string,
  profile: ResourceProfile,
  availableMemoryMb: number,
  what: string,
  location: string = DEFAULT_LOCATION,
): string | undefined {
  if (availableMemoryMb >= requiredHostMemoryMb(profile)) {
    return undefined;
  }
  return (
    `${needs(profileName, profile)}; ${what} has ${availableMemoryMb} MB usable; ` +
    `types that fit in ${location}: ${listTypes(typesThatFit(profile, location), location)}`
  );
}

/** "profile medium needs 5.2 GB (4032 MB of container limits + 768 MB for the OS and Docker + 10% headroom = 5280 MB)" */
function needs(profileName: string, profile: ResourceProfile): string {
  const required = requiredHostMemoryMb(profile);
  return (
    `profile ${profileName} needs ${gigabytes(required)} (${totalMemoryMb(profile)} MB of container limits + ` +
    `${OS_AND_DOCKER_OVERHEAD_MB} MB for the OS and Docker + ${Math.round(HEADROOM_FRACTION * 100)}% headroom = ${required} MB)`
  );
}

/**
 * The check for a Docker host the stack does not provision (local or over ssh/tcp), whose memory
 * the config states as Linux reports it (`free -m`, MemTotal): throws a SettingError on `key`
 * naming what the profile needs and the profiles that fit, or a bigger host.
 */
export function checkHostMemory(key: string, hostMemoryMb: number, profileName: ProfileName): void {
  const profile = PROFILES[profileName];
  if (hostMemoryMb >= requiredHostMemoryMb(profile)) {
    return;
  }
  const smaller = PROFILE_NAMES.filter((name) => hostMemoryMb >= requiredHostMemoryMb(PROFILES[name]));
  const instead = smaller.length > 0 ? `profiles that fit: ${smaller.join(", ")}` : "no profile fits: use a bigger host";
  throw new SettingError(key, shown(hostMemoryMb), `${needs(profileName, profile)}; the Docker host has ${hostMemoryMb} MB; ${instead}`);
}

/**
 * Throws a SettingError (`key` = `value`, e.g. vpsServerType = "cpx22" or dockerHostMemoryMb =
 * 2048) carrying capacityProblem's line when the profile does not fit; returns nothing otherwise.
 */
export function checkCapacity(
  key: string,
  value: unknown,
  profileName: string,
  profile: ResourceProfile,
  availableMemoryMb: number,
  what: string,
  location?: string,
): void {
  const problem = capacityProblem(profileName, profile, availableMemoryMb, what, location);
  if (problem !== undefined) {
    throw new SettingError(key, shown(value), problem);
  }
}
