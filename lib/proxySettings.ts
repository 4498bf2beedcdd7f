/**
 * Settings of the reverse proxy (nginx): TLS, the admin listener's exposure, trusted proxies and
 * the API rate limit. Validated with the other settings, before any resource is registered.
 */
import { SettingError, shown, shownSecret } from "./errors";
import * as validate from "./validation";

/** The plain proxy settings; the certificate and key are secrets (GatewayArgs.tlsCertificate/tlsKey). */
export interface ProxySettingsInput {
  /** Serve HTTPS for `domain` with tlsCertificate/tlsKey (secret config) and redirect plain HTTP. Default false. */
  readonly tls?: boolean;
  /** Host name users reach the gateway at; with tls, a name the certificate covers. When set, the public listeners answer only it and publicUrl's host. Default none. */
  readonly domain?: string;
  /** Host port of the HTTPS listener (tls only): 443 or 1024-65535. Default 443. */
  readonly httpsPort?: number;
  /** Host address the admin listener is published on. Default "127.0.0.1"; any other needs adminAllowedCidrs. */
  readonly adminBindAddress?: string;
  /** Source networks (IPv4 CIDR, at most a /8) allowed on the admin listener, judged by the TCP peer. Default none: no filter. */
  readonly adminAllowedCidrs?: readonly string[];
  /** Proxies in front of the gateway (IPv4 CIDR, at most a /8) whose X-Forwarded-For/-Proto the public listener believes. Default none. */
  readonly trustedProxies?: readonly string[];
  /** Requests per minute each client address may make to the API (/api/litellm/v1). Default unset: no limit. */
  readonly apiRateLimitPerMinute?: number;
}

export interface ProxySettings {
  readonly tls: boolean;
  readonly domain: string | undefined;
  readonly httpsPort: number;
  readonly adminBindAddress: string;
  readonly adminAllowedCidrs: readonly string[];
  readonly trustedProxies: readonly string[];
  readonly apiRateLimitPerMinute: number | undefined;
}

/** Defaults; Pulumi.yaml declares the same (apiRateLimitPerMinute and domain have none). */
export const PROXY_DEFAULTS = {
  tls: false,
  httpsPort: 443,
  adminBindAddress: "127.0.0.1",
  adminAllowedCidrs: [] as string[],
  trustedProxies: [] as string[],
} as const;

/** A generous ceiling: 1000 requests per second per client. */
const MAX_RATE_PER_MINUTE = 60000;

/**
 * The widest network the trust lists accept. The largest private block, 10.0.0.0/8, is a /8, so
 * every shorter prefix also covers public Internet addresses: in trustedProxies anyone there could
 * set their own address and scheme, in adminAllowedCidrs anyone there passes the admin filter. No
 * proxy tier or admin network needs more, and refusing only /0 would let 0.0.0.0/1 + 128.0.0.0/1
 * through.
 */
export const WIDEST_TRUSTED_PREFIX = 8;

/** A list of IPv4 networks that grant trust: each no wider than WIDEST_TRUSTED_PREFIX. */
function trustList(key: string, value: unknown, grants: string): string[] {
  const list = validate.cidrList(key, value);
  list.forEach((entry, index) => {
    const bits = Number(entry.split("/")[1]);
    if (bits < WIDEST_TRUSTED_PREFIX) {
      throw new SettingError(
        `${key}[${index}]`,
        shown(entry),
        `covers ${2 ** (32 - bits)} addresses, public Internet ones included, and would let all of them ${grants}; ` +
          `the widest network accepted is a /${WIDEST_TRUSTED_PREFIX} (list the networks you mean, e.g. 10.0.0.0/8)`,
      );
    }
  });
  return list;
}

export function isLoopback(address: string): boolean {
  return address.startsWith("127.");
}

/** Validates the proxy settings against the ports already chosen. */
export function resolveProxySettings(input: ProxySettingsInput, ports: { httpPort: number; adminPort: number }): ProxySettings {
  const tls = input.tls ?? PROXY_DEFAULTS.tls;
  if (typeof tls !== "boolean") {
    throw new SettingError("tls", shown(tls), "must be true or false");
  }
  const domain = input.domain !== undefined ? validate.hostName("domain", input.domain) : undefined;
  if (tls && domain === undefined) {
    throw new SettingError(
      "domain",
      shown(undefined),
      "is required when tls is true: the host name the certificate is for, e.g. ai.example.com",
    );
  }
  const httpsPort = validate.hostPort("httpsPort", input.httpsPort ?? PROXY_DEFAULTS.httpsPort, true);
  if (tls && (httpsPort === ports.httpPort || httpsPort === ports.adminPort)) {
    throw new SettingError(
      "httpsPort",
      shown(httpsPort),
      `must differ from httpPort (${ports.httpPort}) and adminPort (${ports.adminPort})`,
    );
  }
  const adminBindAddress = validate.bindAddress("adminBindAddress", input.adminBindAddress ?? PROXY_DEFAULTS.adminBindAddress);
  const adminAllowedCidrs = trustList(
    "adminAllowedCidrs",
    input.adminAllowedCidrs ?? PROXY_DEFAULTS.adminAllowedCidrs,
    "reach LiteLLM's admin UI and management API",
  );
  if (!isLoopback(adminBindAddress) && adminAllowedCidrs.length === 0) {
    throw new SettingError(
      "adminBindAddress",
      shown(adminBindAddress),
      "publishes LiteLLM's admin UI and management API beyond this host; also set adminAllowedCidrs to the networks allowed to reach it",
    );
  }
  const trustedProxies = trustList(
    "trustedProxies",
    input.trustedProxies ?? PROXY_DEFAULTS.trustedProxies,
    "choose the client address and scheme nginx believes",
  );
  const apiRateLimitPerMinute =
    input.apiRateLimitPerMinute !== undefined
      ? validate.positiveInteger(
          "apiRateLimitPerMinute",
          input.apiRateLimitPerMinute,
          "requests per minute per client address (leave it unset for no limit)",
          MAX_RATE_PER_MINUTE,
        )
      : undefined;
  return { tls, domain, httpsPort, adminBindAddress, adminAllowedCidrs, trustedProxies, apiRateLimitPerMinute };
}

/** The public origin when none is configured: https on the domain with TLS, else http. */
export function defaultPublicUrl(proxy: ProxySettings, host: string, httpPort: number): string {
  if (proxy.tls) {
    return `https://${proxy.domain}${proxy.httpsPort === 443 ? "" : `:${proxy.httpsPort}`}`;
  }
  return `http://${proxy.domain ?? host}${httpPort === 80 ? "" : `:${httpPort}`}`;
}

/**
 * With TLS the gateway's own URLs must be https (Open WebUI builds links and cookies from
 * publicUrl), and on `domain`: the certificate is checked against domain, and the plain listener
 * redirects to publicUrl, so another host would send users to a name the gateway holds no
 * certificate for. The port may differ from httpsPort (a proxy in front may publish 443).
 */
export function checkPublicUrl(proxy: ProxySettings, publicUrl: string): string {
  if (proxy.tls && !publicUrl.startsWith("https://")) {
    throw new SettingError("publicUrl", shown(publicUrl), "must be an https:// origin when tls is true");
  }
  if (proxy.tls && validate.originHost(publicUrl) !== proxy.domain) {
    throw new SettingError("publicUrl", shown(publicUrl), `must be on domain (${proxy.domain}) when tls is true`);
  }
  return publicUrl;
}

/**
 * Parses whichever of the certificate and key are plain strings (stack config, or a library caller's
 * strings) with Node's crypto, checks that they belong together and that the certificate covers
 * `domain`. Pulumi Outputs are skipped: their values are not known before resources are registered.
 */
export function parseTlsMaterial(domain: string | undefined, certificate: unknown, key: unknown): void {
  const chain = typeof certificate === "string" ? validate.pemCertificateChain("tlsCertificate", certificate) : undefined;
  const privateKey = typeof key === "string" ? validate.pemPrivateKey("tlsKey", key) : undefined;
  if (chain && privateKey && typeof key === "string" && !chain[0].checkPrivateKey(privateKey)) {
    throw new SettingError("tlsKey", shownSecret(key), "does not belong to tlsCertificate (the first certificate of the chain)");
  }
  if (chain && domain !== undefined) {
    const leaf = chain[0];
    const covered = validate.isIpv4(domain) ? leaf.checkIP(domain) !== undefined : leaf.checkHost(domain) !== undefined;
    if (!covered) {
      throw new SettingError(
        "domain",
        shown(domain),
        `is not a name tlsCertificate covers (${leaf.subjectAltName ?? leaf.subject.replace(/\n/g, ", ")})`,
      );
    }
  }
}

/** TLS needs both a certificate and a key, and a certificate without `tls: true` is a mistake. Then parses what it can. */
export function checkTlsMaterial(proxy: ProxySettings, certificate: unknown, key: unknown): void {
  if (!proxy.tls) {
    if (certificate !== undefined || key !== undefined) {
      throw new SettingError(
        "tls",
        shown(false),
        `is not true, but ${certificate !== undefined ? "tlsCertificate" : "tlsKey"} is set; set tls to true (with domain) or remove the certificate and key`,
      );
    }
    return;
  }
  if (certificate === undefined) {
    throw new SettingError(
      "tlsCertificate",
      shown(undefined),
      "is required when tls is true: pulumi config set --secret tlsCertificate < fullchain.pem",
    );
  }
  if (key === undefined) {
    throw new SettingError("tlsKey", shown(undefined), "is required when tls is true: pulumi config set --secret tlsKey < privkey.pem");
  }
  parseTlsMaterial(proxy.domain, certificate, key);
}
