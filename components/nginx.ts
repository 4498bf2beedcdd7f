import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { CONTAINER_PRIVILEGES, CPU_SHARES, ROOT_FILESYSTEMS } from "../lib/containerSecurity";
import { HOSTNAMES, NGINX_ADMIN_PORT, NGINX_CONFIG_FILE, NGINX_PUBLIC_PORT, NGINX_TEMP_DIR } from "../lib/constants";
import { adminHosts, publicHosts } from "../lib/hostNames";
import { NGINX_HTTPS_PORT, NGINX_TLS_CERTIFICATE_FILE, NGINX_TLS_KEY_FILE, NginxConfigInput, renderNginxConf } from "../lib/nginxConf";
import { PROXY_DEFAULTS, ProxySettings } from "../lib/proxySettings";
import { DEFAULTS } from "../lib/settings";
import { nginxCommand, nginxHealthcheck } from "../lib/services";
import { ResourceProfile } from "../profiles";
import { ServiceFile, serviceContainer } from "./serviceContainer";

export interface NginxArgs {
  /** The container is named `${namePrefix}-nginx`. Required. */
  readonly namePrefix: string;
  /** Pinned nginx image, 1.27.3 or newer. Required. */
  readonly image: string;
  /** Names of the networks it joins: lib/containerSecurity.ts serviceNetworks("nginx"). Required. */
  readonly networks: readonly pulumi.Input<string>[];
  /** Worker settings and memory limit. Required. */
  readonly profile: ResourceProfile;
  /** Host port and address of the public listener (plain HTTP; with TLS it redirects to HTTPS). Required. */
  readonly httpPort: number;
  readonly bindAddress: string;
  /** Host port of the admin listener. Required. */
  readonly adminPort: number;
  /** TLS, admin exposure, trusted proxies, rate limit. Default: plain HTTP, admin on 127.0.0.1, no limit. */
  readonly proxy?: ProxySettings;
  /**
   * The gateway's public origin; plain HTTP is redirected there when TLS is on, and its host is one
   * the public listeners answer. Required with proxy.tls; default: the listeners answer only the
   * names lib/hostNames.ts derives from the bind addresses.
   */
  readonly publicUrl?: pulumi.Input<string>;
  /** The Docker endpoint; a remote host's name is one a listener on 0.0.0.0 answers. Default the local socket. */
  readonly dockerHost?: pulumi.Input<string>;
  /** PEM certificate chain and key; uploaded into the container as secrets. Required with proxy.tls. */
  readonly tlsCertificate?: pulumi.Input<string>;
  readonly tlsKey?: pulumi.Input<string>;
  /** Labels on the container. Default none. */
  readonly labels?: Readonly<Record<string, string>>;
}

const NO_PROXY_SETTINGS: ProxySettings = { ...PROXY_DEFAULTS, domain: undefined, apiRateLimitPerMinute: undefined };

/** Where the gateway's public port is published and which Docker endpoint it runs on. */
export interface NginxPlacement {
  readonly bindAddress: string;
  readonly dockerHost: string;
}

const LOCAL_PLACEMENT: NginxPlacement = { bindAddress: DEFAULTS.bindAddress, dockerHost: DEFAULTS.dockerHost };

/** The renderer's input for a gateway's settings (pure; the nginx tests run `nginx -t` on exactly this). */
export function nginxConfigInput(
  profile: ResourceProfile,
  proxy: ProxySettings = NO_PROXY_SETTINGS,
  publicUrl?: string,
  placement: NginxPlacement = LOCAL_PLACEMENT,
): NginxConfigInput {
  if (proxy.tls && (!proxy.domain || !publicUrl)) {
    throw new Error("TLS needs a domain and a public URL");
  }
  return {
    workerProcesses: profile.nginx.workerProcesses,
    workerConnections: profile.nginx.workerConnections,
    tls: proxy.tls ? { serverName: proxy.domain!, redirectOrigin: publicUrl! } : undefined,
    apiRateLimitPerMinute: proxy.apiRateLimitPerMinute,
    adminAllowedCidrs: proxy.adminAllowedCidrs,
    trustedProxies: proxy.trustedProxies,
    publicHosts:
      publicUrl !== undefined
        ? publicHosts({ bindAddress: placement.bindAddress, publicUrl, domain: proxy.domain, dockerHost: placement.dockerHost })
        : undefined,
    adminHosts: adminHosts(proxy.adminBindAddress, placement.dockerHost),
    // Written out rather than the build's default (/var/lib/nginx in Debian's package, /var/cache/nginx
    // in the official image), so nginx writes where its tmpfs is, whatever the image.
    tempDir: NGINX_TEMP_DIR,
  };
}

/** The gateway's only public door, and the only container that publishes host ports. */
export class Nginx extends pulumi.ComponentResource {
  public readonly container: docker.Container;
  /** The generated nginx.conf (known once the host's address is, for a host deployed by the stack). */
  public readonly config: pulumi.Output<string>;

  constructor(name: string, args: NginxArgs, opts?: pulumi.ComponentResourceOptions) {
    super("ai-gateway:index:Nginx", name, {}, opts);
    const proxy = args.proxy ?? NO_PROXY_SETTINGS;
    this.config = pulumi
      .all([args.publicUrl, args.dockerHost ?? LOCAL_PLACEMENT.dockerHost])
      .apply(([publicUrl, dockerHost]) =>
        renderNginxConf(nginxConfigInput(args.profile, proxy, publicUrl, { bindAddress: args.bindAddress, dockerHost })),
      );

    const uploads: ServiceFile[] = [{ file: NGINX_CONFIG_FILE, content: this.config, permissions: "0644" }];
    const ports: docker.types.input.ContainerPort[] = [
      { internal: NGINX_PUBLIC_PORT, external: args.httpPort, ip: args.bindAddress, protocol: "tcp" },
      { internal: NGINX_ADMIN_PORT, external: args.adminPort, ip: proxy.adminBindAddress, protocol: "tcp" },
    ];
    if (proxy.tls) {
      if (args.tlsCertificate === undefined || args.tlsKey === undefined) {
        throw new Error("Nginx: proxy.tls needs tlsCertificate and tlsKey");
      }
      // Secret inputs: the PEM text stays encrypted in the state and out of plain resource inputs.
      // The master process reads both as root before the workers drop to user nginx, so the key is 0600.
      uploads.push(
        { file: NGINX_TLS_CERTIFICATE_FILE, content: pulumi.secret(args.tlsCertificate), permissions: "0644" },
        { file: NGINX_TLS_KEY_FILE, content: pulumi.secret(args.tlsKey), permissions: "0600" },
      );
      ports.push({ internal: NGINX_HTTPS_PORT, external: proxy.httpsPort, ip: args.bindAddress, protocol: "tcp" });
    }

    this.container = serviceContainer(
      name,
      {
        containerName: `${args.namePrefix}-nginx`,
        image: args.image,
        networks: args.networks,
        privileges: CONTAINER_PRIVILEGES.nginx,
        rootFilesystem: ROOT_FILESYSTEMS.nginx,
        cpuShares: CPU_SHARES.nginx,
        aliases: [HOSTNAMES.nginx],
        memoryMb: args.profile.nginx.memoryMb,
        command: nginxCommand(),
        uploads,
        ports,
        healthcheck: nginxHealthcheck(),
        labels: { ...args.labels, "ai-gateway.service": "nginx" },
      },
      { parent: this, dependsOn: opts?.dependsOn },
    ).container;

    this.registerOutputs({ containerName: this.container.name });
  }
}
