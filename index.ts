import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { Gateway } from "./components";
import { argsFromConfig } from "./lib/config";
import { StackFile, stackOfFile, withPreviewSettings } from "./lib/previewStacks";

/**
 * The stack files beside Pulumi.yaml: an ephemeral stack keeps its ports off the permanent stacks
 * they describe. The CLI runs the program in the project directory (`main` is in it), and the
 * tests run it in the checkout, so the working directory is that directory in both.
 */
function stackFiles(): StackFile[] {
  const dir = process.cwd();
  return fs
    .readdirSync(dir)
    .filter((file) => stackOfFile(file) !== undefined)
    .map((file) => ({ file, text: fs.readFileSync(path.join(dir, file), "utf8") }));
}

// Reads and validates the stack's config before anything is registered: a bad value stops here.
const project = pulumi.getProject();
const args = withPreviewSettings(argsFromConfig(project, pulumi.runtime.allConfig(), process.env), {
  stack: pulumi.getStack(),
  project,
  stackFiles: stackFiles(),
});
const gateway = new Gateway("ai-gateway", args);

export const openWebuiUrl = gateway.openWebuiUrl;
export const apiBaseUrl = gateway.apiBaseUrl;
export const adminUiUrl = gateway.adminUiUrl;
export const adminUiAccess = gateway.adminUiAccess;
export const openWebuiApiKey = gateway.openWebuiApiKey;
export const apiKeys = gateway.apiKeys;
/** Each virtual key's alias, models, budget and limits by consumer name (plain; what `npm run smoke` checks). */
export const declaredKeys = gateway.declaredKeys;
export const apiForAgents = gateway.apiForAgents;
export const continueConfig = gateway.continueConfig;
export const litellmMasterKey = gateway.masterKey;
export const adminCredentials = gateway.adminCredentials;
export const effectiveProfile = gateway.effectiveProfile;
export const budget = gateway.budget;
/** Where the backups are (volume, directories, containers, S3 without credentials), how often, how many, and the command that prints their age. */
export const backups = gateway.backups.summary;
/** With vps: true, the Hetzner server: its address, how to reach it, what it costs. */
export const vps = gateway.vps
  ? pulumi.output({
      ipv4: gateway.vps.ipv4Address,
      serverType: gateway.vps.settings.serverType,
      location: gateway.vps.settings.location,
      monthlyPrice: gateway.vps.monthlyPrice,
      sshCommand: gateway.vps.sshCommand,
      /** The Docker endpoint (ssh://<deploy user>@<ipv4>) and the server's public host key, for tunnels (scripts/ci-docker-ssh.sh). */
      dockerHost: gateway.vps.deployedHost.dockerHost,
      sshHostKey: gateway.vps.deployedHost.sshHostKey,
      adminTunnel: gateway.adminUiAccess,
    })
  : undefined;
