import { goDuration } from "../../lib/durations";

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
