import * as pulumi from "@pulumi/pulumi";

/**
 * A setting was refused. It is a `pulumi.RunError`, so `pulumi preview` and `pulumi up` print the
 * one-line message and no stack trace.
 */
export class SettingError extends pulumi.RunError {
  constructor(
    readonly key: string,
    shownValue: string,
    readonly allowed: string,
  ) {
    super(`Invalid ai-gateway setting ${key} = ${shownValue}: ${allowed}`);
    this.name = "SettingError";
  }
}

/** Shows a plain value in an error message. */
export function shown(value: unknown): string {
  if (typeof value === "string") {
    return JSON.stringify(value);
  }
  const json = JSON.stringify(value);
  return json === undefined ? String(value) : json;
}

/** Describes a secret value in an error message without revealing it. */
export function shownSecret(value: string): string {
  return `[secret, ${value.length} characters]`;
}
