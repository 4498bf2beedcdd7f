import * as fs from "fs";
import * as path from "path";

/**
 * Reads a file from the package's runtime/ directory (code that runs inside containers or on hosts),
 * from the sources (components/, lib/) and from the build (dist/...) alike.
 */
export function runtimeFile(name: string): string {
  for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const candidate = path.join(dir, "runtime", name);
    if (fs.existsSync(candidate)) {
      return fs.readFileSync(candidate, "utf8");
    }
  }
  throw new Error(`runtime/${name} not found above ${__dirname}`);
}
