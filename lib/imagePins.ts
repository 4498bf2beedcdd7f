/**
 * What an image pin says about the software in it, for the upgrade guard: the version in its tag,
 * PostgreSQL's major version and the base OS the tag names. Pure functions; the PostgreSQL data
 * guard (components/postgresDataGuard.ts) captures them, so they use nothing but the language.
 */
import { IMAGE_REF } from "./validation";

/** An image reference taken apart: `[registry/]repository[:tag][@sha256:digest]`. */
export interface ImagePin {
  /** The reference as given. */
  readonly reference: string;
  /** The repository with its registry, if any: `postgres`, `127.0.0.1:5000/library/postgres`. */
  readonly repository: string;
  readonly tag?: string;
  /** `sha256:<64 hex>`. */
  readonly digest?: string;
  /** The tag's version, `16.15` in `16.15-trixie`; absent when there is no tag or it starts with no number. */
  readonly version?: string;
  /** The version's first number (PostgreSQL's major version since 10). */
  readonly major?: number;
  /** What follows the version in the tag, `trixie` in `16.15-trixie`; absent for a bare version. */
  readonly suffix?: string;
}

const VERSION_TAG = /^(?<version>(?<major>\d+)(?:\.\d+)*)(?:-(?<suffix>.+))?$/;

/** Takes a reference apart (one lib/validation.ts `pinnedImage` accepts); throws on anything else. */
export function parseImagePin(reference: string): ImagePin {
  const match = IMAGE_REF.exec(reference);
  if (!match?.groups) {
    throw new Error(`not an image reference: ${JSON.stringify(reference)}`);
  }
  const { repo, tag, digest } = match.groups;
  const version = tag === undefined ? undefined : VERSION_TAG.exec(tag)?.groups;
  return {
    reference,
    repository: repo,
    ...(tag !== undefined ? { tag } : {}),
    ...(digest !== undefined ? { digest } : {}),
    ...(version ? { version: version.version, major: Number(version.major) } : {}),
    ...(version?.suffix !== undefined ? { suffix: version.suffix } : tag !== undefined && !version ? { suffix: tag } : {}),
  };
}

/**
 * The OS the official postgres image's tags without an OS suffix are built on (`16.15` =
 * `16.15-trixie`; image-pins-and-hetzner.md §postgres, docker-library/docs postgres/README.md).
 */
export const POSTGRES_DEFAULT_OS = "trixie";
/** Debian releases the official postgres image has been built on. */
// An array, not a Set: Pulumi serializes the guard's provider by value, and a captured Set does not survive it.
const DEBIAN_RELEASES: readonly string[] = ["buster", "bullseye", "bookworm", "trixie", "forky"];

/**
 * Where a PostgreSQL image's text sort order (collation) comes from: the C library of the OS it is
 * built on. glibc's collation data changes between Debian releases (and PostgreSQL records the
 * glibc version of each database's collation, warning on a mismatch), so each Debian release is
 * its own family; musl, Alpine's C library, has no locale collation at all (byte order), so every
 * Alpine release is one family. An unknown suffix is a family of its own.
 */
export interface CollationFamily {
  readonly libc: "glibc" | "musl" | "unknown";
  /** The Debian release for glibc (`bookworm`), `alpine` for musl, the suffix itself otherwise. */
  readonly release: string;
  /** For people: `Debian trixie (glibc)`, `Alpine (musl)`. */
  readonly label: string;
}

/** The collation family of a postgres tag's OS suffix (none: POSTGRES_DEFAULT_OS). */
export function postgresCollationFamily(suffix: string | undefined): CollationFamily {
  const os = suffix ?? POSTGRES_DEFAULT_OS;
  if (DEBIAN_RELEASES.includes(os)) {
    return { libc: "glibc", release: os, label: `Debian ${os} (glibc)` };
  }
  if (/^alpine(\d+\.\d+)?$/.test(os)) {
    return { libc: "musl", release: "alpine", label: "Alpine (musl)" };
  }
  return { libc: "unknown", release: os, label: `"-${os}"` };
}

/** What the data guard records of the image that owns PostgreSQL's data volume. */
export interface PostgresDataImage {
  /** The pin. */
  readonly image: string;
  /** PostgreSQL's major version, from the tag; absent for a digest-only pin. */
  readonly major?: number;
  /** The collation family's release (`trixie`, `bookworm`, `alpine`, ...); absent for a digest-only pin. */
  readonly os?: string;
  /** The collation family's C library; absent for a digest-only pin. */
  readonly libc?: CollationFamily["libc"];
}

export function postgresDataImage(image: string): PostgresDataImage {
  const pin = parseImagePin(image);
  if (pin.major === undefined) {
    return { image };
  }
  const family = postgresCollationFamily(pin.suffix);
  return { image, major: pin.major, os: family.release, libc: family.libc };
}

/** Where the README explains a major-version or OS move (its "Upgrade an image" section). */
export const POSTGRES_UPGRADE_DOCS = 'README "Upgrade an image"';

/**
 * Why PostgreSQL's image may not move from `deployed` (the pin that owns the data volume) to
 * `wanted`, in one line, or undefined when it may: the same major version and collation family
 * (a minor bump, a new digest of the same tag, `16.15` <-> `16.15-trixie`). A major change is
 * refused (the data directory's format is per major version: 16's data cannot be opened by 17), and
 * so is a move to another C library or Debian release (text indexes would be in the wrong order).
 * A digest-only pin names no version: a move to one is refused unless it is the same image (same
 * digest), and a move away from one only to its own digest with a tag.
 */
export function postgresImageRefusal(key: string, deployed: string, wanted: string): string | undefined {
  const before = parseImagePin(deployed);
  const after = parseImagePin(wanted);
  const prefix = `${key} = ${wanted}:`;
  if (before.digest !== undefined && before.digest === after.digest) {
    return undefined;
  }
  if (after.major === undefined) {
    return (
      `${prefix} a pin without a version tag hides PostgreSQL's major version from the upgrade guard; ` +
      `pin it as <repository>:<version>-<os>@sha256:<digest> (the data volume's image is ${deployed})`
    );
  }
  if (before.major === undefined) {
    return (
      `${prefix} the deployed pin ${deployed} names no PostgreSQL version; first set ${key} to its own digest with its ` +
      `version tag (${before.repository}:<version>-<os>@${before.digest ?? "<digest>"}), then change it`
    );
  }
  if (before.major !== after.major) {
    return (
      `${prefix} PostgreSQL ${before.major} data cannot be opened by ${after.major}; dump and restore: take a pg_dump -Fc ` +
      `snapshot, deploy PostgreSQL ${after.major} on a new stack (a new, empty volume) and restore into it (${POSTGRES_UPGRADE_DOCS})`
    );
  }
  const from = postgresCollationFamily(before.suffix);
  const to = postgresCollationFamily(after.suffix);
  if (from.release !== to.release) {
    return (
      `${prefix} the data was written under ${from.label}, whose text sort order (collation) differs from ${to.label}'s, ` +
      `so text indexes would be corrupt; keep the OS suffix ${before.suffix ? `"-${before.suffix}"` : `"-${POSTGRES_DEFAULT_OS}" (the default)`}, ` +
      `or dump and restore onto the new OS (${POSTGRES_UPGRADE_DOCS})`
    );
  }
  return undefined;
}
