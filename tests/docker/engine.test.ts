/**
 * The engine every container and end-to-end test runs on is a current one that, like Docker 29 on
 * a fresh Docker CE host, refuses Engine API versions below 1.44 (scripts/start-dockerd.sh). On it,
 * the key registration's own client (lib/dockerExec) negotiates and runs a command with stdin.
 */
import * as http from "http";
import { execInContainer, negotiateApiVersion } from "../../lib/dockerExec";
import { DOCKER_ENDPOINT, DOCKER_SOCKET, DockerSandbox } from "../helpers/dockerEngine";
import { describeWith, requirements } from "../helpers/requirements";
import { testImage } from "../helpers/testImage";

function rawGet(path: string): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    http
      .get({ socketPath: DOCKER_SOCKET, path }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString() || "{}") }));
      })
      .on("error", reject);
  });
}

describeWith(
  "the test engine is current and refuses old API versions, as Docker 29 does",
  [requirements.docker(), requirements.rootfs()],
  () => {
    const sandbox = new DockerSandbox("engine");

    afterAll(async () => {
      await sandbox.cleanup();
    }, 120_000);

    test("engine 28.5 or newer; /v1.41 answered 400 'too old', the minimum is 1.44", async () => {
      const version = await rawGet("/version");
      const [major, minor] = String(version.body.Version).split(".").map(Number);
      expect(major * 100 + minor).toBeGreaterThanOrEqual(2805);
      expect(version.body.MinAPIVersion).toBe("1.44");
      const old = await rawGet("/v1.41/version");
      expect(old.status).toBe(400);
      expect(old.body.message).toContain("client version 1.41 is too old");
    });

    test("the product's Engine API client negotiates and execs with stdin in a container", async () => {
      expect(await negotiateApiVersion(DOCKER_ENDPOINT)).toMatch(/^1\.(4[4-9]|5[0-9])$/);
      const container = await sandbox.helper("engine-exec", { image: await testImage(), cmd: ["sleep", "300"] });
      const result = await execInContainer(DOCKER_ENDPOINT, container.id, ["sh", "-c", "cat; echo err >&2; exit 3"], "from stdin");
      expect(result).toEqual({ exitCode: 3, stdout: "from stdin", stderr: "err\n" });
    });
  },
);
