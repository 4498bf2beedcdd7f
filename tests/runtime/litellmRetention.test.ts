/**
 * The retention the gateway renders into config.yaml (lib/litellmConfig.ts, lib/retention.ts), read
 * by LiteLLM 1.110.1's own code from the venv scripts/python-packages.sh creates: its config reader
 * (ProxyConfig.read_config_file), the check that schedules the cleanup job (_wants_retention_job),
 * the cleanup job's own parsing of the period (SpendLogCleanup), the cron trigger the scheduler
 * builds from the schedule, and the prompt-storage switch. No licence is involved: the job runs without one.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { renderLitellmConfig } from "../../lib/litellmConfig";
import { SPEND_LOG_RETENTION_DEFAULTS } from "../../lib/retention";
import { BUDGETS, PROFILE_NAMES } from "../../profiles";
import { describeWith, litellmVenv, requirements } from "../helpers/requirements";

// Reads a list of config.yaml paths on stdin and prints what LiteLLM makes of each.
const JUDGE = `
import asyncio, json, sys
import litellm.proxy.proxy_server as proxy_server
from litellm.proxy.proxy_server import ProxyConfig, _wants_retention_job
from litellm.proxy.db.db_transaction_queue.spend_log_cleanup import SpendLogCleanup
from apscheduler.triggers.cron import CronTrigger
from datetime import datetime, timedelta, timezone
from litellm.proxy.spend_tracking.spend_tracking_utils import should_store_prompts_and_responses_in_spend_logs
from litellm.proxy.management_helpers.audit_logs import is_audit_logging_enabled

async def judge(path):
    config = await ProxyConfig().read_config_file(path)
    general = config["general_settings"]
    cleanup = SpendLogCleanup(general_settings=general)
    deletes = cleanup._should_delete_spend_logs()
    # As proxy_server.initialize_scheduled_background_jobs schedules it: CronTrigger.from_crontab.
    trigger = CronTrigger.from_crontab(general["maximum_spend_logs_cleanup_cron"], timezone=timezone.utc)
    now = datetime.now(timezone.utc)
    first = trigger.get_next_fire_time(None, now)
    second = trigger.get_next_fire_time(first, first + timedelta(seconds=1))
    proxy_server.general_settings = general
    return {
        "scheduled": _wants_retention_job(general),
        "deletes": deletes,
        "retentionSeconds": cleanup.retention_seconds,
        "firstRunWithinSeconds": (first - now).total_seconds(),
        "periodSeconds": (second - first).total_seconds(),
        "sizeRule": cleanup._size_rule() is not None,
        "storesPrompts": should_store_prompts_and_responses_in_spend_logs(),
        "premiumUser": proxy_server.premium_user,
        "auditLogs": is_audit_logging_enabled(),
    }

paths = json.load(sys.stdin)
print(json.dumps({p: asyncio.run(judge(p)) for p in paths}))
`;

const DAY = 86_400;

describeWith("LiteLLM 1.110.1 reads the gateway's spend-log retention as the profile says", [requirements.litellmVenv()], () => {
  let dir: string;
  let judged: Record<
    string,
    {
      scheduled: boolean;
      deletes: boolean;
      retentionSeconds: number;
      firstRunWithinSeconds: number;
      periodSeconds: number;
      sizeRule: boolean;
      storesPrompts: boolean;
      premiumUser: boolean;
      auditLogs: boolean;
    }
  >;
  const cases: [string, string][] = [
    ...PROFILE_NAMES.map((p) => [p, SPEND_LOG_RETENTION_DEFAULTS[p]] as [string, string]),
    ["custom", "12h"],
  ];

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "aigw-retention-"));
    const paths = cases.map(([name, retention]) => {
      const file = path.join(dir, `${name}.yaml`);
      fs.writeFileSync(file, renderLitellmConfig({ models: [], budget: BUDGETS.test, spendLogRetention: retention }));
      return file;
    });
    const env: NodeJS.ProcessEnv = { ...process.env, LITELLM_LOCAL_MODEL_COST_MAP: "True" };
    // As in the container: nothing but the config decides.
    delete env.STORE_PROMPTS_IN_SPEND_LOGS;
    delete env.LITELLM_LICENSE;
    const result = spawnSync(path.join(litellmVenv()!, "bin", "python"), ["-c", JUDGE], {
      input: JSON.stringify(paths),
      encoding: "utf8",
      env,
      timeout: 120_000,
    });
    expect(result.status).toBe(0);
    judged = Object.fromEntries(
      Object.entries(JSON.parse(result.stdout.trim().split("\n").pop()!)).map(([p, v]) => [path.basename(p, ".yaml"), v as any]),
    );
  });

  afterAll(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test.each([
    ["small", 30 * DAY, DAY],
    ["medium", 90 * DAY, DAY],
    ["large", 365 * DAY, DAY],
    ["custom", 12 * 3600, 3600],
  ])(
    "%s: LiteLLM schedules its cleanup job and deletes spend logs older than %s s, every %s s",
    (name, retentionSeconds, periodSeconds) => {
      expect(judged[name]).toMatchObject({ scheduled: true, deletes: true, retentionSeconds, periodSeconds, sizeRule: false });
      // A cron: the first run comes within one period of LiteLLM's start, not one whole period after it.
      expect(judged[name].firstRunWithinSeconds).toBeLessThanOrEqual(periodSeconds);
    },
  );

  test("without a licence: the job needs none, prompts stay out of the spend logs, and audit logs (premium only) are not written", () => {
    for (const name of ["small", "medium", "large", "custom"]) {
      expect(judged[name]).toMatchObject({ premiumUser: false, storesPrompts: false, auditLogs: false });
    }
  });
});
