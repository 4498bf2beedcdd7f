/**
 * The properties the gateway's recovery from each fault rests on (README "Faults the gateway
 * survives"), in the resource graph the program gives the engine; tests/e2e/faults.test.ts shows
 * the faults themselves with the real CLI and engine.
 */
import { parse } from "yaml";
import {
  HOSTNAMES,
  LITELLM_CONFIG_PATH,
  LITELLM_PORT,
  NGINX_CONFIG_FILE,
  POSTGRES_PORT,
  UPSTREAM_DNS_TTL_SECONDS,
} from "../../lib/constants";
import { envRecord } from "../helpers/envList";
import { filesOf, find, ProgramRun, RecordedResource, runProgram, TYPES } from "../helpers/program";

const SERVICES = ["postgres", "litellm", "open-webui", "nginx"] as const;
type Service = (typeof SERVICES)[number];

let run: ProgramRun;
const container = (service: Service): RecordedResource => find(run, TYPES.container, `-${service}`);
const envOf = (service: Service): Record<string, string> => envRecord(container(service).inputs.envs as string[]);
const fileOf = (service: Service, file: string): string => {
  const found = filesOf(run, container(service)).find((upload) => upload.file === file);
  if (!found) {
    throw new Error(`${service} is given no ${file}`);
  }
  return found.content;
};
/** The resources whose outputs become this one's inputs: a replacement of one of them can change an input. */
const inputsFrom = (resource: RecordedResource): Set<string> => new Set(Object.values(resource.propertyDependencies).flat());

beforeAll(async () => {
  run = await runProgram({ stack: "small" });
  if (run.error) {
    throw run.error;
  }
});

describe("the Docker engine restarted (and a host reboot)", () => {
  test.each(SERVICES)("%s restarts by itself with the engine (restart unless-stopped, not a one-shot)", (service) => {
    expect(container(service).inputs).toMatchObject({ restart: "unless-stopped" });
    expect(container(service).inputs.start).not.toBe(false);
  });

  test("the containers that fill a config volume are never started, by pulumi or by the engine (restart no, start false)", () => {
    const fillers = run.resources.filter((r) => r.type === TYPES.container && r.name.endsWith("-config"));
    expect(fillers.map((f) => f.inputs.name).sort()).toEqual([
      "ai-gateway-small-backup-litellm-config",
      "ai-gateway-small-backup-open-webui-config",
      "ai-gateway-small-nginx-config",
    ]);
    for (const filler of fillers) {
      expect(filler.inputs).toMatchObject({ restart: "no", start: false, mustRun: false });
    }
  });

  test("every service finds the others by name on its networks, never by an address an engine restart may change", () => {
    const databaseUrl = new URL(envOf("litellm").DATABASE_URL);
    expect(`${databaseUrl.hostname}:${databaseUrl.port}`).toBe(`${HOSTNAMES.postgres}:${POSTGRES_PORT}`);
    expect(envOf("open-webui").OPENAI_API_BASE_URL).toBe(`http://${HOSTNAMES.litellm}:${LITELLM_PORT}/v1`);
    for (const service of SERVICES) {
      expect(container(service).inputs.networksAdvanced.every((n: { aliases: string[] }) => n.aliases.includes(service))).toBe(true);
    }
  });
});

describe("PostgreSQL restarted while LiteLLM serves", () => {
  test("LiteLLM keeps its database watchdog and reconnects (no PRISMA_* override) and refuses keys while the database is away", () => {
    expect(Object.keys(envOf("litellm")).filter((name) => name.startsWith("PRISMA_"))).toEqual([]);
    const config = parse(fileOf("litellm", LITELLM_CONFIG_PATH));
    // allow_requests_on_db_unavailable would let any caller through as a fallback user while the
    // database is away; left unset (false), LiteLLM answers an error until it reconnects.
    expect(config.general_settings.allow_requests_on_db_unavailable).toBeUndefined();
    expect(config.general_settings.database_url).toBe("os.environ/DATABASE_URL");
  });

  test("LiteLLM's healthcheck does not ask the database, so a PostgreSQL restart neither marks it unhealthy nor takes it out of nginx", () => {
    const probe = JSON.stringify(container("litellm").inputs.healthcheck.tests);
    expect(probe).toContain("/health/liveliness");
    expect(probe).not.toContain("readiness");
  });
});

describe("LiteLLM replaced while Open WebUI and nginx use it", () => {
  test("nginx re-resolves LiteLLM and Open WebUI through Docker's DNS every UPSTREAM_DNS_TTL_SECONDS while it runs", () => {
    const conf = fileOf("nginx", NGINX_CONFIG_FILE);
    expect(conf).toContain(`resolver 127.0.0.11 valid=${UPSTREAM_DNS_TTL_SECONDS}s ipv6=off;`);
    expect(conf).toContain(`server ${HOSTNAMES.litellm}:${LITELLM_PORT} resolve;`);
    expect(conf).toMatch(new RegExp(`server ${HOSTNAMES.openWebui}:\\d+ resolve;`));
  });

  test("Open WebUI's connection pool keeps LiteLLM's address no longer than nginx does (its own default is 300 s)", () => {
    expect(envOf("open-webui").AIOHTTP_POOL_DNS_TTL).toBe(String(UPSTREAM_DNS_TTL_SECONDS));
    expect(UPSTREAM_DNS_TTL_SECONDS).toBeLessThanOrEqual(10);
  });

  test("no input of Open WebUI's or nginx's container comes from LiteLLM's container, so replacing LiteLLM replaces neither", () => {
    const litellm = container("litellm").urn;
    // The dependencies are recorded (the check below can fail): nginx's config volume comes from its filler.
    expect(inputsFrom(container("nginx")).has(find(run, TYPES.container, "-nginx-config").urn)).toBe(true);
    expect(inputsFrom(container("open-webui")).has(find(run, TYPES.network, "-frontend-network").urn)).toBe(true);
    expect(inputsFrom(container("open-webui")).has(litellm)).toBe(false);
    expect(inputsFrom(container("nginx")).has(litellm)).toBe(false);
  });
});
