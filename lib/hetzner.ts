import { SUPPORTED_IMAGES } from "./cloudInit";
import { SettingError, shown } from "./errors";
import { requiredHostMemoryMb } from "./hostMemory";
import { PROFILES, ProfileName } from "../profiles/profiles";

/**
 * Hetzner Cloud's catalog as this package orders from it: server types that can be ordered today,
 * where each is sold, what it costs, and the images the provisioning is written for.
 *
 * Source of every figure: /work/shared/reference/image-pins-and-hetzner.md §5 (researched
 * 2026-11-24), which takes prices from Hetzner's own price API as read on 2026-09-03 (robhunter/
 * agentdeals PR #1286), matching mixxor/eu-cloud-prices (fetched 2026-08-17) to the cent.
 * Confidence, as the reference grades it:
 * - specs (cores, memory, disk): INFERRED (third-party tables agree; not read from Hetzner's API);
 * - prices: INFERRED. Whether they include the primary IPv4 (about €0.50 a month) is UNVERIFIED: a
 *   third party lists CX and CPX €0.50 lower, probably without it;
 * - which types can be ordered where: INFERRED (hetzner.com marks every CX and CAX plan "not
 *   available"; CPX gen 1 survives only in the US; CPX gen 2 is EU + Singapore; CCX everywhere);
 * - the six locations and the image names: VERIFIED (terraform-provider-hcloud acceptance tests).
 * Hetzner changes prices and availability without notice (prices rose on 2026-04-01 and again for
 * new orders on 2026-06-15): re-read https://www.hetzner.com/cloud before relying on a figure.
 */

/** One orderable server type. */
export interface ServerType {
  /** Hetzner's name, as the API and `hcloud.Server`'s `serverType` take it. */
  readonly name: string;
  /** vCPUs (shared for cpx, dedicated for ccx). */
  readonly cores: number;
  /** Nominal memory in MB (GB × 1024), as Hetzner sells it; see usableMemoryMb for what Linux sees. */
  readonly memoryMb: number;
  /** Local disk in GB. */
  readonly diskGb: number;
  readonly architecture: "x86" | "arm";
  /** List price in EUR per month, net of VAT, in the EU locations (see monthlyPriceEur for others). */
  readonly monthlyPriceEur: number;
  /** Locations (LOCATIONS) where the type can be ordered. */
  readonly locations: readonly string[];
  /** List prices that differ from monthlyPriceEur, by location (EUR per month, net). */
  readonly priceByLocationEur?: Readonly<Record<string, number>>;
}

/** Date the prices were read from Hetzner's price API (reference §5.2, source (a)). */
export const PRICES_READ_ON = "2026-09-03";

/**
 * The six locations, by their API names, with where they are (reference §5.4, VERIFIED:
 * terraform-provider-hcloud internal/location/data_source_test.go @f81c9af4).
 */
export const LOCATION_NAMES: Readonly<Record<string, string>> = {
  fsn1: "Falkenstein, Germany",
  nbg1: "Nuremberg, Germany",
  hel1: "Helsinki, Finland",
  ash: "Ashburn, Virginia, US",
  hil: "Hillsboro, Oregon, US",
  sin: "Singapore",
};

export const LOCATIONS: readonly string[] = Object.keys(LOCATION_NAMES);

const EU = ["fsn1", "nbg1", "hel1"] as const;
const US = ["ash", "hil"] as const;
const EU_AND_SINGAPORE = [...EU, "sin"];

/** [name, cores, memory GB, disk GB, EUR net per month]. */
type Row = readonly [string, number, number, number, number];

function family(rows: readonly Row[], locations: readonly string[], priceIn?: Record<string, Record<string, number>>): ServerType[] {
  return rows.map(([name, cores, memoryGb, diskGb, monthlyPriceEur]) => ({
    name,
    cores,
    memoryMb: memoryGb * 1024,
    diskGb,
    architecture: "x86",
    monthlyPriceEur,
    locations,
    ...(priceIn?.[name] ? { priceByLocationEur: priceIn[name] } : {}),
  }));
}

/**
 * Server types that can be ordered today, by name (reference §5.2 table, "Orderable? yes").
 * - CPX gen 2 (cpx12-cpx62, shared AMD): EU and Singapore. Singapore prices are known only for
 *   cpx12 (15.99) and cpx22 (26.99); the reference gives one price for the larger ones, taken as
 *   valid in Singapore too (INFERRED).
 * - CPX gen 1 (cpx11-cpx51): deprecated 2025-10-16 (VERIFIED), still sold in the US only
 *   (INFERRED), at US prices.
 * - CCX gen 3 (ccx13-ccx63, dedicated AMD): every location, one price (INFERRED).
 * Left out: CX gen 3 (cx23-cx53) and CAX (cax11-cax41), which hetzner.com marks "not available"
 * (see NOT_ORDERABLE); there is no Arm type left to order, so no entry has architecture "arm".
 */
export const SERVER_TYPES: Readonly<Record<string, ServerType>> = Object.fromEntries(
  [
    ...family(
      [
        ["cpx12", 1, 2, 40, 11.99],
        ["cpx22", 2, 4, 80, 19.99],
        ["cpx32", 4, 8, 160, 35.99],
        ["cpx42", 8, 16, 320, 69.99],
        ["cpx52", 12, 24, 480, 100.99],
        ["cpx62", 16, 32, 640, 130.49],
      ],
      EU_AND_SINGAPORE,
      { cpx12: { sin: 15.99 }, cpx22: { sin: 26.99 } },
    ),
    ...family(
      [
        ["cpx11", 2, 2, 40, 17.99],
        ["cpx21", 3, 4, 80, 32.49],
        ["cpx31", 4, 8, 160, 62.99],
        ["cpx41", 8, 16, 240, 120.99],
        ["cpx51", 16, 32, 360, 238.49],
      ],
      US,
    ),
    ...family(
      [
        ["ccx13", 2, 8, 80, 43.49],
        ["ccx23", 4, 16, 160, 86.49],
        ["ccx33", 8, 32, 240, 138.99],
        ["ccx43", 16, 64, 360, 276.49],
        ["ccx53", 32, 128, 600, 533.99],
        ["ccx63", 48, 192, 960, 853.99],
      ],
      LOCATIONS,
    ),
  ].map((type) => [type.name, type]),
);

/**
 * Types Hetzner's API may still know but that cannot be ordered, with why, so that a config naming
 * one is told so rather than "unknown" (reference §5.2 and §5.3).
 */
export const NOT_ORDERABLE: Readonly<Record<string, string>> = {
  ...Object.fromEntries(
    ["cx23", "cx33", "cx43", "cx53", "cax11", "cax21", "cax31", "cax41"].map((name) => [
      name,
      'is marked "not available" on hetzner.com (read 2026-09-03; INFERRED from third-party reads)',
    ]),
  ),
  ...Object.fromEntries(
    ["cx22", "cx32", "cx42", "cx52"].map((name) => [
      name,
      "was deprecated on 2025-10-16 and removed from the API in January 2026 (VERIFIED)",
    ]),
  ),
  ...Object.fromEntries(["cx11", "cx21", "cx31", "cx41", "cx51"].map((name) => [name, "was removed in September 2024 (VERIFIED)"])),
  ...Object.fromEntries(
    ["ccx12", "ccx22", "ccx32", "ccx42", "ccx52", "ccx62"].map((name) => [name, "was replaced by ccx13-ccx63 in 2024 (INFERRED)"]),
  ),
};

/**
 * Share of a server's nominal memory that Linux does not get to use: the kernel's own code and
 * data, `struct page` for every 4 KiB page (64 bytes each, 1.6%), firmware and DMA reservations,
 * and on Ubuntu a crash-kernel reservation. A "4 GB" cloud server reports a MemTotal of about
 * 3.7-3.8 GiB; 5% is a rounded estimate from that arithmetic (INFERRED, not measured on Hetzner).
 */
export const KERNEL_RESERVE_FRACTION = 0.05;

/** Memory (MB) the operating system can hand out on a server type: nominal minus KERNEL_RESERVE_FRACTION. */
export function usableMemoryMb(type: ServerType): number {
  return Math.floor(type.memoryMb * (1 - KERNEL_RESERVE_FRACTION));
}

/** List price of a type in a location (EUR per month, net of VAT); the EU price where no other is known. */
export function monthlyPriceEur(type: ServerType, location?: string): number {
  return (location !== undefined ? type.priceByLocationEur?.[location] : undefined) ?? type.monthlyPriceEur;
}

/**
 * The price for the stack's outputs (issue 10 item 7), e.g. "€35.99/month net (Hetzner list price
 * read 2026-09-03; the primary IPv4 may be extra, about €0.50)".
 */
export function monthlyPrice(serverType: string | ServerType, location?: string): string {
  const type = typeof serverType === "string" ? SERVER_TYPES[serverType] : serverType;
  if (type === undefined) {
    throw new Error(`monthlyPrice: unknown server type ${shown(serverType)}`);
  }
  return `€${monthlyPriceEur(type, location).toFixed(2)}/month net (Hetzner list price read ${PRICES_READ_ON}; the primary IPv4 may be extra, about €0.50)`;
}

/** Types sold in a location, cheapest first (ties: fewer cores first, then name). */
export function typesSoldIn(location: string): ServerType[] {
  return Object.values(SERVER_TYPES)
    .filter((type) => type.locations.includes(location))
    .sort((a, b) => monthlyPriceEur(a, location) - monthlyPriceEur(b, location) || a.cores - b.cores || a.name.localeCompare(b.name));
}

/** A type in messages: "cpx32 (8 GB, €35.99/month)". */
export function describeType(type: ServerType, location?: string): string {
  return `${type.name} (${type.memoryMb / 1024} GB, €${monthlyPriceEur(type, location).toFixed(2)}/month)`;
}

/**
 * The location when none is configured. Any EU location sells the same types at the same prices;
 * Falkenstein is Hetzner's largest site. (Hetzner's own e2e tests use hel1; either works.)
 */
export const DEFAULT_LOCATION = "fsn1";

/**
 * The images: those the server's user data is written and validated for (lib/cloudInit.ts, whose
 * tests run each image's own cloud-init), the default first.
 */
export { DEFAULT_IMAGE, SUPPORTED_IMAGES } from "./cloudInit";

/** Throws SettingError unless the image is one of SUPPORTED_IMAGES. */
export function checkImage(key: string, image: unknown): string {
  if (typeof image === "string" && (SUPPORTED_IMAGES as readonly string[]).includes(image)) {
    return image;
  }
  throw new SettingError(key, shown(image), `must be one of ${SUPPORTED_IMAGES.join(", ")}`);
}

/** Cheapest type sold in the location whose usable memory holds `requiredMb`, if any. */
export function cheapestTypeWith(requiredMb: number, location: string): ServerType | undefined {
  return typesSoldIn(location).find((type) => usableMemoryMb(type) >= requiredMb);
}

/**
 * The cheapest type sold in `location` that passes the capacity check for the profile: the default
 * when a location but no type is configured (DEFAULT_SERVER_TYPE's types are not sold in the US).
 */
export function defaultServerTypeIn(profile: ProfileName, location: string): string {
  const type = cheapestTypeWith(requiredHostMemoryMb(PROFILES[profile]), location);
  if (type === undefined) {
    throw new Error(`no server type sold in ${shown(location)} fits profile ${profile}`);
  }
  return type.name;
}

/**
 * Per profile, the cheapest type sold in DEFAULT_LOCATION that passes the capacity check
 * (hostMemory.ts requiredHostMemoryMb against usableMemoryMb): derived, not chosen, so a change of
 * a profile's limits moves its default. Today: small cpx22, medium cpx32, large cpx42.
 */
export const DEFAULT_SERVER_TYPE: Readonly<Record<ProfileName, string>> = {
  small: defaultServerTypeIn("small", DEFAULT_LOCATION),
  medium: defaultServerTypeIn("medium", DEFAULT_LOCATION),
  large: defaultServerTypeIn("large", DEFAULT_LOCATION),
};

/** Types in a message, cheapest `limit` of them described, the rest counted; "none" for none. */
export function listTypes(types: readonly ServerType[], location: string, limit = 4): string {
  if (types.length === 0) {
    return "none";
  }
  const shownTypes = types.slice(0, limit).map((type) => describeType(type, location));
  return types.length > limit ? `${shownTypes.join(", ")} and ${types.length - limit} larger` : shownTypes.join(", ");
}

/** Throws SettingError unless the location is one of LOCATIONS; returns it. */
export function checkLocation(key: string, location: unknown): string {
  if (typeof location === "string" && LOCATIONS.includes(location)) {
    return location;
  }
  throw new SettingError(key, shown(location), `must be one of ${LOCATIONS.map((name) => `${name} (${LOCATION_NAMES[name]})`).join(", ")}`);
}

/**
 * Checks that a type exists and is sold in a location, and returns it. Throws a SettingError
 * (key vpsServerType or vpsLocation) naming the alternatives: for an unknown location, the six
 * locations; for a type not sold there, the locations that sell it and the types sold there that
 * fit; for an unknown or no longer orderable type, the types sold there that fit. `fits` says which
 * alternatives to name (the capacity check for the profile); whether the chosen type itself fits
 * is capacity.ts's check, not this one's.
 */
export function checkServerType(serverType: string, location: string, fits: (type: ServerType) => boolean): ServerType {
  checkLocation("vpsLocation", location);
  const fitting = `types sold in ${location} that fit: ${listTypes(typesSoldIn(location).filter(fits), location)}`;
  const type = SERVER_TYPES[serverType];
  if (type === undefined) {
    const why = NOT_ORDERABLE[serverType] ?? "is not a Hetzner server type that can be ordered";
    throw new SettingError("vpsServerType", shown(serverType), `${why}; ${fitting}`);
  }
  if (!type.locations.includes(location)) {
    throw new SettingError(
      "vpsServerType",
      shown(serverType),
      `is not sold in ${location}; it is sold in ${type.locations.join(", ")}; ${fitting}`,
    );
  }
  return type;
}
