import { configVolumeName, ROOT_FILESYSTEMS, uploadsOutsideConfigDir } from "../../lib/containerSecurity";
import { NGINX_CONFIG_FILE, REDIS_CONFIG_PATH } from "../../lib/constants";
import { NGINX_TLS_CERTIFICATE_FILE, NGINX_TLS_KEY_FILE } from "../../lib/nginxConf";

describe("uploadsOutsideConfigDir", () => {
  const nginx = ROOT_FILESYSTEMS.nginx;

  test("the components' own uploads are all directly in their read-only container's config directory", () => {
    expect(uploadsOutsideConfigDir(nginx, [NGINX_CONFIG_FILE, NGINX_TLS_CERTIFICATE_FILE, NGINX_TLS_KEY_FILE])).toEqual([]);
    expect(uploadsOutsideConfigDir(ROOT_FILESYSTEMS.redis, [REDIS_CONFIG_PATH])).toEqual([]);
  });

  test("names a file on the read-only root, in a subdirectory the empty volume lacks, or beside the directory", () => {
    expect(
      uploadsOutsideConfigDir(nginx, [
        "/etc/nginx/nginx.conf",
        "/etc/nginx/ai-gateway/tls/key.pem",
        "/etc/nginx/ai-gateway-x.conf",
        "/etc/nginx/ai-gateway",
      ]),
    ).toEqual(["/etc/nginx/nginx.conf", "/etc/nginx/ai-gateway/tls/key.pem", "/etc/nginx/ai-gateway-x.conf", "/etc/nginx/ai-gateway"]);
  });

  test("a read-only root without a config directory takes no upload; a writable root takes them anywhere", () => {
    expect(uploadsOutsideConfigDir(ROOT_FILESYSTEMS.postgres, ["/etc/x.conf"])).toEqual(["/etc/x.conf"]);
    expect(uploadsOutsideConfigDir(ROOT_FILESYSTEMS.litellm, ["/app/config.yaml"])).toEqual([]);
  });
});

describe("configVolumeName", () => {
  const conf = { file: NGINX_CONFIG_FILE, content: "events {}\n", permissions: "0644" };
  const key = { file: NGINX_TLS_KEY_FILE, content: "-----BEGIN PRIVATE KEY-----\nMIIE\n", permissions: "0600" };

  test("the container's name and twelve hex digits, the same for the same files in any order", () => {
    const name = configVolumeName("gw-nginx", [conf, key]);
    expect(name).toMatch(/^gw-nginx-config-[0-9a-f]{12}$/);
    expect(configVolumeName("gw-nginx", [key, conf])).toBe(name);
  });

  test("any change of a file's content, mode or path, or of the set of files, gives another volume", () => {
    const names = [
      configVolumeName("gw-nginx", [conf, key]),
      configVolumeName("gw-nginx", [conf]),
      configVolumeName("gw-nginx", [{ ...conf, content: "events { }\n" }, key]),
      configVolumeName("gw-nginx", [conf, { ...key, permissions: "0644" }]),
      configVolumeName("gw-nginx", [conf, { ...key, file: `${key.file}.old` }]),
      configVolumeName("gw2-nginx", [conf, key]),
    ];
    expect(new Set(names).size).toBe(names.length);
  });

  test("the name carries no part of a file's content", () => {
    expect(configVolumeName("gw-nginx", [{ ...key, content: "abcdef123456" }])).not.toContain("abcdef");
  });
});
