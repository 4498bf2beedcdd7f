/**
 * A Docker engine behind TLS with client-certificate authentication, as `dockerd --tlsverify`
 * serves it: a Node TLS server that requires a client certificate signed by its CA and pipes each
 * connection to the real engine's unix socket. Its certificates are made by openssl: a CA, the
 * server's (for 127.0.0.1), a client's, and a stranger's from another CA.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import * as tls from "tls";
import { DOCKER_SOCKET } from "./dockerEngine";

export interface TlsEngine {
  readonly port: number;
  /** Reads a PEM file the engine's setup made: ca.pem, client.pem, client.key, other-ca.pem, stranger.pem, stranger.key. */
  pem(name: string): string;
  /** The subject CN of every client certificate the engine accepted, one per connection. */
  readonly accepted: string[];
  close(): Promise<void>;
}

function openssl(dir: string, args: string[]): void {
  execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
}

const EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];

function makeCa(dir: string, name: string): void {
  openssl(dir, ["req", "-x509", ...EC_KEY, "-days", "2", "-subj", `/CN=${name}`, "-keyout", `${name}.key`, "-out", `${name}.pem`]);
}

function makeSigned(dir: string, ca: string, name: string, extensions: string): void {
  openssl(dir, ["req", ...EC_KEY, "-subj", `/CN=${name}`, "-keyout", `${name}.key`, "-out", `${name}.csr`]);
  fs.writeFileSync(path.join(dir, `${name}.ext`), `${extensions}\n`);
  openssl(
    dir,
    ["x509", "-req", "-in", `${name}.csr`, "-CA", `${ca}.pem`, "-CAkey", `${ca}.key`, "-CAcreateserial", "-days", "2"].concat([
      "-extfile",
      `${name}.ext`,
      "-out",
      `${name}.pem`,
    ]),
  );
}

export async function startTlsEngine(): Promise<TlsEngine> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "aigw-tls-engine-"));
  makeCa(dir, "ca");
  makeCa(dir, "other-ca");
  makeSigned(dir, "ca", "server", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth");
  makeSigned(dir, "ca", "client", "extendedKeyUsage=clientAuth");
  makeSigned(dir, "other-ca", "stranger", "extendedKeyUsage=clientAuth");
  const pem = (name: string) => fs.readFileSync(path.join(dir, name), "utf8");
  const accepted: string[] = [];
  const server = tls.createServer(
    {
      key: pem("server.key"),
      cert: pem("server.pem"),
      ca: pem("ca.pem"),
      requestCert: true,
      rejectUnauthorized: true,
      // Half-open like dockerd: an exec's client ends its side after stdin and reads the output after that.
      allowHalfOpen: true,
    },
    (socket) => {
      accepted.push(String(socket.getPeerCertificate().subject?.CN));
      const engine = net.connect(DOCKER_SOCKET);
      socket.pipe(engine).pipe(socket);
      engine.on("error", () => socket.destroy());
      socket.on("error", () => engine.destroy());
    },
  );
  server.on("tlsClientError", () => undefined);
  // Closed with whatever is still open (an HTTP client may keep an idle connection for reuse).
  const open = new Set<net.Socket>();
  server.on("connection", (socket: net.Socket) => {
    open.add(socket);
    socket.on("close", () => open.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    pem,
    accepted,
    close: async () => {
      const closed = new Promise((resolve) => server.close(resolve));
      open.forEach((socket) => socket.destroy());
      await closed;
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
