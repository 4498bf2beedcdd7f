import { SettingError } from "../../lib/errors";
import { capacityProblem, typeFits } from "../../lib/capacity";
import {
  checkImage,
  checkServerType,
  DEFAULT_IMAGE,
  DEFAULT_LOCATION,
  DEFAULT_SERVER_TYPE,
  defaultServerTypeIn,
  LOCATIONS,
  monthlyPrice,
  monthlyPriceEur,
  NOT_ORDERABLE,
  SERVER_TYPES,
  SUPPORTED_IMAGES,
  typesSoldIn,
  usableMemoryMb,
} from "../../lib/hetzner";
import { PROFILE_NAMES, PROFILES } from "../../profiles";

const ALL_TYPES = Object.values(SERVER_TYPES);

/** Type names a message lists as "name (N GB, €x/month)". */
function namedTypes(message: string): string[] {
  return [...message.matchAll(/\b([a-z]+[0-9]+) \([0-9]+ GB, €[0-9.]+\/month\)/g)].map((match) => match[1]);
}

function thrown(action: () => unknown): SettingError {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(SettingError);
    return error as SettingError;
  }
  throw new Error("expected a SettingError");
}

describe("catalog", () => {
  test("the six locations Hetzner has", () => {
    expect([...LOCATIONS].sort()).toEqual(["ash", "fsn1", "hel1", "hil", "nbg1", "sin"]);
  });

  test.each(ALL_TYPES.map((type) => [type.name, type] as const))("%s: sane figures, sold only in known locations", (name, type) => {
    expect(type.name).toBe(name);
    expect(type.locations.length).toBeGreaterThan(0);
    expect(type.locations.every((location) => LOCATIONS.includes(location))).toBe(true);
    expect(type.cores).toBeGreaterThan(0);
    expect(type.memoryMb % 1024).toBe(0);
    expect(type.diskGb).toBeGreaterThanOrEqual(40);
    expect(type.monthlyPriceEur).toBeGreaterThan(0);
    expect(usableMemoryMb(type)).toBeLessThan(type.memoryMb);
    expect(usableMemoryMb(type)).toBeGreaterThan(type.memoryMb * 0.9);
    for (const location of Object.keys(type.priceByLocationEur ?? {})) {
      expect(type.locations).toContain(location);
    }
  });

  test("nothing marked not orderable is offered, and the cost-optimized CX and CAX plans are not offered at all", () => {
    for (const name of Object.keys(NOT_ORDERABLE)) {
      expect(SERVER_TYPES[name]).toBeUndefined();
    }
    expect(ALL_TYPES.filter((type) => /^(cx|cax)/.test(type.name))).toEqual([]);
  });

  test("CPX gen 1 only in the US, CPX gen 2 only in the EU and Singapore, CCX everywhere", () => {
    for (const type of ALL_TYPES) {
      const locations = [...type.locations].sort();
      if (/^cpx[0-9]1$/.test(type.name)) {
        expect(locations).toEqual(["ash", "hil"]);
      } else if (/^cpx[0-9]2$/.test(type.name)) {
        expect(locations).toEqual(["fsn1", "hel1", "nbg1", "sin"]);
      } else {
        expect(type.name).toMatch(/^ccx[0-9]3$/);
        expect(locations).toEqual([...LOCATIONS].sort());
      }
    }
  });

  test.each(LOCATIONS.map((location) => [location]))("types sold in %s come cheapest first, each sold there", (location) => {
    const types = typesSoldIn(location);
    expect(types.length).toBeGreaterThan(0);
    expect(types.every((type) => type.locations.includes(location))).toBe(true);
    expect(types.length).toBe(ALL_TYPES.filter((type) => type.locations.includes(location)).length);
    const prices = types.map((type) => monthlyPriceEur(type, location));
    expect(prices).toEqual([...prices].sort((a, b) => a - b));
  });

  test("Singapore's own price where one is known, the EU price elsewhere", () => {
    expect(monthlyPriceEur(SERVER_TYPES.cpx22, "sin")).toBe(26.99);
    expect(monthlyPriceEur(SERVER_TYPES.cpx22, "fsn1")).toBe(19.99);
    expect(monthlyPriceEur(SERVER_TYPES.cpx22)).toBe(19.99);
  });
});

describe("monthlyPrice", () => {
  test("the list price with its date and the IPv4 caveat, per location", () => {
    expect(monthlyPrice("cpx32")).toBe("€35.99/month net (Hetzner list price read 2026-09-03; the primary IPv4 may be extra, about €0.50)");
    expect(monthlyPrice(SERVER_TYPES.cpx12, "sin")).toMatch(/^€15\.99\/month net/);
  });
  test("an unknown type is a programming error", () => {
    expect(() => monthlyPrice("cx33")).toThrow(/unknown server type "cx33"/);
  });
});

describe("defaults", () => {
  /** The cheapest type sold in the location that passes the capacity check, found by trying each. */
  function cheapestThatPasses(profileName: (typeof PROFILE_NAMES)[number], location: string): string {
    const byPrice = [...ALL_TYPES]
      .filter((type) => type.locations.includes(location))
      .sort((a, b) => monthlyPriceEur(a, location) - monthlyPriceEur(b, location));
    return byPrice.find((type) => capacityProblem(profileName, PROFILES[profileName], usableMemoryMb(type), type.name) === undefined)!.name;
  }

  test.each(PROFILE_NAMES.map((name) => [name]))(
    "profile %s: DEFAULT_SERVER_TYPE is the cheapest in the default location that fits",
    (name) => {
      expect(DEFAULT_SERVER_TYPE[name]).toBe(cheapestThatPasses(name, DEFAULT_LOCATION));
    },
  );

  test.each(LOCATIONS.flatMap((location) => PROFILE_NAMES.map((name) => [name, location] as const)))(
    "profile %s in %s: the default there is the cheapest type sold there that fits",
    (profileName, location) => {
      expect(defaultServerTypeIn(profileName, location)).toBe(cheapestThatPasses(profileName, location));
    },
  );

  test("no default where nothing is sold", () => {
    expect(() => defaultServerTypeIn("small", "fra1")).toThrow(/no server type sold in "fra1" fits profile small/);
  });

  test("the defaults are the sizes the profiles were written for", () => {
    for (const name of PROFILE_NAMES) {
      expect(PROFILES[name].recommendedHost).toContain(DEFAULT_SERVER_TYPE[name]);
    }
  });

  test("the default image is supported; other images are refused with the list", () => {
    expect(checkImage("vpsImage", DEFAULT_IMAGE)).toBe(DEFAULT_IMAGE);
    for (const image of SUPPORTED_IMAGES) {
      expect(checkImage("vpsImage", image)).toBe(image);
    }
    // Only the images whose cloud-init the user data is validated with (lib/cloudInit.ts).
    expect(() => checkImage("vpsImage", "debian-12")).toThrow(/must be one of/);
    expect(() => checkImage("vpsImage", "centos-7")).toThrow(
      'Invalid ai-gateway setting vpsImage = "centos-7": must be one of ubuntu-24.04, debian-13',
    );
  });
});

describe("checkServerType", () => {
  const fitsMedium = typeFits(PROFILES.medium);

  test("returns the type when it is sold in the location", () => {
    expect(checkServerType("cpx32", "nbg1", fitsMedium)).toBe(SERVER_TYPES.cpx32);
    expect(checkServerType("cpx31", "hil", fitsMedium)).toBe(SERVER_TYPES.cpx31);
    // Fitting is the capacity check's business, not this one's.
    expect(checkServerType("cpx12", "fsn1", fitsMedium)).toBe(SERVER_TYPES.cpx12);
  });

  test("an unknown location names the six", () => {
    const error = thrown(() => checkServerType("cpx32", "fra1", fitsMedium));
    expect(error.key).toBe("vpsLocation");
    expect(error.message).toMatch(/^Invalid ai-gateway setting vpsLocation = "fra1": must be one of /);
    for (const location of LOCATIONS) {
      expect(error.message).toContain(location);
    }
  });

  test.each([
    ["cx33", /is marked "not available" on hetzner\.com/],
    ["cax21", /is marked "not available"/],
    ["cx22", /deprecated on 2025-10-16 and removed/],
    ["m1.large", /is not a Hetzner server type that can be ordered/],
  ])("%s is refused with why, and the types that fit in the location", (name, why) => {
    const error = thrown(() => checkServerType(name, "hel1", fitsMedium));
    expect(error.key).toBe("vpsServerType");
    expect(error.message).toMatch(why);
    const named = namedTypes(error.message);
    expect(named[0]).toBe("cpx32");
    for (const typeName of named) {
      expect(SERVER_TYPES[typeName].locations).toContain("hel1");
      expect(fitsMedium(SERVER_TYPES[typeName])).toBe(true);
    }
  });

  test.each([
    ["cpx22", "ash", ["fsn1", "nbg1", "hel1", "sin"]],
    ["cpx21", "fsn1", ["ash", "hil"]],
  ])("%s is not sold in %s: the message names where it is sold and what fits there", (name, location, soldIn) => {
    const error = thrown(() => checkServerType(name, location, fitsMedium));
    expect(error.key).toBe("vpsServerType");
    expect(error.message).toContain(`is not sold in ${location}; it is sold in ${soldIn.join(", ")}`);
    const named = namedTypes(error.message.split("that fit:")[1]);
    expect(named.length).toBeGreaterThan(0);
    expect(named[0]).toBe(typesSoldIn(location).find(fitsMedium)!.name);
    for (const typeName of named) {
      expect(SERVER_TYPES[typeName].locations).toContain(location);
      expect(fitsMedium(SERVER_TYPES[typeName])).toBe(true);
    }
  });

  test("when nothing in the location fits, the message says none", () => {
    expect(() => checkServerType("cx33", "fsn1", () => false)).toThrow(/types sold in fsn1 that fit: none$/);
  });
});
