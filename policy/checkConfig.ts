/**
 * `npm run policy:check-config -- <file>`: refuses a --policy-pack-config file the pack would
 * misread (packConfig.ts) with one line on stderr and exit code 1; prints what it configures and
 * exits 0 otherwise. Exit code 2: no file given, or it is not JSON.
 */
import * as fs from "fs";
import { checkPolicyConfig, PolicyConfigError } from "./packConfig";

function main(args: readonly string[]): number {
  if (args.length !== 1) {
    process.stderr.write("usage: npm run policy:check-config -- <policy-pack-config.json>\n");
    return 2;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(args[0], "utf8"));
  } catch (e) {
    process.stderr.write(`${args[0]}: not a readable JSON file: ${(e as Error).message}\n`);
    return 2;
  }
  try {
    const configured = checkPolicyConfig(parsed);
    process.stdout.write(`${args[0]}: ok (${configured.length > 0 ? configured.join(", ") : "no policy overridden"})\n`);
    return 0;
  } catch (e) {
    if (e instanceof PolicyConfigError) {
      process.stderr.write(`${args[0]}: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}

process.exitCode = main(process.argv.slice(2));
