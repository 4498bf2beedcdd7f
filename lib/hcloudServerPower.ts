/**
 * Starts a Hetzner server that is powered off, through the Hetzner Cloud API. Needed because
 * terraform-provider-hcloud v1.68.0 powers a server off to change its type and never powers it on
 * again (internal/server/resource.go resourceServerUpdate: Poweroff, ChangeType, no Poweron;
 * VERIFIED in the module source), and Hetzner does not start it by itself (INFERRED: the API's
 * change_type documents "the server must be powered off", nothing about starting it). Without this,
 * a `vpsServerType` change would leave the gateway down until someone starts the server.
 *
 * Plain functions over Node's fetch: the readiness gate's dynamic provider captures them by value.
 */

/** Where the API is and the token to call it with (the hcloud provider's own settings). */
export interface HcloudApiAccess {
  /** Base URL ending in /v1 (hcloud:endpoint; default HCLOUD_DEFAULT_ENDPOINT). */
  readonly endpoint: string;
  /** A read & write API token (secret). */
  readonly token: string;
}

/** The public API (docs.hetzner.cloud, "Overview": https://api.hetzner.cloud/v1). */
export const HCLOUD_DEFAULT_ENDPOINT = "https://api.hetzner.cloud/v1";

/** How long a power-on action may take before the gate gives up (it takes seconds). */
export const POWER_ON_TIMEOUT_MS = 5 * 60 * 1000;

interface Action {
  readonly id: number;
  readonly status: "running" | "success" | "error";
  readonly error?: { readonly code: string; readonly message: string } | null;
}

async function call(api: HcloudApiAccess, method: "GET" | "POST", path: string): Promise<Record<string, unknown>> {
  const response = await fetch(`${api.endpoint.replace(/\/+$/, "")}${path}`, {
    method,
    headers: { Authorization: `Bearer ${api.token}`, "Content-Type": "application/json" },
  });
  const body = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  if (!response.ok) {
    // Hetzner's error shape: {"error": {"code", "message"}}; the token is never part of it.
    const error = body.error as { code?: string; message?: string } | undefined;
    throw new Error(`Hetzner Cloud API ${method} ${path}: ${response.status} ${error?.code ?? ""} ${error?.message ?? ""}`.trim());
  }
  return body;
}

/**
 * Powers the server on when its status is `off`, and waits for the action; does nothing for any
 * other status (running, starting, initializing). Returns whether it started the server.
 */
export async function ensureServerRunning(
  api: HcloudApiAccess,
  serverId: string,
  options: { readonly log?: (message: string) => void; readonly timeoutMs?: number; readonly pollMs?: number } = {},
): Promise<boolean> {
  const server = (await call(api, "GET", `/servers/${serverId}`)).server as { status: string; name: string };
  if (server.status !== "off") {
    return false;
  }
  options.log?.(`server ${server.name} is powered off (a server type change leaves it so): powering it on`);
  let action = (await call(api, "POST", `/servers/${serverId}/actions/poweron`)).action as Action;
  const deadline = Date.now() + (options.timeoutMs ?? POWER_ON_TIMEOUT_MS);
  while (action.status === "running") {
    if (Date.now() > deadline) {
      throw new Error(`server ${server.name} did not power on within ${Math.round((options.timeoutMs ?? POWER_ON_TIMEOUT_MS) / 1000)} s`);
    }
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 1000));
    action = (await call(api, "GET", `/actions/${action.id}`)).action as Action;
  }
  if (action.status === "error") {
    throw new Error(`powering on server ${server.name} failed: ${action.error?.code ?? ""} ${action.error?.message ?? ""}`.trim());
  }
  return true;
}
