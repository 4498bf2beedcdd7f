import { durationMs, goDuration } from "../../lib/durations";

// Expected strings are what Go's time.Duration.String() prints for these values.
test.each([
  [0, "0s"],
  [0.5, "500ms"],
  [1, "1s"],
  [5, "5s"],
  [59, "59s"],
  [60, "1m0s"],
  [90, "1m30s"],
  [300, "5m0s"],
  [3600, "1h0m0s"],
  [3661, "1h1m1s"],
  [7200, "2h0m0s"],
])("goDuration(%p) = %p", (seconds, expected) => {
  expect(goDuration(seconds)).toBe(expected);
});

test.each([[-1], [Number.NaN], [1.5], [0.0005]])("goDuration(%p) is refused", (seconds) => {
  expect(() => goDuration(seconds)).toThrow(/goDuration/);
});

describe("durationMs", () => {
  test.each([
    ["90m", 90 * 60_000],
    ["12h", 12 * 3_600_000],
    ["3d", 3 * 86_400_000],
    ["1m", 60_000],
  ])("%s", (text, ms) => {
    expect(durationMs(text)).toBe(ms);
  });

  test.each(["0h", "0d", "-1h", "12", "h", "1.5h", "12 h", "12H", "1w", "30s", "1d12h", " 1h", "9999999d"])("%s is refused", (text) => {
    expect(durationMs(text)).toBeUndefined();
  });
});
