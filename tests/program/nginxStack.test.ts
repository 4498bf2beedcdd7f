/**
 * The reverse proxy's settings under Pulumi mocks: TLS (certificate and key uploaded as secrets,
 * HTTPS published, https:// outputs), the admin listener's exposure and its access output, and the
 * rate limit reaching nginx.conf.
 */
import { filesOf, find, plainOccurrences, ProgramRun, runProgram, stackConfig, TYPES } from "../helpers/program";
import { NGINX_CONFIG_FILE } from "../../lib/constants";
import { selfSignedCertificate } from "../fixtures/nginx/selfSignedCert";
import { SSH_HOST_KEY } from "../fixtures/sshHostKey";
import { runRecorded } from "../helpers/recordedCommand";
import { pinnedSshOptions } from "../../lib/dockerHost";

const CERT = selfSignedCertificate(["ai.example.com"]);

function config(overrides: Record<string, string>): Record<string, string> {
  const c = { ...stackConfig("medium") };
  for (const [key, value] of Object.entries(overrides)) {
    c[`ai-gateway:${key}`] = value;
  }
  return c;
}

async function run(overrides: Record<string, string>): Promise<ProgramRun> {
  const result = await runProgram({ stack: "medium", config: config(overrides) });
  if (result.error) {
    throw result.error;
  }
  return result;
}

const nginxOf = (r: ProgramRun) => find(r, TYPES.container, "-nginx");
const confOf = (r: ProgramRun): string => filesOf(r, nginxOf(r)).find((u) => u.file === NGINX_CONFIG_FILE)!.content;

describe("TLS", () => {
  let r: ProgramRun;
  beforeAll(async () => {
    r = await run({
      tls: "true",
      domain: "ai.example.com",
      bindAddress: "0.0.0.0",
      httpPort: "80",
      tlsCertificate: CERT.cert,
      tlsKey: CERT.key,
    });
  });

  test("HTTPS is published on 443 next to plain HTTP, on the same address; admin stays on 127.0.0.1", () => {
    expect(nginxOf(r).inputs.ports).toEqual([
      { internal: 8080, external: 80, ip: "0.0.0.0", protocol: "tcp" },
      { internal: 8081, external: 4001, ip: "127.0.0.1", protocol: "tcp" },
      { internal: 8443, external: 443, ip: "0.0.0.0", protocol: "tcp" },
    ]);
  });

  test("the certificate and key are uploaded as secrets, the key readable by root only", () => {
    const uploads = filesOf(r, nginxOf(r));
    expect(uploads.map((u) => [u.file, u.permissions])).toEqual([
      ["/etc/nginx/ai-gateway/nginx.conf", "0644"],
      ["/etc/nginx/ai-gateway/tls.crt", "0644"],
      ["/etc/nginx/ai-gateway/tls.key", "0600"],
    ]);
    expect(uploads[1].content).toBe(CERT.cert);
    expect(uploads[2].content).toBe(CERT.key);
    const keyBody = CERT.key.split("\n")[1];
    const certBody = CERT.cert.split("\n")[1];
    for (const resource of r.resources) {
      expect(plainOccurrences(resource.wireInputs, keyBody)).toEqual([]);
      expect(plainOccurrences(resource.wireInputs, certBody)).toEqual([]);
    }
    expect(JSON.stringify(r.outputs)).not.toContain(keyBody);
  });

  test("nginx.conf serves HTTPS for the domain and redirects plain HTTP to the public URL", () => {
    const conf = confOf(r);
    expect(conf).toContain("listen 8443 ssl;");
    expect(conf).toContain("server_name ai.example.com;");
    expect(conf).toContain("ssl_protocols TLSv1.2 TLSv1.3;");
    expect(conf).toContain("return 301 https://ai.example.com$request_uri;");
    expect(conf).toContain('add_header Strict-Transport-Security "max-age=63072000" always;');
  });

  test("the outputs and Open WebUI's URL are https://", () => {
    const o = r.outputs as any;
    expect(o.openWebuiUrl).toBe("https://ai.example.com/");
    expect(o.apiBaseUrl).toBe("https://ai.example.com/api/litellm/v1");
    expect(find(r, TYPES.container, "-open-webui").inputs.envs).toContain("WEBUI_URL=https://ai.example.com");
  });

  test("another HTTPS port appears in the URLs", async () => {
    const other = await run({ tls: "true", domain: "ai.example.com", httpsPort: "8443", tlsCertificate: CERT.cert, tlsKey: CERT.key });
    expect((other.outputs as any).apiBaseUrl).toBe("https://ai.example.com:8443/api/litellm/v1");
    expect(confOf(other)).toContain("return 301 https://ai.example.com:8443$request_uri;");
  });
});

test("without TLS only nginx.conf is uploaded and the URLs stay http://", async () => {
  const r = await run({});
  expect(filesOf(r, nginxOf(r)).map((u) => u.file)).toEqual([NGINX_CONFIG_FILE]);
  expect(confOf(r)).not.toContain("ssl");
  expect((r.outputs as any).apiBaseUrl).toMatch(/^http:\/\//);
});

test("an admin listener published on a VPN address is filtered by source and its URL says where", async () => {
  const r = await run({ adminBindAddress: "10.8.0.1", adminAllowedCidrs: '["10.8.0.0/24"]' });
  expect(nginxOf(r).inputs.ports[1]).toEqual({ internal: 8081, external: 4001, ip: "10.8.0.1", protocol: "tcp" });
  // The admin server answers the loopback names (ssh tunnels) and the address its URL names.
  expect(confOf(r)).toMatch(
    /listen 8081;\n\s+server_name 127\.0\.0\.1 localhost \[::1\] 10\.8\.0\.1;\n\s+allow 10\.8\.0\.0\/24;\n\s+deny all;/,
  );
  const o = r.outputs as any;
  expect(o.adminUiUrl).toBe("http://10.8.0.1:4001/ui");
  expect(o.adminUiAccess).toBe("open http://10.8.0.1:4001/ui from an allowed network (adminAllowedCidrs: 10.8.0.0/24)");
});

test("for a remote Docker host the admin access output is the exact ssh -L command, with the provider's ssh options", async () => {
  const r = await run({
    dockerHost: "ssh://deploy@203.0.113.10:2222",
    dockerSshHostKey: SSH_HOST_KEY,
    dockerSshOpts: '["-i","/home/me/.ssh/gateway key"]',
  });
  const o = r.outputs as any;
  expect(o.adminUiUrl).toBe("http://127.0.0.1:4001/ui");
  expect(o.adminUiAccess).toMatch(/^ssh .* deploy@203\.0\.113\.10 {2}# then open http:\/\/127\.0\.0\.1:4001\/ui$/);
  // What a shell makes of the pasted command: one ssh, trusting only the pinned key (as the
  // provider does, minus BatchMode so a passphrase can be typed), then the provider's options.
  const { calls } = runRecorded("bash", o.adminUiAccess, "ssh");
  const pinned = pinnedSshOptions(SSH_HOST_KEY);
  const batch = pinned.indexOf("BatchMode=yes");
  expect(batch).toBeGreaterThan(0);
  expect(calls).toEqual([
    [
      "-N",
      "-L",
      "4001:127.0.0.1:4001",
      "-p",
      "2222",
      ...pinned.filter((_, i) => i !== batch - 1 && i !== batch),
      "-i",
      "/home/me/.ssh/gateway key",
      "deploy@203.0.113.10",
    ],
  ]);
  expect(calls[0]).toContain("StrictHostKeyChecking=yes");
  expect(calls[0]).not.toContain("BatchMode=yes");
});

test("the API rate limit and trusted proxies reach nginx.conf", async () => {
  const r = await run({ apiRateLimitPerMinute: "120", trustedProxies: '["10.0.0.0/8"]' });
  const conf = confOf(r);
  expect(conf).toContain("limit_req_zone $binary_remote_addr zone=api_per_client:10m rate=120r/m;");
  expect(conf).toContain("limit_req zone=api_per_client burst=20 nodelay;");
  expect(conf).toContain("set_real_ip_from 10.0.0.0/8;");
});

test("by default there is no rate limit and no trusted proxy", async () => {
  const conf = confOf(await run({}));
  expect(conf).not.toContain("limit_req");
  expect(conf).not.toContain("set_real_ip_from");
});
