/**
 * The docker provider and the exec steps through authenticated Docker endpoints, with the real
 * Pulumi CLI: a small gateway deployed over tcp:// with TLS (tests/helpers/tlsEngine.ts, a
 * client-certificate-verifying TLS front of the real engine), its keys registered through the same
 * endpoint, the material secret in state; and what `pulumi preview` says when the ssh host's key
 * is not the pinned one.
 */
import { performance } from "perf_hooks";
import { LoopbackSshd } from "../helpers/loopbackSshd";
import { startTlsEngine, TlsEngine } from "../helpers/tlsEngine";
import { Stack, Workspace } from "./harness";
import { allHealthy, names, publicChecks, removeLeftovers, useLocalImages, virtualKeys } from "./gateway";
import { describeE2E } from "./requirements";
import { describeWith, requirements } from "../helpers/requirements";

const STACK = "endpoints-tls";
const HTTP_PORT = 18473;
const ADMIN_PORT = 14473;

describeE2E("Docker endpoints that authenticate, through the real docker provider", () => {
  const workspace = new Workspace("endpoints");
  let engine: TlsEngine;

  beforeAll(async () => {
    engine = await startTlsEngine();
  });

  afterAll(async () => {
    await engine.close();
    workspace.remove();
  });

  describe("tcp:// with TLS", () => {
    const stack: Stack = workspace.stack(STACK);

    beforeAll(async () => {
      await removeLeftovers(STACK, { volumes: true });
      await stack.init();
      await useLocalImages(stack);
      for (const [key, value] of Object.entries({
        profile: "small",
        ephemeral: "true",
        httpPort: String(HTTP_PORT),
        adminPort: String(ADMIN_PORT),
        dockerHost: `tcp://127.0.0.1:${engine.port}`,
      })) {
        await stack.set(key, value);
      }
      await stack.set("dockerTlsCa", engine.pem("ca.pem"), { secret: true });
      await stack.set("dockerTlsCert", engine.pem("client.pem"), { secret: true });
      await stack.set("dockerTlsKey", engine.pem("client.key"), { secret: true });
    });

    afterAll(async () => {
      await stack.destroy({ allowFailure: true });
      await removeLeftovers(STACK, { volumes: true });
    });

    test("a small gateway deploys over TLS, keys registered through it, material secret in state, and converges", async () => {
      const started = performance.now();
      await stack.up();
      const upSeconds = (performance.now() - started) / 1000;
      // Printed for the README: how long a first `up` takes through the TLS endpoint.
      process.stdout.write(`first up over tcp:// with TLS: ${upSeconds.toFixed(0)} s\n`);
      await allHealthy(STACK);
      // Every connection of the provider and of the exec steps came with the client certificate.
      expect(engine.accepted.length).toBeGreaterThan(10);
      expect(new Set(engine.accepted)).toEqual(new Set(["client"]));
      const outputs = await stack.outputs();
      const checks = await publicChecks(`http://127.0.0.1:${HTTP_PORT}`, virtualKeys(outputs));
      expect(Object.values(checks.withKey)).toEqual([200, 200]);

      const state = JSON.stringify(await stack.exportState());
      const keyBody = engine.pem("client.key").split("\n")[1];
      expect(keyBody.length).toBeGreaterThan(20);
      expect(state).not.toContain(keyBody);
      const provider = (await stack.exportState()).deployment.resources.find((r: any) => r.type === "pulumi:providers:docker");
      expect(provider.inputs.keyMaterial).toHaveProperty("ciphertext");
      expect(provider.inputs.caMaterial).toHaveProperty("ciphertext");
      const registration = (await stack.exportState()).deployment.resources.find((r: any) => r.type.endsWith("LitellmKeyRegistration"));
      expect(registration.outputs.dockerTls).toHaveProperty("ciphertext");

      const before = engine.accepted.length;
      await stack.expectNoChanges();
      // The registration's read-only check went through the endpoint too.
      expect(engine.accepted.length).toBeGreaterThan(before);
      expect(names(STACK).prefix).toBe(`ai-gateway-${STACK}`);
    });
  });

  describeWith("ssh:// with a key that is not the pinned one", [requirements.sshd()], () => {
    const stack: Stack = workspace.stack("endpoints-ssh");
    let sshd: LoopbackSshd;

    beforeAll(async () => {
      sshd = new LoopbackSshd(["host_key", "pinned_key"]);
      await sshd.start("host_key");
      await stack.init();
      await stack.set("profile", "small");
      await stack.set("dockerHost", `ssh://root@127.0.0.1:${sshd.port}`);
      await stack.set("dockerSshHostKey", sshd.publicKey("pinned_key"));
      await stack.set("dockerSshOpts[0]", "-i", { path: true });
      await stack.set("dockerSshOpts[1]", sshd.keyFile("client_key"), { path: true });
    });

    afterAll(async () => {
      sshd?.stop();
      await stack.destroy({ allowFailure: true });
      await stack.rm().catch(() => undefined);
    });

    test("pulumi up fails before any Docker object is created, and ssh's message names the host and the offered key", async () => {
      // preview alone does not connect: the docker provider connects lazily, and nothing exists yet to diff.
      const preview = await workspace.pulumi(["--stack", "endpoints-ssh", "preview"], { allowFailure: true });
      expect(preview.code).toBe(0);
      const result = await workspace.pulumi(["--stack", "endpoints-ssh", "up", "--yes", "--skip-preview"], { allowFailure: true });
      const said = result.stdout + result.stderr;
      expect(result.code).not.toBe(0);
      expect(said).toContain("REMOTE HOST IDENTIFICATION HAS CHANGED");
      expect(said).toContain(sshd.fingerprint("host_key"));
      expect(said).toContain("Host key verification failed.");
    });
  });
});
