/**
 * ai-gateway as a library: build the whole gateway, or any of its parts, from another Pulumi
 * program.
 *
 *     import { Gateway } from "ai-gateway";
 *     const gw = new Gateway("ai-gateway", { profile: "small", httpPort: 8443 });
 */
export { Gateway, effectiveProfile } from "./gateway";
export { adminUiAccess, adminUiUrl } from "../lib/adminAccess";
export type { GatewayArgs, EffectiveProfile } from "./gateway";
export { GatewaySecrets } from "./secrets";
export type { GatewaySecretsArgs } from "./secrets";
export { PrivateNetwork } from "./network";
export { ContainerPidsLimit } from "./containerPidsLimit";
export type { ContainerPidsLimitArgs } from "./containerPidsLimit";
export { PreUpgradeSnapshot, withSnapshotBefore } from "./preUpgradeSnapshot";
export type { PreUpgradeSnapshotArgs } from "./preUpgradeSnapshot";
export type { PrivateNetworkArgs } from "./network";
export { Postgres } from "./postgres";
export type { PostgresArgs } from "./postgres";
export { PostgresDataGuard } from "./postgresDataGuard";
export type { PostgresDataGuardArgs } from "./postgresDataGuard";
export { LitellmMigration } from "./litellmMigration";
export type { LitellmMigrationArgs } from "./litellmMigration";
export { Litellm } from "./litellm";
export type { LitellmArgs } from "./litellm";
export { Redis } from "./redis";
export type { RedisArgs } from "./redis";
export { OpenWebui } from "./openWebui";
export type { OpenWebuiArgs } from "./openWebui";
export { Nginx } from "./nginx";
export type { NginxArgs } from "./nginx";
export { Backups } from "./backups";
export type { BackupsArgs, BackupsSummary, BackupS3Credentials } from "./backups";
export { resolveBackupSettings } from "../lib/backupSettings";
export type { BackupSettings, BackupSettingsInput } from "../lib/backupSettings";
export { Vps } from "./vps";
export type { VpsArgs } from "./vps";
export { HostReady } from "./hostReady";
export type { HostReadyArgs } from "./hostReady";
export type { DeployedDockerHost } from "./dockerEndpoint";
export { resolveVpsSettings, VPS_DEFAULTS } from "../lib/vpsSettings";
export type { VpsSettings, VpsSettingsInput } from "../lib/vpsSettings";
export { DEFAULTS, resolveSettings } from "../lib/settings";
export type { GatewaySettings, ImageSet, SettingsInput } from "../lib/settings";
export { SettingError } from "../lib/errors";
export type { ModelSpec } from "../lib/validation";
export * from "../profiles";
