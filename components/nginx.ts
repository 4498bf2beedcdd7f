import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { HOSTNAMES, NGINX_ADMIN_PORT, NGINX_PUBLIC_PORT } from "../lib/constants";
import { renderNginxConf } from "../lib/nginxConf";
import { nginxHealthcheck } from "../lib/services";
import { ResourceProfile } from "../profiles";
import { serviceContainer } from "./serviceContainer";

export interface NginxArgs {
  /** The container is named `${namePrefix}-nginx`. Required. */
  readonly namePrefix: string;
  /** Pinned nginx image, 1.27.3 or newer. Required. */
  readonly image: string;
  /** Private network name. Required. */
  readonly networkName: pulumi.Input<string>;
  /** Worker settings and memory limit. Required. */
  readonly profile: ResourceProfile;
  /** Host port and address of the public listener. Required. */
  readonly httpPort: number;
  readonly bindAddress: string;
  /** Host port of the admin listener, bound to 127.0.0.1 only. Required. */
  readonly adminPort: number;
  /** Labels on the container. Default none. */
  readonly labels?: Readonly<Record<string, string>>;
}

/** The gateway's only public door, and the only container that publishes host ports. */
export class Nginx extends pulumi.ComponentResource {
  public readonly container: docker.Container;
  /** The generated nginx.conf. */
  public readonly config: string;

  constructor(name: string, args: NginxArgs, opts?: pulumi.ComponentResourceOptions) {
    super("ai-gateway:index:Nginx", name, {}, opts);
    this.config = renderNginxConf({
      workerProcesses: args.profile.nginx.workerProcesses,
      workerConnections: args.profile.nginx.workerConnections,
    });

    this.container = serviceContainer(
      name,
      {
        containerName: `${args.namePrefix}-nginx`,
        image: args.image,
        networkName: args.networkName,
        aliases: [HOSTNAMES.nginx],
        memoryMb: args.profile.nginx.memoryMb,
        uploads: [{ file: "/etc/nginx/nginx.conf", content: this.config, permissions: "0644" }],
        ports: [
          { internal: NGINX_PUBLIC_PORT, external: args.httpPort, ip: args.bindAddress, protocol: "tcp" },
          { internal: NGINX_ADMIN_PORT, external: args.adminPort, ip: "127.0.0.1", protocol: "tcp" },
        ],
        healthcheck: nginxHealthcheck(),
        labels: { ...args.labels, "ai-gateway.service": "nginx" },
      },
      { parent: this, dependsOn: opts?.dependsOn },
    ).container;

    this.registerOutputs({ containerName: this.container.name });
  }
}
