/**
 * The mapping from the program's recorded provider inputs to Docker Engine API bodies that the
 * container tests rely on (tests/helpers/dockerEngine.ts), checked without a Docker engine: if it
 * were wrong, the other tests in this directory would run something other than what the program
 * declares.
 */
import { execFileSync } from "child_process";
import { engineContainer, goDurationNs, probeCommand, uploadMode, uploadTar } from "../helpers/dockerEngine";
import { describeWith } from "../helpers/requirements";
import { StackSpecs, stackSpecs } from "./gateway";

const MB = 1024 * 1024;

describeWith("provider inputs -> Docker Engine API", [], () => {
  let specs: StackSpecs;

  beforeAll(async () => {
    specs = await stackSpecs("medium");
  });

  test("Go durations become nanoseconds", () => {
    expect(goDurationNs("0s")).toBe(0);
    expect(goDurationNs("5s")).toBe(5e9);
    expect(goDurationNs("500ms")).toBe(5e8);
    expect(goDurationNs("1m30s")).toBe(90e9);
    expect(goDurationNs("5m0s")).toBe(300e9);
    expect(goDurationNs("2h0m0s")).toBe(7200e9);
    expect(goDurationNs("1.5s")).toBe(1.5e9);
    expect(() => goDurationNs("5")).toThrow(/not a Go duration/);
    expect(() => goDurationNs("")).toThrow(/not a Go duration/);
  });

  test("postgres: healthcheck, limits, hardening, volume and network as the provider sends them", () => {
    const { body, networks, uploads } = engineContainer(specs.postgres, {
      image: "test-image",
      networks: { [specs.network]: "net-x" },
      volumes: { [specs.postgres.volumes![0].volumeName!]: "vol-x" },
    });
    expect(body.Image).toBe("test-image");
    expect(body.Cmd).toEqual(specs.postgres.command);
    expect(body.Entrypoint).toBeUndefined();
    expect(body.Env).toEqual(specs.postgres.envs);
    expect(body.StopTimeout).toBe(60);
    expect(body.Healthcheck).toEqual({
      Test: specs.postgres.healthcheck!.tests,
      Interval: 5e9,
      Timeout: 5e9,
      StartPeriod: 30e9,
      Retries: 10,
    });
    expect(body.Labels).toEqual({ "ai-gateway.gateway": "ai-gateway-medium", "ai-gateway.service": "postgres" });
    expect(body.HostConfig).toEqual({
      Memory: 512 * MB,
      MemorySwap: 512 * MB,
      ShmSize: 128 * MB,
      SecurityOpt: ["no-new-privileges=true"],
      RestartPolicy: { Name: "unless-stopped", MaximumRetryCount: 0 },
      LogConfig: { Type: "json-file", Config: { "max-size": "10m", "max-file": "3" } },
      PortBindings: undefined,
      Binds: ["vol-x:/var/lib/postgresql/data"],
      NetworkMode: "bridge",
      Init: false,
    });
    expect(networks).toEqual([{ name: "net-x", aliases: ["postgres"] }]);
    // The start script goes in before the container starts, as the provider uploads it.
    expect(uploads).toEqual(specs.postgres.uploads);
    expect(uploads.map((u) => [u.file, u.permissions])).toEqual([["/usr/local/bin/ai-gateway-postgres-start", "0755"]]);
  });

  test("litellm: the exec-form test stays exec form; the 5m0s start period is 300 s", () => {
    const { body, uploads } = engineContainer(specs.litellm, { image: "i", networks: { [specs.network]: "n" }, entrypoint: ["stand-in"] });
    expect(body.Healthcheck!.Test).toEqual(specs.litellm.healthcheck!.tests);
    expect(body.Healthcheck!.Test[0]).toBe("CMD");
    expect(body.Healthcheck!.StartPeriod).toBe(300e9);
    expect(body.Entrypoint).toEqual(["stand-in"]);
    expect(body.Cmd).toEqual(["--config", "/app/config.yaml", "--port", "4000", "--num_workers", "2"]);
    expect(uploads).toEqual(specs.litellm.uploads);
  });

  test("nginx: ports keep the spec's addresses; host ports are Docker's pick unless a test sets them", () => {
    const free = engineContainer(specs.nginx, { image: "i", networks: { [specs.network]: "n" } });
    expect(free.body.ExposedPorts).toEqual({ "8080/tcp": {}, "8081/tcp": {} });
    expect(free.body.HostConfig.PortBindings).toEqual({
      "8080/tcp": [{ HostIp: "127.0.0.1", HostPort: "" }],
      "8081/tcp": [{ HostIp: "127.0.0.1", HostPort: "" }],
    });
    const fixed = engineContainer(specs.nginx, { image: "i", networks: { [specs.network]: "n" }, hostPorts: { 8080: 18080 } });
    expect(fixed.body.HostConfig.PortBindings!["8080/tcp"]).toEqual([{ HostIp: "127.0.0.1", HostPort: "18080" }]);
  });

  test("every network and named volume must be mapped to one the test created", () => {
    expect(() => engineContainer(specs.litellm, { image: "i", networks: {} })).toThrow(/has no test network/);
    expect(() => engineContainer(specs.postgres, { image: "i", networks: { [specs.network]: "n" } })).toThrow(/has no test volume/);
  });

  test("healthcheck tests run the way Docker runs them", () => {
    expect(probeCommand(["CMD", "wget", "-q", "x"])).toEqual(["wget", "-q", "x"]);
    expect(probeCommand(["CMD-SHELL", "pg_isready -h 127.0.0.1"])).toEqual(["/bin/sh", "-c", "pg_isready -h 127.0.0.1"]);
    expect(() => probeCommand(["NONE"])).toThrow();
  });

  test("an upload becomes a tar of just that file, owned by root, with its mode", async () => {
    expect(uploadMode({ file: "/a", permissions: "0600", executable: true })).toBe(0o600);
    expect(uploadMode({ file: "/a", executable: true })).toBe(0o744);
    expect(uploadMode({ file: "/a" })).toBe(0o644);
    const tar = await uploadTar({ file: "/app/config.yaml", content: "x: 1\n", permissions: "0644" });
    const listing = execFileSync("tar", ["-tvf", "-", "--numeric-owner"], { input: tar }).toString().trim().split("\n");
    expect(listing).toHaveLength(1);
    expect(listing[0]).toMatch(/^-rw-r--r-- 0\/0\s+5 .* app\/config\.yaml$/);
  });
});
