/**
 * TLS on the real nginx with a self-signed certificate made by Node's crypto: HTTPS with TLS 1.2
 * and 1.3 only (older versions refused by the server), HTTP/2 offered, HSTS, the same routes as
 * plain HTTP, and plain HTTP redirected to the public origin.
 */
import * as crypto from "crypto";
import * as http from "http";
import * as https from "https";
import * as path from "path";
import * as tls from "tls";
import { HSTS_HEADER_VALUE } from "../../lib/nginxConf";
import { describeWith } from "../helpers/requirements";
import { Gateway, nginxRequirements, request, startGateway } from "../fixtures/nginx/harness";
import { selfSignedCertificate } from "../fixtures/nginx/selfSignedCert";

const HOST = "gateway.test";
const CERT = selfSignedCertificate([HOST]);

interface HttpsReply {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
  readonly protocol: string | null;
  readonly fingerprint: string;
}

function httpsRequest(port: number, rawPath: string, options: { method?: string; body?: string; headers?: Record<string, string> } = {}) {
  return new Promise<HttpsReply>((resolve, reject) => {
    const req = https.request(
      {
        host: "127.0.0.1",
        port,
        servername: HOST,
        path: rawPath,
        method: options.method ?? "GET",
        headers: { host: HOST, ...options.headers },
        agent: false,
        // Self-signed: the test checks the certificate by its fingerprint instead.
        rejectUnauthorized: false,
      },
      (res) => {
        const socket = res.socket as tls.TLSSocket;
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString("utf8"),
            protocol: socket.getProtocol(),
            fingerprint: socket.getPeerCertificate().fingerprint256,
          }),
        );
      },
    );
    req.on("error", reject);
    req.end(options.body);
  });
}

/** A bare TLS handshake with the given protocol bounds; resolves with the negotiated details or the error code. */
function handshake(
  port: number,
  options: tls.ConnectionOptions,
): Promise<{ protocol?: string | null; cipher?: string; alpn?: string | false | null; error?: string }> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: "127.0.0.1", port, servername: HOST, rejectUnauthorized: false, ...options }, () => {
      resolve({ protocol: socket.getProtocol(), cipher: socket.getCipher().name, alpn: socket.alpnProtocol });
      socket.end();
    });
    socket.on("error", (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
  });
}

describeWith("TLS", nginxRequirements(), () => {
  let gw: Gateway;
  let httpsPort: number;

  beforeAll(async () => {
    gw = await startGateway(
      (dir) => ({
        tls: {
          serverName: HOST,
          redirectOrigin: `https://${HOST}:8443`,
          certificateFile: path.join(dir, "gateway-tls.crt"),
          keyFile: path.join(dir, "gateway-tls.key"),
        },
      }),
      { files: { "gateway-tls.crt": CERT.cert, "gateway-tls.key": CERT.key } },
    );
    httpsPort = gw.nginx.listeners.https;
  });

  afterAll(async () => {
    await gw?.stop();
  });

  test("HTTPS serves Open WebUI with the configured certificate, HSTS and the security headers", async () => {
    const reply = await httpsRequest(httpsPort, "/c/1");
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body)).toMatchObject({ stub: "open-webui", path: "/c/1", xForwardedProto: "https" });
    expect(reply.fingerprint).toBe(new crypto.X509Certificate(CERT.cert).fingerprint256);
    expect(reply.headers["strict-transport-security"]).toBe(HSTS_HEADER_VALUE);
    expect(reply.headers["x-content-type-options"]).toBe("nosniff");
    expect(reply.headers["x-frame-options"]).toBe("SAMEORIGIN");
    expect(reply.headers["referrer-policy"]).toBe("strict-origin-when-cross-origin");
  });

  test("the API allow-list applies over HTTPS too", async () => {
    const allowed = await httpsRequest(httpsPort, "/api/litellm/v1/chat/completions", {
      method: "POST",
      headers: { authorization: "Bearer sk-tls" },
      body: "{}",
    });
    expect(JSON.parse(allowed.body)).toMatchObject({ stub: "litellm", path: "/v1/chat/completions", authorization: "Bearer sk-tls" });
    const denied = await httpsRequest(httpsPort, "/api/litellm/key/generate", { method: "POST", body: "{}" });
    expect(denied.status).toBe(403);
    expect(denied.headers["strict-transport-security"]).toBe(HSTS_HEADER_VALUE);
    expect(JSON.parse(denied.body).error.code).toBe("path_not_allowed");
  });

  test.each([["TLSv1.2"], ["TLSv1.3"]] as const)("%s handshakes succeed, with forward-secret AEAD suites", async (version) => {
    const result = await handshake(httpsPort, { minVersion: version, maxVersion: version });
    expect(result.error).toBeUndefined();
    expect(result.protocol).toBe(version);
    expect(result.cipher).toMatch(version === "TLSv1.2" ? /^ECDHE-ECDSA-(AES(128|256)-GCM-SHA(256|384)|CHACHA20-POLY1305)$/ : /^TLS_/);
  });

  test.each([["TLSv1"], ["TLSv1.1"]] as const)("%s is refused by the server (protocol_version alert)", async (version) => {
    // The client offers only the old version, with ciphers it still allows at security level 0,
    // so a failure can only come from the server's refusal.
    const result = await handshake(httpsPort, { minVersion: version, maxVersion: version, ciphers: "DEFAULT@SECLEVEL=0" });
    expect(result.error).toBe("ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION");
  });

  test("HTTP/2 is offered (ALPN), HTTP/1.1 still works", async () => {
    expect((await handshake(httpsPort, { ALPNProtocols: ["h2", "http/1.1"] })).alpn).toBe("h2");
    expect((await handshake(httpsPort, { ALPNProtocols: ["http/1.1"] })).alpn).toBe("http/1.1");
  });

  test("plain HTTP redirects pages to the public origin (301, query kept)", async () => {
    const page = await request(gw.publicBase, "/c/123?model=gpt-4o");
    expect(page.status).toBe(301);
    expect(page.headers.location).toBe(`https://${HOST}:8443/c/123?model=gpt-4o`);
    expect(page.headers["strict-transport-security"]).toBeUndefined();
  });

  test("the admin listener stays plain HTTP on its own port", async () => {
    const reply = await request(gw.adminBase, "/ui");
    expect(JSON.parse(reply.body)).toMatchObject({ stub: "litellm", path: "/ui" });
  });
});
