import { parseImagePin, postgresCollationFamily, postgresDataImage, postgresImageRefusal } from "../../lib/imagePins";
import { DEFAULTS } from "../../lib/settings";

const DIGEST_A = `sha256:${"a".repeat(64)}`;
const DIGEST_B = `sha256:${"b".repeat(64)}`;

describe("parseImagePin", () => {
  test.each([
    ["postgres:16.15-trixie", { repository: "postgres", tag: "16.15-trixie", version: "16.15", major: 16, suffix: "trixie" }],
    ["postgres:16.15", { repository: "postgres", tag: "16.15", version: "16.15", major: 16 }],
    ["postgres:17.2-alpine3.24", { repository: "postgres", tag: "17.2-alpine3.24", version: "17.2", major: 17, suffix: "alpine3.24" }],
    [
      `127.0.0.1:5000/library/postgres:16.15-bookworm@${DIGEST_A}`,
      {
        repository: "127.0.0.1:5000/library/postgres",
        tag: "16.15-bookworm",
        digest: DIGEST_A,
        version: "16.15",
        major: 16,
        suffix: "bookworm",
      },
    ],
    ["ghcr.io/berriai/litellm:v1.110.1", { repository: "ghcr.io/berriai/litellm", tag: "v1.110.1", suffix: "v1.110.1" }],
    [`postgres@${DIGEST_A}`, { repository: "postgres", digest: DIGEST_A }],
  ])("%s", (reference, expected) => {
    expect(parseImagePin(reference)).toEqual({ reference, ...expected });
  });

  test("the program's default PostgreSQL pin is major 16 on the default OS family", () => {
    expect(postgresDataImage(DEFAULTS.images.postgres)).toEqual({
      image: DEFAULTS.images.postgres,
      major: 16,
      os: "trixie",
      libc: "glibc",
    });
  });

  test("something that is no image reference is refused", () => {
    expect(() => parseImagePin("Postgres:16 x")).toThrow('not an image reference: "Postgres:16 x"');
  });
});

describe("postgresCollationFamily", () => {
  test("no suffix is the tag's default OS: trixie", () => {
    expect(postgresCollationFamily(undefined)).toEqual(postgresCollationFamily("trixie"));
  });
  test("every Alpine release is one musl family; Debian releases are glibc, each its own", () => {
    expect(postgresCollationFamily("alpine3.23").release).toBe(postgresCollationFamily("alpine").release);
    expect(postgresCollationFamily("alpine3.24").libc).toBe("musl");
    expect(postgresCollationFamily("bookworm")).toEqual({ libc: "glibc", release: "bookworm", label: "Debian bookworm (glibc)" });
    expect(postgresCollationFamily("custom").libc).toBe("unknown");
  });
});

describe("postgresImageRefusal", () => {
  const refusal = (from: string, to: string) => postgresImageRefusal("postgresImage", from, to);

  test.each([
    ["a minor bump", "postgres:16.15-trixie", "postgres:16.16-trixie"],
    ["a new digest of the same tag", `postgres:16.15-trixie@${DIGEST_A}`, `postgres:16.15-trixie@${DIGEST_B}`],
    ["the bare tag and its default OS", "postgres:16.15", "postgres:16.16-trixie"],
    ["a registry mirror of the same image", "postgres:16.15-bookworm", "127.0.0.1:5000/library/postgres:16.15-bookworm"],
    ["one Alpine release to another (musl: byte order)", "postgres:16.15-alpine3.23", "postgres:16.16-alpine3.24"],
    ["a digest-only pin to the same digest with its tag", `postgres@${DIGEST_A}`, `postgres:16.15-trixie@${DIGEST_A}`],
  ])("passes %s", (_what, from, to) => {
    expect(refusal(from, to)).toBeUndefined();
  });

  test("a major change is refused with one line that says how to move the data", () => {
    const message = refusal("postgres:16.15-trixie", "postgres:17.7-trixie");
    expect(message).toBe(
      "postgresImage = postgres:17.7-trixie: PostgreSQL 16 data cannot be opened by 17; dump and restore: take a pg_dump -Fc " +
        'snapshot, deploy PostgreSQL 17 on a new stack (a new, empty volume) and restore into it (README "Upgrade an image")',
    );
    expect(message).not.toContain("\n");
  });

  test("a major downgrade is refused too", () => {
    expect(refusal("postgres:17.1", "postgres:16.15")).toMatch(/PostgreSQL 17 data cannot be opened by 16;/);
  });

  test.each([
    [
      "bookworm -> trixie",
      "postgres:16.15-bookworm",
      "postgres:16.15-trixie",
      /Debian bookworm \(glibc\).*Debian trixie \(glibc\)'s.*keep the OS suffix "-bookworm"/,
    ],
    ["default (trixie) -> bookworm", "postgres:16.15", "postgres:16.15-bookworm", /keep the OS suffix "-trixie" \(the default\)/],
    ["glibc -> musl", "postgres:16.15-trixie", "postgres:16.15-alpine3.24", /Debian trixie \(glibc\).*Alpine \(musl\)'s/],
    ["musl -> glibc", "postgres:16.15-alpine", "postgres:16.15", /Alpine \(musl\).*Debian trixie \(glibc\)'s/],
  ])("an OS change that changes collation is refused: %s", (_what, from, to, reason) => {
    const message = refusal(from, to);
    expect(message).toMatch(new RegExp(`^postgresImage = ${to.replace(/[.]/g, "\\.")}: the data was written under `));
    expect(message).toMatch(reason);
    expect(message).toMatch(/collation.*dump and restore.*README "Upgrade an image"/);
    expect(message).not.toContain("\n");
  });

  test("a move to a digest-only pin of another image is refused: its version cannot be checked", () => {
    expect(refusal("postgres:16.15-trixie", `postgres@${DIGEST_B}`)).toBe(
      `postgresImage = postgres@${DIGEST_B}: a pin without a version tag hides PostgreSQL's major version from the upgrade guard; ` +
        "pin it as <repository>:<version>-<os>@sha256:<digest> (the data volume's image is postgres:16.15-trixie)",
    );
  });

  test("a move away from a digest-only pin goes through its own digest with a tag first", () => {
    expect(refusal(`postgres@${DIGEST_A}`, "postgres:16.16-trixie")).toBe(
      `postgresImage = postgres:16.16-trixie: the deployed pin postgres@${DIGEST_A} names no PostgreSQL version; first set ` +
        `postgresImage to its own digest with its version tag (postgres:<version>-<os>@${DIGEST_A}), then change it`,
    );
  });
});
