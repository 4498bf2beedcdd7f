import { BackupSettingsInput, MAX_BACKUP_KEEP, resolveBackupSettings } from "../../lib/backupSettings";
import { backupHealthcheck, openWebuiBackupSettings, pgpassLine, postgresBackupSettings, s3CredentialsFile } from "../../lib/backupFiles";
import { checkCommand } from "../../lib/backups";
import { PROFILE_NAMES } from "../../profiles";

const context = { profile: "medium" as const, ephemeral: false, namePrefix: "ai-gateway-prod" };
const S3 = {
  backupS3Endpoint: "https://s3.eu-central-1.amazonaws.com",
  backupS3Bucket: "team-backups",
  backupS3AccessKeyId: "AKIAEXAMPLE",
  backupS3SecretAccessKey: "wJalrXUtnFEMI/K7MDENG",
};

describe("defaults", () => {
  test.each(PROFILE_NAMES.map((p, i) => [p, ["24h", "12h", "6h"][i], [86400, 43200, 21600][i], [7, 14, 28][i]] as const))(
    "%s: every %s, keeping %d... ",
    (profile, interval, seconds, keep) => {
      expect(resolveBackupSettings({}, { ...context, profile })).toEqual({
        enabled: true,
        interval,
        intervalSeconds: seconds,
        keep,
        s3: undefined,
      });
    },
  );

  test("off on an ephemeral stack unless asked for", () => {
    expect(resolveBackupSettings({}, { ...context, ephemeral: true }).enabled).toBe(false);
    expect(resolveBackupSettings({ backups: true }, { ...context, ephemeral: true }).enabled).toBe(true);
    expect(resolveBackupSettings({ backups: false }, context).enabled).toBe(false);
  });

  test("minutes are allowed (a short interval for tests), and the S3 prefix defaults to the gateway's name prefix, the region to us-east-1", () => {
    expect(resolveBackupSettings({ backupInterval: "2m", ...S3 }, context)).toEqual({
      enabled: true,
      interval: "2m",
      intervalSeconds: 120,
      keep: 14,
      s3: { endpoint: "https://s3.eu-central-1.amazonaws.com", bucket: "team-backups", prefix: "ai-gateway-prod", region: "us-east-1" },
    });
  });

  test("an http:// endpoint on a private address, a port, a prefix with segments and another region are taken", () => {
    const s3 = resolveBackupSettings(
      { ...S3, backupS3Endpoint: "http://192.168.1.20:9000/", backupS3Prefix: "gateways/prod", backupS3Region: "auto" },
      context,
    ).s3;
    expect(s3).toEqual({ endpoint: "http://192.168.1.20:9000", bucket: "team-backups", prefix: "gateways/prod", region: "auto" });
  });
});

describe("refusals: one line naming the setting, the value and what is allowed", () => {
  const cases: [string, BackupSettingsInput, RegExp][] = [
    [
      "backups not a boolean",
      { backups: "yes" as unknown as boolean },
      /^Invalid ai-gateway setting backups = "yes": must be true or false$/,
    ],
    [
      "a zero interval",
      { backupInterval: "0h" },
      /^Invalid ai-gateway setting backupInterval = "0h": must be a positive whole number of minutes, hours or days/,
    ],
    ["an interval without a unit", { backupInterval: "12" }, /backupInterval = "12": must be a positive/],
    ["a negative interval", { backupInterval: "-1d" }, /backupInterval = "-1d": must be a positive/],
    ["an interval in seconds", { backupInterval: "30s" }, /backupInterval = "30s": must be a positive/],
    ["an interval over a year", { backupInterval: "400d" }, /backupInterval = "400d": .*at most 365d$/],
    ["keep 0", { backupKeep: 0 }, /^Invalid ai-gateway setting backupKeep = 0: must be a whole number of snapshots from 1 to 1000$/],
    ["keep negative", { backupKeep: -3 }, /backupKeep = -3: must be a whole number of snapshots from 1/],
    ["keep fractional", { backupKeep: 2.5 }, /backupKeep = 2.5: must be/],
    ["keep too many", { backupKeep: MAX_BACKUP_KEEP + 1 }, /backupKeep = 1001: must be/],
    [
      "an endpoint that is not a URL",
      { ...S3, backupS3Endpoint: "s3.amazonaws.com" },
      /^Invalid ai-gateway setting backupS3Endpoint = "s3.amazonaws.com": must be an https:\/\/ URL/,
    ],
    [
      "an endpoint with a path",
      { ...S3, backupS3Endpoint: "https://s3.example.com/bucket" },
      /backupS3Endpoint = "https:\/\/s3.example.com\/bucket": must be an https:\/\/ URL .* no path/,
    ],
    [
      "an endpoint with a query",
      { ...S3, backupS3Endpoint: "https://s3.example.com/?x=1" },
      /backupS3Endpoint = .*: must be an https:\/\/ URL/,
    ],
    [
      "an endpoint with credentials",
      { ...S3, backupS3Endpoint: "https://key:secret@s3.example.com" },
      /backupS3Endpoint = "https:\/\/\[credentials\]@s3.example.com": must be an https:\/\/ URL .*credentials.*backupS3SecretAccessKey$/,
    ],
    [
      "an endpoint of another scheme",
      { ...S3, backupS3Endpoint: "ftp://s3.example.com" },
      /backupS3Endpoint = "ftp:\/\/s3.example.com": must be/,
    ],
    ["an endpoint with a bad port", { ...S3, backupS3Endpoint: "https://s3.example.com:70000" }, /backupS3Endpoint = .*: must be/],
    [
      "plain http:// to a public host",
      { ...S3, backupS3Endpoint: "http://s3.example.com" },
      /^Invalid ai-gateway setting backupS3Endpoint = "http:\/\/s3.example.com": is plain http:\/\/ to a public host, .* use https:\/\/$/,
    ],
    ["plain http:// to a public address", { ...S3, backupS3Endpoint: "http://203.0.113.5:9000" }, /is plain http:\/\/ to a public host/],
    [
      "a loopback endpoint",
      { ...S3, backupS3Endpoint: "http://127.0.0.1:9000" },
      /backupS3Endpoint = "http:\/\/127.0.0.1:9000": is a loopback address/,
    ],
    ["localhost", { ...S3, backupS3Endpoint: "https://localhost:9000" }, /is a loopback address/],
    [
      "a bucket with capitals",
      { ...S3, backupS3Bucket: "Team_Backups" },
      /^Invalid ai-gateway setting backupS3Bucket = "Team_Backups": must be an S3 bucket name/,
    ],
    ["a bucket too short", { ...S3, backupS3Bucket: "ab" }, /backupS3Bucket = "ab": must be an S3 bucket name/],
    ["a bucket that is an IP address", { ...S3, backupS3Bucket: "192.168.1.1" }, /backupS3Bucket = "192.168.1.1": must be/],
    ["a bucket with two dots", { ...S3, backupS3Bucket: "a..b" }, /backupS3Bucket = "a..b": must be/],
    [
      "a prefix with a leading slash",
      { ...S3, backupS3Prefix: "/backups" },
      /^Invalid ai-gateway setting backupS3Prefix = "\/backups": must be a key prefix/,
    ],
    ["a prefix climbing up", { ...S3, backupS3Prefix: "a/../b" }, /backupS3Prefix = "a\/..\/b": must be a key prefix/],
    ["a region with spaces", { ...S3, backupS3Region: "eu central" }, /backupS3Region = "eu central": must be a region name/],
    [
      "an endpoint without a bucket",
      { ...S3, backupS3Bucket: undefined },
      /^Invalid ai-gateway setting backupS3Bucket = undefined: is required with backupS3Endpoint/,
    ],
    [
      "an endpoint without an access key id",
      { ...S3, backupS3AccessKeyId: undefined },
      /^Invalid ai-gateway setting backupS3AccessKeyId = \(not set\): is required with backupS3Endpoint: pulumi config set --secret backupS3AccessKeyId/,
    ],
    [
      "an endpoint without a secret key",
      { ...S3, backupS3SecretAccessKey: undefined },
      /backupS3SecretAccessKey = \(not set\): is required/,
    ],
    [
      "credentials without an endpoint",
      { backupS3AccessKeyId: "AKIAEXAMPLE", backupS3SecretAccessKey: "x" },
      /^Invalid ai-gateway setting backupS3AccessKeyId = \[secret, 11 characters\]: only applies with backupS3Endpoint/,
    ],
    [
      "a bucket without an endpoint",
      { backupS3Bucket: "team-backups" },
      /backupS3Bucket = "team-backups": only applies with backupS3Endpoint/,
    ],
  ];
  test.each(cases)("%s", (_name, input, message) => {
    let error: Error | undefined;
    try {
      resolveBackupSettings(input, context);
    } catch (e) {
      error = e as Error;
    }
    expect(error?.name).toBe("SettingError");
    expect(error?.message).toMatch(message);
    expect(error?.message).not.toContain("\n");
    // A secret is never shown.
    expect(error?.message).not.toContain("wJalrXUtnFEMI");
    expect(error?.message).not.toContain("key:secret");
  });
});

describe("the containers' files", () => {
  const settings = resolveBackupSettings({ backupInterval: "90m", backupKeep: 3 }, context);

  test("settings.env quotes every value for the shell that sources it", () => {
    const text = postgresBackupSettings(settings, "registry.example.com:5000/litellm:v1 'odd'", {
      host: "postgres",
      port: 5432,
      database: "litellm",
      user: "litellm",
    });
    expect(text).toContain("BACKUP_INTERVAL_SECONDS=5400\n");
    expect(text).toContain("BACKUP_KEEP=3\n");
    expect(text).toContain("BACKUP_SCHEDULE=on\n");
    expect(text).toContain("BACKUP_DIR=/backups/litellm\n");
    expect(text).toContain(`BACKUP_IMAGE='registry.example.com:5000/litellm:v1 '\\''odd'\\'''\n`);
    expect(postgresBackupSettings({ ...settings, enabled: false }, "x:1", { host: "h", port: 1, database: "d", user: "u" })).toContain(
      "BACKUP_SCHEDULE=off\n",
    );
  });

  test(".pgpass escapes ':' and '\\' as libpq reads them", () => {
    expect(pgpassLine({ host: "postgres", port: 5432, database: "litellm", user: "litellm" }, "a:b\\c")).toBe(
      "postgres:5432:litellm:litellm:a\\:b\\\\c\n",
    );
  });

  test("settings.json carries no credentials; s3.json does", () => {
    const s3 = { endpoint: "https://s3.example.com", bucket: "b-1", prefix: "p", region: "us-east-1" };
    const json = JSON.parse(openWebuiBackupSettings({ ...settings, s3 }, "ghcr.io/open-webui/open-webui:v0.11.4", "/app/backend/data"));
    expect(json).toEqual({
      backupsDir: "/backups",
      dataDir: "/app/backend/data",
      intervalSeconds: 5400,
      keep: 3,
      schedule: true,
      image: "ghcr.io/open-webui/open-webui:v0.11.4",
    });
    expect(JSON.parse(s3CredentialsFile(s3, "id", "secret"))).toEqual({ ...s3, accessKeyId: "id", secretAccessKey: "secret" });
  });

  test("the healthcheck runs the script's check", () => {
    expect(backupHealthcheck("litellm").test).toEqual(["CMD", ...checkCommand("litellm")]);
    expect(backupHealthcheck("openWebui").test).toEqual(["CMD", "python3", "/etc/ai-gateway-backup/open_webui_backup.py", "check"]);
  });
});
