import * as pulumi from "@pulumi/pulumi";
import { Gateway } from "./components";
import { argsFromConfig } from "./lib/config";

// Reads and validates the stack's config before anything is registered: a bad value stops here.
const gateway = new Gateway("ai-gateway", argsFromConfig(pulumi.getProject(), pulumi.runtime.allConfig(), process.env));

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
/** With vps: true, the Hetzner server: its address, how to reach it, what it costs. */
export const vps = gateway.vps
  ? pulumi.output({
      ipv4: gateway.vps.ipv4Address,
      serverType: gateway.vps.settings.serverType,
      location: gateway.vps.settings.location,
      monthlyPrice: gateway.vps.monthlyPrice,
      sshCommand: gateway.vps.sshCommand,
      adminTunnel: gateway.adminUiAccess,
    })
  : undefined;
