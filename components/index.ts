/**
 * ai-gateway as a library: build the whole gateway, or any of its parts, from another Pulumi
 * program.
 *
 *     import { Gateway } from "ai-gateway";
 *     const gw = new Gateway("ai-gateway", { profile: "small", httpPort: 8443 });
 */
export { Gateway, GatewayArgs, EffectiveProfile, effectiveProfile, adminUiAccess } from "./gateway";
export { GatewaySecrets, GatewaySecretsArgs } from "./secrets";
export { PrivateNetwork, PrivateNetworkArgs } from "./network";
export { Postgres, PostgresArgs } from "./postgres";
export { Litellm, LitellmArgs } from "./litellm";
export { OpenWebui, OpenWebuiArgs } from "./openWebui";
export { Nginx, NginxArgs } from "./nginx";
export { DEFAULTS, GatewaySettings, ImageSet, SettingsInput, resolveSettings } from "../lib/settings";
export { SettingError } from "../lib/errors";
export { ModelSpec } from "../lib/validation";
export * from "../profiles";
