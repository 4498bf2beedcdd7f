/**
 * `nginx -t` (Debian sid's nginx 1.30, the shipped image's generation) accepts the configuration
 * the nginx component renders for every profile and every combination of TLS, rate limit, admin
 * allow-list and trusted proxies: the production text itself (user nginx, Docker's resolver, the
 * image's paths), placed in the container's config directory with the certificate and key beside
 * it, as the component uploads them, and its temp directory on a tmpfs.
 */
import * as path from "path";
import { nginxConfigInput } from "../../components/nginx";
import { NGINX_TLS_CERTIFICATE_FILE, NGINX_TLS_KEY_FILE, renderNginxConf } from "../../lib/nginxConf";
import { PROXY_DEFAULTS, ProxySettings } from "../../lib/proxySettings";
import { PROFILE_NAMES, PROFILES } from "../../profiles";
import { describeWith } from "../helpers/requirements";
import { nginxRequirements } from "../fixtures/nginx/harness";
import { nginxCheck } from "../fixtures/nginx/nginxRunner";
import { selfSignedCertificate } from "../fixtures/nginx/selfSignedCert";

const CERT = selfSignedCertificate(["ai.example.com"]);
const FILES = {
  [path.basename(NGINX_TLS_CERTIFICATE_FILE)]: CERT.cert,
  [path.basename(NGINX_TLS_KEY_FILE)]: CERT.key,
};

type Combination = [profile: string, tls: boolean, rate: boolean, adminCidrs: boolean, trusted: boolean];

const combinations: Combination[] = [];
for (const profile of PROFILE_NAMES) {
  for (const tls of [false, true]) {
    for (const rate of [false, true]) {
      for (const adminCidrs of [false, true]) {
        for (const trusted of [false, true]) {
          combinations.push([profile, tls, rate, adminCidrs, trusted]);
        }
      }
    }
  }
}

function proxySettings([, tls, rate, adminCidrs, trusted]: Combination): ProxySettings {
  return {
    ...PROXY_DEFAULTS,
    tls,
    domain: tls ? "ai.example.com" : undefined,
    apiRateLimitPerMinute: rate ? 120 : undefined,
    adminAllowedCidrs: adminCidrs ? ["10.8.0.0/24", "192.168.1.7/32"] : [],
    adminBindAddress: adminCidrs ? "10.8.0.1" : PROXY_DEFAULTS.adminBindAddress,
    trustedProxies: trusted ? ["10.0.0.0/8", "172.16.0.0/12"] : [],
  };
}

describeWith("nginx -t on every rendered configuration", nginxRequirements(), () => {
  test("all combinations are covered", () => {
    expect(combinations).toHaveLength(PROFILE_NAMES.length * 16);
  });

  test.each(combinations)("profile %s, tls %s, rate limit %s, admin allow-list %s, trusted proxies %s", (...combination) => {
    const [profile, tls] = combination;
    // With the admin allow-list, the gateway is also on every interface of an ssh:// host: the
    // host-name lists then hold the remote name and the any-IPv4 pattern.
    const wide = combination[3];
    const input = nginxConfigInput(
      PROFILES[profile as keyof typeof PROFILES],
      proxySettings(combination),
      tls ? "https://ai.example.com" : "http://127.0.0.1:8080",
      wide ? { bindAddress: "0.0.0.0", dockerHost: "ssh://deploy@gw.example.net" } : undefined,
    );
    const config = renderNginxConf(input);
    expect(config).toContain("user nginx;");
    expect(config).toContain("resolver 127.0.0.11 valid=10s ipv6=off;");
    const result = nginxCheck(config, tls ? FILES : {});
    expect(result.output).toContain("test is successful");
    expect(result.output).not.toMatch(/\[(warn|emerg|alert|crit)\]/);
    expect(result.ok).toBe(true);
  });
});
