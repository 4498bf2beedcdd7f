import { RETENTION_FORMS, retentionCleanupCron, SPEND_LOG_RETENTION_DEFAULTS, spendLogRetention } from "../../lib/retention";
import { resolveSettings } from "../../lib/settings";
import { argsFromConfig } from "../../lib/config";

describe("spendLogRetention", () => {
  test.each(["1h", "36h", "1d", "90d", "365d", "999999d"])("%s is a retention", (value) => {
    expect(spendLogRetention("spendLogRetention", value)).toBe(value);
  });

  test.each(["0d", "0h", "90m", "30s", "1w", "1mo", "-1d", "1.5d", "90 d", "90D", "", "d", 30, null])(
    "%p is refused with one line naming the setting, the value and what is allowed",
    (value) => {
      expect(() => spendLogRetention("spendLogRetention", value)).toThrow(
        new RegExp(`^Invalid ai-gateway setting spendLogRetention = .*: must be ${RETENTION_FORMS.replace(/[()<>.,:]/g, "\\$&")}$`),
      );
    },
  );

  test("the default follows the profile: a month, a quarter, a year", () => {
    expect(SPEND_LOG_RETENTION_DEFAULTS).toEqual({ small: "30d", medium: "90d", large: "365d" });
    for (const profile of ["small", "medium", "large"] as const) {
      expect(resolveSettings({ profile }).spendLogRetention).toBe(SPEND_LOG_RETENTION_DEFAULTS[profile]);
    }
    expect(resolveSettings({}).spendLogRetention).toBe("90d");
  });

  test("a stack's own value wins over the profile's, and a bad one in the stack's config is refused", () => {
    expect(
      resolveSettings(argsFromConfig("ai-gateway", { "ai-gateway:profile": "large", "ai-gateway:spendLogRetention": "14d" }))
        .spendLogRetention,
    ).toBe("14d");
    expect(() => resolveSettings(argsFromConfig("ai-gateway", { "ai-gateway:spendLogRetention": "2 weeks" }))).toThrow(
      /^Invalid ai-gateway setting spendLogRetention = "2 weeks": must be a positive whole number of hours or days/,
    );
  });
});

describe("retentionCleanupCron", () => {
  test.each([
    ["1h", "17 * * * *"],
    ["12h", "17 * * * *"],
    ["24h", "17 * * * *"],
    ["1d", "17 * * * *"],
    ["25h", "17 3 * * *"],
    ["2d", "17 3 * * *"],
    ["365d", "17 3 * * *"],
  ])("a retention of %s is enforced at %s", (retention, cron) => {
    expect(retentionCleanupCron(retention)).toBe(cron);
  });
});
