import { SettingError } from "../../lib/errors";
import { resolveSettings } from "../../lib/settings";
import {
  capacityProblem,
  checkCapacity,
  checkHostMemory,
  HEADROOM_FRACTION,
  OS_AND_DOCKER_OVERHEAD_MB,
  requiredHostMemoryMb,
  typeFits,
  typesThatFit,
} from "../../lib/capacity";
import { LOCATIONS, monthlyPriceEur, SERVER_TYPES, typesSoldIn, usableMemoryMb } from "../../lib/hetzner";
import { PROFILE_NAMES, PROFILES, ResourceProfile } from "../../profiles";

/** Every container limit of a profile, added up here from its fields rather than by the code under test. */
function containerLimitsMb(profile: ResourceProfile): number {
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

function neededMb(profile: ResourceProfile): number {
  return Math.ceil((containerLimitsMb(profile) + OS_AND_DOCKER_OVERHEAD_MB) * (1 + HEADROOM_FRACTION));
}

describe("requiredHostMemoryMb", () => {
  test.each(PROFILE_NAMES.map((name) => [name]))("profile %s: container limits + OS and Docker, plus headroom", (name) => {
    const profile = PROFILES[name];
    expect(requiredHostMemoryMb(profile)).toBe(neededMb(profile));
    expect(requiredHostMemoryMb(profile)).toBeGreaterThan(containerLimitsMb(profile) + OS_AND_DOCKER_OVERHEAD_MB);
  });

  test("the overhead covers the Docker engine measured with five containers (230 MB) and leaves the OS at least 512 MB", () => {
    expect(OS_AND_DOCKER_OVERHEAD_MB - 230).toBeGreaterThanOrEqual(512);
    expect(HEADROOM_FRACTION).toBeGreaterThan(0);
  });

  test("larger profiles need more", () => {
    const [small, medium, large] = (["small", "medium", "large"] as const).map((name) => requiredHostMemoryMb(PROFILES[name]));
    expect(small).toBeLessThan(medium);
    expect(medium).toBeLessThan(large);
  });
});

describe("every profile against every server type", () => {
  const cases = PROFILE_NAMES.flatMap((profileName) => Object.values(SERVER_TYPES).map((type) => [profileName, type.name] as const));

  test.each(cases)("profile %s on %s: fits exactly when its usable memory holds what is needed", (profileName, typeName) => {
    const profile = PROFILES[profileName];
    const type = SERVER_TYPES[typeName];
    const problem = capacityProblem(profileName, profile, usableMemoryMb(type), `server type ${typeName}`);
    const fits = usableMemoryMb(type) >= neededMb(profile);
    expect(problem === undefined).toBe(fits);
    expect(typeFits(profile)(type)).toBe(fits);
    for (const location of type.locations) {
      expect(typesThatFit(profile, location).includes(type)).toBe(fits);
    }
  });
});

describe("capacityProblem", () => {
  test("a host with exactly what is needed fits; one MB less does not (a stated Docker host)", () => {
    const needed = neededMb(PROFILES.small);
    expect(capacityProblem("small", PROFILES.small, needed, "the Docker host")).toBeUndefined();
    expect(capacityProblem("small", PROFILES.small, needed - 1, "the Docker host")).toContain(
      `the Docker host has ${needed - 1} MB usable`,
    );
  });

  test("the line says what is needed, from what, what the host has, and which types fit, cheapest first", () => {
    const profile = PROFILES.medium;
    const available = usableMemoryMb(SERVER_TYPES.cpx22);
    const problem = capacityProblem("medium", profile, available, "server type cpx22", "nbg1")!;
    expect(problem).not.toContain("\n");
    expect(problem).toContain(`profile medium needs ${(neededMb(profile) / 1024).toFixed(1)} GB`);
    expect(problem).toContain(`${containerLimitsMb(profile)} MB of container limits`);
    expect(problem).toContain(`${OS_AND_DOCKER_OVERHEAD_MB} MB for the OS and Docker`);
    expect(problem).toContain(`= ${neededMb(profile)} MB`);
    expect(problem).toContain(`server type cpx22 has ${available} MB usable`);
    const named = [...problem.split("types that fit in nbg1: ")[1].matchAll(/([a-z]+[0-9]+) \(/g)].map((match) => match[1]);
    const fitting = typesSoldIn("nbg1").filter((type) => usableMemoryMb(type) >= neededMb(profile));
    expect(named).toEqual(fitting.slice(0, named.length).map((type) => type.name));
    expect(named.length).toBeGreaterThan(0);
  });

  test("a profile nothing in the location can hold says none", () => {
    const huge: ResourceProfile = { ...PROFILES.large, openWebui: { ...PROFILES.large.openWebui, memoryMb: 1024 * 1024 } };
    expect(capacityProblem("large", huge, 4096, "the Docker host", "sin")).toMatch(/types that fit in sin: none$/);
  });

  test("checkCapacity throws the line as a SettingError on the given key", () => {
    expect(() => checkCapacity("dockerHostMemoryMb", 2048, "small", PROFILES.small, 2048, "the Docker host")).toThrow(SettingError);
    expect(() => checkCapacity("dockerHostMemoryMb", 2048, "small", PROFILES.small, 2048, "the Docker host")).toThrow(
      /^Invalid ai-gateway setting dockerHostMemoryMb = 2048: profile small needs /,
    );
    expect(checkCapacity("dockerHostMemoryMb", 65536, "small", PROFILES.small, 65536, "the Docker host")).toBeUndefined();
  });
});

describe("typesThatFit", () => {
  test.each(LOCATIONS.flatMap((location) => PROFILE_NAMES.map((name) => [name, location] as const)))(
    "profile %s in %s: every type sold there that fits, cheapest first",
    (profileName, location) => {
      const profile = PROFILES[profileName];
      const types = typesThatFit(profile, location);
      const expected = Object.values(SERVER_TYPES).filter(
        (type) => type.locations.includes(location) && usableMemoryMb(type) >= neededMb(profile),
      );
      expect(new Set(types)).toEqual(new Set(expected));
      const prices = types.map((type) => monthlyPriceEur(type, location));
      expect(prices).toEqual([...prices].sort((a, b) => a - b));
    },
  );
});

describe("checkHostMemory (a Docker host whose memory the config states)", () => {
  test.each(PROFILE_NAMES)("%s: exactly what it needs passes, 1 MB less is refused with the profiles that fit", (name) => {
    const required = requiredHostMemoryMb(PROFILES[name]);
    expect(() => checkHostMemory("dockerHostMemoryMb", required, name)).not.toThrow();
    const smaller = PROFILE_NAMES.filter((other) => requiredHostMemoryMb(PROFILES[other]) <= required - 1);
    expect(() => checkHostMemory("dockerHostMemoryMb", required - 1, name)).toThrow(
      smaller.length > 0 ? `; profiles that fit: ${smaller.join(", ")}` : "; no profile fits: use a bigger host",
    );
  });

  test("through resolveSettings: a big enough host is accepted and kept, a small one refused before anything else", () => {
    expect(resolveSettings({ profile: "large", dockerHostMemoryMb: 16000 }).dockerHostMemoryMb).toBe(16000);
    expect(resolveSettings({}).dockerHostMemoryMb).toBeUndefined();
    expect(() => resolveSettings({ profile: "large", dockerHostMemoryMb: 8192 })).toThrow(
      /^Invalid ai-gateway setting dockerHostMemoryMb = 8192: profile large needs .*; profiles that fit: small, medium$/,
    );
  });
});
