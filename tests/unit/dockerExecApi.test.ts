/**
 * The key registration's Engine API client negotiates the API version the way the docker CLI
 * does. Docker 29 refuses any versioned path below /v1.44 with 400 "client version 1.41 is too
 * old" (review-docker-provider.md F1); the client must speak what the engine accepts. This test
 * talks to engines that answer like Docker 20.10, 28 and 29 on a unix socket (the real current
 * engine is exercised by the end-to-end suite); each records which versioned paths it was asked.
 */
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import { CLIENT_API_VERSION, execInContainer, negotiateApiVersion } from "../../lib/dockerExec";

interface FakeEngine {
  readonly socket: string;
  readonly paths: string[];
  close(): Promise<void>;
}

/** An engine of API `version` refusing clients below `minimum`, whose one container runs `cat`. */
async function fakeEngine(version: string, minimum: string): Promise<FakeEngine> {
  const socket = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "fake-engine-")), "docker.sock");
  const paths: string[] = [];
  const below = (a: string, b: string) => {
    const [am, an] = a.split(".").map(Number);
    const [bm, bn] = b.split(".").map(Number);
    return am < bm || (am === bm && an < bn);
  };
  const server = http.createServer((req, res) => {
    const url = req.url ?? "";
    paths.push(`${req.method} ${url}`);
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { "Content-Type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (url === "/version") {
      json(200, { ApiVersion: version, MinAPIVersion: minimum, Version: "fake" });
      return;
    }
    const versioned = /^\/v([0-9]+\.[0-9]+)(\/.*)$/.exec(url);
    if (!versioned) {
      json(404, { message: "page not found" });
      return;
    }
    const [, asked, rest] = versioned;
    if (below(asked, minimum)) {
      json(400, {
        message: `client version ${asked} is too old. Minimum supported API version is ${minimum}, please upgrade your client to a newer version`,
      });
      return;
    }
    if (below(version, asked)) {
      json(400, { message: `client version ${asked} is too new. Maximum supported API version is ${version}` });
      return;
    }
    if (rest === "/containers/litellm/exec") {
      json(201, { Id: "exec1" });
    } else if (rest === "/exec/exec1/json") {
      json(200, { Running: false, ExitCode: 0 });
    } else if (rest === "/containers/gone/exec") {
      json(404, { message: "No such container: gone" });
    } else {
      json(404, { message: `no route ${rest}` });
    }
  });
  // POST /exec/{id}/start asks to upgrade: hijack like the engine and echo stdin back as stdout.
  server.on("upgrade", (req, sock) => {
    paths.push(`${req.method} ${req.url}`);
    if (!/^\/v[0-9.]+\/exec\/exec1\/start$/.test(req.url ?? "")) {
      sock.end("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
      return;
    }
    sock.write("HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n");
    const chunks: Buffer[] = [];
    sock.on("data", (c: Buffer) => chunks.push(c));
    sock.on("end", () => {
      const payload = Buffer.concat(chunks);
      const header = Buffer.alloc(8);
      header[0] = 1;
      header.writeUInt32BE(payload.length, 4);
      sock.end(Buffer.concat([header, payload]));
    });
  });
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  return {
    socket,
    paths,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe("Engine API version negotiation (lib/dockerExec)", () => {
  test.each([
    ["Docker 29 (API 1.52, refuses below 1.44)", "1.52", "1.44", CLIENT_API_VERSION],
    ["Docker 28.5 (API 1.51)", "1.51", "1.24", "1.51"],
    ["Docker 20.10 (API 1.41)", "1.41", "1.12", "1.41"],
  ])("%s: exec works and every call uses the negotiated version", async (_name, version, minimum, expected) => {
    const engine = await fakeEngine(version, minimum);
    try {
      const endpoint = { host: `unix://${engine.socket}` };
      expect(await negotiateApiVersion(endpoint)).toBe(expected);
      const result = await execInContainer(endpoint, "litellm", ["cat"], "keys on stdin");
      expect(result).toEqual({ exitCode: 0, stdout: "keys on stdin", stderr: "" });
      const versioned = engine.paths.filter((p) => p !== "GET /version");
      expect(versioned.length).toBeGreaterThanOrEqual(3);
      for (const p of versioned) {
        expect(p).toContain(`/v${expected}/`);
      }
    } finally {
      await engine.close();
    }
  });

  test("an engine that needs a newer API than this client speaks is refused with a message saying so", async () => {
    const engine = await fakeEngine("1.60", "1.55");
    try {
      await expect(negotiateApiVersion({ host: `unix://${engine.socket}` })).rejects.toThrow(
        `requires API 1.55 or newer; this client speaks up to ${CLIENT_API_VERSION}`,
      );
    } finally {
      await engine.close();
    }
  });

  test("the engine's error status reaches the caller (404: the container is gone)", async () => {
    const engine = await fakeEngine("1.52", "1.44");
    try {
      await expect(execInContainer({ host: `unix://${engine.socket}` }, "gone", ["true"], "")).rejects.toMatchObject({
        status: 404,
        message: expect.stringContaining("No such container: gone"),
      });
    } finally {
      await engine.close();
    }
  });
});
