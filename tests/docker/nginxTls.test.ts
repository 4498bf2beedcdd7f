/**
 * The program's nginx container with TLS on a real Docker engine: the certificate and key the stack
 * holds as secrets land in the container with the right modes, nginx serves HTTPS with HSTS on the
 * published HTTPS port, and plain HTTP redirects to the public URL.
 */
import * as https from "https";
import { NGINX_PUBLIC_PORT } from "../../lib/constants";
import { NGINX_HTTPS_PORT, NGINX_TLS_CERTIFICATE_FILE, NGINX_TLS_KEY_FILE } from "../../lib/nginxConf";
import { DockerSandbox, httpGet, TestContainer } from "../helpers/dockerEngine";
import { describeWith, requirements } from "../helpers/requirements";
import { selfSignedCertificate } from "../fixtures/nginx/selfSignedCert";
import { HEALTHY_WITHIN_MS, prepareStack, runNginx, StackSpecs, stackSpecs } from "./gateway";

const DOMAIN = "ai.example.test";

function httpsGet(port: number): Promise<{ status: number; headers: Record<string, unknown>; protocol: string; subject: string }> {
  return new Promise((resolve, reject) => {
    const request = https.get(
      { host: "127.0.0.1", port, path: "/healthz-not-routed", servername: DOMAIN, rejectUnauthorized: false, timeout: 10_000 },
      (res) => {
        const socket = res.socket as import("tls").TLSSocket;
        res.resume();
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            protocol: socket.getProtocol() ?? "",
            subject: String(socket.getPeerCertificate().subject.CN),
          }),
        );
      },
    );
    request.on("error", reject);
  });
}

describeWith("nginx container with TLS from the program's spec", [requirements.docker(), requirements.rootfs()], () => {
  const sandbox = new DockerSandbox("nginx-tls");
  const certificate = selfSignedCertificate([DOMAIN]);
  let specs: StackSpecs;
  let nginx: TestContainer;

  beforeAll(async () => {
    specs = await stackSpecs("medium", {
      tls: "true",
      domain: DOMAIN,
      bindAddress: "0.0.0.0",
      tlsCertificate: certificate.cert,
      tlsKey: certificate.key,
    });
    nginx = await runNginx(await prepareStack(sandbox, specs, { volumes: false }));
    await nginx.waitHealthy(HEALTHY_WITHIN_MS);
  }, 300_000);

  afterAll(async () => {
    await sandbox.cleanup();
  }, 120_000);

  test("certificate and key are uploaded from the stack's secrets: the key readable by root only", async () => {
    const stat = await nginx.exec(["stat", "-c", "%n %a %u", NGINX_TLS_CERTIFICATE_FILE, NGINX_TLS_KEY_FILE]);
    expect(stat.stdout.trim().split("\n")).toEqual([`${NGINX_TLS_CERTIFICATE_FILE} 644 0`, `${NGINX_TLS_KEY_FILE} 600 0`]);
    expect((await nginx.exec(["cat", NGINX_TLS_CERTIFICATE_FILE])).stdout.trim()).toBe(certificate.cert.trim());
  });

  test("HTTPS on the published port: the stack's certificate, TLS 1.2+, HSTS", async () => {
    const published = await nginx.hostPort(NGINX_HTTPS_PORT);
    expect(published.ip).toBe("0.0.0.0");
    const answer = await httpsGet(published.port);
    expect(answer.subject).toBe(DOMAIN);
    expect(["TLSv1.2", "TLSv1.3"]).toContain(answer.protocol);
    expect(String(answer.headers["strict-transport-security"])).toMatch(/max-age=\d{8}/);
  });

  test("plain HTTP redirects to the https public URL", async () => {
    const port = (await nginx.hostPort(NGINX_PUBLIC_PORT)).port;
    const answer = await httpGet(`http://127.0.0.1:${port}/some/page`, 10_000, {});
    expect(answer.status).toBe(301);
    expect(answer.headers.location).toBe(`https://${DOMAIN}/some/page`);
  });
});
